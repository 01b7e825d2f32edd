/**
 * The public row ops: gather, scatter-add, the transposed gather, the NN matMul and the fused gather·matMul.
 * Each checks its arguments, then runs rq3d's kernel when the registry has it for the active backend
 * (./dispatch.ts) and the reference path (built-in tfjs ops under tf.customGrad) otherwise, so the same
 * model code runs on any tfjs backend.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelRegistered } from './dispatch.ts';
import { GATHER_MATMUL, OCT_GATHER, OCT_GATHER_T, OCT_SCATTER_ADD } from './names.ts';
import { runGather, runGatherMatMul, runGatherT, runMatMulNN, runScatterAdd } from './register.ts';
import type { GatherMatMulAttrs } from './gather-matmul.ts';

function checkIndex(idx: tf.Tensor, op: string): void {
  if (idx.rank !== 1) throw new RangeError(`${op}: idx must be rank 1, got shape [${idx.shape.join(', ')}]`);
  if (idx.dtype !== 'int32') throw new TypeError(`${op}: idx must be int32, got ${idx.dtype}`);
}

function checkRows(t: tf.Tensor, name: string, op: string): void {
  if (t.rank !== 2) throw new RangeError(`${op}: ${name} must be rank 2, got shape [${t.shape.join(', ')}]`);
  if (t.dtype !== 'float32') throw new TypeError(`${op}: ${name} must be float32, got ${t.dtype}`);
}

/**
 * Row gather: out[i] = x[idx[i]], or a zero row where idx[i] = -1. With idx a flattened [N, K]
 * neighbour table, `reshape(out, [N, K*C])` is the im2col matrix of an octree conv.
 * Gradient wrt x: octScatterAdd(dy, idx, R). idx gets no gradient.
 * @param x [R, C] float32 rows
 * @param idx [M] int32 in [-1, R); other values throw a RangeError (on backends whose kernels can check
 *   without a read-back: cpu, wasm)
 * @returns [M, C] float32
 */
export function octGather(x: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  checkRows(x, 'x', 'octGather');
  checkIndex(idx, 'octGather');
  if (kernelRegistered(OCT_GATHER)) return runGather(x, idx) as tf.Tensor2D;
  return octGatherReference(x, idx);
}

/**
 * Row scatter-add: out = zeros [numRows, C]; out[idx[i]] += y[i] for every i with idx[i] >= 0.
 * Gradient wrt y: octGather(dy, idx).
 * @param y [M, C] float32
 * @param idx [M] int32 in [-1, numRows)
 * @returns [numRows, C] float32
 */
export function octScatterAdd(y: tf.Tensor2D, idx: tf.Tensor1D, numRows: number): tf.Tensor2D {
  checkRows(y, 'y', 'octScatterAdd');
  checkIndex(idx, 'octScatterAdd');
  if (idx.shape[0] !== y.shape[0]) throw new RangeError(`octScatterAdd: idx has ${idx.shape[0]} entries but y has ${y.shape[0]} rows`);
  if (!Number.isInteger(numRows) || numRows < 0) throw new RangeError(`octScatterAdd: numRows must be a non-negative integer, got ${numRows}`);
  if (kernelRegistered(OCT_SCATTER_ADD)) return runScatterAdd(y, idx, numRows) as tf.Tensor2D;
  return octScatterAddReference(y, idx, numRows);
}

/**
 * a · b for 2-D float32 a [M, K], b [K, N]. Same value as tf.matMul, but its gradient is
 * dA = dy · transpose(b), dB = transpose(a) · dy with explicit transposes, so every product stays on
 * the backend's fast NN path (XNNPACK on wasm), and only the gradients the tape needs are computed.
 */
export function matMulNN(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  checkRows(a, 'a', 'matMulNN');
  checkRows(b, 'b', 'matMulNN');
  if (a.shape[1] !== b.shape[0]) throw new RangeError(`matMulNN: inner sizes differ: [${a.shape.join(', ')}] x [${b.shape.join(', ')}]`);
  return runMatMulNN(a, b) as tf.Tensor2D;
}

/**
 * The transposed im2col matrix: transpose(reshape(octGather(x, idx), [N, k·C])) built in one pass
 * (N = idx.length / k). Used for dW = colᵀ·dy without a transpose pass. Differentiable wrt x.
 * @param x [R, C] float32
 * @param idx [N·k] int32 in [-1, R), row-major [N, k]
 * @returns [k·C, N] float32
 */
export function octGatherT(x: tf.Tensor2D, idx: tf.Tensor1D, k: number): tf.Tensor2D {
  checkRows(x, 'x', 'octGatherT');
  checkIndex(idx, 'octGatherT');
  if (!Number.isInteger(k) || k < 1 || idx.shape[0] % k !== 0) {
    throw new RangeError(`octGatherT: idx length ${idx.shape[0]} is not a multiple of k = ${k}`);
  }
  if (kernelRegistered(OCT_GATHER_T)) return runGatherT(x, idx, k) as tf.Tensor2D;
  const n = idx.shape[0] / k;
  return tf.transpose(tf.reshape(octGatherReference(x, idx), [n, k * x.shape[1]])) as tf.Tensor2D;
}

