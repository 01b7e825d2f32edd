/**
 * Row kernels of MID-Net's losses and of the HRNet's column concatenations, on cpu, wasm and webgpu (on wasm
 * the products run in rq3d's wasm module on the backend's heap, the rest as JS loops on heap views; on cpu,
 * and on wasm without that module, the JS loops of ./row-loops.ts; on webgpu the WGSL programs of
 * ./webgpu/row-programs.ts). Each has a registered gradient, so the
 * tape asks only for what it needs. The differentiable ops built on them are in ../rows.ts.
 *
 *   Rq3dL2Normalize          {x [n,c]}, {eps}                               -> y [n,c]
 *   Rq3dL2NormalizeGrad      {dy, x}, {eps}                                 -> dx [n,c]
 *   Rq3dSegmentSoftmaxCE     {x [n,d], protos [S·k,d], seg [n], label [n]}, {k, scale}
 *                                                                           -> [loss [], logits [n,k], prob [n,k]]
 *   Rq3dSegmentSoftmaxCEGrad {dLoss [], dLogits [n,k], prob, protos, seg, label}, {k, scale} -> dx [n,d]
 *   Rq3dConcatCols           {x0 [n,c0], x1 [n,c1], ...}                     -> [n, Σc]
 *   Rq3dSliceCols            {x [n,c]}, {begin, size}                        -> [n, size]
 *   Rq3dAddRelu              {a, b} (same shape)                             -> max(a + b, 0)
 *   Rq3dReluGrad             {dy, y}                                         -> dy · [y > 0]
 *   Rq3dBatchNormRunning     {stats [3,c], mean [c], variance [c]}, {momentum, unbias} -> [] (mean, variance
 *                            updated in place)
 *                            (wasm only, no gradient; ../update.ts runs it only on unshared data)
 *
 * The point loss is one Rq3dSegmentSoftmaxCE over all labelled nodes of the batch (segment = the node's
 * shape, whose k cluster prototypes are its logits), instead of one matMul per shape: no per-shape slices,
 * no NT products on wasm (XNNPACK serves NN only), no one-hot and no concat of the per-shape logits.
 */
import * as tf from '@tensorflow/tfjs';
import {
  ADD_RELU,
  BATCH_NORM_RUNNING,
  CONCAT_COLS,
  L2_NORMALIZE,
  L2_NORMALIZE_GRAD,
  RELU_GRAD,
  SEGMENT_SOFTMAX_CE,
  SEGMENT_SOFTMAX_CE_GRAD,
  SLICE_COLS,
} from './names.ts';
import {
  addReluRows,
  batchNormRunningRows,
  checkRange,
  copyColsRows,
  l2NormalizeGradRows,
  l2NormalizeRows,
  reluGradRows,
  segmentAxpyRows,
  segmentDotRows,
  softmaxCrossEntropyCoef,
  softmaxCrossEntropyRows,
} from './row-loops.ts';
import { heapKernels } from './wasm/index.ts';
import { heapViews, type CpuBackendLike, type WasmBackendLike } from './backend-types.ts';
import { zeroProgram, type GpuProgram, type UniformValue } from './webgpu/programs.ts';
import type { WebGpuBackendLike } from './webgpu/host.ts';
import {
  addReluProgram,
  copyColsProgram,
  crossEntropyRowsProgram,
  l2NormalizeGradProgram,
  l2NormalizeProgram,
  meanProgram,
  reluGradProgram,
  segmentLogitsProgram,
  segmentSoftmaxCEGradProgram,
  softmaxRowsProgram,
} from './webgpu/row-programs.ts';

type TensorInfo = tf.TensorInfo;

function get(inputs: tf.NamedTensorInfoMap, name: string, kernel: string, dtype: 'float32' | 'int32' = 'float32'): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: missing input '${name}'`);
  if (t.dtype !== dtype) throw new TypeError(`${kernel}: ${name} must be ${dtype}, got ${t.dtype}`);
  return t;
}

function rows2(t: TensorInfo, kernel: string): [number, number] {
  if (t.shape.length !== 2) throw new RangeError(`${kernel}: expected a rank-2 input, got [${t.shape.join(', ')}]`);
  return t.shape as [number, number];
}

function intAttr(attrs: tf.NamedAttrMap | undefined, name: string, kernel: string, min: number): number {
  const v = attrs?.[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${kernel}: attr ${name} must be an integer >= ${min}`);
  return v;
}

