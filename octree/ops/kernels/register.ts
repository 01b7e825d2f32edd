/**
 * Registers rq3d's kernels and their gradients with tfjs. Runs on import of ./index.ts; idempotent.
 *
 * Every kernel is written once against the Host interface (./host.ts) and registered for each backend
 * that has a Host (cpu, wasm, webgpu below): adding a backend means adding its Host. Ops never name
 * backends; they ask the registry (./dispatch.ts). Every kernel's gradient is a registered gradient made
 * of rq3d kernels, so any depth of autodiff stays on them.
 *
 *   Rq3dOctGather       {x [R,C], idx [M]}                    -> [M,C]      gradient: scatter-add
 *   Rq3dOctScatterAdd   {y [M,C], idx [M]}, {numRows}         -> [R,C]      gradient: gather
 *   Rq3dOctGatherT      {x, idx [N·K]}, {k}                   -> [K·C,N]    (dW = colᵀ·dy without a transpose)
 *   Rq3dGatherMatMul / Rq3dGatherTMatMul                       the conv's blocked products (./gather-matmul.ts)
 *   Rq3dMatMulNN        {a, b}                                -> a·b with NN-only gradients (XNNPACK serves
 *                                                              only NN on wasm); forward = the backend's BatchMatMul,
 *                                                              registered on demand for any backend
 *   Rq3dBatchNorm       {x [n,c], gamma, beta}, {eps, relu}   -> [y [n,c], stats [3,c]]   gradient: Rq3dBatchNormGrad
 *   Rq3dBatchNormGrad   {dy, x, gamma, beta, stats}, {relu}   -> [dx, dgamma, dbeta]
 *   Rq3dSiblingMax      {x [8p,c]}                            -> [out [p,c], arg [p,c] int32]  gradient: Rq3dSiblingMaxGrad
 *   Rq3dSiblingMaxGrad  {dy [p,c], arg}                       -> dx [8p,c]
 *   Rq3dWeightedGather  {x, offsets, src, weight, tOffsets, tSrc, tWeight} -> [R,c]: the CSR table (offsets,
 *                       src, weight) applied to x; its gradient is the same kernel on the transposed table (t*),
 *                       which the op builds on the host, so no backend ever needs a float scatter for it.
 */
import * as tf from '@tensorflow/tfjs';
import { defineHost, hostBackends, hostOf, input, type Host } from './host.ts';
import { cpuHost } from './host-cpu.ts';
import { wasmHost } from './host-wasm.ts';
import { webgpuHost } from './webgpu/host.ts';
import { gatherMatMulGradients, gatherMatMulKernels } from './gather-matmul.ts';
import { registerRowKernels } from './row-kernels.ts';
import { shareIdentityOnWasm } from './identity.ts';
import { BATCH_NORM, BATCH_NORM_GRAD, MATMUL_NN, OCT_GATHER, OCT_GATHER_T, OCT_SCATTER_ADD, SIBLING_MAX, SIBLING_MAX_GRAD, WEIGHTED_GATHER } from './names.ts';

defineHost('cpu', cpuHost);
defineHost('wasm', wasmHost);
defineHost('webgpu', webgpuHost);

type TensorInfo = tf.TensorInfo;

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

/** An input of a float kernel, checked for dtype (and rank 2 where `rows`). */
function typed(inputs: tf.NamedTensorInfoMap, name: string, kernel: string, dtype: 'float32' | 'int32' = 'float32'): TensorInfo {
  const t = input(inputs, name, kernel);
  if (t.dtype !== dtype) throw new TypeError(`${kernel}: ${name} must be ${dtype}, got ${t.dtype}`);
  return t;
}

function rowsOf(t: TensorInfo, kernel: string): [number, number] {
  if (t.shape.length !== 2) throw new RangeError(`${kernel}: expected a rank-2 input, got [${t.shape.join(', ')}]`);
  return t.shape as [number, number];
}

type HostKernel = (h: Host, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined) => TensorInfo | TensorInfo[];

/** The kernel written against a Host, bound to one backend. */
function onHost(backendName: string, f: HostKernel): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => f(hostOf(backendName, backend), inputs, attrs);
}

// ---- gather / transposed gather / scatter-add ----------------------------------------------------

const gather: HostKernel = (h, inputs) => {
  const x = input(inputs, 'x', OCT_GATHER),
    idx = input(inputs, 'idx', OCT_GATHER);
  const m = idx.shape[0]!;
  h.checkIdx(idx, x.shape[0]!, OCT_GATHER);
  const out = h.alloc([m, x.shape[1]!]);
  h.gather(x, idx, 0, m, out);
  return out;
};

