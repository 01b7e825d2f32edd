/**
 * The row operations of rq3d's kernels behind one interface, for the cpu backend (values arrays in JS
 * memory) and the wasm backend (byte offsets into tfjs's heap, run by rq3d's wasm kernels, else by the JS
 * loops on heap views). Every kernel (gather, transposed gather, scatter-add, the blocked conv products)
 * is written once against it.
 *
 * On wasm, allocating may grow the heap, which detaches earlier JS views: offsets are taken per call and
 * views are fresh (heapViews). Offsets past 2 GiB are shifted unsigned (>>> 2).
 */
import * as tf from '@tensorflow/tfjs';
import { checkIndices, gatherRows, gatherRowsTransposed, scatterAddRows } from './loops.ts';
import { heapViews, type CpuBackendLike, type WasmBackendLike } from './backend-types.ts';
import { heapKernels, type HeapKernels } from './wasm/index.ts';

type TensorInfo = tf.TensorInfo;

export interface Host {
  /** Uninitialised float32 tensor (every caller writes all of it before reading). */
  alloc(shape: number[]): TensorInfo;
  dispose(t: TensorInfo): void;
  zeros(shape: number[]): TensorInfo;
  /** Throws a RangeError naming `op` if an idx entry is outside [-1, rows); run before allocating outputs. */
  checkIdx(idx: TensorInfo, rows: number, op: string): void;
  /** dst rows 0..m = x rows idx[from .. from+m) (zero rows for -1). */
  gather(x: TensorInfo, idx: TensorInfo, from: number, m: number, dst: TensorInfo): void;
  /** dst [k·C, n] (row stride n) = transposed columns of idx rows [from/k .. from/k + n). */
  gatherT(x: TensorInfo, idx: TensorInfo, from: number, n: number, k: number, dst: TensorInfo): void;
  /** dst [numRows, C] = 0, then dst row idx[i] += y row i for every i < m with idx[i] >= 0. */
  scatterAdd(y: TensorInfo, idx: TensorInfo, m: number, dst: TensorInfo, numRows: number): void;
  /** dst[dstOff .. +count) = src[srcOff .. +count) (floats). */
  copy(src: TensorInfo, srcOff: number, dst: TensorInfo, dstOff: number, count: number): void;
  /** dst[0 .. count) += src[0 .. count). */
  addInto(src: TensorInfo, dst: TensorInfo, count: number): void;
}

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

function cpuHost(b: CpuBackend): Host {
  const zeros = (shape: number[]): TensorInfo => b.makeTensorInfo(shape, 'float32', new Float32Array(size(shape)));
  return {
    alloc: zeros,
    zeros,
    dispose: (t) => void b.disposeData(t.dataId),
    checkIdx: (idx, rows, op) => checkIndices(ints(b, idx), 0, idx.shape[0]!, rows, op),
    gather: (x, idx, from, m, dst) => gatherRows(floats(b, x), 0, ints(b, idx), from, m, floats(b, dst), 0, x.shape[1]!),
    gatherT: (x, idx, from, n, k, dst) => gatherRowsTransposed(floats(b, x), 0, ints(b, idx), from, n, k, floats(b, dst), 0, x.shape[1]!),
    scatterAdd: (y, idx, m, dst, numRows) => scatterAddRows(floats(b, y), 0, ints(b, idx), 0, m, floats(b, dst), 0, y.shape[1]!, numRows),
    copy: (src, so, dst, d, count) => floats(b, dst).set(floats(b, src).subarray(so, so + count), d),
    addInto: (src, dst, count) => {
      const s = floats(b, src), d = floats(b, dst);
      for (let i = 0; i < count; i++) d[i]! += s[i]!;
    },
  };
}

function requireDtype(t: TensorInfo, dtype: 'float32' | 'int32', what: string): void {
  if (t.dtype !== dtype) throw new TypeError(`${what} must be ${dtype}, got ${t.dtype}`);
}

function wasmHost(b: WasmBackendLike): Host {
  const k: HeapKernels | null = heapKernels(b.wasm);
  const ptr = (t: TensorInfo): number => b.getMemoryOffset(t.dataId);
  return {
    alloc: (shape) => b.makeOutput(shape, 'float32'),
    dispose: (t) => void b.disposeData(t.dataId),
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
      const s = ptr(src) >>> 2, d = ptr(dst) >>> 2;
      for (let i = 0; i < count; i++) f[d + i]! += f[s + i]!;
    },
  };
}

/** The host of a backend rq3d has kernels for ('cpu' or 'wasm'). */
export function hostOf(backendName: string, backend: unknown): Host {
  return backendName === 'wasm' ? wasmHost(backend as WasmBackendLike) : cpuHost(backend as CpuBackend);
}

export function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}