function numAttr(attrs: tf.NamedAttrMap | undefined, name: string, kernel: string): number {
  const v = attrs?.[name];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${kernel}: attr ${name} must be a finite number`);
  return v;
}

/** The shape checks of Rq3dSegmentSoftmaxCE: n, d, k and the number of segments. */
function segmentShape(
  x: TensorInfo,
  protos: TensorInfo,
  seg: TensorInfo,
  label: TensorInfo,
  k: number,
  kernel: string,
): { n: number; d: number; segments: number } {
  const [n, d] = rows2(x, kernel);
  const [pr, pd] = rows2(protos, kernel);
  if (pd !== d) throw new RangeError(`${kernel}: protos have ${pd} columns, x has ${d}`);
  if (pr % k !== 0) throw new RangeError(`${kernel}: protos rows (${pr}) are not a multiple of k = ${k}`);
  if (seg.shape[0] !== n || label.shape[0] !== n) throw new RangeError(`${kernel}: seg and label must hold one entry per row of x (${n})`);
  return { n, d, segments: pr / k };
}

/**
 * One implementation of each kernel against an abstract memory: on cpu every tensor is its own array at
 * offset 0, on wasm every tensor is a view of the heap at its offset (views are taken after allocating).
 */
interface Mem {
  alloc(shape: number[], dtype?: 'float32' | 'int32'): TensorInfo;
  free(t: TensorInfo): void;
  f(t: TensorInfo): [Float32Array, number];
  i(t: TensorInfo): [Int32Array, number];
  /** The wasm module's products, or null (then the JS loops run). */
  wasm: { k: NonNullable<ReturnType<typeof heapKernels>>; at: (t: TensorInfo) => number } | null;
}

function cpuMem(b: CpuBackendLike & { disposeData(id: object): boolean }): Mem {
  const pending = new Map<TensorInfo, Float32Array | Int32Array>();
  return {
    alloc: (shape, dtype = 'float32') => {
      const size = shape.reduce((p, s) => p * s, 1);
      const data = dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
      const t = b.makeTensorInfo(shape, dtype, data);
      pending.set(t, data);
      return t;
    },
    free: (t) => void b.disposeData(t.dataId),
    f: (t) => [(pending.get(t) as Float32Array | undefined) ?? (b.readSync(t.dataId) as Float32Array), 0],
    i: (t) => [(pending.get(t) as Int32Array | undefined) ?? (b.readSync(t.dataId) as Int32Array), 0],
    wasm: null,
  };
}

function wasmMem(b: WasmBackendLike): Mem {
  const k = heapKernels(b.wasm);
  const at = (t: TensorInfo): number => b.getMemoryOffset(t.dataId);
  return {
    alloc: (shape, dtype = 'float32') => b.makeOutput(shape, dtype),
    free: (t) => void b.disposeData(t.dataId),
    f: (t) => [heapViews(b).f, at(t) >>> 2],
    i: (t) => [heapViews(b).i, at(t) >>> 2],
    wasm: k ? { k, at } : null,
  };
}

function memOf(backendName: string, backend: unknown): Mem {
  return backendName === 'wasm' ? wasmMem(backend as WasmBackendLike) : cpuMem(backend as CpuBackendLike & { disposeData(id: object): boolean });
}

function kernels(backendName: string): tf.KernelConfig[] {
  const l2: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const m = memOf(backendName, backend);
    const x = get(inputs, 'x', L2_NORMALIZE);
    const [n, c] = rows2(x, L2_NORMALIZE);
    const y = m.alloc([n, c]);
    const [xv, xo] = m.f(x),
      [yv, yo] = m.f(y);
    l2NormalizeRows(xv, xo, n, c, numAttr(attrs, 'eps', L2_NORMALIZE), yv, yo);
    return y;
  };

  const l2Grad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const m = memOf(backendName, backend);
    const dy = get(inputs, 'dy', L2_NORMALIZE_GRAD),
      x = get(inputs, 'x', L2_NORMALIZE_GRAD);
    const [n, c] = rows2(x, L2_NORMALIZE_GRAD);
    const dx = m.alloc([n, c]);
    const [dyv, dyo] = m.f(dy),
      [xv, xo] = m.f(x),
      [dxv, dxo] = m.f(dx);
    l2NormalizeGradRows(dyv, dyo, xv, xo, n, c, numAttr(attrs, 'eps', L2_NORMALIZE_GRAD), dxv, dxo);
    return dx;
  };

  const segCe: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const kn = SEGMENT_SOFTMAX_CE;
    const m = memOf(backendName, backend);
    const x = get(inputs, 'x', kn),
      protos = get(inputs, 'protos', kn),
      seg = get(inputs, 'seg', kn, 'int32'),
      label = get(inputs, 'label', kn, 'int32');
    const k = intAttr(attrs, 'k', kn, 1),
      scale = numAttr(attrs, 'scale', kn);
    const { n, d, segments } = segmentShape(x, protos, seg, label, k, kn);
    {
      const [sv, so] = m.i(seg),
        [lv, lo] = m.i(label);
      checkRange(sv, so, n, segments, `${kn}: seg`);
      checkRange(lv, lo, n, k, `${kn}: label`);
    }
    const logits = m.alloc([n, k]),
      loss = m.alloc([]),
      prob = m.alloc([n, k]);
    if (m.wasm) m.wasm.k.segmentDot(m.wasm.at(x), n, d, m.wasm.at(protos), m.wasm.at(seg), k, m.wasm.at(logits));
    else {
      const [xv, xo] = m.f(x),
        [pv, po] = m.f(protos),
        [sv, so] = m.i(seg),
        [ov, oo] = m.f(logits);
      segmentDotRows(xv, xo, n, d, pv, po, sv, so, k, ov, oo);
    }
    const [ov, oo] = m.f(logits),
      [lv, lo] = m.i(label),
      [lsv, lso] = m.f(loss),
      [pv, po] = m.f(prob);
    lsv[lso] = softmaxCrossEntropyRows(ov, oo, scale, lv, lo, n, k, pv, po);
    return [loss, logits, prob];
  };

  const segCeGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const kn = SEGMENT_SOFTMAX_CE_GRAD;
    const m = memOf(backendName, backend);
    const dLoss = get(inputs, 'dLoss', kn),
      dLogits = get(inputs, 'dLogits', kn),
      prob = get(inputs, 'prob', kn);
    const protos = get(inputs, 'protos', kn),
      seg = get(inputs, 'seg', kn, 'int32'),
      label = get(inputs, 'label', kn, 'int32');
    const k = intAttr(attrs, 'k', kn, 1),
      scale = numAttr(attrs, 'scale', kn);
    const [n] = rows2(prob, kn);
    const d = protos.shape[1]!;
    const dx = m.alloc([n, d]),
      coef = m.alloc([n, k]);
    try {
      {
        const [pv, po] = m.f(prob),
          [lv, lo] = m.i(label),
          [dlv, dlo] = m.f(dLoss),
          [dgv, dgo] = m.f(dLogits),
          [cv, co] = m.f(coef);
        softmaxCrossEntropyCoef(pv, po, lv, lo, n, k, dlv[dlo]!, dgv, dgo, scale, cv, co);
      }
      if (m.wasm) m.wasm.k.segmentAxpy(m.wasm.at(coef), n, k, m.wasm.at(protos), m.wasm.at(seg), d, m.wasm.at(dx));
      else {
        const [cv, co] = m.f(coef),
          [pv, po] = m.f(protos),
          [sv, so] = m.i(seg),
          [dxv, dxo] = m.f(dx);
        segmentAxpyRows(cv, co, n, k, pv, po, sv, so, d, dxv, dxo);
      }
    } finally {
      m.free(coef);
    }
    return dx;
  };

  const concat: tf.KernelFunc = ({ inputs, backend }) => {
    const m = memOf(backendName, backend);
    const parts: TensorInfo[] = [];
    for (let i = 0; inputs[`x${i}`]; i++) parts.push(get(inputs, `x${i}`, CONCAT_COLS));
    if (parts.length === 0) throw new Error(`${CONCAT_COLS}: no inputs`);
    const n = rows2(parts[0]!, CONCAT_COLS)[0];
    let width = 0;
    for (const p of parts) {
      if (rows2(p, CONCAT_COLS)[0] !== n) throw new RangeError(`${CONCAT_COLS}: inputs have ${n} and ${p.shape[0]} rows`);
      width += p.shape[1]!;
    }
    const out = m.alloc([n, width]);
    let col = 0;
    for (const p of parts) {
      const c = p.shape[1]!;
      if (m.wasm) m.wasm.k.copyCols(m.wasm.at(p), c, m.wasm.at(out) + 4 * col, width, n, c);
      else {
        const [sv, so] = m.f(p),
          [dv, dOff] = m.f(out);
        copyColsRows(sv, so, c, dv, dOff + col, width, n, c);
      }
      col += c;
    }
    return out;
  };

  const slice: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const m = memOf(backendName, backend);
    const x = get(inputs, 'x', SLICE_COLS);
    const [n, c] = rows2(x, SLICE_COLS);
    const begin = intAttr(attrs, 'begin', SLICE_COLS, 0),
      size = intAttr(attrs, 'size', SLICE_COLS, 0);
    if (begin + size > c) throw new RangeError(`${SLICE_COLS}: columns [${begin}, ${begin + size}) exceed ${c}`);
    const out = m.alloc([n, size]);
    if (m.wasm) m.wasm.k.copyCols(m.wasm.at(x) + 4 * begin, c, m.wasm.at(out), size, n, size);
    else {
      const [sv, so] = m.f(x),
        [dv, dOff] = m.f(out);
      copyColsRows(sv, so + begin, c, dv, dOff, size, n, size);
    }
    return out;
  };

  const sizeOf = (t: TensorInfo): number => t.shape.reduce((p, v) => p * v, 1);

  const addRelu: tf.KernelFunc = ({ inputs, backend }) => {
    const m = memOf(backendName, backend);
    const a = get(inputs, 'a', ADD_RELU),
      b = get(inputs, 'b', ADD_RELU);
    if (a.shape.join() !== b.shape.join()) throw new RangeError(`${ADD_RELU}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
    const y = m.alloc([...a.shape]);
    if (m.wasm) {
      m.wasm.k.addRelu(m.wasm.at(a), m.wasm.at(b), sizeOf(a), m.wasm.at(y));
      return y;
    }
    const [av, ao] = m.f(a),
      [bv, bo] = m.f(b),
      [yv, yo] = m.f(y);
    addReluRows(av, ao, bv, bo, sizeOf(a), yv, yo);
    return y;
  };

  const reluGrad: tf.KernelFunc = ({ inputs, backend }) => {
    const m = memOf(backendName, backend);
    const dy = get(inputs, 'dy', RELU_GRAD),
      y = get(inputs, 'y', RELU_GRAD);
    const dx = m.alloc([...y.shape]);
    if (m.wasm) {
      m.wasm.k.reluGrad(m.wasm.at(dy), m.wasm.at(y), sizeOf(y), m.wasm.at(dx));
      return dx;
    }
    const [dv, dOff] = m.f(dy),
      [yv, yo] = m.f(y),
      [xv, xo] = m.f(dx);
    reluGradRows(dv, dOff, yv, yo, sizeOf(y), xv, xo);
    return dx;
  };

  const bnRunning: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const kn = BATCH_NORM_RUNNING;
    const m = memOf(backendName, backend);
    const stats = get(inputs, 'stats', kn),
      mean = get(inputs, 'mean', kn),
      variance = get(inputs, 'variance', kn);
    const c = mean.shape[0]!;
    if (rows2(stats, kn)[1] !== c || stats.shape[0]! < 2 || variance.shape[0] !== c)
      throw new RangeError(`${kn}: stats [${stats.shape.join(', ')}] do not match ${c} channels`);
    const [sv, so] = m.f(stats),
      [mv, mo] = m.f(mean),
      [vv, vo] = m.f(variance);
    batchNormRunningRows(sv, so, c, mv, mo, vv, vo, numAttr(attrs, 'momentum', kn), numAttr(attrs, 'unbias', kn));
    return [];
  };

  return [
    { kernelName: ADD_RELU, backendName, kernelFunc: addRelu },
    { kernelName: RELU_GRAD, backendName, kernelFunc: reluGrad },
    { kernelName: L2_NORMALIZE, backendName, kernelFunc: l2 },
    { kernelName: L2_NORMALIZE_GRAD, backendName, kernelFunc: l2Grad },
    { kernelName: SEGMENT_SOFTMAX_CE, backendName, kernelFunc: segCe },
    { kernelName: SEGMENT_SOFTMAX_CE_GRAD, backendName, kernelFunc: segCeGrad },
    { kernelName: CONCAT_COLS, backendName, kernelFunc: concat },
    { kernelName: SLICE_COLS, backendName, kernelFunc: slice },
    // in place: wasm only. On cpu a tensor's data is the very Float32Array it was made from and dataSync
    // returns it (no copy), so writing into a variable would change arrays callers still hold. It is also
    // where in place matters: the wasm heap only grows.
    ...(backendName === 'wasm' ? [{ kernelName: BATCH_NORM_RUNNING, backendName, kernelFunc: bnRunning }] : []),
  ];
}

