import * as tf from '@tensorflow/tfjs';
import { l2Normalize, octGather, segmentSoftmaxCrossEntropy } from '../../octree/ops/index.ts';
import type { MemoryBank } from './memory-bank.ts';

/**
 * MID-Net's two instance-discrimination losses (anchor-spec §3.4):
 * - shape level: f = normalize(fc2); logits = f · M_sᵀ / τ over every instance of the bank; the target is the
 *   shape's own instance id;
 * - point level: g = normalize(point feature) of each labelled finest node; logits = g · M_p[s]ᵀ / τ over the
 *   cluster prototypes of the node's own shape s; the target is the node's cluster id (label -1 is masked).
 * One augmented view per shape per step: the ids act as classes. Banks are updated after the step
 * (see updateBanks) from the same forward features.
 */
export interface MidBatchTargets {
  /** Instance id of each shape of the batch. */
  ids: Int32Array;
  /** Per non-empty finest node of the merged octree: its cluster id (-1 = none). */
  nodeLabels: Int32Array;
  /** Per non-empty finest node: its shape index within the batch. */
  nodeShape: Int32Array;
  clusters: number;
}

export interface MidLossOutput {
  loss: tf.Scalar;
  shapeLoss: tf.Scalar;
  pointLoss: tf.Scalar;
  /** Normalized features, kept for the bank update (caller disposes). */
  f: tf.Tensor2D;
  g: tf.Tensor2D;
  /** Rows of g (labelled nodes) and their labels / shapes, for the update and the accuracies. */
  labelled: Int32Array;
  shapeLogits: tf.Tensor2D;
  pointLogits: tf.Tensor2D;
}

/** The labelled nodes, grouped by shape (rows are already shape-ordered). */
export function labelledNodes(t: MidBatchTargets): { rows: Int32Array; perShape: Int32Array } {
  const rows: number[] = [];
  const perShape = new Int32Array(t.ids.length);
  for (let i = 0; i < t.nodeLabels.length; i++) {
    if (t.nodeLabels[i]! >= 0) {
      rows.push(i);
      perShape[t.nodeShape[i]!]!++;
    }
  }
  return { rows: Int32Array.from(rows), perShape };
}

export function midLosses(
  fc2: tf.Tensor2D,
  pointOut: tf.Tensor2D,
  targets: MidBatchTargets,
  shapeBank: MemoryBank,
  pointBank: MemoryBank,
  temperature = 0.1,
): MidLossOutput {
  const B = targets.ids.length;
  const K = targets.clusters;
  const dim = pointOut.shape[1];
  const { rows } = labelledNodes(targets);
  const labels = new Int32Array(rows.length);
  const seg = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    labels[i] = targets.nodeLabels[rows[i]!]!;
    seg[i] = targets.nodeShape[rows[i]!]!;
  }
  const ids: number[] = [];
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) ids.push(targets.ids[b]! * K + k);
  const bankRows = pointBank.gather(ids); // B·K x dim: shape b's prototypes are rows b·K .. b·K + K
  return tf.tidy(() => {
    // shape level: every shape against the whole bank (one segment of shapeBank.rows prototypes)
    const f = l2Normalize(fc2);
    const shape = segmentSoftmaxCrossEntropy(
      f,
      tf.tensor2d(shapeBank.data, [shapeBank.rows, shapeBank.dim]),
      new Int32Array(B),
      targets.ids,
      shapeBank.rows,
      1 / temperature,
    );
    // point level: each labelled node against its own shape's K prototypes, all shapes in one op
    const g = l2Normalize(octGather(pointOut, tf.tensor1d(rows, 'int32')));
    const point = segmentSoftmaxCrossEntropy(g, tf.tensor2d(bankRows, [B * K, dim]), seg, labels, K, 1 / temperature);
    const loss = tf.add(shape.loss, point.loss) as tf.Scalar;
    return { loss, shapeLoss: shape.loss, pointLoss: point.loss, f, g, labelled: rows, shapeLogits: shape.logits, pointLogits: point.logits };
  });
}

/** Fraction of rows whose argmax equals the target (reads back: a training step uses predictionAccuracy). */
export function accuracy(logits: tf.Tensor2D, targets: ArrayLike<number>): number {
  if (logits.shape[0] === 0) return 0;
  return predictionAccuracy(
    tf.tidy(() => tf.argMax(logits, 1).dataSync()),
    targets,
  );
}

/** Fraction of predictions (argmax rows, already read back) equal to the target. */
export function predictionAccuracy(pred: ArrayLike<number>, targets: ArrayLike<number>): number {
  if (pred.length === 0) return 0;
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === targets[i]) ok++;
  return ok / pred.length;
}

/**
 * Bank updates after a step, from the step's forward features: M_s[id] <- normalize(m·M_s[id] + (1-m)·f);
 * M_p[id,k] <- normalize(m·M_p[id,k] + (1-m)·normalize(mean of g over the shape's nodes of cluster k)); a
 * cluster with no node only renormalizes.
 */
export function updateBanks(
  f: Float32Array,
  g: Float32Array,
  labelled: Int32Array,
  targets: MidBatchTargets,
  shapeBank: MemoryBank,
  pointBank: MemoryBank,
  momentum = 0.5,
): void {
  const B = targets.ids.length;
  const K = targets.clusters;
  const ds = shapeBank.dim;
  const dp = pointBank.dim;
  for (let b = 0; b < B; b++) shapeBank.update(targets.ids[b]!, f.subarray(b * ds, (b + 1) * ds), momentum);
  const sums = new Float64Array(B * K * dp);
  const counts = new Int32Array(B * K);
  for (let i = 0; i < labelled.length; i++) {
    const row = labelled[i]!;
    const b = targets.nodeShape[row]!;
    const k = targets.nodeLabels[row]!;
    const o = (b * K + k) * dp;
    for (let c = 0; c < dp; c++) sums[o + c] += g[i * dp + c]!;
    counts[b * K + k]!++;
  }
  const v = new Float32Array(dp);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const id = targets.ids[b]! * K + k;
      if (counts[b * K + k] === 0) {
        pointBank.update(id, null, momentum);
        continue;
      }
      const o = (b * K + k) * dp;
      let norm = 0;
      for (let c = 0; c < dp; c++) norm += sums[o + c]! * sums[o + c]!;
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let c = 0; c < dp; c++) v[c] = sums[o + c]! * inv;
      pointBank.update(id, v, momentum);
    }
  }
}
