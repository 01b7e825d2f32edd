/**
 * Batch norm (+ReLU) and the sibling max of pooling as tfjs kernels on cpu and wasm: on wasm they run
 * in rq3d's wasm module on the backend's heap (no read-back of the activations, no JS-side copies); on
 * cpu, and on wasm if that module is unavailable, the JS loops of ./norm-loops.ts. The differentiable
 * ops built on them are in ../fused.ts (other backends read the data back and run the same JS loops).
 *
 *   Rq3dBatchNorm      {x [n,c], gamma [c], beta [c]}, {eps, relu}   -> [y [n,c], stats [3,c]]
 *   Rq3dBatchNormGrad  {dy, x, gamma, beta, stats}, {relu}           -> [dx, dgamma, dbeta]
 *   Rq3dSiblingMax     {x [8p,c]}                                    -> [out [p,c], arg [p,c] int32]
 *   Rq3dSiblingMaxGrad {dy [p,c], arg [p,c]}                         -> dx [8p,c]
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM, BATCH_NORM_GRAD, JS_KERNEL_BACKENDS, SIBLING_MAX, SIBLING_MAX_GRAD } from './names.ts';
import { bnBackwardRows, bnForwardRows, siblingMaxGradRows, siblingMaxRows } from './norm-loops.ts';
import { heapKernels } from './wasm/index.ts';
import { heapViews, type CpuBackendLike, type WasmBackendLike } from './backend-types.ts';

type TensorInfo = tf.TensorInfo;

function get(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: missing input '${name}'`);
  if (t.dtype !== (name === 'arg' ? 'int32' : 'float32')) throw new TypeError(`${kernel}: ${name} must be ${name === 'arg' ? 'int32' : 'float32'}`);
  return t;
}

function rowsOf(t: TensorInfo, kernel: string): [number, number] {
  if (t.shape.length !== 2) throw new RangeError(`${kernel}: expected a rank-2 input, got [${t.shape.join(', ')}]`);
  return t.shape as [number, number];
}

function siblingRows(x: TensorInfo): [number, number] {
  const [rows, c] = rowsOf(x, SIBLING_MAX);
  if (rows % 8 !== 0) throw new RangeError(`siblingMax: rows (${rows}) must be a multiple of 8`);
  return [rows / 8, c];
}

// ---- cpu ------------------------------------------------------------------------------------------

const f32 = (b: CpuBackendLike, t: TensorInfo): Float32Array => b.readSync(t.dataId) as Float32Array;

const bnCpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as CpuBackendLike;
  const x = get(inputs, 'x', BATCH_NORM), gamma = get(inputs, 'gamma', BATCH_NORM), beta = get(inputs, 'beta', BATCH_NORM);
  const [n, c] = rowsOf(x, BATCH_NORM);
  const y = new Float32Array(n * c), stats = new Float32Array(3 * c);
  bnForwardRows(f32(b, x), 0, n, c, f32(b, gamma), 0, f32(b, beta), 0, attrs!.eps as number, attrs!.relu as boolean, y, 0, stats, 0);
  return [b.makeTensorInfo([n, c], 'float32', y), b.makeTensorInfo([3, c], 'float32', stats)];
};

const bnGradCpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as CpuBackendLike;
  const k = BATCH_NORM_GRAD;
  const dy = get(inputs, 'dy', k), x = get(inputs, 'x', k), gamma = get(inputs, 'gamma', k), beta = get(inputs, 'beta', k), stats = get(inputs, 'stats', k);
  const [n, c] = rowsOf(x, k);
  const dx = new Float32Array(n * c), dg = new Float32Array(c), db = new Float32Array(c);
  bnBackwardRows(f32(b, dy), 0, f32(b, x), 0, n, c, f32(b, gamma), 0, f32(b, beta), 0, f32(b, stats), 0, attrs!.relu as boolean, dx, 0, dg, 0, db, 0);
  return [b.makeTensorInfo([n, c], 'float32', dx), b.makeTensorInfo([c], 'float32', dg), b.makeTensorInfo([c], 'float32', db)];
};

const siblingMaxCpu: tf.KernelFunc = ({ inputs, backend }) => {
  const b = backend as CpuBackendLike;
  const x = get(inputs, 'x', SIBLING_MAX);
  const [p, c] = siblingRows(x);
  const out = new Float32Array(p * c), arg = new Int32Array(p * c);
  siblingMaxRows(f32(b, x), 0, p, c, out, 0, arg, 0);
  return [b.makeTensorInfo([p, c], 'float32', out), b.makeTensorInfo([p, c], 'int32', arg)];
};

const siblingMaxGradCpu: tf.KernelFunc = ({ inputs, backend }) => {
  const b = backend as CpuBackendLike;
  const dy = get(inputs, 'dy', SIBLING_MAX_GRAD), arg = get(inputs, 'arg', SIBLING_MAX_GRAD);
  const [p, c] = rowsOf(dy, SIBLING_MAX_GRAD);
  const dx = new Float32Array(8 * p * c);
  siblingMaxGradRows(f32(b, dy), 0, b.readSync(arg.dataId) as Int32Array, 0, p, c, dx, 0);
  return b.makeTensorInfo([8 * p, c], 'float32', dx);
};

// ---- wasm: outputs first (allocation may grow the heap), then pointers or fresh views ----------------

const bnWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackendLike;
  const x = get(inputs, 'x', BATCH_NORM), gamma = get(inputs, 'gamma', BATCH_NORM), beta = get(inputs, 'beta', BATCH_NORM);
  const [n, c] = rowsOf(x, BATCH_NORM);
  const eps = attrs!.eps as number, relu = attrs!.relu as boolean;
  const y = b.makeOutput([n, c], 'float32'), stats = b.makeOutput([3, c], 'float32');
  const k = heapKernels(b.wasm);
  const at = (t: TensorInfo): number => b.getMemoryOffset(t.dataId);
  if (k) {
    const scratch = b.makeOutput([8 * c], 'float32');
    try {
      k.bnForward(at(x), n, c, at(gamma), at(beta), eps, relu ? 1 : 0, at(y), at(stats), at(scratch));
    } finally {
      b.disposeData(scratch.dataId);
    }
  } else {
    const { f } = heapViews(b);
    bnForwardRows(f, at(x) >>> 2, n, c, f, at(gamma) >>> 2, f, at(beta) >>> 2, eps, relu, f, at(y) >>> 2, f, at(stats) >>> 2);
  }
  return [y, stats];
};

const bnGradWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as WasmBackendLike;
  const kn = BATCH_NORM_GRAD;
  const dy = get(inputs, 'dy', kn), x = get(inputs, 'x', kn), gamma = get(inputs, 'gamma', kn), beta = get(inputs, 'beta', kn), stats = get(inputs, 'stats', kn);
  const [n, c] = rowsOf(x, kn);
  const relu = attrs!.relu as boolean;
  const dx = b.makeOutput([n, c], 'float32'), dg = b.makeOutput([c], 'float32'), db = b.makeOutput([c], 'float32');
  const k = heapKernels(b.wasm);
  const at = (t: TensorInfo): number => b.getMemoryOffset(t.dataId);
  if (k) {
    const scratch = b.makeOutput([8 * c], 'float32');
    try {
      k.bnBackward(at(dy), at(x), n, c, at(gamma), at(beta), at(stats), relu ? 1 : 0, at(dx), at(dg), at(db), at(scratch));
    } finally {
      b.disposeData(scratch.dataId);
    }
  } else {
    const { f } = heapViews(b);
    bnBackwardRows(f, at(dy) >>> 2, f, at(x) >>> 2, n, c, f, at(gamma) >>> 2, f, at(beta) >>> 2, f, at(stats) >>> 2, relu, f, at(dx) >>> 2, f, at(dg) >>> 2, f, at(db) >>> 2);
  }
  return [dx, dg, db];
};

const siblingMaxWasm: tf.KernelFunc = ({ inputs, backend }) => {
  const b = backend as WasmBackendLike;
  const x = get(inputs, 'x', SIBLING_MAX);
  const [p, c] = siblingRows(x);
  const out = b.makeOutput([p, c], 'float32'), arg = b.makeOutput([p, c], 'int32');
  const at = (t: TensorInfo): number => b.getMemoryOffset(t.dataId);
  const k = heapKernels(b.wasm);
  if (k) k.siblingMax(at(x), p, c, at(out), at(arg));
  else {
    const { f, i } = heapViews(b);
    siblingMaxRows(f, at(x) >>> 2, p, c, f, at(out) >>> 2, i, at(arg) >>> 2);
  }
  return [out, arg];
};

const siblingMaxGradWasm: tf.KernelFunc = ({ inputs, backend }) => {
  const b = backend as WasmBackendLike;
  const dy = get(inputs, 'dy', SIBLING_MAX_GRAD), arg = get(inputs, 'arg', SIBLING_MAX_GRAD);
  const [p, c] = rowsOf(dy, SIBLING_MAX_GRAD);
  const dx = b.makeOutput([8 * p, c], 'float32');
  const at = (t: TensorInfo): number => b.getMemoryOffset(t.dataId);
  const k = heapKernels(b.wasm);
  if (k) k.siblingMaxGrad(at(dy), at(arg), p, c, at(dx));
  else {
    const { f, i } = heapViews(b);
    siblingMaxGradRows(f, at(dy) >>> 2, i, at(arg) >>> 2, p, c, f, at(dx) >>> 2);
  }
  return dx;
};

/**
 * Registers the four kernels for cpu and wasm (idempotent). Their gradients live in ../fused.ts
 * (customGrad, which does not record the inner kernels); the one registered here is for siblingArgMax,
 * which runs Rq3dSiblingMax directly: the slots are piecewise constant in x, so x gets a zero gradient
 * (without it, a tape through max-unpooling's index would have no gradient function to call).
 */
export function registerNormKernels(): void {
  if (!tf.getGradient(SIBLING_MAX)) {
    tf.registerGradient({ kernelName: SIBLING_MAX, inputsToSave: ['x'], gradFunc: (_dy, saved) => ({ x: () => tf.zerosLike(saved[0]!) }) });
  }
  for (const backendName of JS_KERNEL_BACKENDS) {
    const wasm = backendName === 'wasm';
    const configs: tf.KernelConfig[] = [
      { kernelName: BATCH_NORM, backendName, kernelFunc: wasm ? bnWasm : bnCpu },
      { kernelName: BATCH_NORM_GRAD, backendName, kernelFunc: wasm ? bnGradWasm : bnGradCpu },
      { kernelName: SIBLING_MAX, backendName, kernelFunc: wasm ? siblingMaxWasm : siblingMaxCpu },
      { kernelName: SIBLING_MAX_GRAD, backendName, kernelFunc: wasm ? siblingMaxGradWasm : siblingMaxGradCpu },
    ];
    for (const k of configs) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  }
}