const gatherT: HostKernel = (h, inputs, attrs) => {
  const x = input(inputs, 'x', OCT_GATHER_T),
    idx = input(inputs, 'idx', OCT_GATHER_T);
  const k = positiveIntAttr(attrs, 'k', OCT_GATHER_T);
  const n = idx.shape[0]! / k;
  h.checkIdx(idx, x.shape[0]!, OCT_GATHER_T);
  const out = h.alloc([k * x.shape[1]!, n]);
  h.gatherT(x, idx, 0, n, k, out);
  return out;
};

const scatterAdd: HostKernel = (h, inputs, attrs) => {
  const y = input(inputs, 'y', OCT_SCATTER_ADD),
    idx = input(inputs, 'idx', OCT_SCATTER_ADD);
  const numRows = numRowsAttr(attrs);
  h.checkIdx(idx, numRows, OCT_SCATTER_ADD);
  const out = h.alloc([numRows, y.shape[1]!]);
  h.scatterAdd(y, idx, y.shape[0]!, out, numRows);
  return out;
};

// ---- batch norm, sibling max, weighted gather -----------------------------------------------------

const batchNorm: HostKernel = (h, inputs, attrs) => {
  const x = typed(inputs, 'x', BATCH_NORM),
    gamma = typed(inputs, 'gamma', BATCH_NORM),
    beta = typed(inputs, 'beta', BATCH_NORM);
  const [n, c] = rowsOf(x, BATCH_NORM);
  const y = h.alloc([n, c]),
    stats = h.alloc([3, c]);
  h.bnForward(x, gamma, beta, attrs!.eps as number, attrs!.relu as boolean, y, stats);
  return [y, stats];
};

const batchNormGrad: HostKernel = (h, inputs, attrs) => {
  const k = BATCH_NORM_GRAD;
  const dy = typed(inputs, 'dy', k),
    x = typed(inputs, 'x', k),
    gamma = typed(inputs, 'gamma', k),
    beta = typed(inputs, 'beta', k),
    stats = typed(inputs, 'stats', k);
  const [n, c] = rowsOf(x, k);
  const dx = h.alloc([n, c]),
    dg = h.alloc([c]),
    db = h.alloc([c]);
  h.bnBackward(dy, x, gamma, beta, stats, attrs!.relu as boolean, dx, dg, db);
  return [dx, dg, db];
};

const siblingMax: HostKernel = (h, inputs) => {
  const x = typed(inputs, 'x', SIBLING_MAX);
  const [rows, c] = rowsOf(x, SIBLING_MAX);
  if (rows % 8 !== 0) throw new RangeError(`siblingMax: rows (${rows}) must be a multiple of 8`);
  const out = h.alloc([rows / 8, c]),
    arg = h.alloc([rows / 8, c], 'int32');
  h.siblingMax(x, out, arg);
  return [out, arg];
};

const siblingMaxGrad: HostKernel = (h, inputs) => {
  const dy = typed(inputs, 'dy', SIBLING_MAX_GRAD),
    arg = typed(inputs, 'arg', SIBLING_MAX_GRAD, 'int32');
  const [p, c] = rowsOf(dy, SIBLING_MAX_GRAD);
  const dx = h.alloc([8 * p, c]);
  h.siblingMaxGrad(dy, arg, dx);
  return dx;
};

const weightedGather: HostKernel = (h, inputs) => {
  const k = WEIGHTED_GATHER;
  const x = typed(inputs, 'x', k),
    offsets = typed(inputs, 'offsets', k, 'int32'),
    src = typed(inputs, 'src', k, 'int32'),
    weight = typed(inputs, 'weight', k);
  const out = h.alloc([offsets.shape[0]! - 1, x.shape[1]!]);
  h.weightedRows(x, offsets, src, weight, out);
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

// ---- running kernels (ops and gradients) ----------------------------------------------------------

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

/** [y, stats] of Rq3dBatchNorm. */
function runBatchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, relu: boolean): [tf.Tensor2D, tf.Tensor2D] {
  return tf.engine().runKernel(BATCH_NORM, { x, gamma, beta }, { eps, relu }) as unknown as [tf.Tensor2D, tf.Tensor2D];
}

/** [out, arg] of Rq3dSiblingMax. */
function runSiblingMax(x: tf.Tensor): [tf.Tensor2D, tf.Tensor2D] {
  return tf.engine().runKernel(SIBLING_MAX, { x }, {}) as unknown as [tf.Tensor2D, tf.Tensor2D];
}

