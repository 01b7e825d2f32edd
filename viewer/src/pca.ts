/**
 * Colours from per-point network features: the 3 principal components of the features, each mapped to one of
 * R, G, B. The basis is fitted on one cloud (the original view) and applied to others (the quantized view),
 * so the same colour means the same feature direction in both. Pure and deterministic: the covariance uses at
 * most MAX_FIT_ROWS evenly spaced rows, the eigenvectors come from power iteration from fixed starts, and each
 * component's sign is fixed (its largest entry positive).
 */
export const MAX_FIT_ROWS = 4096;

export interface PcaBasis {
  channels: number;
  mean: Float64Array;
  /** Up to 3 unit vectors of length `channels`, by decreasing variance. */
  components: Float64Array[];
  /** Variance along each component, and the total (the covariance's trace): their ratio is the share shown. */
  variances: number[];
  totalVariance: number;
  /** Per component: the 2nd and 98th percentiles of the fitted projections, mapped to 0 and 1. */
  lo: number[];
  hi: number[];
}

function rowsToFit(n: number): number[] {
  const m = Math.min(n, MAX_FIT_ROWS);
  return Array.from({ length: m }, (_, j) => Math.floor((j * n) / m));
}

function project(x: Float32Array, row: number, c: number, mean: Float64Array, v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < c; j++) s += (x[row * c + j]! - mean[j]!) * v[j]!;
  return s;
}

/** Fit the basis on `n` rows of `channels` features (row-major). */
export function fitPca(x: Float32Array, n: number, channels: number, k = 3): PcaBasis {
  const c = channels;
  if (x.length !== n * c) throw new Error(`PCA: ${x.length} values for ${n} rows of ${c} channels`);
  const rows = rowsToFit(n);
  const mean = new Float64Array(c);
  for (const r of rows) for (let j = 0; j < c; j++) mean[j]! += x[r * c + j]!;
  for (let j = 0; j < c; j++) mean[j]! /= Math.max(1, rows.length);
  const cov = new Float64Array(c * c);
  const d = new Float64Array(c);
  for (const r of rows) {
    for (let j = 0; j < c; j++) d[j] = x[r * c + j]! - mean[j]!;
    for (let a = 0; a < c; a++) {
      const da = d[a]!;
      if (da === 0) continue;
      for (let b = a; b < c; b++) cov[a * c + b]! += da * d[b]!;
    }
  }
  for (let a = 0; a < c; a++) for (let b = a; b < c; b++) cov[b * c + a] = cov[a * c + b]! /= Math.max(1, rows.length - 1);

  let totalVariance = 0;
  for (let a = 0; a < c; a++) totalVariance += cov[a * c + a]!;
  const components: Float64Array[] = [];
  const variances: number[] = [];
  const w = new Float64Array(c);
  for (let q = 0; q < Math.min(k, c); q++) {
    // Power iteration on the covariance deflated by the components found so far.
    let v = new Float64Array(c).map((_, j) => 1 + ((j * 7 + q * 3) % 5) / 10);
    let lambda = 0;
    for (let it = 0; it < 200; it++) {
      for (const u of components) {
        let dot = 0;
        for (let j = 0; j < c; j++) dot += u[j]! * v[j]!;
        for (let j = 0; j < c; j++) v[j]! -= dot * u[j]!;
      }
      w.fill(0);
      for (let a = 0; a < c; a++) {
        let s = 0;
        for (let b = 0; b < c; b++) s += cov[a * c + b]! * v[b]!;
        w[a] = s;
      }
      for (const u of components) {
        let dot = 0;
        for (let j = 0; j < c; j++) dot += u[j]! * w[j]!;
        for (let j = 0; j < c; j++) w[j]! -= dot * u[j]!;
      }
      const norm = Math.hypot(...w);
      if (!(norm > 1e-12)) break;
      const next = w.map((x) => x / norm);
      let change = 0;
      for (let j = 0; j < c; j++) change += Math.abs(next[j]! - v[j]!);
      v = next;
      lambda = norm;
      if (change < 1e-9) break;
    }
    if (!(lambda > 1e-12)) break;
    let big = 0;
    for (let j = 1; j < c; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    if (v[big]! < 0) v = v.map((x) => -x);
    components.push(v);
    variances.push(lambda);
  }

  const lo: number[] = [];
  const hi: number[] = [];
  for (const v of components) {
    const p = rows.map((r) => project(x, r, c, mean, v)).sort((a, b) => a - b);
    const at = (f: number): number => p[Math.min(p.length - 1, Math.max(0, Math.round(f * (p.length - 1))))]!;
    lo.push(at(0.02));
    hi.push(at(0.98));
  }
  return { channels: c, mean, components, variances, totalVariance, lo, hi };
}

/** RGB per row in [0, 1]: component q -> channel q (a missing component gives a constant 0.5). */
export function pcaColors(x: Float32Array, n: number, basis: PcaBasis): Float32Array {
  const c = basis.channels;
  if (x.length !== n * c) throw new Error(`PCA: ${x.length} values for ${n} rows of ${c} channels`);
  const out = new Float32Array(3 * n).fill(0.5);
  basis.components.forEach((v, q) => {
    const span = basis.hi[q]! - basis.lo[q]!;
    for (let i = 0; i < n; i++) {
      const t = span > 0 ? (project(x, i, c, basis.mean, v) - basis.lo[q]!) / span : 0.5;
      out[3 * i + q] = Math.min(1, Math.max(0, t));
    }
  });
  return out;
}
