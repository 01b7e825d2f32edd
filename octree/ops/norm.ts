import * as tf from '@tensorflow/tfjs';
import { octGather, octScatterAdd } from './kernels/index.ts';
import type { Octree } from '../octree.ts';
import { checkRowsAt, indexTensor } from './tables.ts';

/**
 * Normalization over octree rows (anchor-spec §2.8).
 * - Batch norm: statistics over all rows of the batch (empty rows included when the data has them, as in
 *   the reference); running statistics are the caller's (see src/models layers).
 * - Group / instance norm: statistics per shape and per channel group, biased variance, eps 1e-5,
 *   computed with scatter-adds over the row -> shape index, so a merged batch normalizes each shape alone.
 */
export function batchNormTrain(
  x: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps = 1e-5,
): { y: tf.Tensor2D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, 0);
    const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta) as tf.Tensor2D;
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}

export function batchNormInfer(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, mean: tf.Tensor1D, variance: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
  return tf.tidy(() => {
    const scale = tf.div(gamma, tf.sqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(mean, scale))) as tf.Tensor2D;
  });
}

export function octreeGroupNorm(
  x: tf.Tensor2D,
  octree: Octree,
  depth: number,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  opts: { groups: number; nempty?: boolean; eps?: number },
): tf.Tensor2D {
  const nempty = opts.nempty ?? false;
  checkRowsAt(x, octree, depth, nempty, 'octreeGroupNorm');
  const c = x.shape[1];
  const g = opts.groups;
  if (c % g !== 0) throw new RangeError(`octreeGroupNorm: ${c} channels are not divisible by ${g} groups`);
  const eps = opts.eps ?? 1e-5;
  const counts = (nempty ? octree.batchNnumNempty : octree.batchNnum)[depth]!;
  const B = octree.batchSize;
  const inv = new Float32Array(B);
  for (let b = 0; b < B; b++) inv[b] = 1 / Math.max(1, counts[b]! * (c / g));
  return tf.tidy(() => {
    const bid = indexTensor(nempty ? octree.batchIdNempty(depth) : octree.batchId(depth));
    const invT = tf.tensor2d(inv, [B, 1]);
    // per shape and group: sums over rows, then over the channels of the group
    const groupSum = (t: tf.Tensor2D): tf.Tensor2D => tf.sum(tf.reshape(octScatterAdd(t, bid, B), [B, g, c / g]), 2) as tf.Tensor2D;
    const mean = tf.mul(groupSum(x), invT) as tf.Tensor2D; // [B, g]
    const expand = (t: tf.Tensor2D): tf.Tensor2D => octGather(tf.reshape(tf.tile(tf.expandDims(t, 2), [1, 1, c / g]), [B, c]) as tf.Tensor2D, bid);
    const centred = tf.sub(x, expand(mean)) as tf.Tensor2D;
    const variance = tf.mul(groupSum(tf.square(centred) as tf.Tensor2D), invT) as tf.Tensor2D;
    const y = tf.div(centred, tf.sqrt(tf.add(expand(variance), eps)));
    return tf.add(tf.mul(y, gamma), beta) as tf.Tensor2D;
  });
}

/** Instance norm = group norm with one group per channel. */
export function octreeInstanceNorm(
  x: tf.Tensor2D,
  octree: Octree,
  depth: number,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  opts: { nempty?: boolean; eps?: number } = {},
): tf.Tensor2D {
  return octreeGroupNorm(x, octree, depth, gamma, beta, { groups: x.shape[1], ...opts });
}
