import { Rng } from '../../src/util/rng.ts';

/** Random rows in [-1, 1). */
export function randomRows(rng: Rng, rows: number, c: number): Float32Array {
  const a = new Float32Array(rows * c);
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
}

/** Random indices in [0, rows) with about `emptyFraction` of them -1; duplicates are common. */
export function randomIndex(rng: Rng, m: number, rows: number, emptyFraction = 0.4): Int32Array {
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[i] = rows === 0 || rng.uniform() < emptyFraction ? -1 : rng.int(0, rows - 1);
  return idx;
}

/** Plain float64 gather: out[i] = x[idx[i]] or 0. */
export function gatherJs(x: ArrayLike<number>, c: number, idx: ArrayLike<number>): Float64Array {
  const out = new Float64Array(idx.length * c);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (r < 0) continue;
    for (let k = 0; k < c; k++) out[i * c + k] = x[r * c + k]!;
  }
  return out;
}

/** Plain float64 scatter-add. */
export function scatterAddJs(y: ArrayLike<number>, c: number, idx: ArrayLike<number>, numRows: number): Float64Array {
  const out = new Float64Array(numRows * c);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (r < 0) continue;
    for (let k = 0; k < c; k++) out[r * c + k] += y[i * c + k]!;
  }
  return out;
}

/** Plain float64 [m,k]x[k,n]. */
export function matMulJs(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      for (let j = 0; j < n; j++) out[i * n + j] += av * b[p * n + j]!;
    }
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}
