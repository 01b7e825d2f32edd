import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM, SIBLING_MAX, WEIGHTED_GATHER, kernelRegistered, octGatherReference } from './kernels/index.ts';
import { runBatchNorm, runSiblingMax, runWeightedGather, type RowTable } from './kernels/register.ts';
import { updateBatchNormRunning, type BatchNormRunning } from './update.ts';

/**
 * Fused ops for the elementwise-heavy parts of an octree network. On wasm, tfjs runs a batch norm as ~10
 * separate passes (several with slow broadcasting), and the gradient of a max over siblings as an `Equal`
 * broadcast that alone cost more than the convolutions (profiled: 86 ms per call for 500k elements). These
 * ops do one or two passes instead: each runs rq3d's registered kernel (cpu, wasm, webgpu: ./kernels) with
 * its registered gradient when the active backend has it, and a composition of built-in tfjs ops otherwise.
 * Nothing is read back to JS on either path.
 */

/** [out, arg] of the sibling max: the registered kernel, or built-in ops. */
function siblingMaxPair(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const [rows, c] = x.shape;
  if (rows % 8 !== 0) throw new RangeError(`siblingMax: rows (${rows}) must be a multiple of 8`);
  if (kernelRegistered(SIBLING_MAX)) return runSiblingMax(x);
  return tf.tidy(() => {
    const groups = tf.reshape(x, [rows / 8, 8, c]);
    return [tf.max(groups, 1) as tf.Tensor2D, tf.argMax(groups, 1) as tf.Tensor2D];
  });
}

/** Max over each group of 8 consecutive rows (sibling octants): [8P, C] -> [P, C]; gradient to the argmax. */
export function siblingMax(x: tf.Tensor2D): tf.Tensor2D {
  const [rows, c] = x.shape;
  if (rows % 8 !== 0) throw new RangeError(`siblingMax: rows (${rows}) must be a multiple of 8`);
  if (!kernelRegistered(SIBLING_MAX)) return tf.tidy(() => tf.max(tf.reshape(x, [rows / 8, 8, c]), 1) as tf.Tensor2D);
  const [out, arg] = runSiblingMax(x);
  arg.dispose();
  return out;
}

/** Argmax slot (0..7) of each group of 8 rows, per channel: [P, C] int32 (for max unpooling). */
export function siblingArgMax(x: tf.Tensor2D): tf.Tensor2D {
  const [out, arg] = siblingMaxPair(x);
  out.dispose();
  return arg;
}

export interface BatchNormStats {
  mean: Float32Array;
  /** Biased batch variance (what normalizes); the caller derives the unbiased one for running stats. */
  variance: Float32Array;
}

/** The batch statistics as tensors on the backend (no read-back): mean and biased variance, each [C]. */
export interface BatchNormStatsTensors {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** [y, stats [3, C]] of a training-mode batch norm: the registered kernel, or built-in ops. */
function batchNormPair(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, relu: boolean): [tf.Tensor2D, tf.Tensor2D] {
  if (kernelRegistered(BATCH_NORM)) return runBatchNorm(x, gamma, beta, eps, relu);
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, 0);
    const inv = tf.rsqrt(tf.add(variance, eps));
    const s = tf.mul(inv, gamma);
    const y = tf.add(tf.mul(x, s), tf.sub(beta, tf.mul(mean, s))) as tf.Tensor2D;
    return [relu ? tf.relu(y) : y, tf.stack([mean, variance, inv]) as tf.Tensor2D];
  });
}

/**
 * Training-mode batch norm over rows, optionally followed by ReLU, as one op with an analytic gradient:
 * y = relu?((x - mean) / sqrt(var + eps) · gamma + beta). `onStatsTensors` receives the batch statistics as
 * tensors (for running averages kept on the backend; they are disposed after the call: keep or assign what
 * is needed). `running` updates running statistics on the backend, in place (./update.ts).
 * `onStats` receives the statistics as arrays, which reads them back: never inside a training step (tests).
 */
