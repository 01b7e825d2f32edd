import { UsageError } from '../util/errors.ts';

/**
 * `--backend NAME` must name a backend rq3d knows: auto, wasm, cpu, webgpu, tensorflow (tfjs-node), or one registered
 * with tfjs. Without this check an unknown name silently fell back to wasm.
 */
export async function checkBackend(name: string): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const known = new Set(['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow', ...Object.keys(tf.engine().registryFactory)]);
  if (!known.has(name)) throw new UsageError(`--backend: unknown backend '${name}'; use one of ${[...known].join(', ')}`);
}
