import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_RUNNING, kernelRegistered } from './kernels/index.ts';

/**
 * Batch norm's running statistics updated in place. The composed tfjs ops allocate new buffers for both at
 * every step (a variable's assign swaps its data id), about ten ops and two long-lived buffers per batch
 * norm, allocated in the middle of the forward pass: on wasm, whose heap only grows, long-lived buffers
 * placed between a step's activations fragment it. The kernel (./kernels/row-kernels.ts) writes into the
 * variables' own data, so it runs only where no other tensor shares that data (a clone shares it:
 * ./kernels/identity.ts); otherwise, and on backends without it, the same arithmetic runs as tfjs ops and
 * assigns.
 * Only state that is never a product's right operand may be written in place on wasm: tfjs-backend-wasm
 * caches XNNPACK's packed copy of a matMul's right operand by tensor id, so a weight updated in place
 * would be multiplied with its old values (checked: matMul(a, w) after an in-place w gave the old product).
 * Running statistics only meet element-wise ops; SGD's weights stay with tfjs ops and assign.
 */

interface RefCounting {
  refCount(dataId: object): number;
}

/** Whether `kernel` may write into these tensors' data: registered here, and no other tensor shares it. */
function inPlace(kernel: string, tensors: tf.Tensor[]): boolean {
  if (!kernelRegistered(kernel)) return false;
  const b = tf.backend() as unknown as Partial<RefCounting>;
  return typeof b.refCount === 'function' && tensors.every((t) => b.refCount!(t.dataId) === 1);
}

/** mean·(1−m) + batchMean·m and var·(1−m) + batchVar·unbias·m from the [3, c] stats, with built-in ops. */
export function batchNormRunningReference(
  stats: tf.Tensor2D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  momentum: number,
  unbias: number,
): [tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const c = stats.shape[1];
    const [bm, bv] = tf.unstack(tf.slice(stats, [0, 0], [2, c])) as [tf.Tensor1D, tf.Tensor1D];
    const m = momentum;
    return [tf.add(tf.mul(mean, 1 - m), tf.mul(bm, m)) as tf.Tensor1D, tf.add(tf.mul(variance, 1 - m), tf.mul(tf.mul(bv, unbias), m)) as tf.Tensor1D];
  });
}

/** Running statistics a training batch norm updates (PyTorch semantics: momentum, unbiased variance). */
export interface BatchNormRunning {
  mean: tf.Variable;
  variance: tf.Variable;
  /** PyTorch's momentum: the weight of the batch's statistics (0.1). */
  momentum: number;
}

/** The running statistics after a step of `rows` rows whose [3, c] statistics are `stats`; no read-back. */
export function updateBatchNormRunning(stats: tf.Tensor2D, rows: number, r: BatchNormRunning): void {
  const unbias = rows > 1 ? rows / (rows - 1) : 1;
  if (inPlace(BATCH_NORM_RUNNING, [r.mean, r.variance])) {
    tf.engine().runKernel(BATCH_NORM_RUNNING, { stats, mean: r.mean, variance: r.variance }, { momentum: r.momentum, unbias });
    return;
  }
  tf.tidy(() => {
    const [mean, variance] = batchNormRunningReference(stats, r.mean as tf.Tensor1D, r.variance as tf.Tensor1D, r.momentum, unbias);
    r.mean.assign(mean);
    r.variance.assign(variance);
  });
}