/** A CSR table as int32/float32 tensors: row r reads entries offsets[r] .. offsets[r+1]. */
export interface RowTable {
  offsets: tf.Tensor1D;
  src: tf.Tensor1D;
  weight: tf.Tensor1D;
}

function runWeightedGather(x: tf.Tensor, table: RowTable, transposed: RowTable): tf.Tensor {
  const inputs = {
    x,
    offsets: table.offsets,
    src: table.src,
    weight: table.weight,
    tOffsets: transposed.offsets,
    tSrc: transposed.src,
    tWeight: transposed.weight,
  };
  return tf.engine().runKernel(WEIGHTED_GATHER, inputs, {}) as tf.Tensor;
}

/**
 * The gradient of a two-output kernel's first output: tfjs passes one dy per output, null for an output
 * off the backward path (then zeros shaped like `like`'s rows).
 */
function firstDy(dys: tf.Tensor | tf.Tensor[], like: tf.Tensor): tf.Tensor {
  const dy = Array.isArray(dys) ? dys[0] : dys;
  return dy ?? tf.zeros(like.shape, 'float32');
}

let registered = false;

/** Registers every kernel and gradient once per process (a re-import or second call does nothing). */
export function registerOctKernels(): void {
  if (registered) return;
  registered = true;
  const kernels: tf.KernelConfig[] = [];
  for (const backendName of hostBackends()) {
    const k = (kernelName: string, f: HostKernel): tf.KernelConfig => ({ kernelName, backendName, kernelFunc: onHost(backendName, f) });
    kernels.push(
      k(OCT_GATHER, gather),
      k(OCT_GATHER_T, gatherT),
      ...gatherMatMulKernels(backendName),
      k(OCT_SCATTER_ADD, scatterAdd),
      k(BATCH_NORM, batchNorm),
      k(BATCH_NORM_GRAD, batchNormGrad),
      k(SIBLING_MAX, siblingMax),
      k(SIBLING_MAX_GRAD, siblingMaxGrad),
      k(WEIGHTED_GATHER, weightedGather),
      { kernelName: MATMUL_NN, backendName, kernelFunc: matMulNNKernel(backendName) },
    );
  }
  for (const k of kernels) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  // the MID losses' rows, column concatenation, residual ReLU sums (cpu, wasm, webgpu), and wasm's Identity
  registerRowKernels();
  shareIdentityOnWasm();

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
    {
      // one Rq3dBatchNormGrad run serves all three gradients; the backward recomputes the normalized
      // input from x and the saved [3, C] statistics instead of keeping an [N, C] copy
      kernelName: BATCH_NORM,
      inputsToSave: ['x', 'gamma', 'beta'],
      outputsToSave: [false, true],
      gradFunc: (dys, saved, attrs) => {
        const [x, gamma, beta, stats] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const dy = firstDy(dys, x);
        // run here, not in the thunks: tfjs runs each thunk in its own tidy, which would dispose the other
        // two outputs of a shared run (the unused ones go with the backward pass's own tidy)
        const [dx, dg, db] = tf.engine().runKernel(BATCH_NORM_GRAD, { dy, x, gamma, beta, stats }, { relu: attrs.relu as boolean }) as tf.Tensor[];
        return { x: () => dx!, gamma: () => dg!, beta: () => db! };
      },
    },
    {
      // the slots (second output) are piecewise constant in x: only the max carries a gradient
      kernelName: SIBLING_MAX,
      inputsToSave: [],
      outputsToSave: [false, true],
      gradFunc: (dys, saved) => {
        const [arg] = saved as [tf.Tensor];
        const dy = firstDy(dys, arg);
        return { x: () => tf.engine().runKernel(SIBLING_MAX_GRAD, { dy, arg }, {}) as tf.Tensor };
      },
    },
    {
      kernelName: WEIGHTED_GATHER,
      inputsToSave: ['offsets', 'src', 'weight', 'tOffsets', 'tSrc', 'tWeight'],
      gradFunc: (dy, saved) => {
        const [offsets, src, weight, tOffsets, tSrc, tWeight] = saved as tf.Tensor1D[];
        return {
          x: () => runWeightedGather(dy as tf.Tensor, { offsets: tOffsets!, src: tSrc!, weight: tWeight! }, { offsets: offsets!, src: src!, weight: weight! }),
        };
      },
    },
    ...gatherMatMulGradients({ gather: runGather, scatterAdd: runScatterAdd, matMulNN: runMatMulNN }),
  ];
  for (const g of grads) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}

export { runGather, runScatterAdd, runMatMulNN, runGatherT, runBatchNorm, runSiblingMax, runWeightedGather };
export { runGatherMatMul, runGatherTMatMul } from './gather-matmul.ts';
