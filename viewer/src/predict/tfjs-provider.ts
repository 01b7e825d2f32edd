/**
 * The checkpoint-backed provider: picks a tfjs backend in the browser (webgl, else wasm, else cpu) and runs the
 * segmentation models of the checkpoint folder (./segment-model.ts: src/downstream's MidSegmenter with the
 * checkpoint's weights). Loaded lazily (dynamic import) so tfjs is fetched only when a checkpoint is served.
 * rq3d's gather/scatter kernels are registered for cpu and wasm; on webgl the octree ops take their reference
 * path (built-in gather / scatterND), which the browser test runs.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { PointCloud } from '../../../src/data/pointcloud.ts';
import type { FetchFile } from './checkpoint-format.ts';
import { chooseModel, type CheckpointModel } from './models.ts';
import type { CheckpointInfo, PredictionContext, PredictionProvider, PredictionRun } from './provider.ts';
import { loadSegmenter, predictParts, type LoadedSegmenter } from './segment-model.ts';

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

/** The models of a checkpoint as the server listed them (or, from an older server, every model.json it exposes). */
function checkpointModels(ckpt: CheckpointInfo): CheckpointModel[] {
  if (ckpt.models) return ckpt.models;
  return ckpt.files
    .filter((f) => f === 'model.json' || f.endsWith('/model.json'))
    .map((f) => ({ dir: f.slice(0, -'model.json'.length).replace(/\/$/, ''), category: null, protocol: '', backbone: '', parts: 0, partNames: null, error: null }));
}

/** Runs the model that fits each shape; each model's weights are fetched once, when first needed. */
export class CheckpointPredictor {
  readonly models: CheckpointModel[];
  private readonly loaded = new Map<string, Promise<LoadedSegmenter>>();
  constructor(private readonly ckpt: CheckpointInfo, private readonly fetchFile: FetchFile) {
    this.models = checkpointModels(ckpt);
    if (!this.models.length) throw new Error(`checkpoint folder '${ckpt.name}' holds no model.json`);
    if (this.models.every((m) => m.error)) throw new Error(`checkpoint folder '${ckpt.name}' holds no segmentation model (${this.models[0]!.error})`);
  }

  private segmenter(m: CheckpointModel): Promise<LoadedSegmenter> {
    let p = this.loaded.get(m.dir);
    if (!p) {
      p = loadSegmenter(m.dir, this.fetchFile);
      this.loaded.set(m.dir, p);
      p.catch(() => this.loaded.delete(m.dir));
    }
    return p;
  }

  async predict(cloud: PointCloud, ctx: PredictionContext): Promise<PredictionRun> {
    const m = chooseModel(this.models, ctx.shapeClass, ctx.chosen);
    if (!m) {
      const cls = ctx.shapeClass ? `class '${ctx.shapeClass}'` : 'this shape (class unknown)';
      throw new Error(`no model of '${this.ckpt.name}' fits ${cls}: choose one in the model list`);
    }
    const s = await this.segmenter(m);
    // The backend may have been switched since loading (tfjsBackend()); report the one that ran.
    const backend = tf.getBackend();
    const t0 = performance.now();
    const labels = await predictParts(s, cloud);
    return { labels, model: m, backend, ms: performance.now() - t0, parts: s.meta.parts };
  }

  dispose(): void {
    for (const p of this.loaded.values()) void p.then((s) => s.model.dispose(), () => {});
    this.loaded.clear();
  }
}

/** The plug: a checkpoint's files -> a predictor (one class id per point of an octree-box cloud). */
export async function buildModel(ckpt: CheckpointInfo, fetchFile: FetchFile): Promise<CheckpointPredictor> {
  return new CheckpointPredictor(ckpt, fetchFile);
}

export async function loadTfjsProvider(ckpt: CheckpointInfo, fetchFile: FetchFile): Promise<PredictionProvider> {
  const backend = await selectBrowserBackend();
  let predictor: CheckpointPredictor;
  try {
    predictor = await buildModel(ckpt, fetchFile);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (tfjs backend ${backend} is ready)`);
  }
  return {
    // The backend can be switched later (the viewer handle's tfjsBackend()); the name follows it.
    get name() {
      return `${ckpt.name} (${tf.getBackend() ?? backend})`;
    },
    models: predictor.models,
    predict: (cloud, ctx) => predictor.predict(cloud, ctx),
    predictLabels: async (cloud, ctx) => (await predictor.predict(cloud, ctx ?? { shapeClass: null, chosen: null })).labels,
    dispose: () => predictor.dispose(),
  };
}
