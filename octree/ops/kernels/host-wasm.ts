/**
 * rq3d's Host (./host.ts) on tfjs-backend-wasm: byte offsets into tfjs's heap, run by rq3d's wasm kernels
 * (./wasm), else by the JS loops on heap views.
 *
 * Allocating may grow the heap, which detaches earlier JS views: offsets are taken per call, after any
 * allocation, and views are fresh (heapViews). Offsets past 2 GiB are shifted unsigned (>>> 2).
 */
import type * as tf from '@tensorflow/tfjs';
import { checkIndices, gatherRows, gatherRowsTransposed, scatterAddRows } from './loops.ts';
import { bnBackwardRows, bnForwardRows, siblingMaxGradRows, siblingMaxRows, weightedRowsLoop } from './fused-loops.ts';
import { heapViews, type WasmBackendLike } from './backend-types.ts';
import { heapKernels, type HeapKernels } from './wasm/index.ts';
import type { Host } from './host.ts';

type TensorInfo = tf.TensorInfo;

const size = (shape: number[]): number => shape.reduce((p, s) => p * s, 1);

function requireDtype(t: TensorInfo, dtype: 'float32' | 'int32', what: string): void {
  if (t.dtype !== dtype) throw new TypeError(`${what} must be ${dtype}, got ${t.dtype}`);
}

/** The reusable scratch buffer of each wasm backend (./host.ts scratch): its heap offset, size, and use. */
const scratchOf = new WeakMap<WasmBackendLike, { offset: number; bytes: number; busy: boolean }>();

