/**
 * The JS loops of the row kernels in ./row-kernels.ts: l2 normalization of rows, logits of each row
 * against its own segment's prototypes (and the transpose, for the gradient), softmax cross-entropy over
 * those logits, and column-block copies. They run on the cpu backend, and on the wasm backend on heap
 * views (segmentDot / segmentAxpy / copyCols also exist in ./wasm/kernels.wat, with the same arithmetic,
 * so both paths give the same bits). Arrays are (array, offset) pairs as in ./loops.ts.
 */

/** y row i = x row i / max(‖x row i‖, eps), the norm summed in float64. */
export function l2NormalizeRows(x: Float32Array, xo: number, n: number, c: number, eps: number, y: Float32Array, yo: number): void {
  for (let i = 0; i < n; i++) {
    const o = i * c;
    let s = 0;
    for (let k = 0; k < c; k++) s += x[xo + o + k]! * x[xo + o + k]!;
    const r = Math.max(Math.sqrt(s), eps);
    for (let k = 0; k < c; k++) y[yo + o + k] = x[xo + o + k]! / r;
  }
}

/**
 * dx of l2NormalizeRows: (dy − y·(y·dy)) / ‖x‖ where ‖x‖ > eps, dy / eps where the norm is clamped
 * (there y = x / eps is linear in x).
 */
export function l2NormalizeGradRows(
  dy: Float32Array,
  dyo: number,
  x: Float32Array,
  xo: number,
  n: number,
  c: number,
  eps: number,
  dx: Float32Array,
  dxo: number,
): void {
  for (let i = 0; i < n; i++) {
    const o = i * c;
    let s = 0;
    for (let k = 0; k < c; k++) s += x[xo + o + k]! * x[xo + o + k]!;
    const r = Math.sqrt(s);
    if (!(r > eps)) {
      for (let k = 0; k < c; k++) dx[dxo + o + k] = dy[dyo + o + k]! / eps;
      continue;
    }
    let dot = 0;
    for (let k = 0; k < c; k++) dot += x[xo + o + k]! * dy[dyo + o + k]!;
    const a = dot / (r * r);
    for (let k = 0; k < c; k++) dx[dxo + o + k] = (dy[dyo + o + k]! - x[xo + o + k]! * a) / r;
  }
}

const fr = Math.fround;

/**
 * out[i, j] = x row i · protos row seg[i]·k + j: float32 products summed in 4 lanes (lane l holds the
 * elements c ≡ l mod 4 below d − d mod 4), lanes added as (l0 + l1) + (l2 + l3), then the tail — the order
 * of the SIMD loop in kernels.wat. (The scale is applied by softmaxCrossEntropyRows.)
 */
export function segmentDotRows(
  x: Float32Array,
  xo: number,
  n: number,
  d: number,
  protos: Float32Array,
  po: number,
  seg: Int32Array,
  so: number,
  k: number,
  out: Float32Array,
  oo: number,
): void {
  const d4 = d & ~3;
  for (let i = 0; i < n; i++) {
    const xr = xo + i * d;
    let pr = po + seg[so + i]! * k * d;
    for (let j = 0; j < k; j++) {
      let a0 = 0,
        a1 = 0,
        a2 = 0,
        a3 = 0;
      let c = 0;
      for (; c < d4; c += 4) {
        a0 = fr(a0 + fr(x[xr + c]! * protos[pr + c]!));
        a1 = fr(a1 + fr(x[xr + c + 1]! * protos[pr + c + 1]!));
        a2 = fr(a2 + fr(x[xr + c + 2]! * protos[pr + c + 2]!));
        a3 = fr(a3 + fr(x[xr + c + 3]! * protos[pr + c + 3]!));
      }
      let s = fr(fr(a0 + a1) + fr(a2 + a3));
      for (; c < d; c++) s = fr(s + fr(x[xr + c]! * protos[pr + c]!));
      out[oo + i * k + j] = s;
      pr += d;
    }
  }
}

/** dx row i = Σ_j coef[i, j] · protos row seg[i]·k + j, in j order, float32 arithmetic. */
export function segmentAxpyRows(
  coef: Float32Array,
  co: number,
  n: number,
  k: number,
  protos: Float32Array,
  po: number,
  seg: Int32Array,
  so: number,
  d: number,
  dx: Float32Array,
  dxo: number,
): void {
  dx.fill(0, dxo, dxo + n * d);
  for (let i = 0; i < n; i++) {
    const xr = dxo + i * d;
    let pr = po + seg[so + i]! * k * d;
    for (let j = 0; j < k; j++) {
      const a = coef[co + i * k + j]!;
      for (let c = 0; c < d; c++) dx[xr + c] = fr(dx[xr + c]! + fr(a * protos[pr + c]!));
      pr += d;
    }
  }
}