/**
 * The im2col product of an octree conv as one op: matMulNN(reshape(octGather(x, idx), [N, K·C]), w)
 * with K = w.rows / C and N = idx.length / K. Same value and gradients as that composition, but the
 * [N, K·C] column matrix never outlives the kernel, which works in row blocks of bounded size (./gather-matmul.ts); the
 * tape keeps x, idx and w, and the backward computes dW = Σ octGatherT(x, idx_b, K)·dy_b and dX, each only
 * when needed. dX = octScatterAdd(dy·wᵀ), or, with `mirror` (idx is the symmetric table of a stride-1 conv
 * with a symmetric kernel), the same blocked gather-product with mirrored weights.
 * @param x [R, C] float32
 * @param idx [N·K] int32 in [-1, R), row-major [N, K]
 * @param w [K·C, Cout] float32
 * @param opts.mirror idx[i,k] = j <=> idx[j,K-1-k] = i (checked only for shape: a wrong claim gives a wrong dX)
 * @param opts.blockElements floats of one block's column matrix (0: 2^24, at least 256 rows)
 * @returns [N, Cout] float32
 */
export function gatherMatMul(x: tf.Tensor2D, idx: tf.Tensor1D, w: tf.Tensor2D, opts: GatherMatMulAttrs = {}): tf.Tensor2D {
  checkRows(x, 'x', 'gatherMatMul');
  checkIndex(idx, 'gatherMatMul');
  checkRows(w, 'w', 'gatherMatMul');
  const c = x.shape[1],
    kc = w.shape[0];
  if (c === 0 || kc % c !== 0) throw new RangeError(`gatherMatMul: w has ${kc} rows, not a positive multiple of C = ${c}`);
  const k = kc / c;
  if (idx.shape[0] % k !== 0) throw new RangeError(`gatherMatMul: idx length ${idx.shape[0]} is not a multiple of K = ${k}`);
  if (opts.mirror && idx.shape[0] / k !== x.shape[0]) {
    throw new RangeError(`gatherMatMul: mirror needs a square table (one row of idx per row of x), got ${idx.shape[0] / k} rows for ${x.shape[0]}`);
  }
  const be = opts.blockElements ?? 0;
  if (!Number.isInteger(be) || be < 0) throw new RangeError(`gatherMatMul: blockElements must be a non-negative integer, got ${be}`);
  if (kernelRegistered(GATHER_MATMUL)) return runGatherMatMul(x, idx, w, opts) as tf.Tensor2D;
  return matMulNN(tf.reshape(octGatherReference(x, idx), [idx.shape[0] / k, kc]), w);
}

// ---- reference path: built-in ops only ----------------------------------------------------------

function maskAndSafe(idx: tf.Tensor1D): { mask: tf.Tensor2D; safe: tf.Tensor1D } {
  return {
    mask: tf.expandDims(tf.cast(tf.greaterEqual(idx, 0), 'float32'), 1) as tf.Tensor2D,
    safe: tf.maximum(idx, tf.scalar(0, 'int32')) as tf.Tensor1D,
  };
}

/**
 * octGather written with built-in ops (gather + mask; gradient via scatterND). The reference the
 * kernels are tested against, and the path on backends without rq3d's kernels. Does not range-check idx.
 */
export function octGatherReference(x: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  const numRows = x.shape[0];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xx = args[0] as tf.Tensor2D;
    const value = tf.tidy(() => {
      const { mask, safe } = maskAndSafe(idx);
      return tf.mul(tf.gather(xx, safe), mask) as tf.Tensor2D;
    });
    return { value, gradFunc: (dy: tf.Tensor) => [octScatterAddReference(dy as tf.Tensor2D, idx, numRows)] };
  });
  return f(x) as tf.Tensor2D;
}

/** octScatterAdd written with built-in ops (masked scatterND, which sums duplicates). */
export function octScatterAddReference(y: tf.Tensor2D, idx: tf.Tensor1D, numRows: number): tf.Tensor2D {
  const c = y.shape[1];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const yy = args[0] as tf.Tensor2D;
    const value = tf.tidy(() => {
      if (yy.shape[0] === 0 || numRows === 0 || c === 0) return tf.zeros([numRows, c]) as tf.Tensor2D;
      const { mask, safe } = maskAndSafe(idx);
      return tf.scatterND(tf.expandDims(safe, 1), tf.mul(yy, mask), [numRows, c]) as tf.Tensor2D;
    });
    return { value, gradFunc: (dy: tf.Tensor) => [octGatherReference(dy as tf.Tensor2D, idx)] };
  });
  return f(y) as tf.Tensor2D;
}

/** matMulNN as plain tf.matMul with tfjs's own gradient (transpose flags): the reference. */
export function matMulReference(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, b);
}
