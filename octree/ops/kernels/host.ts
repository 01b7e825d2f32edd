/**
 * The row operations of rq3d's kernels behind one interface. Every kernel (gather, transposed gather,
 * scatter-add, the blocked conv products, batch norm, sibling max, weighted gather) is written once against
 * it in ./register.ts and ./gather-matmul.ts; a backend gets rq3d's kernels by supplying a Host:
 *
 *   cpu     ./host-cpu.ts     JS loops (./loops.ts, ./fused-loops.ts) on the backend's values arrays
 *   wasm    ./host-wasm.ts    rq3d's wasm module on tfjs's heap (else the same JS loops on heap views)
 *   webgpu  ./webgpu/host.ts  WGSL programs run through tfjs-backend-webgpu's runWebGPUProgram
 *
 * Ops never name backends: they ask the kernel registry whether their kernel exists for the active backend
 * (./dispatch.ts) and otherwise compose built-in tfjs ops (the reference path).
 */
import type * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;

export interface Host {
  /** Uninitialised tensor (every caller writes all of it before reading); float32 unless said. */
  alloc(shape: number[], dtype?: 'float32' | 'int32'): TensorInfo;
  dispose(t: TensorInfo): void;
  /**
   * A float32 [rows, cols] temporary for the length of one kernel call (the conv's column blocks), given
   * back with releaseScratch. On wasm it lives in one buffer the backend keeps and reuses: the heap only
   * grows, and a block freed after every conv left a hole of its size that smaller tensors filled, so the
   * next block grew the heap (fragmentation was a third of the peak). Elsewhere it is alloc / dispose.
   */
  scratch(rows: number, cols: number): TensorInfo;
  releaseScratch(t: TensorInfo): void;
  zeros(shape: number[]): TensorInfo;
  /** Floats one storage binding may hold (a block of the conv's column matrix stays within it). */
  readonly maxBindingFloats: number;
  /**
   * Throws a RangeError naming `op` if an idx entry is outside [-1, rows); run before allocating outputs.
   * A device backend cannot check without a read-back: its kernels read out-of-range rows as robust
   * buffer access defines (zeros or clamped), never outside the buffer.
   */
  checkIdx(idx: TensorInfo, rows: number, op: string): void;
  /** dst rows 0..m = x rows idx[from .. from+m) (zero rows for -1). */
  gather(x: TensorInfo, idx: TensorInfo, from: number, m: number, dst: TensorInfo): void;
  /** dst [k·C, n] (row stride n) = transposed columns of idx rows [from/k .. from/k + n). */
  gatherT(x: TensorInfo, idx: TensorInfo, from: number, n: number, k: number, dst: TensorInfo): void;
  /** dst [numRows, C] = 0, then dst row idx[i] += y row i for every i < m with idx[i] >= 0. */
  scatterAdd(y: TensorInfo, idx: TensorInfo, m: number, dst: TensorInfo, numRows: number): void;
  /** dst[dstOff .. +count) = src[srcOff .. +count) (floats). */
  copy(src: TensorInfo, srcOff: number, dst: TensorInfo, dstOff: number, count: number): void;
  /** dst[0 .. count) += src[0 .. count). */
  addInto(src: TensorInfo, dst: TensorInfo, count: number): void;
  /** Training-mode batch norm of x [n, c]: y [n, c] and stats [3, c] = mean | biased variance | 1/sqrt(var + eps). */
  bnForward(x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, eps: number, relu: boolean, y: TensorInfo, stats: TensorInfo): void;
  /** dx [n, c], dgamma [c], dbeta [c] of bnForward from dy and the forward's stats. */
  bnBackward(
    dy: TensorInfo,
    x: TensorInfo,
    gamma: TensorInfo,
    beta: TensorInfo,
    stats: TensorInfo,
    relu: boolean,
    dx: TensorInfo,
    dgamma: TensorInfo,
    dbeta: TensorInfo,
  ): void;
  /** out [p, c] = max over the rows 8i..8i+7 of x [8p, c]; arg [p, c] int32 = the slot of the first maximum. */
  siblingMax(x: TensorInfo, out: TensorInfo, arg: TensorInfo): void;
  /** dx [8p, c] = dy[i, k] at row 8i + arg[i, k], zero elsewhere. */
  siblingMaxGrad(dy: TensorInfo, arg: TensorInfo, dx: TensorInfo): void;
  /** out [R, c]: row r = Σ_e weight[e] · x[src[e]] over e in offsets[r] .. offsets[r+1] (a CSR table). */
  weightedRows(x: TensorInfo, offsets: TensorInfo, src: TensorInfo, weight: TensorInfo, out: TensorInfo): void;
}

export type HostFactory = (backend: unknown) => Host;

const hosts = new Map<string, HostFactory>();

/** Makes rq3d's kernels available on `backendName` (./register.ts registers them for every host). */
export function defineHost(backendName: string, factory: HostFactory): void {
  hosts.set(backendName, factory);
}

/** The backends that have a Host, in definition order. */
export function hostBackends(): string[] {
  return [...hosts.keys()];
}

/** The host of a backend rq3d has kernels for. */
export function hostOf(backendName: string, backend: unknown): Host {
  const f = hosts.get(backendName);
  if (!f) throw new Error(`rq3d has no kernels for backend '${backendName}'`);
  return f(backend);
}

export function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: missing input '${name}'`);
  return t;
}
