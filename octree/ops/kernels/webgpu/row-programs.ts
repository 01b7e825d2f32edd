/**
 * WGSL programs of the row kernels (../row-kernels.ts: l2 normalization, the segment softmax cross-entropy
 * of MID-Net's losses, column concatenation / slicing, add + ReLU) in tfjs-backend-webgpu 4.22's program
 * convention (./programs.ts). Every result element is written by exactly one invocation, which sums in a
 * fixed order: no atomics, so every result is the same bit for bit from run to run. Row-wise reductions
 * (norms, softmax) run one invocation per row; the mean over rows is one workgroup's tree sum.
 */
import { REDUCE, WG, flat, type GpuProgram } from './programs.ts';

/** y row i = x row i / max(‖x row i‖, eps); one invocation per row. Uniforms: count = n, eps. */
export function l2NormalizeProgram(outputShape: number[], n: number): GpuProgram {
  return flat(
    'rq3dL2Normalize',
    ['x'],
    outputShape,
    n,
    'count : i32, eps : f32,',
    `
    let c = uniforms.xShape[1];
    let o = index * c;
    var s = 0.0;
    for (var j = 0; j < c; j = j + 1) { let v = x[o + j]; s = s + v * v; }
    let r = max(sqrt(s), uniforms.eps);
    for (var j = 0; j < c; j = j + 1) { result[o + j] = x[o + j] / r; }`,
  );
}

/**
 * dx of l2NormalizeProgram, one invocation per row: (dy − x·(x·dy)/‖x‖²) / ‖x‖, or dy / eps where the norm
 * is clamped (the cpu loop's formula). Uniforms: count = n, eps.
 */
export function l2NormalizeGradProgram(outputShape: number[], n: number): GpuProgram {
  return flat(
    'rq3dL2NormalizeGrad',
    ['dy', 'x'],
    outputShape,
    n,
    'count : i32, eps : f32,',
    `
    let c = uniforms.xShape[1];
    let o = index * c;
    var s = 0.0;
    var dot = 0.0;
    for (var j = 0; j < c; j = j + 1) { let v = x[o + j]; s = s + v * v; dot = dot + v * dy[o + j]; }
    let r = sqrt(s);
    if (!(r > uniforms.eps)) {
      for (var j = 0; j < c; j = j + 1) { result[o + j] = dy[o + j] / uniforms.eps; }
    } else {
      let a = dot / (r * r);
      for (var j = 0; j < c; j = j + 1) { result[o + j] = (dy[o + j] - x[o + j] * a) / r; }
    }`,
  );
}

/**
 * logits [n, k]: scale · x row i · protos row seg[i]·k + j, one invocation per (i, j), summed in column
 * order. Uniforms: count = n·k, k, scale.
 */
export function segmentLogitsProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dSegmentLogits',
    ['x', 'protos', 'seg'],
    outputShape,
    count,
    'count : i32, k : i32, scale : f32,',
    `
    let d = uniforms.xShape[1];
    let k = uniforms.k;
    let i = index / k;
    let j = index - i * k;
    let xr = i * d;
    let pr = (seg[i] * k + j) * d;
    var s = 0.0;
    for (var c = 0; c < d; c = c + 1) { s = s + x[xr + c] * protos[pr + c]; }
    result[index] = s * uniforms.scale;`,
  );
}

/** The max-shifted exponentials of logits row i and their sum (WGSL snippet; defines o, m, s). */
const ROW_LSE = `
    let k = uniforms.logitsShape[1];
    let o = index * k;
    var m = logits[o];
    for (var j = 1; j < k; j = j + 1) { m = max(m, logits[o + j]); }
    var s = 0.0;
    for (var j = 0; j < k; j = j + 1) { s = s + exp(logits[o + j] - m); }`;

/** prob [n, k] = softmax of each logits row; one invocation per row. Uniforms: count = n. */
export function softmaxRowsProgram(outputShape: number[], n: number): GpuProgram {
  return flat(
    'rq3dSoftmaxRows',
    ['logits'],
    outputShape,
    n,
    'count : i32,',
    `${ROW_LSE}
    for (var j = 0; j < k; j = j + 1) { result[o + j] = exp(logits[o + j] - m) / s; }`,
  );
}

