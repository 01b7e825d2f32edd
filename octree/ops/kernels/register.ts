/**
 * Registers rq3d's kernels and their gradients with tfjs. Runs on import of ./index.ts; idempotent.
 *
 * OctGather / OctScatterAdd run the shared loops of ./loops.ts on the cpu and wasm backends. Their
 * gradients are each other, so any depth of autodiff stays on these kernels (the built-in gather
 * gradient is missing on wasm and quadratic on cpu, tfjs-eval.md §3).
 *
 * OctGatherT writes the transposed im2col matrix directly (for dW = colᵀ·dy without a transpose pass).
 * GatherMatMul / GatherTMatMul, the conv's products in row blocks of bounded size, are in ./gather-matmul.ts.
 *
 * MatMulNN is a plain (non-transposed) matMul whose gradient is written with explicit transposes and
 * NN products, because on wasm XNNPACK serves only the NN case (NT/TN run 10-50x slower). It is a
 * registered kernel rather than a tf.customGrad so that the tape asks only for the gradients it needs
 * (no dA for a first layer whose input is data). Its forward delegates to the backend's own BatchMatMul
 * kernel, so it is registered on demand for whatever backend is active.
 */
import * as tf from '@tensorflow/tfjs';
import { registerNormKernels } from './norm-kernels.ts';
import { hostOf, input } from './host.ts';
import { gatherMatMulGradients, gatherMatMulKernels } from './gather-matmul.ts';
import { JS_KERNEL_BACKENDS, MATMUL_NN, OCT_GATHER, OCT_GATHER_T, OCT_SCATTER_ADD } from './names.ts';

function positiveIntAttr(attrs: tf.NamedAttrMap | undefined, name: string, kernel: string): number {
  const n = attrs?.[name];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error(`${kernel}: attr ${name} must be a positive integer`);
  return n;
}

function numRowsAttr(attrs: tf.NamedAttrMap | undefined): number {
  const n = attrs?.numRows;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Error(`${OCT_SCATTER_ADD}: attr numRows must be a non-negative integer`);
  return n;
}

// ---- gather / transposed gather / scatter-add: one kernel each for cpu and wasm (./host.ts) --------

function gatherKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const x = input(inputs, 'x', OCT_GATHER), idx = input(inputs, 'idx', OCT_GATHER);
    const h = hostOf(backendName, backend);
    const m = idx.shape[0]!;
    h.checkIdx(idx, x.shape[0]!, OCT_GATHER);
    const out = h.alloc([m, x.shape[1]!]);
    h.gather(x, idx, 0, m, out);
    return out;
  };
}

function gatherTKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = input(inputs, 'x', OCT_GATHER_T), idx = input(inputs, 'idx', OCT_GATHER_T);
    const k = positiveIntAttr(attrs, 'k', OCT_GATHER_T);
    const h = hostOf(backendName, backend);
    const n = idx.shape[0]! / k;
    h.checkIdx(idx, x.shape[0]!, OCT_GATHER_T);
    const out = h.alloc([k * x.shape[1]!, n]);
    h.gatherT(x, idx, 0, n, k, out);
    return out;
  };
}

function scatterAddKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const y = input(inputs, 'y', OCT_SCATTER_ADD), idx = input(inputs, 'idx', OCT_SCATTER_ADD);
    const numRows = numRowsAttr(attrs);
    const h = hostOf(backendName, backend);
    h.checkIdx(idx, numRows, OCT_SCATTER_ADD);
    const out = h.alloc([numRows, y.shape[1]!]);
    h.scatterAdd(y, idx, y.shape[0]!, out, numRows);
    return out;
  };
}

// ---- MatMulNN: the backend's BatchMatMul without transpose flags ---------------------------------

function matMulNNKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const batchMatMul = tf.getKernel(tf.BatchMatMul, backendName);
    if (!batchMatMul) throw new Error(`${MATMUL_NN}: backend '${backendName}' has no BatchMatMul kernel`);
    return batchMatMul.kernelFunc({ inputs, backend, attrs: { transposeA: false, transposeB: false } });
  };
}

