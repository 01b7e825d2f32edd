import { Rng } from '../util/rng.ts';

/**
 * K-means on xyz (MID-Net's per-shape point clusters, anchor-spec §3.1 step 4: KMeans(100, n_init=1)):
 * k-means++ seeding, then Lloyd iterations until assignments stop changing. Seeded and deterministic.
 * With fewer points than k, every point is its own cluster (k = n).
 */
export interface KMeansResult {
  /** Cluster id per point. */
  labels: Int32Array;
  /** k x 3 centres. */
  centers: Float32Array;
  k: number;
  iterations: number;
}

export function kmeans(points: Float32Array, k: number, opts: { seed?: number | string; maxIterations?: number } = {}): KMeansResult {
  const n = points.length / 3;
  if (n === 0) return { labels: new Int32Array(0), centers: new Float32Array(0), k: 0, iterations: 0 };
  k = Math.max(1, Math.min(k, n));
  const rng = new Rng(opts.seed ?? 0);
  const centers = new Float32Array(3 * k);
  // k-means++ seeding
  const d2 = new Float64Array(n).fill(Infinity);
  let c = rng.int(0, n - 1);
  for (let j = 0; j < k; j++) {
    centers[3 * j] = points[3 * c]!;
    centers[3 * j + 1] = points[3 * c + 1]!;
    centers[3 * j + 2] = points[3 * c + 2]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dx = points[3 * i]! - centers[3 * j]!;
      const dy = points[3 * i + 1]! - centers[3 * j + 1]!;
      const dz = points[3 * i + 2]! - centers[3 * j + 2]!;
      const d = dx * dx + dy * dy + dz * dz;
      if (d < d2[i]!) d2[i] = d;
      total += d2[i]!;
    }
    if (j + 1 === k) break;
    let r = rng.uniform() * total;
    c = n - 1;
    for (let i = 0; i < n; i++) {
      r -= d2[i]!;
      if (r <= 0) {
        c = i;
        break;
      }
    }
  }
  const labels = new Int32Array(n).fill(-1);
  const sums = new Float64Array(3 * k);
  const counts = new Int32Array(k);
  const maxIt = opts.maxIterations ?? 100;
  let it = 0;
  for (; it < maxIt; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const x = points[3 * i]!;
      const y = points[3 * i + 1]!;
      const z = points[3 * i + 2]!;
      let best = 0;
      let bd = Infinity;
      for (let j = 0; j < k; j++) {
        const dx = x - centers[3 * j]!;
        const dy = y - centers[3 * j + 1]!;
        const dz = z - centers[3 * j + 2]!;
        const d = dx * dx + dy * dy + dz * dz;
        if (d < bd) {
          bd = d;
          best = j;
        }
      }
      if (labels[i] !== best) {
        labels[i] = best;
        changed++;
      }
    }
    if (changed === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const j = labels[i]!;
      sums[3 * j] += points[3 * i]!;
      sums[3 * j + 1] += points[3 * i + 1]!;
      sums[3 * j + 2] += points[3 * i + 2]!;
      counts[j]!++;
    }
    for (let j = 0; j < k; j++) {
      if (counts[j] === 0) continue; // an empty cluster keeps its centre
      centers[3 * j] = sums[3 * j]! / counts[j]!;
      centers[3 * j + 1] = sums[3 * j + 1]! / counts[j]!;
      centers[3 * j + 2] = sums[3 * j + 2]! / counts[j]!;
    }
  }
  return { labels, centers, k, iterations: it + 1 };
}
