/**
 * The conv's two big products, each computed in row blocks of bounded size:
 *
 *   GatherMatMul   (x [R,C], idx [N·K], w [K·C,Co])  -> [N,Co]   = Σ_blocks gather(x, idx_b) · w
 *   GatherTMatMul  (x [R,C], idx [N·K], dy [N,Co])   -> [K·C,Co] = Σ_blocks gatherT(x, idx_b) · dy_b
 *
 * The [N, K·C] column matrix (or its transpose) exists only inside the kernel, one block at a time, so the
 * temporary memory of a conv is bounded in the forward and in both products of the backward. Each block's
 * product is the backend's own BatchMatMul (XNNPACK on wasm) on a view of the block buffer.
 * Block size: small (L2-sized) blocks made the gather alone ~30 % faster, but the LeNet step slower (per-block
 * products and their operator set-up; measured in one process against 64 MB blocks: 503 vs 451 ms), so the
 * default budget is 64 MB: ordinary layers run as one block, only very large ones are split.
 *
 * The gradient of GatherMatMul wrt x: for a stride-1 conv with a symmetric kernel the neighbour relation
 * is symmetric (idx[i,k] = j  <=>  idx[j,K-1-k] = i), so dX = GatherMatMul(dy, idx, w mirrored) — the same
 * gather-product as the forward — instead of the [N·K, C] matrix dy·wᵀ and a scatter-add (the attr
 * `mirror` says the caller's table is such a table). Otherwise dX = scatterAdd(dy·wᵀ).
 */
import * as tf from '@tensorflow/tfjs';
import { checkIndices, gatherRows, gatherRowsTransposed } from './loops.ts';
import { heapViews, type CpuBackendLike, type WasmBackendLike } from './backend-types.ts';
import { heapKernels, type HeapKernels } from './wasm/index.ts';
import { GATHER_MATMUL, GATHER_T_MATMUL } from './names.ts';

type TensorInfo = tf.TensorInfo;

/**
 * Default floats of one block's column matrix: 2^24 (64 MB; see above). A block has at least MIN_BLOCK_ROWS
 * rows and 4·Cout rows: each block's GEMM reads all K·C·Cout weights, which must stay small beside the
 * block's K·C·rows columns (a 256->256 layer in 256-row blocks ran 20 % slower than whole).
 */
export const DEFAULT_BLOCK_ELEMENTS = 1 << 24;
export const MIN_BLOCK_ROWS = 256;
let defaultBlockElements = DEFAULT_BLOCK_ELEMENTS;

/** Changes the default block budget (benchmarks compare settings in one process); returns the old one. */
export function setDefaultBlockElements(n: number): number {
  const old = defaultBlockElements;
  defaultBlockElements = n;
  return old;
}

/** Rows per block for a column width kc and cout outputs: from an explicit element budget, or the default rule. */
export function blockRowsFor(kc: number, cout: number, blockElements = 0): number {
  if (blockElements > 0) return Math.max(1, Math.floor(blockElements / kc));
  return Math.max(MIN_BLOCK_ROWS, 4 * cout, Math.floor(defaultBlockElements / kc));
}

/** The backend operations the blocked products need, for cpu (JS arrays) and wasm (heap offsets). */
interface Host {
  /** Uninitialised float32 tensor (every caller writes all of it before reading). */
  alloc(shape: number[]): TensorInfo;
  dispose(t: TensorInfo): void;
  zeros(shape: number[]): TensorInfo;
  /** Throws a RangeError naming `op` if an idx entry is outside [-1, rows). */
  checkIdx(idx: TensorInfo, rows: number, op: string): void;
  /** dst rows 0..m = x rows idx[from .. from+m). */
  gather(x: TensorInfo, idx: TensorInfo, from: number, m: number, dst: TensorInfo): void;
  /** dst [k·C, n] (row stride n) = transposed columns of idx rows [from/k .. from/k + n). */
  gatherT(x: TensorInfo, idx: TensorInfo, from: number, n: number, k: number, dst: TensorInfo): void;
  /** dst[dstOff .. +count) = src[srcOff .. +count) (floats). */
  copy(src: TensorInfo, srcOff: number, dst: TensorInfo, dstOff: number, count: number): void;
  /** dst[0 .. count) += src[0 .. count). */
  addInto(src: TensorInfo, dst: TensorInfo, count: number): void;
}