/** Registers MatMulNN for `backendName` unless it already is; cheap enough to call before every use. */
export function ensureMatMulNN(backendName: string): void {
  if (!tf.getKernel(MATMUL_NN, backendName)) {
    tf.registerKernel({ kernelName: MATMUL_NN, backendName, kernelFunc: matMulNNKernel(backendName) });
  }
}

// ---- gradients -----------------------------------------------------------------------------------

function runGather(x: tf.Tensor, idx: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(OCT_GATHER, { x, idx }, {}) as tf.Tensor;
}

function runScatterAdd(y: tf.Tensor, idx: tf.Tensor, numRows: number): tf.Tensor {
  return tf.engine().runKernel(OCT_SCATTER_ADD, { y, idx }, { numRows }) as tf.Tensor;
}

function runGatherT(x: tf.Tensor, idx: tf.Tensor, k: number): tf.Tensor {
  return tf.engine().runKernel(OCT_GATHER_T, { x, idx }, { k }) as tf.Tensor;
}

function runMatMulNN(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  ensureMatMulNN(tf.getBackend());
  return tf.engine().runKernel(MATMUL_NN, { a, b }, {}) as tf.Tensor;
}

let registered = false;

/** Registers every kernel and gradient once per process (a re-import or second call does nothing). */
export function registerOctKernels(): void {
  if (registered) return;
  registered = true;
  registerNormKernels();
  const kernels: tf.KernelConfig[] = [];
  for (const backendName of JS_KERNEL_BACKENDS) {
    kernels.push(
      { kernelName: OCT_GATHER, backendName, kernelFunc: gatherKernel(backendName) },
      { kernelName: OCT_GATHER_T, backendName, kernelFunc: gatherTKernel(backendName) },
      ...gatherMatMulKernels(backendName),
      { kernelName: OCT_SCATTER_ADD, backendName, kernelFunc: scatterAddKernel(backendName) },
      { kernelName: MATMUL_NN, backendName, kernelFunc: matMulNNKernel(backendName) },
    );
  }
  for (const k of kernels) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);

  const grads: tf.GradConfig[] = [
    {
      kernelName: OCT_GATHER,
      inputsToSave: ['x', 'idx'],
      gradFunc: (dy, saved) => {
        const [x, idx] = saved as [tf.Tensor, tf.Tensor];
        return { x: () => runScatterAdd(dy as tf.Tensor, idx, x.shape[0]!) };
      },
    },
    {
      kernelName: OCT_SCATTER_ADD,
      inputsToSave: ['idx'],
      gradFunc: (dy, saved) => {
        const [idx] = saved as [tf.Tensor];
        return { y: () => runGather(dy as tf.Tensor, idx) };
      },
    },
    {
      kernelName: OCT_GATHER_T,
      inputsToSave: ['x', 'idx'],
      gradFunc: (dy, saved) => {
        const [x, idx] = saved as [tf.Tensor, tf.Tensor];
        const c = x.shape[1]!;
        // dy is [K·C, N]; as rows of the untransposed columns it is [N·K, C].
        return { x: () => runScatterAdd(tf.reshape(tf.transpose(dy as tf.Tensor), [idx.shape[0]!, c]), idx, x.shape[0]!) };
      },
    },
    {
      kernelName: MATMUL_NN,
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, saved) => {
        const [a, b] = saved as [tf.Tensor, tf.Tensor];
        const g = dy as tf.Tensor;
        return {
          a: () => runMatMulNN(g, tf.transpose(b)),
          b: () => runMatMulNN(tf.transpose(a), g),
        };
      },
    },
    ...gatherMatMulGradients({ gather: runGather, scatterAdd: runScatterAdd, matMulNN: runMatMulNN }),
  ];
  for (const g of grads) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}

export { runGather, runScatterAdd, runMatMulNN, runGatherT };
export { runGatherMatMul, runGatherTMatMul } from './gather-matmul.ts';
