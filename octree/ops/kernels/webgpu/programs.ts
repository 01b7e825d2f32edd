/**
 * rq3d's WGSL programs in tfjs-backend-webgpu 4.22's program convention (webgpu_program.ts there, which is
 * not a public API: the version is pinned and test/webgpu/kernels.test.ts runs every program):
 *
 * - `variableNames` become read-only storage arrays of those names, the output is `result`
 *   (`array<atomic<i32>>` with `atomic: true`), bound in that order, then one uniform struct `uniforms`
 *   holding each input's `<name>Shape`, `outShape`, `size` (with `size: true`) and the fields of `uniforms`;
 * - `getUserCode()` defines `fn main(index : i32)`, called once per invocation with the flat global index
 *   when `dispatchLayout` has only an x part; `workgroupId` / `localId` are private globals;
 * - `runWebGPUProgram(program, inputs, dtype, uniformValues, output?)` writes into `output` when given
 *   (several programs then fill one tensor), and splits a dispatch past the adapter's
 *   maxComputeWorkgroupsPerDimension into y / z.
 *
 * Each program reads and writes plain arrays; none needs more than 7 storage bindings (WebGPU's default
 * limit is 8 per stage). WGSL has no float atomics: only `scatterAddProgram` uses an atomic
 * (compare-exchange on the bit pattern), so its sums, unlike every other program's, depend on the order in
 * which invocations run.
 */
export interface UniformValue {
  type: 'int32' | 'float32' | 'uint32';
  data: number[];
}

/** The fields of tfjs-backend-webgpu's WebGPUProgram that rq3d sets (tfjs adds the rest when it runs one). */
export interface GpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  atomic?: boolean;
  getUserCode: () => string;
}

export const WG = 64;

/** A program with one invocation per element of `threads` (flat dispatch, 64 per workgroup). */
export function flat(
  shaderKey: string,
  variableNames: string[],
  outputShape: number[],
  threads: number,
  uniforms: string,
  body: string,
  extra = '',
): GpuProgram {
  return {
    variableNames,
    outputShape,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(threads / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms,
    getUserCode: () => `${extra}\nfn main(index : i32) {\n  if (index < uniforms.count) {\n${body}\n  }\n}\n`,
  };
}

/** result rows 0..m = x rows idx[idxOff + i] (zero rows for -1). Uniforms: count = m·c, idxOff. */
export function gatherProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dGather',
    ['x', 'idx'],
    outputShape,
    count,
    'count : i32, idxOff : i32,',
    `
    let c = uniforms.xShape[1];
    let i = index / c;
    let r = idx[uniforms.idxOff + i];
    var v = 0.0;
    if (r >= 0) { v = x[r * c + index - i * c]; }
    result[index] = v;`,
  );
}

/**
 * result [k·c, n] = transposed columns of idx rows idxOff/k .. +n: result[(kk·c + j)·n + i] = x[idx[idxOff + i·k + kk], j].
 * Uniforms: count = k·c·n, idxOff, k, n.
 */
export function gatherTProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dGatherT',
    ['x', 'idx'],
    outputShape,
    count,
    'count : i32, idxOff : i32, k : i32, n : i32,',
    `
    let c = uniforms.xShape[1];
    let q = index / uniforms.n;
    let i = index - q * uniforms.n;
    let kk = q / c;
    let r = idx[uniforms.idxOff + i * uniforms.k + kk];
    var v = 0.0;
    if (r >= 0) { v = x[r * c + q - kk * c]; }
    result[index] = v;`,
  );
}

/** result[0 .. count) = 0. */
export function zeroProgram(outputShape: number[], count: number): GpuProgram {
  return flat('rq3dZero', [], outputShape, count, 'count : i32,', `    result[index] = 0.0;`);
}

/**
 * result[dstOff + i] = src[srcOff + i] (+ result[dstOff + i] when add = 1), i < count: block copies of the
 * blocked conv products.
 */
