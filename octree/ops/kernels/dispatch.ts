import * as tf from '@tensorflow/tfjs';

/**
 * Whether rq3d's kernel `kernelName` is registered for the active backend: the one question an op asks
 * before running it (else it composes built-in ops). Adding a backend means adding kernels, not editing ops.
 */
export function kernelRegistered(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
