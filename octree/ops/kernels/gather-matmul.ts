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
 * products and their operator set-up; measured in one process against 64 MB blocks: 503 vs 451 ms). The
 * default budget is 16 MB: a block is the wasm heap's largest temporary, and 64 MB blocks held HRNet's heap
 * at 696 instead of 512 MiB; LeNet d6 paid 1-4 % for it, HRNet and ResNet nothing measurable
 * (docs/performance.md, issue 14 second pass).
 *
 * The gradient of GatherMatMul wrt x: for a stride-1 conv with a symmetric kernel the neighbour relation
 * is symmetric (idx[i,k] = j  <=>  idx[j,K-1-k] = i), so dX = GatherMatMul(dy, idx, w mirrored) — the same
 * gather-product as the forward — instead of the [N·K, C] matrix dy·wᵀ and a scatter-add (the attr
 * `mirror` says the caller's table is such a table). Otherwise dX = scatterAdd(dy·wᵀ).
 */
import * as tf from '@tensorflow/tfjs';
import { hostOf, input, type Host } from './host.ts';
import { GATHER_MATMUL, GATHER_T_MATMUL } from './names.ts';

type TensorInfo = tf.TensorInfo;

/**
 * Default floats of one block's column matrix. A block has at least MIN_BLOCK_ROWS rows and 4·Cout rows:
 * each block's GEMM reads all K·C·Cout weights, which must stay small beside the block's K·C·rows columns
 * (a 256->256 layer in 256-row blocks ran 20 % slower than whole). The blocks live in the host's reusable
 * scratch buffer (./host.ts), whose size is the largest block, and that buffer is part of the wasm heap's
 * peak; `kernel-ab-main.ts ... block` (src/bench) compares budgets in one process.
 */
export const DEFAULT_BLOCK_ELEMENTS = 1 << 22;
export const MIN_BLOCK_ROWS = 256;

let defaultBlockElements = DEFAULT_BLOCK_ELEMENTS;

/** Sets the default block budget in floats (benchmarks compare budgets in one process); returns the old one. */
export function setDefaultBlockElements(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`block elements must be a positive integer, got ${n}`);
  const old = defaultBlockElements;
  defaultBlockElements = n;
  return old;
}

/** Rows per block for a column width kc and cout outputs: from an explicit element budget, or the default rule. */
export function blockRowsFor(kc: number, cout: number, blockElements = 0): number {
  if (blockElements > 0) return Math.max(1, Math.floor(blockElements / kc));
  return Math.max(MIN_BLOCK_ROWS, 4 * cout, Math.floor(defaultBlockElements / kc));
}

function blockAttr(attrs: tf.NamedAttrMap | undefined, kernel: string): number {
  const v = attrs?.blockElements ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${kernel}: attr blockElements must be a non-negative integer`);
  return v;
}

/** Rows of a kc-wide block that fit one storage binding of the host (a device backend's limit). */
function bindingRows(h: Host, kc: number): number {
  return Math.max(1, Math.floor(h.maxBindingFloats / kc));
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
    const x = input(inputs, 'x', GATHER_MATMUL),
      idx = input(inputs, 'idx', GATHER_MATMUL),
      w = input(inputs, 'w', GATHER_MATMUL);
    const h = hostOf(backendName, backend);
    const c = x.shape[1]!,
      [kc, cout] = w.shape as [number, number];
    const k = kc / c,
      n = idx.shape[0]! / k;
    h.checkIdx(idx, x.shape[0]!, GATHER_MATMUL);
    if (n === 0 || kc === 0) return h.zeros([n, cout]);
    const rowsPer = Math.min(n, blockRowsFor(kc, cout, blockAttr(attrs, GATHER_MATMUL)), bindingRows(h, kc));
    const col = h.scratch(rowsPer, kc);
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
      h.releaseScratch(col);
    }
  };
}

function gatherTMatMulKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = input(inputs, 'x', GATHER_T_MATMUL),
      idx = input(inputs, 'idx', GATHER_T_MATMUL),
      dy = input(inputs, 'dy', GATHER_T_MATMUL);
    const h = hostOf(backendName, backend);
    const c = x.shape[1]!,
      [n, cout] = dy.shape as [number, number];
    const k = idx.shape[0]! / n,
      kc = k * c;
    h.checkIdx(idx, x.shape[0]!, GATHER_T_MATMUL);
    if (n === 0 || kc === 0) return h.zeros([kc, cout]);
    const rowsPer = Math.min(n, blockRowsFor(kc, cout, blockAttr(attrs, GATHER_T_MATMUL)), bindingRows(h, kc));
    if (rowsPer >= n) {
      const colT = h.scratch(kc, n);
      try {
        h.gatherT(x, idx, 0, n, k, colT);
        return matMul(backendName, backend, view(colT, kc, n), dy);
      } finally {
        h.releaseScratch(colT);
      }
    }
    const colT = h.scratch(kc, rowsPer);
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
      h.releaseScratch(colT);
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
  const k = w.shape[0]! / c,
    cout = w.shape[1]!;
  // The block reversal is a row gather (tf.reverse takes ~130 ms for 27·256·256 floats on wasm).
  const reversed = tf.tidy(() =>
    gatherRows(
      tf.reshape(w, [k, c * cout]),
      tf.tensor1d(
        Int32Array.from({ length: k }, (_, i) => k - 1 - i),
        'int32',
      ),
    ),
  );
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
          x: () =>
            attrBool(attrs, 'mirror')
              ? runGatherMatMul(g, idx, mirrorWeights(w, c, r.gather), { mirror: true, blockElements })
              : // dX = scatter-add of dCol = dy·Wᵀ viewed as [N·K, C] rows.
                r.scatterAdd(tf.reshape(r.matMulNN(g, tf.transpose(w)), [idx.shape[0]!, c]), idx, x.shape[0]!),
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
