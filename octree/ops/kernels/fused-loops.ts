/**
 * The JS versions of the batch-norm and sibling-max kernels of ./wasm/kernels.wat, with the same
 * arithmetic (f64 sums; y = x·s + t with s = invStd·gamma, t = beta − mean·s; the ReLU mask of the
 * backward rebuilt from the same s and t). They run on the cpu backend, as the wasm fallback, and on
 * arrays read back from any other backend. Arrays are (array, offset) pairs as in ./loops.ts.
 */

/** Per-channel s and t of the forward, from stats = [mean | variance | invStd] (each c long). */
function scaleShift(
  stats: Float32Array,
  so: number,
  gamma: Float32Array,
  go: number,
  beta: Float32Array,
  bo: number,
  c: number,
): { s: Float32Array; t: Float32Array } {
  const s = new Float32Array(c),
    t = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    s[k] = Math.fround(stats[so + 2 * c + k]! * gamma[go + k]!);
    t[k] = beta[bo + k]! - stats[so + k]! * s[k]!;
  }
  return { s, t };
}

/** y = relu?((x − mean)·invStd·gamma + beta) over rows of x [n, c]; writes stats [3, c]. */
export function bnForwardRows(
  x: Float32Array,
  xo: number,
  n: number,
  c: number,
  gamma: Float32Array,
  go: number,
  beta: Float32Array,
  bo: number,
  eps: number,
  relu: boolean,
  y: Float32Array,
  yo: number,
  stats: Float32Array,
  so: number,
): void {
  const nn = Math.max(1, n);
  const mean = new Float64Array(c),
    sq = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) mean[k] += x[xo + i * c + k]!;
  for (let k = 0; k < c; k++) mean[k] /= nn;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const d = x[xo + i * c + k]! - mean[k]!;
      sq[k] += d * d;
    }
  }
  for (let k = 0; k < c; k++) {
    const v = sq[k]! / nn;
    stats[so + k] = mean[k]!;
    stats[so + c + k] = v;
    stats[so + 2 * c + k] = 1 / Math.sqrt(v + eps);
  }
  const { s, t } = scaleShift(stats, so, gamma, go, beta, bo, c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const v = Math.fround(Math.fround(x[xo + i * c + k]! * s[k]!) + t[k]!);
      y[yo + i * c + k] = relu && v < 0 ? 0 : v;
    }
  }
}

/** dx, dgamma, dbeta of bnForwardRows, from dy, x and the forward's stats. */
export function bnBackwardRows(
  dy: Float32Array,
  dyo: number,
  x: Float32Array,
  xo: number,
  n: number,
  c: number,
  gamma: Float32Array,
  go: number,
  beta: Float32Array,
  bo: number,
  stats: Float32Array,
  so: number,
  relu: boolean,
  dx: Float32Array,
  dxo: number,
  dgamma: Float32Array,
  dgo: number,
  dbeta: Float32Array,
  dbo: number,
): void {
  const nn = Math.max(1, n);
  const { s, t } = scaleShift(stats, so, gamma, go, beta, bo, c);
  const sumG = new Float64Array(c),
    sumGH = new Float64Array(c);
  const mean = stats.subarray(so, so + c),
    inv = stats.subarray(so + 2 * c, so + 3 * c);
  // (inlined rather than helper closures: this is the cpu backend's hot loop)
  for (let i = 0; i < n; i++) {
    const o = i * c;
    for (let k = 0; k < c; k++) {
      const xv = x[xo + o + k]!;
      const g = relu && !(Math.fround(Math.fround(xv * s[k]!) + t[k]!) > 0) ? 0 : dy[dyo + o + k]!;
      sumG[k] += g;
      sumGH[k] += g * Math.fround(Math.fround(xv - mean[k]!) * inv[k]!);
    }
  }
  const b = new Float32Array(c),
    e = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    dbeta[dbo + k] = sumG[k]!;
    dgamma[dgo + k] = sumGH[k]!;
    b[k] = (s[k]! * sumG[k]!) / nn;
    e[k] = (s[k]! * sumGH[k]!) / nn;
  }
  for (let i = 0; i < n; i++) {
    const o = i * c;
    for (let k = 0; k < c; k++) {
      const xv = x[xo + o + k]!;
      const g = relu && !(Math.fround(Math.fround(xv * s[k]!) + t[k]!) > 0) ? 0 : dy[dyo + o + k]!;
      const h = Math.fround(Math.fround(xv - mean[k]!) * inv[k]!);
      dx[dxo + o + k] = Math.fround(Math.fround(s[k]! * g) - b[k]!) - Math.fround(h * e[k]!);
    }
  }
}

/** out[i, k] = max of x rows 8i..8i+7 in channel k; arg = its slot (the first maximum). */
export function siblingMaxRows(x: Float32Array, xo: number, p: number, c: number, out: Float32Array, oo: number, arg: Int32Array, ao: number): void {
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < c; k++) {
      let best = x[xo + 8 * i * c + k]!;
      let bi = 0;
      for (let s = 1; s < 8; s++) {
        const v = x[xo + (8 * i + s) * c + k]!;
        if (v > best) {
          best = v;
          bi = s;
        }
      }
      out[oo + i * c + k] = best;
      arg[ao + i * c + k] = bi;
    }
  }
}

/** dx [8p, c] = 0 except dx[8i + arg[i, k], k] = dy[i, k]. */
export function siblingMaxGradRows(dy: Float32Array, dyo: number, arg: Int32Array, ao: number, p: number, c: number, dx: Float32Array, dxo: number): void {
  dx.fill(0, dxo, dxo + 8 * p * c);
  for (let i = 0; i < p; i++) for (let k = 0; k < c; k++) dx[dxo + (8 * i + arg[ao + i * c + k]!) * c + k] = dy[dyo + i * c + k]!;
}

/**
 * out [R, c]: row r = Σ weight[e] · x row src[e] for e in offsets[r] .. offsets[r+1], summed in e order into
 * the float32 output (the weighted gather of interpolation and, on the transposed table, its gradient).
 * Float32 products and sums (the product rounded to float32, then the float32 add), the arithmetic of
 * weightedRows in ./wasm/kernels.wat, so both paths give the same bits.
 */
export function weightedRowsLoop(
  x: Float32Array,
  xo: number,
  offsets: Int32Array,
  oo: number,
  src: Int32Array,
  so: number,
  weight: Float32Array,
  wo: number,
  rows: number,
  c: number,
  out: Float32Array,
  outo: number,
): void {
  out.fill(0, outo, outo + rows * c);
  for (let r = 0; r < rows; r++) {
    const o = outo + r * c;
    for (let e = offsets[oo + r]!; e < offsets[oo + r + 1]!; e++) {
      const w = weight[wo + e]!;
      const s = xo + src[so + e]! * c;
      for (let k = 0; k < c; k++) out[o + k] += Math.fround(w * x[s + k]!);
    }
  }
}
