/**
 * tfjs-backend-wasm's Identity kernel copies its input into a new heap buffer. tfjs runs Identity for every
 * tensor it saves for the backward pass (engine.clone in saveTensorsForBackwardMode and in a custom
 * gradient's save), so on wasm each saved activation existed twice: 374 copies in one MID HRNet step
 * (~64 ms and, worse, the heap peak). tfjs tensors are immutable (a variable's assign swaps its data id),
 * so an Identity can share the data with a reference count, which is what the cpu backend does and what
 * the wasm backend itself does for Reshape.
 */
import * as tf from '@tensorflow/tfjs';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

const shared: tf.KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x;
  if (!x) throw new Error('Identity: missing input x');
  (backend as unknown as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * Replaces the wasm backend's Identity with the shared-data one (idempotent; a no-op until the wasm
 * backend's kernels are registered, so src/backend.ts calls it again after selecting wasm).
 */
export function shareIdentityOnWasm(): void {
  const k = tf.getKernel(tf.Identity, 'wasm');
  if (!k || k.kernelFunc === shared) return;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({ kernelName: tf.Identity, backendName: 'wasm', kernelFunc: shared });
}

/** Whether the wasm Identity shares data (tests, the bench's settings). */
export function identitySharesOnWasm(): boolean {
  return tf.getKernel(tf.Identity, 'wasm')?.kernelFunc === shared;
}
