import * as tf from '@tensorflow/tfjs';
import type { PointCloud } from '../data/pointcloud.ts';
import type { Backbone } from '../models/backbone.ts';
import { BatchPipeline, type SampleSpec, type WorkerPool } from '../pipeline/index.ts';
import { Rng } from '../util/rng.ts';

/**
 * The pretraining monitor: how well the current fc1 features separate the classes, measured without
 * training anything (top-1 of a cosine k-nearest-neighbour classifier, as InstDisc / MoCo monitor their
 * runs). Labels are read only here, never by the losses. Everything reads back asynchronously and
 * disposes what it makes, so it can run between epochs without touching the training state.
 */

/** The canonical-shape sample spec (no augmentation, no RQ) that feature extraction uses. */
export function evalSampleSpec(model: { depth: number; fullDepth: number }): SampleSpec {
  return { depth: model.depth, fullDepth: model.fullDepth, transform: 'none', rq: null, features: 'ND', nempty: false };
}

/**
 * Global (fc1) features [indices.length x globalChannels] of the canonical shapes, network in inference mode (batch-norm
 * running statistics), read back with `await data()`.
 */
export async function fc1Features(
  net: Backbone,
  clouds: readonly PointCloud[],
  indices: readonly number[],
  pool: WorkerPool,
  opts: { batchSize?: number; onProgress?: (done: number) => void } = {},
): Promise<Float32Array> {
  const cfg = net.config;
  const dim = net.globalChannels;
  const out = new Float32Array(indices.length * dim);
  const size = opts.batchSize ?? 16;
  const batches: number[][] = [];
  for (let s = 0; s < indices.length; s += size) batches.push(indices.slice(s, s + size));
  const pipe = new BatchPipeline({ load: (i) => clouds[i]!, batches, spec: evalSampleSpec(cfg), pool, seed: 0 });
  let done = 0;
  // inference mode for the extraction only: the caller's mode (training, between epochs) comes back after
  const wasTraining = net.training;
  net.training = false;
  try {
    for await (const b of pipe) {
      const f = tf.tidy(() => {
        const x = tf.tensor2d(b.features.data, [b.octree.nnum[cfg.depth]!, b.features.channels]);
        return net.globalFeature(x, b.octree);
      });
      out.set((await f.data()) as Float32Array, done * dim);
      f.dispose();
      done += b.indices.length;
      opts.onProgress?.(done);
    }
  } finally {
    net.training = wasTraining;
  }
  return out;
}

/** A seeded split of 0..n-1: the first ceil(holdout·n) of a permutation are the queries, the rest the memory. */
export function knnSplit(n: number, holdout: number, seed: number | string): { queries: number[]; memory: number[] } {
  const perm = Array.from(new Rng(`${seed}/knn-monitor`).permutation(n));
  const q = Math.min(n - 1, Math.max(1, Math.ceil(holdout * n)));
  return { queries: perm.slice(0, q).sort((a, b) => a - b), memory: perm.slice(q).sort((a, b) => a - b) };
}

/**
 * Top-1 accuracy of a cosine kNN classifier: every query takes the majority label of its k most similar
 * memory rows (ties broken by the larger summed similarity, then the smaller label). Rows are L2-normalized
 * first, so a zero row has similarity 0 to everything.
 */
export async function cosineKnnAccuracy(
  memory: { x: Float32Array; y: ArrayLike<number> },
  queries: { x: Float32Array; y: ArrayLike<number> },
  dim: number,
  k: number,
): Promise<number> {
  const nm = memory.y.length;
  const nq = queries.y.length;
  if (nq === 0 || nm === 0) return NaN;
  const kk = Math.min(k, nm);
  const { values, indices } = tf.tidy(() => {
    const norm = (t: tf.Tensor2D): tf.Tensor2D => tf.div(t, tf.maximum(tf.norm(t, 2, 1, true), 1e-12)) as tf.Tensor2D;
    const sim = tf.matMul(norm(tf.tensor2d(queries.x, [nq, dim])), norm(tf.tensor2d(memory.x, [nm, dim])), false, true);
    return tf.topk(sim, kk);
  });
  const [sims, idx] = await Promise.all([values.data(), indices.data()]);
  tf.dispose([values, indices]);
  let correct = 0;
  const votes = new Map<number, { n: number; s: number }>();
  for (let q = 0; q < nq; q++) {
    votes.clear();
    for (let j = 0; j < kk; j++) {
      const label = memory.y[idx[q * kk + j]!]!;
      const v = votes.get(label) ?? { n: 0, s: 0 };
      v.n++;
      v.s += sims[q * kk + j]!;
      votes.set(label, v);
    }
    let best = -1;
    let bv = { n: -1, s: -Infinity };
    for (const [label, v] of votes) {
      if (v.n > bv.n || (v.n === bv.n && (v.s > bv.s || (v.s === bv.s && label < best)))) {
        best = label;
        bv = v;
      }
    }
    if (best === queries.y[q]) correct++;
  }
  return correct / nq;
}

export interface KnnMonitorResult {
  /** Top-1 accuracy of the held-out queries. */
  top1: number;
  /** Accuracy of always answering the queries' most frequent class (the level to beat). */
  chance: number;
  k: number;
  queries: number;
  memory: number;
  seconds: number;
}

/** One kNN measurement of `net` on the labelled shapes `clouds` (split as `knnSplit(n, holdout, seed)`). */
export async function knnMonitor(
  net: Backbone,
  clouds: readonly PointCloud[],
  labels: ArrayLike<number>,
  o: { k: number; holdout: number; seed: number | string; pool: WorkerPool; batchSize?: number },
): Promise<KnnMonitorResult> {
  const t0 = performance.now();
  const { queries, memory } = knnSplit(clouds.length, o.holdout, o.seed);
  const all = await fc1Features(net, clouds, [...queries, ...memory], o.pool, { batchSize: o.batchSize });
  const dim = net.globalChannels;
  const q = { x: all.subarray(0, queries.length * dim), y: queries.map((i) => labels[i]!) };
  const m = { x: all.subarray(queries.length * dim), y: memory.map((i) => labels[i]!) };
  const top1 = await cosineKnnAccuracy(m, q, dim, o.k);
  const counts = new Map<number, number>();
  for (const l of q.y) counts.set(l, (counts.get(l) ?? 0) + 1);
  const chance = Math.max(...counts.values()) / q.y.length;
  return { top1, chance, k: Math.min(o.k, memory.length), queries: queries.length, memory: memory.length, seconds: (performance.now() - t0) / 1000 };
}