export function fusedBatchNorm(
  x: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  opts: {
    eps?: number;
    relu?: boolean;
    running?: BatchNormRunning;
    onStats?: (s: BatchNormStats) => void;
    onStatsTensors?: (s: BatchNormStatsTensors) => void;
  } = {},
): tf.Tensor2D {
  const c = x.shape[1];
  const [y, stats] = batchNormPair(x, gamma, beta, opts.eps ?? 1e-5, opts.relu ?? false);
  if (opts.running) updateBatchNormRunning(stats, x.shape[0], opts.running);
  if (opts.onStatsTensors) {
    const cb = opts.onStatsTensors;
    tf.tidy(() => {
      const [mean, variance] = tf.unstack(tf.slice(stats, [0, 0], [2, c])) as [tf.Tensor1D, tf.Tensor1D];
      cb({ mean, variance });
    });
  }
  if (opts.onStats) {
    const s = stats.dataSync() as Float32Array;
    opts.onStats({ mean: s.slice(0, c), variance: s.slice(c, 2 * c) });
  }
  stats.dispose();
  return y;
}

/** The CSR table of `width` entries per output row, without -1 and zero-weight entries, and its transpose. */
function csrTables(index: Int32Array, weight: Float32Array, width: number, rows: number): { table: RowTable; transposed: RowTable } {
  const m = index.length / width;
  const offsets = new Int32Array(m + 1),
    counts = new Int32Array(rows + 1);
  let nnz = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < width; j++) {
      const r = index[i * width + j]!;
      if (r < 0) continue;
      if (r >= rows) throw new RangeError(`weightedGather: index ${r} out of range [0, ${rows})`);
      if (weight[i * width + j] === 0) continue;
      nnz++;
      counts[r + 1]!++;
    }
    offsets[i + 1] = nnz;
  }
  const src = new Int32Array(nnz),
    w = new Float32Array(nnz);
  for (let r = 0; r < rows; r++) counts[r + 1]! += counts[r]!;
  const tOffsets = counts.slice(),
    tSrc = new Int32Array(nnz),
    tW = new Float32Array(nnz);
  const fill = counts.slice(0, rows);
  let e = 0;
  // entries in (i, j) order on both sides: each sum runs in the order of the plain loops
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < width; j++) {
      const r = index[i * width + j]!,
        wt = weight[i * width + j]!;
      if (r < 0 || wt === 0) continue;
      src[e] = r;
      w[e++] = wt;
      const t = fill[r]!++;
      tSrc[t] = i;
      tW[t] = wt;
    }
  }
  const tensors = (o: Int32Array, s: Int32Array, ww: Float32Array): RowTable => ({
    offsets: tf.tensor1d(o, 'int32'),
    src: tf.tensor1d(s, 'int32'),
    weight: tf.tensor1d(ww),
  });
  return { table: tensors(offsets, src, w), transposed: tensors(tOffsets, tSrc, tW) };
}

/**
 * out[i] = Σ_j weight[i·W + j] · x[index[i·W + j]] (index -1 contributes nothing): interpolation from node
 * data, in one pass, with the weighted scatter-add as its gradient — run as the same weighted gather on the
 * transposed table (built here, on the host, from the arrays), so no backend needs a float scatter.
 * Composed from a gather, a multiply and a sum it would hold two [M·W, C] temporaries (and their gradients)
 * — for trilinear upsampling of a batch of dense shapes that is hundreds of MB.
 */
export function weightedGather(x: tf.Tensor2D, index: Int32Array, weight: Float32Array, width: number): tf.Tensor2D {
  const [rows, c] = x.shape;
  const m = index.length / width;
  if (!Number.isInteger(m) || weight.length !== index.length)
    throw new RangeError(`weightedGather: index (${index.length}) and weight (${weight.length}) must hold ${width} entries per output row`);
  const { table, transposed } = csrTables(index, weight, width, rows);
  const all = [table.offsets, table.src, table.weight, transposed.offsets, transposed.src, transposed.weight];
  try {
    if (kernelRegistered(WEIGHTED_GATHER)) return runWeightedGather(x, table, transposed) as tf.Tensor2D;
    return tf.tidy(() => {
      const idx = tf.tensor1d(index, 'int32');
      const cols = tf.reshape(octGatherReference(x, idx), [m, width, c]);
      return tf.sum(tf.mul(cols, tf.tensor3d(weight, [m, width, 1])), 1) as tf.Tensor2D;
    });
  } finally {
    tf.dispose(all);
  }
}