function floats(b: CpuBackendLike, t: TensorInfo): Float32Array {
  const v = b.readSync(t.dataId);
  if (!(v instanceof Float32Array)) throw new TypeError('expected float32 data');
  return v;
}

function ints(b: CpuBackendLike, t: TensorInfo): Int32Array {
  const v = b.readSync(t.dataId);
  if (!(v instanceof Int32Array)) throw new TypeError('expected int32 data');
  return v;
}

function cpuHost(b: CpuBackendLike & { disposeData(id: object): boolean }): Host {
  return {
    alloc: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((p, s) => p * s, 1))),
    dispose: (t) => void b.disposeData(t.dataId),
    zeros: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((p, s) => p * s, 1))),
    checkIdx: (idx, rows, op) => checkIndices(ints(b, idx), 0, idx.shape[0]!, rows, op),
    gather: (x, idx, from, m, dst) => gatherRows(floats(b, x), 0, ints(b, idx), from, m, floats(b, dst), 0, x.shape[1]!),
    gatherT: (x, idx, from, n, k, dst) => gatherRowsTransposed(floats(b, x), 0, ints(b, idx), from, n, k, floats(b, dst), 0, x.shape[1]!),
    copy: (src, so, dst, d, count) => floats(b, dst).set(floats(b, src).subarray(so, so + count), d),
    addInto: (src, dst, count) => {
      const s = floats(b, src), d = floats(b, dst);
      for (let i = 0; i < count; i++) d[i]! += s[i]!;
    },
  };
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
      heapViews(b).f.fill(0, o, o + shape.reduce((p, s) => p * s, 1));
      return t;
    },
    checkIdx: (idx, rows, op) => {
      const m = idx.shape[0]!;
      if (k && k.checkIndices(ptr(idx), m, rows) < 0) return;
      checkIndices(heapViews(b).i, ptr(idx) >>> 2, m, rows, op);
    },
    gather: (x, idx, from, m, dst) => {
      const c = x.shape[1]!;
      if (k) k.gather(ptr(x), ptr(idx) + 4 * from, m, ptr(dst), c);
      else {
        const { f, i } = heapViews(b);
        gatherRows(f, ptr(x) >>> 2, i, (ptr(idx) >>> 2) + from, m, f, ptr(dst) >>> 2, c);
      }
    },
    gatherT: (x, idx, from, n, kk, dst) => {
      const c = x.shape[1]!;
      if (k) k.gatherT(ptr(x), ptr(idx) + 4 * from, n, kk, ptr(dst), c, n);
      else {
        const { f, i } = heapViews(b);
        gatherRowsTransposed(f, ptr(x) >>> 2, i, (ptr(idx) >>> 2) + from, n, kk, f, ptr(dst) >>> 2, c);
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

function hostOf(backendName: string, backend: unknown): Host {
  return backendName === 'wasm' ? wasmHost(backend as WasmBackendLike) : cpuHost(backend as CpuBackendLike & { disposeData(id: object): boolean });
}

function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}

function blockAttr(attrs: tf.NamedAttrMap | undefined, kernel: string): number {
  const v = attrs?.blockElements ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${kernel}: attr blockElements must be a non-negative integer`);
  return v;
}

/** A [rows, cols] view of the first rows·cols floats of t (the block buffers are reused for shorter blocks). */
function view(t: TensorInfo, rows: number, cols: number): TensorInfo {
  return { dataId: t.dataId, shape: [rows, cols], dtype: 'float32' };
}

function matMul(backendName: string, backend: unknown, a: TensorInfo, b: TensorInfo): TensorInfo {
  const k = tf.getKernel(tf.BatchMatMul, backendName);
  if (!k) throw new Error(`backend '${backendName}' has no BatchMatMul kernel`);
  return k.kernelFunc({ inputs: { a, b }, backend: backend as tf.KernelBackend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
}

function gatherMatMulKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = input(inputs, 'x', GATHER_MATMUL), idx = input(inputs, 'idx', GATHER_MATMUL), w = input(inputs, 'w', GATHER_MATMUL);
    const h = hostOf(backendName, backend);
    const c = x.shape[1]!, [kc, cout] = w.shape as [number, number];
    const k = kc / c, n = idx.shape[0]! / k;
    h.checkIdx(idx, x.shape[0]!, GATHER_MATMUL);
    if (n === 0 || kc === 0) return h.zeros([n, cout]);
    const rowsPer = Math.min(n, blockRowsFor(kc, cout, blockAttr(attrs, GATHER_MATMUL)));
    const col = h.alloc([rowsPer, kc]);
    try {
      if (rowsPer >= n) {
        h.gather(x, idx, 0, n * k, col);
        return matMul(backendName, backend, view(col, n, kc), w);
      }
      const out = h.alloc([n, cout]);
      for (let s = 0; s < n; s += rowsPer) {
        const nb = Math.min(rowsPer, n - s);
        h.gather(x, idx, s * k, nb * k, col);
        const r = matMul(backendName, backend, view(col, nb, kc), w);
        h.copy(r, 0, out, s * cout, nb * cout);
        h.dispose(r);
      }
      return out;
    } finally {
      h.dispose(col);
    }
  };
}

function gatherTMatMulKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = input(inputs, 'x', GATHER_T_MATMUL), idx = input(inputs, 'idx', GATHER_T_MATMUL), dy = input(inputs, 'dy', GATHER_T_MATMUL);
    const h = hostOf(backendName, backend);
    const c = x.shape[1]!, [n, cout] = dy.shape as [number, number];
    const k = idx.shape[0]! / n, kc = k * c;
    h.checkIdx(idx, x.shape[0]!, GATHER_T_MATMUL);
    if (n === 0 || kc === 0) return h.zeros([kc, cout]);
    const rowsPer = Math.min(n, blockRowsFor(kc, cout, blockAttr(attrs, GATHER_T_MATMUL)));
    if (rowsPer >= n) {
      const colT = h.alloc([kc, n]);
      try {
        h.gatherT(x, idx, 0, n, k, colT);
        return matMul(backendName, backend, view(colT, kc, n), dy);
      } finally {
        h.dispose(colT);
      }
    }
    const colT = h.alloc([kc, rowsPer]);
    let acc: TensorInfo | null = null;
    try {
      for (let s = 0; s < n; s += rowsPer) {
        const nb = Math.min(rowsPer, n - s);
        h.gatherT(x, idx, s * k, nb, k, colT);
        // A new tensor per block: tfjs-backend-wasm caches XNNPACK's packed copy of a product's right
        // operand by tensor id, so a reused buffer would be multiplied with its first block's values.
        const dyb = h.alloc([nb, cout]);
        h.copy(dy, s * cout, dyb, 0, nb * cout);
        const r = matMul(backendName, backend, view(colT, kc, nb), dyb);
        h.dispose(dyb);
        if (acc === null) acc = r;
        else {
          h.addInto(r, acc, kc * cout);
          h.dispose(r);
        }
      }
      return acc!;
    } finally {
      h.dispose(colT);
    }
  };
}

export function gatherMatMulKernels(backendName: string): tf.KernelConfig[] {
  return [
    { kernelName: GATHER_MATMUL, backendName, kernelFunc: gatherMatMulKernel(backendName) },
    { kernelName: GATHER_T_MATMUL, backendName, kernelFunc: gatherTMatMulKernel(backendName) },
  ];
}

// ---- ops and gradients ---------------------------------------------------------------------------

export interface GatherMatMulAttrs {
  /** idx is a symmetric neighbour table of a stride-1 conv with a symmetric kernel (rows of x = rows of idx). */
  mirror?: boolean;
  /** Floats of one block's column matrix; 0 = the default rule (blockRowsFor). */
  blockElements?: number;
}

export function runGatherMatMul(x: tf.Tensor, idx: tf.Tensor, w: tf.Tensor, a: GatherMatMulAttrs = {}): tf.Tensor {
  const attrs = { mirror: a.mirror ?? false, blockElements: a.blockElements ?? 0 };
  return tf.engine().runKernel(GATHER_MATMUL, { x, idx, w }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

export function runGatherTMatMul(x: tf.Tensor, idx: tf.Tensor, dy: tf.Tensor, blockElements = 0): tf.Tensor {
  return tf.engine().runKernel(GATHER_T_MATMUL, { x, idx, dy }, { blockElements } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * w [K·C, Co] of the conv -> [K·Co, C] with block k = w_{K-1-k}ᵀ: the weights that, gathered through the
 * same symmetric table, carry dy back to x.
 */
export function mirrorWeights(w: tf.Tensor, c: number, gatherRows: (x: tf.Tensor, idx: tf.Tensor) => tf.Tensor): tf.Tensor {
  const k = w.shape[0]! / c, cout = w.shape[1]!;
  // The block reversal is a row gather (tf.reverse takes ~130 ms for 27·256·256 floats on wasm).
  const reversed = tf.tidy(() => gatherRows(tf.reshape(w, [k, c * cout]), tf.tensor1d(Int32Array.from({ length: k }, (_, i) => k - 1 - i), 'int32')));
  return tf.reshape(tf.transpose(tf.reshape(reversed, [k, c, cout]), [0, 2, 1]), [k * cout, c]);
}

/** Set by register.ts: the scatter-add and matMulNN runners (kept there with their own kernels). */
export interface GradRunners {
  gather(x: tf.Tensor, idx: tf.Tensor): tf.Tensor;
  scatterAdd(y: tf.Tensor, idx: tf.Tensor, numRows: number): tf.Tensor;
  matMulNN(a: tf.Tensor, b: tf.Tensor): tf.Tensor;
}

function attrBool(attrs: tf.NamedAttrMap, name: string): boolean {
  return attrs[name] === true;
}

export function gatherMatMulGradients(r: GradRunners): tf.GradConfig[] {
  return [
    {
      kernelName: GATHER_MATMUL,
      inputsToSave: ['x', 'idx', 'w'],
      gradFunc: (dy, saved, attrs) => {
        const [x, idx, w] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const g = dy as tf.Tensor;
        const c = x.shape[1]!;
        const blockElements = (attrs.blockElements as number | undefined) ?? 0;
        return {
          x: () => attrBool(attrs, 'mirror')
            ? runGatherMatMul(g, idx, mirrorWeights(w, c, r.gather), { mirror: true, blockElements })
            // dX = scatter-add of dCol = dy·Wᵀ viewed as [N·K, C] rows.
            : r.scatterAdd(tf.reshape(r.matMulNN(g, tf.transpose(w)), [idx.shape[0]!, c]), idx, x.shape[0]!),
          w: () => runGatherTMatMul(x, idx, g, blockElements),
        };
      },
    },
    {
      // out = colᵀ·dy (col = the conv's [N, K·C] columns): d/d(dy) = col·g, d/dx = scatter-add of dy·gᵀ.
      kernelName: GATHER_T_MATMUL,
      inputsToSave: ['x', 'idx', 'dy'],
      gradFunc: (g, saved, attrs) => {
        const [x, idx, d] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const c = x.shape[1]!;
        const blockElements = (attrs.blockElements as number | undefined) ?? 0;
        return {
          dy: () => runGatherMatMul(x, idx, g as tf.Tensor, { blockElements }),
          x: () => r.scatterAdd(tf.reshape(r.matMulNN(d, tf.transpose(g as tf.Tensor)), [idx.shape[0]!, c]), idx, x.shape[0]!),
        };
      },
    },
  ];
}