export function copyProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dCopy',
    ['src'],
    outputShape,
    count,
    'count : i32, srcOff : i32, dstOff : i32, add : i32,',
    `
    let o = uniforms.dstOff + index;
    var v = src[uniforms.srcOff + index];
    if (uniforms.add != 0) { v = v + result[o]; }
    result[o] = v;`,
  );
}

/**
 * result row idx[i] += y row i (idx[i] >= 0), over count = m·c invocations, as a compare-exchange loop on
 * the float's bits (result must hold zeros first). Order-dependent: the only such program.
 */
export function scatterAddProgram(outputShape: number[], count: number): GpuProgram {
  const p = flat(
    'rq3dScatterAdd',
    ['y', 'idx'],
    outputShape,
    count,
    'count : i32,',
    `
    let c = uniforms.yShape[1];
    let i = index / c;
    let r = idx[i];
    if (r >= 0) {
      let o = r * c + index - i * c;
      let v = y[index];
      var old = atomicLoad(&result[o]);
      loop {
        let got = atomicCompareExchangeWeak(&result[o], old, bitcast<i32>(bitcast<f32>(old) + v));
        if (got.exchanged) { break; }
        old = got.old_value;
      }
    }`,
  );
  p.atomic = true;
  return p;
}

/**
 * A tree sum over the 64 invocations of a workgroup (fixed order: deterministic, but not the cpu's
 * sequential order). Called in uniform control flow.
 */
export const REDUCE = `
var<workgroup> rq3dRed : array<f32, ${WG}>;
fn rq3dReduce(v : f32) -> f32 {
  let t = localId.x;
  rq3dRed[t] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) { rq3dRed[t] = rq3dRed[t] + rq3dRed[t + s]; }
    workgroupBarrier();
  }
  let r = rq3dRed[0];
  workgroupBarrier();
  return r;
}`;

/** One workgroup per channel (dispatch [c, 1, 1]); `body` runs in uniform control flow with k, c, n, lane. */
function perChannel(shaderKey: string, variableNames: string[], outputShape: number[], channels: number, uniforms: string, body: string): GpuProgram {
  return {
    variableNames,
    outputShape,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [channels, 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms,
    getUserCode: () => `${REDUCE}
fn main(index : i32) {
  let k = i32(workgroupId.x);
  let c = uniforms.xShape[1];
  let n = uniforms.xShape[0];
  let lane = i32(localId.x);
${body}
}
`,
  };
}

/** stats [3, c] = mean | biased variance | 1/sqrt(var + eps) of x [n, c] (two passes, f32 tree sums). */
export function bnStatsProgram(c: number): GpuProgram {
  return perChannel(
    'rq3dBnStats',
    ['x'],
    [3, c],
    c,
    'eps : f32,',
    `
  var s = 0.0;
  for (var i0 = 0; i0 < n; i0 = i0 + ${WG}) {
    let i = i0 + lane;
    if (i < n) { s = s + x[i * c + k]; }
  }
  let mean = rq3dReduce(s) / f32(max(n, 1));
  var q = 0.0;
  for (var i0 = 0; i0 < n; i0 = i0 + ${WG}) {
    let i = i0 + lane;
    if (i < n) { let d = x[i * c + k] - mean; q = q + d * d; }
  }
  let v = rq3dReduce(q) / f32(max(n, 1));
  if (lane == 0) {
    result[k] = mean;
    result[c + k] = v;
    result[2 * c + k] = 1.0 / sqrt(v + uniforms.eps);
  }`,
  );
}

/** The scale s = invStd·gamma and shift t = beta − mean·s of channel k (the cpu loops' formula). */
const SCALE_SHIFT = `
    let s = stats[2 * c + k] * gamma[k];
    let t = beta[k] - stats[k] * s;`;

/** y = relu?(x·s + t) over x [n, c]. Uniforms: count = n·c, relu. */
export function bnApplyProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dBnApply',
    ['x', 'gamma', 'beta', 'stats'],
    outputShape,
    count,
    'count : i32, relu : i32,',
    `
    let c = uniforms.xShape[1];
    let k = index - (index / c) * c;${SCALE_SHIFT}
    var v = x[index] * s + t;
    if (uniforms.relu != 0 && v < 0.0) { v = 0.0; }
    result[index] = v;`,
  );
}

