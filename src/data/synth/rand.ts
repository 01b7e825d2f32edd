/** Small sugar over Rng for the shape recipes. */
import type { Rng } from '../../util/rng.ts';

export const U = (rng: Rng, lo: number, hi: number): number => rng.range(lo, hi);
export const chance = (rng: Rng, p: number): boolean => rng.uniform() < p;
export function oneOf<T>(rng: Rng, items: readonly T[], weights?: readonly number[]): T {
  if (!weights) return items[Math.floor(rng.uniform() * items.length)]!;
  let total = 0;
  for (const w of weights) total += w;
  let u = rng.uniform() * total;
  for (let i = 0; i < items.length; i++) {
    u -= weights[i]!;
    if (u < 0) return items[i]!;
  }
  return items[items.length - 1]!;
}
