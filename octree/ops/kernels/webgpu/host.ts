/**
 * rq3d's Host (../host.ts) on tfjs-backend-webgpu: every row operation is one or two WGSL programs
 * (./programs.ts) run through the backend's runWebGPUProgram, writing into tensors the kernels allocate,
 * so nothing is read back to JS. The backend object is tfjs's WebGPUBackend (4.22; the parts used are
 * typed below). Outputs are written in full by their programs except the scatter-add target, zeroed first.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Host } from '../host.ts';
import {
  bnApplyProgram,
  bnGradInputProgram,
  bnGradSumsProgram,
  bnStatsProgram,
  copyProgram,
  gatherProgram,
  gatherTProgram,
  scatterAddProgram,
  siblingMaxGradProgram,
  siblingMaxProgram,
  weightedRowsProgram,
  zeroProgram,
  type GpuProgram,
  type UniformValue,
} from './programs.ts';

type TensorInfo = tf.TensorInfo;

/** The parts of tfjs-backend-webgpu's WebGPUBackend rq3d uses. */
export interface WebGpuBackendLike {
  runWebGPUProgram(program: GpuProgram, inputs: TensorInfo[], outputDtype: tf.DataType, uniforms?: UniformValue[], output?: TensorInfo): TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  device: { limits: { maxStorageBufferBindingSize: number } };
}

const size = (shape: number[]): number => shape.reduce((p, s) => p * s, 1);
const i32 = (...data: number[]): UniformValue => ({ type: 'int32', data });

export function webgpuHost(backend: unknown): Host {
  const b = backend as WebGpuBackendLike;
  /** Runs p on inputs into `out` (tfjs skips empty outputs itself; an empty thread count runs nothing). */
  const run = (p: GpuProgram, inputs: TensorInfo[], out: TensorInfo, threads: number, uniforms: UniformValue[]): void => {
    if (threads <= 0) return;
    b.runWebGPUProgram(p, inputs, out.dtype, uniforms, out);
  };
  const alloc = (shape: number[], dtype: 'float32' | 'int32' = 'float32'): TensorInfo => b.makeTensorInfo(shape, dtype);
  const fillZero = (t: TensorInfo, count: number): void => run(zeroProgram(t.shape, count), [], t, count, [i32(count)]);
  const copy = (src: TensorInfo, so: number, dst: TensorInfo, d: number, count: number, add: boolean): void =>
    run(copyProgram(dst.shape, count), [src], dst, count, [i32(count), i32(so), i32(d), i32(add ? 1 : 0)]);
  return {
    alloc,
    dispose: (t) => void b.disposeData(t.dataId),
    scratch: (rows, cols) => alloc([rows, cols]),
    releaseScratch: (t) => void b.disposeData(t.dataId),
    maxBindingFloats: Math.floor(b.device.limits.maxStorageBufferBindingSize / 4),
    zeros: (shape) => {
      const t = alloc(shape);
      fillZero(t, size(shape));
      return t;
    },
    checkIdx: () => {},
    gather: (x, idx, from, m, dst) => {
      const count = m * x.shape[1]!;
      run(gatherProgram(dst.shape, count), [x, idx], dst, count, [i32(count), i32(from)]);
    },
    gatherT: (x, idx, from, n, k, dst) => {
      const count = k * x.shape[1]! * n;
      run(gatherTProgram(dst.shape, count), [x, idx], dst, count, [i32(count), i32(from), i32(k), i32(n)]);
    },
    scatterAdd: (y, idx, m, dst, numRows) => {
      const c = y.shape[1]!;
      fillZero(dst, numRows * c);
      run(scatterAddProgram(dst.shape, m * c), [y, idx], dst, m * c, [i32(m * c)]);
    },
    copy: (src, so, dst, d, count) => copy(src, so, dst, d, count, false),
    addInto: (src, dst, count) => copy(src, 0, dst, 0, count, true),
    bnForward: (x, gamma, beta, eps, relu, y, stats) => {
      const c = x.shape[1]!,
        count = size(x.shape);
      if (c === 0) return;
      run(bnStatsProgram(c), [x], stats, c, [{ type: 'float32', data: [eps] }]);
      run(bnApplyProgram(y.shape, count), [x, gamma, beta, stats], y, count, [i32(count), i32(relu ? 1 : 0)]);
    },
    bnBackward: (dy, x, gamma, beta, stats, relu, dx, dg, db) => {
      const c = x.shape[1]!,
        count = size(x.shape);
      if (c === 0) return;
      const sums = alloc([2, c]);
      try {
        run(bnGradSumsProgram(c), [dy, x, gamma, beta, stats], sums, c, [i32(relu ? 1 : 0)]);
        run(bnGradInputProgram(dx.shape, count), [dy, x, gamma, beta, stats, sums], dx, count, [i32(count), i32(relu ? 1 : 0)]);
        copy(sums, 0, db, 0, c, false);
        copy(sums, c, dg, 0, c, false);
      } finally {
        b.disposeData(sums.dataId);
      }
    },
    siblingMax: (x, out, arg) => {
      const count = size(out.shape);
      run(siblingMaxProgram(out.shape, count, false), [x], out, count, [i32(count)]);
      run(siblingMaxProgram(arg.shape, count, true), [x], arg, count, [i32(count)]);
    },
    siblingMaxGrad: (dy, arg, dx) => {
      const count = size(dx.shape);
      run(siblingMaxGradProgram(dx.shape, count), [dy, arg], dx, count, [i32(count)]);
    },
    weightedRows: (x, offsets, src, weight, out) => {
      const count = size(out.shape);
      // an empty table (no entries at all) still defines zero rows
      if (src.shape[0] === 0) return fillZero(out, count);
      run(weightedRowsProgram(out.shape, count), [x, offsets, src, weight], out, count, [i32(count)]);
    },
  };
}
