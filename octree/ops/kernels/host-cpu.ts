/** rq3d's Host (./host.ts) on tfjs's cpu backend: the JS loops on the backend's own values arrays. */
import type * as tf from '@tensorflow/tfjs';
import { checkIndices, gatherRows, gatherRowsTransposed, scatterAddRows } from './loops.ts';
import { bnBackwardRows, bnForwardRows, siblingMaxGradRows, siblingMaxRows, weightedRowsLoop } from './fused-loops.ts';
import type { CpuBackendLike } from './backend-types.ts';
import type { Host } from './host.ts';

type TensorInfo = tf.TensorInfo;
type CpuBackend = CpuBackendLike & { disposeData(id: object): boolean };

function floats(b: CpuBackendLike, t: TensorInfo): Float32Array {
  const v = b.readSync(t.dataId);
  if (!(v instanceof Float32Array)) throw new TypeError(`expected float32 data, got ${t.dtype}`);
  return v;
}

function ints(b: CpuBackendLike, t: TensorInfo): Int32Array {
  const v = b.readSync(t.dataId);
  if (!(v instanceof Int32Array)) throw new TypeError(`expected int32 indices, got ${t.dtype}`);
  return v;
}

const size = (shape: number[]): number => shape.reduce((p, s) => p * s, 1);

export function cpuHost(backend: unknown): Host {
  const b = backend as CpuBackend;
  const zeros = (shape: number[]): TensorInfo => b.makeTensorInfo(shape, 'float32', new Float32Array(size(shape)));
  return {
    alloc: (shape, dtype = 'float32') => (dtype === 'int32' ? b.makeTensorInfo(shape, 'int32', new Int32Array(size(shape))) : zeros(shape)),
    scratch: (rows, cols) => zeros([rows, cols]),
    releaseScratch: (t) => void b.disposeData(t.dataId),
    zeros,
    maxBindingFloats: Infinity,
    dispose: (t) => void b.disposeData(t.dataId),
    checkIdx: (idx, rows, op) => checkIndices(ints(b, idx), 0, idx.shape[0]!, rows, op),
    gather: (x, idx, from, m, dst) => gatherRows(floats(b, x), 0, ints(b, idx), from, m, floats(b, dst), 0, x.shape[1]!),
    gatherT: (x, idx, from, n, k, dst) => gatherRowsTransposed(floats(b, x), 0, ints(b, idx), from, n, k, floats(b, dst), 0, x.shape[1]!),
    scatterAdd: (y, idx, m, dst, numRows) => scatterAddRows(floats(b, y), 0, ints(b, idx), 0, m, floats(b, dst), 0, y.shape[1]!, numRows),
    copy: (src, so, dst, d, count) => floats(b, dst).set(floats(b, src).subarray(so, so + count), d),
    addInto: (src, dst, count) => {
      const s = floats(b, src),
        d = floats(b, dst);
      for (let i = 0; i < count; i++) d[i]! += s[i]!;
    },
    bnForward: (x, gamma, beta, eps, relu, y, stats) => {
      const [n, c] = x.shape as [number, number];
      bnForwardRows(floats(b, x), 0, n, c, floats(b, gamma), 0, floats(b, beta), 0, eps, relu, floats(b, y), 0, floats(b, stats), 0);
    },
    bnBackward: (dy, x, gamma, beta, stats, relu, dx, dg, db) => {
      const [n, c] = x.shape as [number, number];
      bnBackwardRows(
        floats(b, dy),
        0,
        floats(b, x),
        0,
        n,
        c,
        floats(b, gamma),
        0,
        floats(b, beta),
        0,
        floats(b, stats),
        0,
        relu,
        floats(b, dx),
        0,
        floats(b, dg),
        0,
        floats(b, db),
        0,
      );
    },
    siblingMax: (x, out, arg) => {
      const [p, c] = out.shape as [number, number];
      siblingMaxRows(floats(b, x), 0, p, c, floats(b, out), 0, ints(b, arg), 0);
    },
    siblingMaxGrad: (dy, arg, dx) => {
      const [p, c] = dy.shape as [number, number];
      siblingMaxGradRows(floats(b, dy), 0, ints(b, arg), 0, p, c, floats(b, dx), 0);
    },
    weightedRows: (x, offsets, src, weight, out) => {
      const [rows, c] = out.shape as [number, number];
      weightedRowsLoop(floats(b, x), 0, ints(b, offsets), 0, ints(b, src), 0, floats(b, weight), 0, rows, c, floats(b, out), 0);
    },
  };
}