/**
 * Scales the dot products in place to logits (float32 products), then the mean over rows of
 * −log softmax(logits row i)[label[i]] (float64 sums; 0 for no rows); writes the softmax probabilities to
 * prob (the backward's input: no second pass of exponentials).
 */
export function softmaxCrossEntropyRows(
  logits: Float32Array,
  lo: number,
  scale: number,
  label: Int32Array,
  lab: number,
  n: number,
  k: number,
  prob: Float32Array,
  po: number,
): number {
  const sc = fr(scale);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = lo + i * k,
      q = po + i * k;
    let m = -Infinity;
    for (let j = 0; j < k; j++) {
      logits[o + j] = logits[o + j]! * sc;
      m = Math.max(m, logits[o + j]!);
    }
    let s = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(logits[o + j]! - m);
      prob[q + j] = e;
      s += e;
    }
    for (let j = 0; j < k; j++) prob[q + j] = prob[q + j]! / s;
    total += Math.log(s) + m - logits[o + label[lab + i]!]!;
  }
  return n > 0 ? total / n : 0;
}

/**
 * coef[i, j] = scale · (dLoss / n · (prob[i, j] − [j = label[i]]) + dLogits[i, j]): the gradient of the mean
 * cross-entropy (and of any use of the logits) with respect to the unscaled dot products, i.e. what
 * segmentAxpyRows turns into dx.
 */
export function softmaxCrossEntropyCoef(
  prob: Float32Array,
  po: number,
  label: Int32Array,
  lab: number,
  n: number,
  k: number,
  dLoss: number,
  dLogits: Float32Array | null,
  dlo: number,
  scale: number,
  coef: Float32Array,
  co: number,
): void {
  const w = n > 0 ? dLoss / n : 0;
  for (let i = 0; i < n; i++) {
    const q = po + i * k,
      c = co + i * k,
      y = label[lab + i]!;
    for (let j = 0; j < k; j++) {
      const g = w * (prob[q + j]! - (j === y ? 1 : 0)) + (dLogits ? dLogits[dlo + i * k + j]! : 0);
      coef[c + j] = scale * g;
    }
  }
}

/** n rows of `width` floats from src (row stride ss) to dst (row stride ds). */
export function copyColsRows(src: Float32Array, so: number, ss: number, dst: Float32Array, dOff: number, ds: number, n: number, width: number): void {
  for (let i = 0; i < n; i++) dst.set(src.subarray(so + i * ss, so + i * ss + width), dOff + i * ds);
}

/** Throws a RangeError naming `what` unless every v[i] (i < n) is in [0, limit). */
export function checkRange(v: Int32Array, vo: number, n: number, limit: number, what: string): void {
  for (let i = 0; i < n; i++) {
    const x = v[vo + i]!;
    if (x < 0 || x >= limit) throw new RangeError(`${what}[${i}] = ${x} is outside [0, ${limit})`);
  }
}

/**
 * Running statistics of batch norm after one step (PyTorch: momentum m, the variance unbiased by n/(n-1)):
 * mean' = mean·(1−m) + batchMean·m, var' = var·(1−m) + (batchVar·unbias)·m. Every product and sum rounded
 * to float32 with float32 scalars, in that order: the bits of the composed tfjs ops it replaces.
 * `stats` holds the batch mean in its first c floats and the biased variance in the next c.
 */
export function batchNormRunningRows(
  stats: Float32Array,
  so: number,
  c: number,
  mean: Float32Array,
  mo: number,
  variance: Float32Array,
  vo: number,
  momentum: number,
  unbias: number,
): void {
  const m = Math.fround(momentum),
    keep = Math.fround(1 - momentum),
    u = Math.fround(unbias);
  for (let k = 0; k < c; k++) {
    mean[mo + k] = Math.fround(Math.fround(mean[mo + k]! * keep) + Math.fround(stats[so + k]! * m));
    variance[vo + k] = Math.fround(Math.fround(variance[vo + k]! * keep) + Math.fround(Math.fround(stats[so + c + k]! * u) * m));
  }
}

/** y = max(a + b, 0), float32, n elements. */
export function addReluRows(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number, y: Float32Array, yo: number): void {
  for (let i = 0; i < n; i++) {
    const v = Math.fround(a[ao + i]! + b[bo + i]!);
    y[yo + i] = v > 0 ? v : 0;
  }
}

/** dx = dy where y > 0, else 0 (the gradient of a ReLU from its output). */
export function reluGradRows(dy: Float32Array, dyo: number, y: Float32Array, yo: number, n: number, dx: Float32Array, dxo: number): void {
  for (let i = 0; i < n; i++) dx[dxo + i] = y[yo + i]! > 0 ? dy[dyo + i]! : 0;
}