/** ce [n] = −log softmax(logits row i)[label[i]] = log Σ exp + max − logit; one invocation per row. */
export function crossEntropyRowsProgram(outputShape: number[], n: number): GpuProgram {
  return flat(
    'rq3dCrossEntropyRows',
    ['logits', 'label'],
    outputShape,
    n,
    'count : i32,',
    `${ROW_LSE}
    result[index] = log(s) + m - logits[o + label[index]];`,
  );
}

/** result[0] = mean of v [n] (n ≥ 1): one workgroup, lanes strided over n, then the 64-lane tree sum. */
export function meanProgram(): GpuProgram {
  return {
    variableNames: ['v'],
    outputShape: [1],
    shaderKey: 'rq3dMean',
    dispatchLayout: { x: [0] },
    dispatch: [1, 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'n : i32,',
    getUserCode: () => `${REDUCE}
fn main(index : i32) {
  let n = uniforms.n;
  let lane = i32(localId.x);
  var s = 0.0;
  for (var i0 = 0; i0 < n; i0 = i0 + ${WG}) {
    let i = i0 + lane;
    if (i < n) { s = s + v[i]; }
  }
  let t = rq3dReduce(s);
  if (lane == 0) { result[0] = t / f32(n); }
}
`,
  };
}

/**
 * dx [n, d] of the segment softmax cross-entropy, one invocation per element (a row-parallel gather over
 * the row's own k prototypes, no scatter): dx[i, c] = Σ_j scale·(dLoss/n·(prob[i, j] − [j = label[i]]) +
 * dLogits[i, j]) · protos[seg[i]·k + j, c], in j order. Uniforms: count = n·d, k, scale.
 */
export function segmentSoftmaxCEGradProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dSegmentSoftmaxCEGrad',
    ['dLoss', 'dLogits', 'prob', 'protos', 'seg', 'label'],
    outputShape,
    count,
    'count : i32, k : i32, scale : f32,',
    `
    let d = uniforms.protosShape[1];
    let k = uniforms.k;
    let n = uniforms.probShape[0];
    let i = index / d;
    let c = index - i * d;
    let w = dLoss[0] / f32(n);
    let y = label[i];
    let q = i * k;
    let pr = seg[i] * k * d + c;
    var acc = 0.0;
    for (var j = 0; j < k; j = j + 1) {
      let g = w * (prob[q + j] - select(0.0, 1.0, j == y)) + dLogits[q + j];
      acc = acc + (uniforms.scale * g) * protos[pr + j * d];
    }
    result[index] = acc;`,
  );
}

/**
 * n rows of `width` floats: result[dstOff + i·dstStride + j] = src[srcOff + i·srcStride + j] (a column block
 * of a concatenation, or a column slice). Uniforms: count = n·width, width, srcOff, srcStride, dstOff, dstStride.
 */
export function copyColsProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dCopyCols',
    ['src'],
    outputShape,
    count,
    'count : i32, width : i32, srcOff : i32, srcStride : i32, dstOff : i32, dstStride : i32,',
    `
    let i = index / uniforms.width;
    let j = index - i * uniforms.width;
    result[uniforms.dstOff + i * uniforms.dstStride + j] = src[uniforms.srcOff + i * uniforms.srcStride + j];`,
  );
}

/** y = a + b where positive, else 0 (NaN too, as the cpu loop). Uniforms: count. */
export function addReluProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dAddRelu',
    ['a', 'b'],
    outputShape,
    count,
    'count : i32,',
    `
    let v = a[index] + b[index];
    result[index] = select(0.0, v, v > 0.0);`,
  );
}

/** dx = dy where y > 0, else 0. Uniforms: count. */
export function reluGradProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dReluGrad',
    ['dy', 'y'],
    outputShape,
    count,
    'count : i32,',
    `
    result[index] = select(0.0, dy[index], y[index] > 0.0);`,
  );
}