export function wasmHost(backend: unknown): Host {
  const b = backend as WasmBackendLike;
  const k: HeapKernels | null = heapKernels(b.wasm);
  const ptr = (t: TensorInfo): number => b.getMemoryOffset(t.dataId);
  /** Runs `f` with an 8c-float scratch buffer of the heap (allocated before any pointer is taken). */
  const withScratch = (c: number, f: (scratch: number) => void): void => {
    const scratch = b.makeOutput([8 * c], 'float32');
    try {
      f(ptr(scratch));
    } finally {
      b.disposeData(scratch.dataId);
    }
  };
  return {
    alloc: (shape, dtype = 'float32') => b.makeOutput(shape, dtype),
    dispose: (t) => void b.disposeData(t.dataId),
    scratch: (rows, cols) => {
      const bytes = 4 * rows * cols;
      let s = scratchOf.get(b);
      // (a nested use, which no kernel makes today, gets an ordinary tensor)
      if (s?.busy) return b.makeOutput([rows, cols], 'float32');
      if (!s || s.bytes < bytes) {
        if (s) b.wasm._free(s.offset);
        const offset = b.wasm._malloc(bytes);
        if (!offset) throw new RangeError(`rq3d: the wasm heap has no room for a ${bytes}-byte conv block`);
        s = { offset, bytes, busy: false };
        scratchOf.set(b, s);
      }
      s.busy = true;
      // a tensor id of its own per use (XNNPACK caches per id), on memory the backend does not own
      return b.makeOutput([rows, cols], 'float32', s.offset);
    },
    releaseScratch: (t) => {
      const s = scratchOf.get(b);
      if (!s?.busy || b.getMemoryOffset(t.dataId) !== s.offset) return void b.disposeData(t.dataId);
      const data = b.dataIdMap.get(t.dataId);
      if (data) b.wasm.tfjs.disposeData(data.id);
      b.dataIdMap.delete(t.dataId);
      s.busy = false;
    },
    maxBindingFloats: Infinity,
    zeros: (shape) => {
      const t = b.makeOutput(shape, 'float32');
      const o = ptr(t) >>> 2;
      heapViews(b).f.fill(0, o, o + size(shape));
      return t;
    },
    checkIdx: (idx, rows, op) => {
      requireDtype(idx, 'int32', `${op} idx`);
      const m = idx.shape[0]!;
      if (k && k.checkIndices(ptr(idx), m, rows) < 0) return;
      checkIndices(heapViews(b).i, ptr(idx) >>> 2, m, rows, op);
    },
    gather: (x, idx, from, m, dst) => {
      requireDtype(x, 'float32', 'gather x');
      const c = x.shape[1]!;
      if (k) k.gather(ptr(x), ptr(idx) + 4 * from, m, ptr(dst), c);
      else {
        const { f, i } = heapViews(b);
        gatherRows(f, ptr(x) >>> 2, i, (ptr(idx) >>> 2) + from, m, f, ptr(dst) >>> 2, c);
      }
    },
    gatherT: (x, idx, from, n, kk, dst) => {
      requireDtype(x, 'float32', 'transposed gather x');
      const c = x.shape[1]!;
      if (k) k.gatherT(ptr(x), ptr(idx) + 4 * from, n, kk, ptr(dst), c, n);
      else {
        const { f, i } = heapViews(b);
        gatherRowsTransposed(f, ptr(x) >>> 2, i, (ptr(idx) >>> 2) + from, n, kk, f, ptr(dst) >>> 2, c);
      }
    },
    scatterAdd: (y, idx, m, dst, numRows) => {
      requireDtype(y, 'float32', 'scatter-add y');
      const c = y.shape[1]!;
      if (k) k.scatterAdd(ptr(y), ptr(idx), m, ptr(dst), c, numRows);
      else {
        const { f, i } = heapViews(b);
        scatterAddRows(f, ptr(y) >>> 2, i, ptr(idx) >>> 2, m, f, ptr(dst) >>> 2, c, numRows);
      }
    },
    copy: (src, so, dst, d, count) => {
      const { f } = heapViews(b);
      const s = (ptr(src) >>> 2) + so;
      f.copyWithin((ptr(dst) >>> 2) + d, s, s + count);
    },
    addInto: (src, dst, count) => {
      const { f } = heapViews(b);
      const s = ptr(src) >>> 2,
        d = ptr(dst) >>> 2;
      for (let i = 0; i < count; i++) f[d + i]! += f[s + i]!;
    },
    bnForward: (x, gamma, beta, eps, relu, y, stats) => {
      const [n, c] = x.shape as [number, number];
      if (k) withScratch(c, (s) => k.bnForward(ptr(x), n, c, ptr(gamma), ptr(beta), eps, relu ? 1 : 0, ptr(y), ptr(stats), s));
      else {
        const { f } = heapViews(b);
        bnForwardRows(f, ptr(x) >>> 2, n, c, f, ptr(gamma) >>> 2, f, ptr(beta) >>> 2, eps, relu, f, ptr(y) >>> 2, f, ptr(stats) >>> 2);
      }
    },
    bnBackward: (dy, x, gamma, beta, stats, relu, dx, dg, db) => {
      const [n, c] = x.shape as [number, number];
      if (k) withScratch(c, (s) => k.bnBackward(ptr(dy), ptr(x), n, c, ptr(gamma), ptr(beta), ptr(stats), relu ? 1 : 0, ptr(dx), ptr(dg), ptr(db), s));
      else {
        const { f } = heapViews(b);
        bnBackwardRows(
          f,
          ptr(dy) >>> 2,
          f,
          ptr(x) >>> 2,
          n,
          c,
          f,
          ptr(gamma) >>> 2,
          f,
          ptr(beta) >>> 2,
          f,
          ptr(stats) >>> 2,
          relu,
          f,
          ptr(dx) >>> 2,
          f,
          ptr(dg) >>> 2,
          f,
          ptr(db) >>> 2,
        );
      }
    },
    siblingMax: (x, out, arg) => {
      const [p, c] = out.shape as [number, number];
      if (k) k.siblingMax(ptr(x), p, c, ptr(out), ptr(arg));
      else {
        const { f, i } = heapViews(b);
        siblingMaxRows(f, ptr(x) >>> 2, p, c, f, ptr(out) >>> 2, i, ptr(arg) >>> 2);
      }
    },
    siblingMaxGrad: (dy, arg, dx) => {
      const [p, c] = dy.shape as [number, number];
      if (k) k.siblingMaxGrad(ptr(dy), ptr(arg), p, c, ptr(dx));
      else {
        const { f, i } = heapViews(b);
        siblingMaxGradRows(f, ptr(dy) >>> 2, i, ptr(arg) >>> 2, p, c, f, ptr(dx) >>> 2);
      }
    },
    weightedRows: (x, offsets, src, weight, out) => {
      const [rows, c] = out.shape as [number, number];
      if (k) return k.weightedRows(ptr(x), ptr(offsets), ptr(src), ptr(weight), rows, c, ptr(out));
      const { f, i } = heapViews(b);
      weightedRowsLoop(f, ptr(x) >>> 2, i, ptr(offsets) >>> 2, i, ptr(src) >>> 2, f, ptr(weight) >>> 2, rows, c, f, ptr(out) >>> 2);
    },
  };
}
