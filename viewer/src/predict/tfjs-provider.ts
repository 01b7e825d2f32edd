/**
 * The checkpoint-backed provider: picks a tfjs backend in the browser (webgl, else wasm, else cpu) and loads
 * the model of a run folder. Loaded lazily (dynamic import) so tfjs is fetched only when a checkpoint is served.
 *
 * Status: backend selection is done; building the network from a checkpoint waits for the model and
 * checkpoint code (src/models, src/train). `buildModel` below is the one place to connect it: it receives the
 * run's files and must return a function from an octree-box cloud to per-point class ids.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { PointCloud } from '../../../src/data/pointcloud.ts';
import type { CheckpointInfo, PredictionProvider } from './provider.ts';

export const BACKEND_ORDER = ['webgl', 'wasm', 'cpu'] as const;

/** The first backend of `order` that initializes here; returns its name. */
export async function selectBrowserBackend(order: readonly string[] = BACKEND_ORDER): Promise<string> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  });
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // try the next one
    }
  }
  throw new Error(`no tfjs backend could start (tried ${order.join(', ')})`);
}

export type PointPredictor = (cloud: PointCloud) => Promise<Int32Array>;

/** Connect the run's model here (see the header). */
async function buildModel(ckpt: CheckpointInfo, _fetchFile: (file: string) => Promise<ArrayBuffer>): Promise<PointPredictor> {
  throw new Error(
    `found checkpoint folder '${ckpt.name}' (${ckpt.files.length} files), but loading rq3d models in the browser is not implemented yet`,
  );
}

export async function loadTfjsProvider(ckpt: CheckpointInfo, fetchFile: (file: string) => Promise<ArrayBuffer>): Promise<PredictionProvider> {
  const backend = await selectBrowserBackend();
  let predict: PointPredictor;
  try {
    predict = await buildModel(ckpt, fetchFile);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (tfjs backend ${backend} is ready)`);
  }
  return {
    name: `${ckpt.name} (${backend})`,
    predictLabels: predict,
    dispose: () => {},
  };
}
