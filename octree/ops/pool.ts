import * as tf from '@tensorflow/tfjs';
import { octGather, octScatterAdd } from './kernels/index.ts';
import { getNeighbors, kernelSize, type Kernel } from '../neighbors.ts';
import type { Octree } from '../octree.ts';
import { octreeDepad, octreePad } from './pad.ts';
import { siblingArgMax, siblingMax } from './fused.ts';
import { checkRowsAt, indexTensor, rowCount } from './tables.ts';

// Finite stand-in for -inf when padding empty rows before a max: keeps gradients free of inf·0.
const NEG_FILL = -3.0e38;

/**
 * octree_max_pool (depth -> depth-1): max over the 8 sibling rows of each non-empty parent (siblings are
 * contiguous, so this is a reshape to (rows/8, 8, C)). With nempty, empty siblings are padded with -inf
 * first and the result has one row per non-empty parent; without, the result is padded to all rows of
 * depth-1 with zeros.
 */
export function octreeMaxPool(data: tf.Tensor2D, octree: Octree, depth: number, nempty = false): tf.Tensor2D {
  return octreeMaxPoolWithIndices(data, octree, depth, nempty, false).value;
}

export function octreeMaxPoolWithIndices(
  data: tf.Tensor2D,
  octree: Octree,
  depth: number,
  nempty = false,
  withIndices = true,
): { value: tf.Tensor2D; indices: tf.Tensor2D | null } {
  checkRowsAt(data, octree, depth, nempty, 'octreeMaxPool');
  const value = tf.tidy(() => {
    const all = nempty ? octreePad(data, octree, depth, NEG_FILL) : data;
    const pooled = siblingMax(all);
    return nempty ? pooled : octreePad(pooled, octree, depth - 1);
  });
  const indices = withIndices ? tf.tidy(() => siblingArgMax(nempty ? octreePad(data, octree, depth, NEG_FILL) : data)) : null;
  return { value, indices };
}

/**
 * octree_max_unpool (depth-1 -> depth): each parent's value goes back to the sibling that won the max
 * (`indices` from octreeMaxPoolWithIndices, one row per non-empty parent), zeros elsewhere.
 */
export function octreeMaxUnpool(data: tf.Tensor2D, indices: tf.Tensor2D, octree: Octree, depth: number, nempty = false): tf.Tensor2D {
  checkRowsAt(data, octree, depth - 1, nempty, 'octreeMaxUnpool');
  return tf.tidy(() => {
    const x = nempty ? data : octreeDepad(data, octree, depth - 1);
    const c = x.shape[1];
    const parents = x.shape[0];
    const hot = tf.oneHot(tf.reshape(indices, [-1]) as tf.Tensor1D, 8); // [P*C, 8]
    const spread = tf.mul(tf.reshape(hot, [parents, c, 8]), tf.expandDims(x, 2)); // [P, C, 8]
    const all = tf.reshape(tf.transpose(spread, [0, 2, 1]), [parents * 8, c]) as tf.Tensor2D;
    return nempty ? octreeDepad(all, octree, depth) : all;
  });
}

/**
 * octree_avg_pool: mean over the valid (non -1) neighbours of each output row. With stride 2 and kernel
 * 222 this is the mean of the 8 children; without nempty, empty rows count as valid rows (their value
 * is whatever the input holds there), as in the reference.
 */
export function octreeAvgPool(data: tf.Tensor2D, octree: Octree, depth: number, opts: { kernel?: Kernel; stride?: 1 | 2; nempty?: boolean } = {}): tf.Tensor2D {
  const kernel = opts.kernel ?? '222';
  const stride = opts.stride ?? 2;
  const nempty = opts.nempty ?? false;
  checkRowsAt(data, octree, depth, nempty, 'octreeAvgPool');
  const K = kernelSize(kernel);
  const neigh = getNeighbors(octree, { depth, kernel, stride, nempty });
  const rows = neigh.length / K;
  const inv = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let n = 0;
    for (let k = 0; k < K; k++) if (neigh[i * K + k]! >= 0) n++;
    inv[i] = n > 0 ? 1 / n : 0;
  }
  return tf.tidy(() => {
    const col = tf.reshape(octGather(data, indexTensor(neigh)), [rows, K, data.shape[1]]);
    const out = tf.mul(tf.sum(col, 1), tf.tensor2d(inv, [rows, 1])) as tf.Tensor2D;
    return stride === 2 && !nempty ? octreePad(out, octree, depth - 1) : out;
  });
}

/**
 * octree_global_pool: per-shape mean over the rows of `depth` (all rows, empty ones included, or the
 * non-empty ones), giving [batchSize, C].
 */
export function octreeGlobalPool(data: tf.Tensor2D, octree: Octree, depth: number, nempty = false): tf.Tensor2D {
  checkRowsAt(data, octree, depth, nempty, 'octreeGlobalPool');
  const counts = (nempty ? octree.batchNnumNempty : octree.batchNnum)[depth]!;
  const inv = new Float32Array(octree.batchSize);
  for (let b = 0; b < octree.batchSize; b++) inv[b] = 1 / Math.max(1, counts[b]!);
  return tf.tidy(() => {
    const bid = nempty ? octree.batchIdNempty(depth) : octree.batchId(depth);
    const sum = octScatterAdd(data, indexTensor(bid), octree.batchSize);
    return tf.mul(sum, tf.tensor2d(inv, [octree.batchSize, 1])) as tf.Tensor2D;
  });
}

/** Per-shape max over the rows of `depth` (a common alternative head). */
export function octreeGlobalMaxPool(data: tf.Tensor2D, octree: Octree, depth: number, nempty = false): tf.Tensor2D {
  checkRowsAt(data, octree, depth, nempty, 'octreeGlobalMaxPool');
  return tf.tidy(() => {
    const off = octree.batchOffsets(depth, nempty);
    const parts: tf.Tensor[] = [];
    for (let b = 0; b < octree.batchSize; b++) {
      const n = off[b + 1]! - off[b]!;
      parts.push(n > 0 ? tf.max(tf.slice(data, [off[b]!, 0], [n, data.shape[1]]), 0, true) : tf.zeros([1, data.shape[1]]));
    }
    return tf.concat(parts, 0) as tf.Tensor2D;
  });
}

/** Rows of `depth` as a dense per-shape block [batchSize, 8^depth · C] in Morton order (depth <= fullDepth). */
export function octreeToDense(data: tf.Tensor2D, octree: Octree, depth: number): tf.Tensor2D {
  if (depth > octree.fullDepth) throw new RangeError(`octreeToDense: depth ${depth} is not a full (dense) depth (fullDepth ${octree.fullDepth})`);
  checkRowsAt(data, octree, depth, false, 'octreeToDense');
  return tf.reshape(data, [octree.batchSize, (rowCount(octree, depth, false) / octree.batchSize) * data.shape[1]]) as tf.Tensor2D;
}
