import { Rng } from '../util/rng.ts';

/**
 * Index batches for downstream training: `steps` batches drawn epoch by epoch from seeded permutations of
 * `pool` (the last partial batch of an epoch is kept when the pool is smaller than a batch, so 1 % subsets
 * with a handful of shapes still train), grouped by epoch: element e holds epoch e's batches. Build each
 * epoch's BatchPipeline with `epoch: e`, so a shape gets a fresh augmentation on every pass.
 */
export function trainingEpochs(pool: readonly number[], batchSize: number, steps: number, seed: number | string): number[][][] {
  const out: number[][][] = [];
  if (pool.length === 0) return out;
  const b = Math.min(batchSize, pool.length);
  for (let epoch = 0, n = 0; n < steps; epoch++) {
    const perm = new Rng(`${seed}/downstream/${epoch}`).permutation(pool.length);
    const batches: number[][] = [];
    for (let s = 0; s + b <= pool.length && n < steps; s += b, n++) batches.push(Array.from(perm.subarray(s, s + b), (i) => pool[i]!));
    out.push(batches);
  }
  return out;
}

/** trainingEpochs flattened: the batches in the order they are consumed. */
export function trainingBatches(pool: readonly number[], batchSize: number, steps: number, seed: number | string): number[][] {
  return trainingEpochs(pool, batchSize, steps, seed).flat();
}

/** Consecutive chunks (evaluation order). */
export function chunks(items: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < items.length; s += size) out.push(items.slice(s, s + size));
  return out;
}
