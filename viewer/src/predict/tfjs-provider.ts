/**
 * The checkpoint-backed provider: picks a tfjs backend in the browser (webgpu when the browser has
 * navigator.gpu and an adapter, else webgl, else wasm, else cpu) and runs the segmentation models of the
 * checkpoint folder (./segment-model.ts: src/downstream's Segmenter on the registered backbone, with the checkpoint's weights). Loaded
 * lazily (dynamic import) so tfjs is fetched only when a checkpoint is served; tfjs-backend-webgpu only when
 * the browser has WebGPU. rq3d's kernels are registered for cpu, wasm and webgpu (WGSL); on webgl the octree
 * ops take their reference path (built-in gather / scatterND), which the browser test runs.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { PointCloud } from '../../../src/data/pointcloud.ts';
import type { FetchFile } from './checkpoint-format.ts';
import { chooseFeatureModel, chooseModel, type CheckpointModel } from './model-choice.ts';
import type { CheckpointInfo, FeatureRun, PredictionContext, PredictionProvider, PredictionRun } from './provider.ts';
import { loadBackbone, pointFeatures, type LoadedBackbone } from './feature-model.ts';
import { loadSegmenter, predictParts, type LoadedSegmenter } from './segment-model.ts';

export const BACKEND_ORDER = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** Whether this browser exposes WebGPU (Chromium: a secure context, and a flag or a supported GPU). */
function hasWebGpu(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator && Boolean((navigator as { gpu?: unknown }).gpu);
}

/** The first backend of `order` that initializes here; returns its name. */
export async function selectBrowserBackend(order: readonly string[] = BACKEND_ORDER): Promise<string> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  });
  // tfjs moves tensors to a new backend with a synchronous read, which on webgpu in a browser returns zeros
  // (no error): read every variable (the loaded models' weights) asynchronously first, which caches its values
  if (tf.getBackend() === 'webgpu' && order[0] !== 'webgpu') {
    await Promise.all(Object.values(tf.engine().registeredVariables).map((v) => v.data()));
  }
  for (const name of order) {
    try {
      if (name === 'webgpu') {
        if (!hasWebGpu()) continue;
        // registers the 'webgpu' backend (it checks navigator.gpu when imported); its factory asks for an adapter
        await import('@tensorflow/tfjs-backend-webgpu');
      }
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

/**
 * Runs the model that fits each shape; each model's weights are fetched once, when first needed. A folder
 * with feature models only (a pretraining checkpoint) loads too: it gives features, and predictions say why not.
 */
export class CheckpointPredictor {
  readonly models: CheckpointModel[];
  readonly segments: boolean;
  private readonly loaded = new Map<string, Promise<LoadedSegmenter>>();
  private readonly backbones = new Map<string, Promise<LoadedBackbone>>();
  constructor(
    private readonly ckpt: CheckpointInfo,
    private readonly fetchFile: FetchFile,
  ) {
    this.models = ckpt.models;
    if (!this.models.length) throw new Error(`checkpoint folder '${ckpt.name}' holds no model.json`);
    this.segments = this.models.some((m) => !m.error);
    if (!this.segments && !this.models.some((m) => m.features)) {
      throw new Error(`checkpoint folder '${ckpt.name}' holds no segmentation model and no HRNet backbone (${this.models[0]!.error})`);
    }
  }

  private backbone(m: CheckpointModel): Promise<LoadedBackbone> {
    let p = this.backbones.get(m.dir);
    if (!p) {
      p = loadBackbone(m.dir, this.fetchFile);
      this.backbones.set(m.dir, p);
      p.catch(() => this.backbones.delete(m.dir));
    }
    return p;
  }

  async features(cloud: PointCloud, ctx: PredictionContext): Promise<FeatureRun> {
    const m = chooseFeatureModel(this.models, ctx.shapeClass, ctx.chosen);
    if (!m) throw new Error(`no model of '${this.ckpt.name}' has an HRNet backbone to take features from`);
    const b = await this.backbone(m);
    const backend = tf.getBackend();
    const t0 = performance.now();
    const f = await pointFeatures(b, cloud);
    return { ...f, model: m, backend, ms: performance.now() - t0 };
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
    if (!m && !this.segments)
      throw new Error(`'${this.ckpt.name}' holds no segmentation model (${this.models[0]!.error}): colour by network features (PCA) to see what it learned`);
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
    for (const p of this.loaded.values())
      void p.then(
        (s) => s.model.dispose(),
        () => {},
      );
    this.loaded.clear();
    for (const p of this.backbones.values())
      void p.then(
        (b) => b.net.dispose(),
        () => {},
      );
    this.backbones.clear();
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
    segments: predictor.segments,
    predict: (cloud, ctx) => predictor.predict(cloud, ctx),
    features: (cloud, ctx) => predictor.features(cloud, ctx),
    predictLabels: async (cloud, ctx) => (await predictor.predict(cloud, ctx ?? { shapeClass: null, chosen: null })).labels,
    dispose: () => predictor.dispose(),
  };
}