/** sums [2, c] = Σ g | Σ g·x̂ per channel, g = dy masked by the ReLU rebuilt from s and t. */
export function bnGradSumsProgram(c: number): GpuProgram {
  return perChannel(
    'rq3dBnGradSums',
    ['dy', 'x', 'gamma', 'beta', 'stats'],
    [2, c],
    c,
    'relu : i32,',
    `${SCALE_SHIFT}
  let mean = stats[k];
  let inv = stats[2 * c + k];
  var sg = 0.0;
  var sgh = 0.0;
  for (var i0 = 0; i0 < n; i0 = i0 + ${WG}) {
    let i = i0 + lane;
    if (i < n) {
      let xv = x[i * c + k];
      var g = dy[i * c + k];
      if (uniforms.relu != 0 && !(xv * s + t > 0.0)) { g = 0.0; }
      sg = sg + g;
      sgh = sgh + g * ((xv - mean) * inv);
    }
  }
  let a = rq3dReduce(sg);
  let b = rq3dReduce(sgh);
  if (lane == 0) {
    result[k] = a;
    result[c + k] = b;
  }`,
  );
}

/** dx = (s·g − s·Σg/n) − x̂·s·Σgx̂/n over [n, c]. Uniforms: count = n·c, relu. */
export function bnGradInputProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dBnGradInput',
    ['dy', 'x', 'gamma', 'beta', 'stats', 'sums'],
    outputShape,
    count,
    'count : i32, relu : i32,',
    `
    let c = uniforms.xShape[1];
    let n = f32(max(uniforms.xShape[0], 1));
    let k = index - (index / c) * c;${SCALE_SHIFT}
    let xv = x[index];
    var g = dy[index];
    if (uniforms.relu != 0 && !(xv * s + t > 0.0)) { g = 0.0; }
    let b = s * sums[k] / n;
    let e = s * sums[c + k] / n;
    let h = (xv - stats[k]) * stats[2 * c + k];
    result[index] = (s * g - b) - h * e;`,
  );
}

/** The max over each 8 sibling rows of x [8p, c] (`slot`: the slot 0..7 of the first maximum, int32). */
export function siblingMaxProgram(outputShape: number[], count: number, slot: boolean): GpuProgram {
  return flat(
    slot ? 'rq3dSiblingArg' : 'rq3dSiblingMax',
    ['x'],
    outputShape,
    count,
    'count : i32,',
    `
    let c = uniforms.xShape[1];
    let i = index / c;
    let k = index - i * c;
    var best = x[8 * i * c + k];
    var bi = 0;
    for (var s = 1; s < 8; s = s + 1) {
      let v = x[(8 * i + s) * c + k];
      if (v > best) { best = v; bi = s; }
    }
    result[index] = ${slot ? 'bi' : 'best'};`,
  );
}

/** dx [8p, c]: dy[i, k] at row 8i + arg[i, k], zero elsewhere (a gather: no atomics). */
export function siblingMaxGradProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dSiblingMaxGrad',
    ['dy', 'arg'],
    outputShape,
    count,
    'count : i32,',
    `
    let c = uniforms.dyShape[1];
    let row = index / c;
    let k = index - row * c;
    let i = row / 8;
    var v = 0.0;
    if (arg[i * c + k] == row - 8 * i) { v = dy[i * c + k]; }
    result[index] = v;`,
  );
}

/** out [R, c]: row r = Σ weight[e]·x[src[e]], e in offsets[r] .. offsets[r+1], in e order. */
export function weightedRowsProgram(outputShape: number[], count: number): GpuProgram {
  return flat(
    'rq3dWeightedRows',
    ['x', 'offsets', 'src', 'weight'],
    outputShape,
    count,
    'count : i32,',
    `
    let c = uniforms.xShape[1];
    let r = index / c;
    let j = index - r * c;
    var acc = 0.0;
    for (var e = offsets[r]; e < offsets[r + 1]; e = e + 1) {
      acc = acc + weight[e] * x[src[e] * c + j];
    }
    result[index] = acc;`,
  );
}