/**
 * The same kernels on webgpu: WGSL programs (./webgpu/row-programs.ts) run into tensors allocated here, the
 * same checks, nothing read back. Index ranges (seg, label) are checked by the op on the host arrays
 * (../rows.ts): a device kernel cannot read them without a read-back.
 */
function webgpuKernels(): tf.KernelConfig[] {
  const backendName = 'webgpu';
  const f32 = (v: number): UniformValue => ({ type: 'float32', data: [v] });
  const i32 = (...data: number[]): UniformValue => ({ type: 'int32', data });
  /** Runs p into `out` (nothing for no threads: empty tensors). */
  const run = (b: WebGpuBackendLike, p: GpuProgram, inputs: TensorInfo[], out: TensorInfo, threads: number, uniforms: UniformValue[]): void => {
    if (threads > 0) b.runWebGPUProgram(p, inputs, out.dtype, uniforms, out);
  };
  const gpu = (backend: unknown): WebGpuBackendLike => backend as WebGpuBackendLike;
  const sizeOf = (t: TensorInfo): number => t.shape.reduce((p, v) => p * v, 1);
  /** A float32 output; an empty one gets its (empty) values now: no program writes it, so none would exist to read. */
  const alloc = (b: WebGpuBackendLike, shape: number[]): TensorInfo => b.makeTensorInfo(shape, 'float32', shape.includes(0) ? new Float32Array(0) : undefined);

  const l2: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const b = gpu(backend);
    const x = get(inputs, 'x', L2_NORMALIZE);
    const [n, c] = rows2(x, L2_NORMALIZE);
    const y = alloc(b, [n, c]);
    run(b, l2NormalizeProgram(y.shape, n), [x], y, n * c > 0 ? n : 0, [i32(n), f32(numAttr(attrs, 'eps', L2_NORMALIZE))]);
    return y;
  };

  const l2Grad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const b = gpu(backend);
    const dy = get(inputs, 'dy', L2_NORMALIZE_GRAD),
      x = get(inputs, 'x', L2_NORMALIZE_GRAD);
    const [n, c] = rows2(x, L2_NORMALIZE_GRAD);
    const dx = alloc(b, [n, c]);
    run(b, l2NormalizeGradProgram(dx.shape, n), [dy, x], dx, n * c > 0 ? n : 0, [i32(n), f32(numAttr(attrs, 'eps', L2_NORMALIZE_GRAD))]);
    return dx;
  };

  const segCe: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const kn = SEGMENT_SOFTMAX_CE;
    const b = gpu(backend);
    const x = get(inputs, 'x', kn),
      protos = get(inputs, 'protos', kn),
      seg = get(inputs, 'seg', kn, 'int32'),
      label = get(inputs, 'label', kn, 'int32');
    const k = intAttr(attrs, 'k', kn, 1),
      scale = numAttr(attrs, 'scale', kn);
    const { n } = segmentShape(x, protos, seg, label, k, kn);
    const logits = alloc(b, [n, k]),
      loss = b.makeTensorInfo([], 'float32'),
      prob = alloc(b, [n, k]);
    if (n === 0) {
      run(b, zeroProgram([1], 1), [], loss, 1, [i32(1)]);
      return [loss, logits, prob];
    }
    const ce = alloc(b, [n]);
    try {
      run(b, segmentLogitsProgram(logits.shape, n * k), [x, protos, seg], logits, n * k, [i32(n * k), i32(k), f32(scale)]);
      run(b, softmaxRowsProgram(prob.shape, n), [logits], prob, n, [i32(n)]);
      run(b, crossEntropyRowsProgram(ce.shape, n), [logits, label], ce, n, [i32(n)]);
      run(b, meanProgram(), [ce], loss, 1, [i32(n)]);
    } finally {
      b.disposeData(ce.dataId);
    }
    return [loss, logits, prob];
  };

  const segCeGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const kn = SEGMENT_SOFTMAX_CE_GRAD;
    const b = gpu(backend);
    const dLoss = get(inputs, 'dLoss', kn),
      dLogits = get(inputs, 'dLogits', kn),
      prob = get(inputs, 'prob', kn);
    const protos = get(inputs, 'protos', kn),
      seg = get(inputs, 'seg', kn, 'int32'),
      label = get(inputs, 'label', kn, 'int32');
    const k = intAttr(attrs, 'k', kn, 1),
      scale = numAttr(attrs, 'scale', kn);
    const [n] = rows2(prob, kn);
    const d = protos.shape[1]!;
    const dx = alloc(b, [n, d]);
    run(b, segmentSoftmaxCEGradProgram(dx.shape, n * d), [dLoss, dLogits, prob, protos, seg, label], dx, n * d, [i32(n * d), i32(k), f32(scale)]);
    return dx;
  };

  /** n rows of `width` floats between row-strided buffers (concat parts, slices). */
  const copyCols = (b: WebGpuBackendLike, src: TensorInfo, so: number, ss: number, dst: TensorInfo, dOff: number, ds: number, n: number, width: number): void =>
    run(b, copyColsProgram(dst.shape, n * width), [src], dst, n * width, [i32(n * width), i32(width), i32(so), i32(ss), i32(dOff), i32(ds)]);

  const concat: tf.KernelFunc = ({ inputs, backend }) => {
    const b = gpu(backend);
    const parts: TensorInfo[] = [];
    for (let i = 0; inputs[`x${i}`]; i++) parts.push(get(inputs, `x${i}`, CONCAT_COLS));
    if (parts.length === 0) throw new Error(`${CONCAT_COLS}: no inputs`);
    const n = rows2(parts[0]!, CONCAT_COLS)[0];
    let width = 0;
    for (const p of parts) {
      if (rows2(p, CONCAT_COLS)[0] !== n) throw new RangeError(`${CONCAT_COLS}: inputs have ${n} and ${p.shape[0]} rows`);
      width += p.shape[1]!;
    }
    const out = alloc(b, [n, width]);
    let col = 0;
    for (const p of parts) {
      const c = p.shape[1]!;
      copyCols(b, p, 0, c, out, col, width, n, c);
      col += c;
    }
    return out;
  };

  const slice: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const b = gpu(backend);
    const x = get(inputs, 'x', SLICE_COLS);
    const [n, c] = rows2(x, SLICE_COLS);
    const begin = intAttr(attrs, 'begin', SLICE_COLS, 0),
      size = intAttr(attrs, 'size', SLICE_COLS, 0);
    if (begin + size > c) throw new RangeError(`${SLICE_COLS}: columns [${begin}, ${begin + size}) exceed ${c}`);
    const out = alloc(b, [n, size]);
    copyCols(b, x, begin, c, out, 0, size, n, size);
    return out;
  };

  const addRelu: tf.KernelFunc = ({ inputs, backend }) => {
    const b = gpu(backend);
    const a = get(inputs, 'a', ADD_RELU),
      bb = get(inputs, 'b', ADD_RELU);
    if (a.shape.join() !== bb.shape.join()) throw new RangeError(`${ADD_RELU}: shapes [${a.shape.join(', ')}] and [${bb.shape.join(', ')}] differ`);
    const y = alloc(b, [...a.shape]);
    run(b, addReluProgram(y.shape, sizeOf(y)), [a, bb], y, sizeOf(y), [i32(sizeOf(y))]);
    return y;
  };

  const reluGrad: tf.KernelFunc = ({ inputs, backend }) => {
    const b = gpu(backend);
    const dy = get(inputs, 'dy', RELU_GRAD),
      y = get(inputs, 'y', RELU_GRAD);
    const dx = alloc(b, [...y.shape]);
    run(b, reluGradProgram(dx.shape, sizeOf(dx)), [dy, y], dx, sizeOf(dx), [i32(sizeOf(dx))]);
    return dx;
  };

  return [
    { kernelName: ADD_RELU, backendName, kernelFunc: addRelu },
    { kernelName: RELU_GRAD, backendName, kernelFunc: reluGrad },
    { kernelName: L2_NORMALIZE, backendName, kernelFunc: l2 },
    { kernelName: L2_NORMALIZE_GRAD, backendName, kernelFunc: l2Grad },
    { kernelName: SEGMENT_SOFTMAX_CE, backendName, kernelFunc: segCe },
    { kernelName: SEGMENT_SOFTMAX_CE_GRAD, backendName, kernelFunc: segCeGrad },
    { kernelName: CONCAT_COLS, backendName, kernelFunc: concat },
    { kernelName: SLICE_COLS, backendName, kernelFunc: slice },
  ];
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor => tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;

