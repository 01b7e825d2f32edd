/**
 * A small seeded k-means (k-means++ seeding, Lloyd iterations) over interleaved d-dimensional rows, for the
 * "cluster" colouring. The viewer switches to src/ssl's k-means once that module exists.
 */
import { Rng } from '../../src/util/rng.ts';

export interface KMeansResult {
  assign: Int32Array;
  centers: Float64Array;
  iterations: number;
}

export function kmeans(data: Float32Array, dim: number, k: number, seed: number, maxIter = 25): KMeansResult {
  const n = data.length / dim;
  const kk = Math.max(1, Math.min(k, n));
  const rng = new Rng(seed).fork('kmeans');
  const centers = new Float64Array(kk * dim);
  const d2 = new Float64Array(n).fill(Infinity);
  const dist = (i: number, c: number): number => {
    let s = 0;
    for (let a = 0; a < dim; a++) {
      const t = data[i * dim + a]! - centers[c * dim + a]!;
      s += t * t;
    }
    return s;
  };
  // k-means++: each new center is drawn with probability proportional to the squared distance to the nearest one.
  let pick = rng.int(0, n - 1);
  for (let c = 0; c < kk; c++) {
    for (let a = 0; a < dim; a++) centers[c * dim + a] = data[pick * dim + a]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      d2[i] = Math.min(d2[i]!, dist(i, c));
      total += d2[i]!;
    }
    if (c + 1 < kk) {
      let r = rng.uniform() * total;
      pick = n - 1;
      for (let i = 0; i < n; i++) {
        r -= d2[i]!;
        if (r <= 0) {
          pick = i;
          break;
        }
      }
    }
  }
  const assign = new Int32Array(n).fill(-1);
  const sums = new Float64Array(kk * dim);
  const counts = new Int32Array(kk);
  let it = 0;
  for (; it < maxIter; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let best = 0, bd = Infinity;
      for (let c = 0; c < kk; c++) {
        const d = dist(i, c);
        if (d < bd) {
          bd = d;
          best = c;
        }
      }
      if (assign[i] !== best) {
        assign[i] = best;
        changed++;
      }
    }
    if (changed === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assign[i]!;
      counts[c]!++;
      for (let a = 0; a < dim; a++) sums[c * dim + a]! += data[i * dim + a]!;
    }
    for (let c = 0; c < kk; c++) {
      if (counts[c]! > 0) for (let a = 0; a < dim; a++) centers[c * dim + a] = sums[c * dim + a]! / counts[c]!;
    }
  }
  return { assign, centers, iterations: it };
}
