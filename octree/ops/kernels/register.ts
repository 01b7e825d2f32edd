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
import { checkIndices, gatherRows, gatherRowsTransposed, scatterAddRows } from './loops.ts';
import { registerNormKernels } from './norm-kernels.ts';
import { heapKernels, type HeapKernels } from './wasm/index.ts';
import { heapViews, type CpuBackendLike, type WasmBackendLike } from './backend-types.ts';
import { gatherMatMulGradients, gatherMatMulKernels } from './gather-matmul.ts';
import { JS_KERNEL_BACKENDS, MATMUL_NN, OCT_GATHER, OCT_GATHER_T, OCT_SCATTER_ADD } from './names.ts';

type TensorInfo = tf.TensorInfo;

function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}

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

function asFloat32(v: tf.backend_util.BackendValues, what: string): Float32Array {
  if (!(v instanceof Float32Array)) throw new TypeError(`${what} must be float32`);
  return v;
}

function asIndex(v: tf.backend_util.BackendValues, what: string): Int32Array {
  if (!(v instanceof Int32Array)) throw new TypeError(`${what} must be int32`);
  return v;
}

// ---- cpu: values arrays in JS memory -----------------------------------------------------------

const gatherCpu: tf.KernelFunc = ({ inputs, backend }) => {
  const b = backend as CpuBackendLike;
  const x = input(inputs, 'x', OCT_GATHER), idx = input(inputs, 'idx', OCT_GATHER);
  const [rows, c] = x.shape as [number, number];
  const m = idx.shape[0]!;
  const xv = asFloat32(b.readSync(x.dataId), `${OCT_GATHER} x`);
  const iv = asIndex(b.readSync(idx.dataId), `${OCT_GATHER} idx`);
  checkIndices(iv, 0, m, rows, OCT_GATHER);
  const out = new Float32Array(m * c);
  gatherRows(xv, 0, iv, 0, m, out, 0, c);
  return b.makeTensorInfo([m, c], 'float32', out);
};

const gatherTCpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as CpuBackendLike;
  const x = input(inputs, 'x', OCT_GATHER_T), idx = input(inputs, 'idx', OCT_GATHER_T);
  const k = positiveIntAttr(attrs, 'k', OCT_GATHER_T);
  const [rows, c] = x.shape as [number, number];
  const m = idx.shape[0]!, n = m / k;
  const xv = asFloat32(b.readSync(x.dataId), `${OCT_GATHER_T} x`);
  const iv = asIndex(b.readSync(idx.dataId), `${OCT_GATHER_T} idx`);
  checkIndices(iv, 0, m, rows, OCT_GATHER_T);
  const out = new Float32Array(m * c);
  gatherRowsTransposed(xv, 0, iv, 0, n, k, out, 0, c);
  return b.makeTensorInfo([k * c, n], 'float32', out);
};

const scatterAddCpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as CpuBackendLike;
  const y = input(inputs, 'y', OCT_SCATTER_ADD), idx = input(inputs, 'idx', OCT_SCATTER_ADD);
  const numRows = numRowsAttr(attrs);
  const [m, c] = y.shape as [number, number];
  const yv = asFloat32(b.readSync(y.dataId), `${OCT_SCATTER_ADD} y`);
  const iv = asIndex(b.readSync(idx.dataId), `${OCT_SCATTER_ADD} idx`);
  checkIndices(iv, 0, m, numRows, OCT_SCATTER_ADD);
  const out = new Float32Array(numRows * c);
  scatterAddRows(yv, 0, iv, 0, m, out, 0, c, numRows);
  return b.makeTensorInfo([numRows, c], 'float32', out);
};

// ---- wasm: everything is a view of the one heap -------------------------------------------------
// The loops run as rq3d's own wasm kernels on the backend's memory (./wasm) when they load, else as the
// JS loops on typed-array views. makeOutput may grow the heap, which detaches earlier JS views:
// allocate first, then take the views.

/** Throws the same RangeError as checkIndices when idx (at byte offset idxPtr) holds a bad entry. */
function checkHeapIndices(b: WasmBackendLike, k: HeapKernels | null, idxPtr: number, m: number, rows: number, op: string): void {
  if (k) {
    const bad = k.checkIndices(idxPtr, m, rows);
    if (bad < 0) return;
  }
  checkIndices(heapViews(b).i, idxPtr >>> 2, m, rows, op);
}

