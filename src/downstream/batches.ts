import { Rng } from '../util/rng.ts';

/**
 * Index batches for downstream training: `steps` batches drawn epoch by epoch from seeded permutations of
 * `pool` (the last partial batch of an epoch is kept when the pool is smaller than a batch, so 1 % subsets
 * with a handful of shapes still train).
 */
export function trainingBatches(pool: readonly number[], batchSize: number, steps: number, seed: number | string): number[][] {
  const out: number[][] = [];
  if (pool.length === 0) return out;
  const b = Math.min(batchSize, pool.length);
  for (let epoch = 0; out.length < steps; epoch++) {
    const perm = new Rng(`${seed}/downstream/${epoch}`).permutation(pool.length);
    for (let s = 0; s + b <= pool.length && out.length < steps; s += b) out.push(Array.from(perm.subarray(s, s + b), (i) => pool[i]!));
  }
  return out;
}

/** Consecutive chunks (evaluation order). */
export function chunks(items: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < items.length; s += size) out.push(items.slice(s, s + size));
  return out;
}