/**
 * The backends these kernels exist for: JS loops on the backend's own arrays (cpu) or heap (wasm, with
 * rq3d's wasm module), WGSL programs on webgpu. On others the ops find no kernel and compose built-in ops.
 */
export const ROW_KERNEL_BACKENDS: readonly string[] = ['cpu', 'wasm', 'webgpu'];

/** Registers the kernels for cpu, wasm and webgpu and their gradients (idempotent). */
export function registerRowKernels(): void {
  const all = [...kernels('cpu'), ...kernels('wasm'), ...webgpuKernels()];
  for (const k of all) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  const grads: tf.GradConfig[] = [
    {
      kernelName: L2_NORMALIZE,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as [tf.Tensor];
        return { x: () => run(L2_NORMALIZE_GRAD, { dy: dy as tf.Tensor, x }, { eps: attrs.eps as number }) };
      },
    },
    {
      kernelName: SEGMENT_SOFTMAX_CE,
      inputsToSave: ['x', 'protos', 'seg', 'label'],
      outputsToSave: [false, false, true],
      gradFunc: (dys, saved, attrs) => {
        const [dLoss, dLogits] = dys as tf.Tensor[];
        const [, protos, seg, label, prob] = saved as tf.Tensor[];
        return {
          x: () =>
            run(
              SEGMENT_SOFTMAX_CE_GRAD,
              { dLoss: dLoss!, dLogits: dLogits!, prob: prob!, protos: protos!, seg: seg!, label: label! },
              { k: attrs.k as number, scale: attrs.scale as number },
            ),
        };
      },
    },
    {
      kernelName: ADD_RELU,
      outputsToSave: [true],
      gradFunc: (dy, saved) => {
        const [y] = saved as [tf.Tensor];
        // one masked copy of dy serves both inputs (the second gets a clone: a shared reference on cpu and wasm)
        let g: tf.Tensor | null = null;
        const masked = (): tf.Tensor => (g ??= run(RELU_GRAD, { dy: dy as tf.Tensor, y }, {}));
        return { a: masked, b: () => tf.clone(masked()) };
      },
    },
    {
      kernelName: CONCAT_COLS,
      gradFunc: (dy, _saved, attrs) => {
        const widths = attrs.widths as number[];
        const out: Record<string, () => tf.Tensor> = {};
        let begin = 0;
        widths.forEach((size, i) => {
          const b = begin;
          out[`x${i}`] = () => run(SLICE_COLS, { x: dy as tf.Tensor }, { begin: b, size });
          begin += size;
        });
        return out;
      },
    },
  ];
  for (const g of grads) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}