const gatherWasm: tf.KernelFunc = ({ inputs, backend }) => {
  const b = backend as WasmBackendLike;
  const x = input(inputs, 'x', OCT_GATHER), idx = input(inputs, 'idx', OCT_GATHER);
  if (x.dtype !== 'float32') throw new TypeError(`${OCT_GATHER} x must be float32`);
  if (idx.dtype !== 'int32') throw new TypeError(`${OCT_GATHER} idx must be int32`);
  const [rows, c] = x.shape as [number, number];
  const m = idx.shape[0]!;
  const k = heapKernels(b.wasm);
  checkHeapIndices(b, k, b.getMemoryOffset(idx.dataId), m, rows, OCT_GATHER);
  const out = b.makeOutput([m, c], 'float32');
  const xp = b.getMemoryOffset(x.dataId), ip = b.getMemoryOffset(idx.dataId), op = b.getMemoryOffset(out.dataId);
  if (k) k.gather(xp, ip, m, op, c);
  else {
    const { f: f32, i: i32 } = heapViews(b);
    gatherRows(f32, xp >>> 2, i32, ip >>> 2, m, f32, op >>> 2, c);
  }
  return out;
};

const gatherTWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackendLike;
  const x = input(inputs, 'x', OCT_GATHER_T), idx = input(inputs, 'idx', OCT_GATHER_T);
  if (x.dtype !== 'float32') throw new TypeError(`${OCT_GATHER_T} x must be float32`);
  if (idx.dtype !== 'int32') throw new TypeError(`${OCT_GATHER_T} idx must be int32`);
  const kk = positiveIntAttr(attrs, 'k', OCT_GATHER_T);
  const [rows, c] = x.shape as [number, number];
  const m = idx.shape[0]!, n = m / kk;
  const k = heapKernels(b.wasm);
  checkHeapIndices(b, k, b.getMemoryOffset(idx.dataId), m, rows, OCT_GATHER_T);
  const out = b.makeOutput([kk * c, n], 'float32');
  const xp = b.getMemoryOffset(x.dataId), ip = b.getMemoryOffset(idx.dataId), op = b.getMemoryOffset(out.dataId);
  if (k) k.gatherT(xp, ip, n, kk, op, c, n);
  else {
    const { f: f32, i: i32 } = heapViews(b);
    gatherRowsTransposed(f32, xp >>> 2, i32, ip >>> 2, n, kk, f32, op >>> 2, c);
  }
  return out;
};

const scatterAddWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackendLike;
  const y = input(inputs, 'y', OCT_SCATTER_ADD), idx = input(inputs, 'idx', OCT_SCATTER_ADD);
  if (y.dtype !== 'float32') throw new TypeError(`${OCT_SCATTER_ADD} y must be float32`);
  if (idx.dtype !== 'int32') throw new TypeError(`${OCT_SCATTER_ADD} idx must be int32`);
  const numRows = numRowsAttr(attrs);
  const [m, c] = y.shape as [number, number];
  const k = heapKernels(b.wasm);
  checkHeapIndices(b, k, b.getMemoryOffset(idx.dataId), m, numRows, OCT_SCATTER_ADD);
  const out = b.makeOutput([numRows, c], 'float32');
  const yp = b.getMemoryOffset(y.dataId), ip = b.getMemoryOffset(idx.dataId), op = b.getMemoryOffset(out.dataId);
  if (k) k.scatterAdd(yp, ip, m, op, c, numRows);
  else {
    const { f: f32, i: i32 } = heapViews(b);
    scatterAddRows(f32, yp >>> 2, i32, ip >>> 2, m, f32, op >>> 2, c, numRows);
  }
  return out;
};

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
    const gather = backendName === 'wasm' ? gatherWasm : gatherCpu;
    kernels.push(
      { kernelName: OCT_GATHER, backendName, kernelFunc: gather },
      { kernelName: OCT_GATHER_T, backendName, kernelFunc: backendName === 'wasm' ? gatherTWasm : gatherTCpu },
      ...gatherMatMulKernels(backendName),
      { kernelName: OCT_SCATTER_ADD, backendName, kernelFunc: backendName === 'wasm' ? scatterAddWasm : scatterAddCpu },
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
