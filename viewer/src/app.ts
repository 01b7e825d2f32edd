import type { PointCloud } from '../../src/data/pointcloud.ts';
import { fetchCatalog, fetchCheckpointFile, fetchInfo, fetchShapeBytes, fetchText, type CatalogItem, type ServerInfo } from './api.ts';
import { axisRange, categoryHex, colorsFromHeight, colorsFromLabels, colorsFromNormals, leafColors, plainColors, ramp } from './colors.ts';
import { DatasetBrowser } from './dataset-browser.ts';
import { kmeans } from '../../src/ssl/kmeans.ts';
import { computeView, loadShape, MAX_POINT_BUDGET, normalizeMesh, parseLabelLines, type LoadedShape, type ViewData, type ViewStats } from './pipeline.ts';
import { binOf } from '../../src/augment/randomized-quantization.ts';
import type { Octree } from '../../octree/octree.ts';
import { fitPca, pcaColors } from './pca.ts';
import * as THREE from 'three';
import { shapeIoU } from '../../src/downstream/metrics.ts';
import { chooseFeatureModel, classFromFileName, localGroundTruth, modelLabel } from './predict/model-choice.ts';
import { loadDefaultProvider, type FeatureRun, type PredictionContext, type PredictionProvider, type PredictionRun } from './predict/provider.ts';
import { SplitView, STANDARD_VIEWS, type StandardView } from './split-view.ts';
import { BUDGET_CHOICES, decodeState, DEFAULT_STATE, encodeState, isVariant, type BoxMode, type ColorMode, type LayoutMode, type ViewState } from './state.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`viewer markup lacks #${id}`);
  return el as T;
};

interface Predictions {
  key: string;
  input: Int32Array;
  quantized: Int32Array;
  /** Which model and backend produced them (checkpoint providers), null for a plain provider. */
  run: PredictionRun | null;
}

/** The last predictions, for tests and scripts. */
export interface PredictionSummary {
  points: number;
  labels: number[];
  distinct: number[];
  model: string | null;
  backend: string | null;
  ms: number | null;
  iou: number | null;
  iouPointNet: number | null;
}

/** PCA colours of the network's point features for the current shape. */
interface FeatureColors {
  key: string;
  input: Float32Array;
  quantized: Float32Array;
  run: FeatureRun;
  /** Share of the feature variance the 3 components hold. */
  explained: number;
}

/** What a click on a point shows (and `lastPick()` returns). */
export interface PickInfo {
  /** The view clicked (0 = left) and its name. */
  view: number;
  viewName: string;
  /** The point's index in the shown cloud (the same index in every view). */
  index: number;
  /**
   * The point as drawn in that view, and before quantization (the octree box [-1, 1]^3). `original` is null
   * in the MID-Net view, whose quantized cloud is the clipped one (other points, other indices).
   */
  xyz: [number, number, number];
  original: [number, number, number] | null;
  /** The octree leaf of that view's cloud holding it: depth, integer cell coordinates and Morton key. */
  depth: number;
  cell: [number, number, number];
  key: number;
  label: number | null;
  prediction: number | null;
  /**
   * Per axis: the RQ bin of the original coordinate, the bin's range and the value it collapses to; null when
   * not quantized, or in the MID-Net view (the training sample keeps only the quantizers' ranges).
   */
  quantized: Array<{ axis: 'x' | 'y' | 'z'; bin: number; bins: number; lo: number; hi: number; value: number }> | null;
}

/** The PCA colouring shown, for tests and scripts. */
export interface FeatureSummary {
  points: number;
  channels: number;
  model: string | null;
  backend: string;
  explained: number;
  /** RGB per point of the original view. */
  colors: number[];
}

/** What tests and scripts can reach as `window.rq3dViewer`. */
export interface ViewerHandle {
  ready: Promise<void>;
  stats(): ViewStats | null;
  state(): ViewState;
  renders(): number;
  busy(): boolean;
  setPredictionProvider(p: PredictionProvider | null): void;
  screenshotDataUrl(): string;
  lastError(): string | null;
  /** Start tfjs with the first working backend of `order` (default webgl, wasm, cpu); returns its name. */
  tfjsBackend(order?: string[]): Promise<string>;
  /** The predictions shown for the current shape (original cloud), or null. */
  prediction(): PredictionSummary | null;
  /** Drop the current predictions and predict again (e.g. after switching the tfjs backend); a prediction
   * still running when this is called is discarded when it ends. */
  repredict(): void;
  /** Whether a prediction is running now. */
  predicting(): boolean;
  /** The PCA feature colours shown for the current shape, or null. */
  features(): FeatureSummary | null;
  /** The last picked point (a click on a point), or null. */
  lastPick(): PickInfo | null;
  /** Where point `index` of view `view` is drawn, in page (CSS) pixels; null when behind the camera. */
  screenPosition(view: number, index: number): { x: number; y: number } | null;
  /** How many views are drawn (2: original | quantized, 3: ground truth | prediction | error). */
  viewCount(): number;
  /** The camera position (display coordinates, y up). */
  camera(): [number, number, number];
}

/** What one view shows. */
interface ViewContent {
  pc: PointCloud;
  tree: Octree;
  which: 'input' | 'quantized';
  colors: Float32Array;
  /** Short name (the pick panel) and title (over the view). */
  name: string;
  title: string;
  mesh: boolean;
}

/**
 * The viewer: state (mirrored in the URL hash) -> pipeline (the CLI's own data, RQ and octree code) ->
 * two linked views. Heavy work (parse, RQ, octrees, k-means) runs only when an input of it changes; colour,
 * box and point-size changes only repaint.
 */
export class App {
  state: ViewState;
  readonly view: SplitView;
  private info: ServerInfo | null = null;
  private browser: DatasetBrowser;
  private base: PointCloud | null = null;
  private baseName = '';
  private data: ViewData | null = null;
  private dataVersion = 0;
  /** Bumped by repredict(): invalidates predictions made (or being made) before it. */
  private predictionGen = 0;
  private clusters: { key: string; assign: Int32Array } | null = null;
  private provider: PredictionProvider | null = null;
  /** The checkpoint's provider is loading (counts as busy); a provider set by a script meanwhile wins. */
  private providerLoading = false;
  private providerSetByScript = false;
  private providerStatus = '';
  private predictions: Predictions | null = null;
  private predicting = false;
  private featureColors: FeatureColors | null = null;
  private featuring = false;
  private featureFailedKey: string | null = null;
  private featureStatus = '';
  /** The file as fetched, so a new point budget re-samples it without fetching again. */
  private source: { bytes: Uint8Array; name: string; labels: Int32Array | null; shownName: string } | null = null;
  private loaded: LoadedShape | null = null;
  /** What each drawn view shows (for picking). */
  private shownViews: ViewContent[] = [];
  /** The picked point (view and index; the index is the same in every view) and what the panel shows for it. */
  private pickSel: { view: number; index: number } | null = null;
  private pick: PickInfo | null = null;
  /** The current shape's class (for the model choice) and whether its labels came from a `.seg` sidecar. */
  private shapeClass: string | null = null;
  private labelsFromSidecar = false;
  private failedKey: string | null = null;
  private loadToken = 0;
  private loading = false;
  private renderCount = 0;
  private scheduled: { compute: boolean; display: boolean } | null = null;
  private error: string | null = null;

  constructor() {
    this.state = decodeState(location.hash);
    this.view = new SplitView($('canvas-host'));
    this.view.onRender = () => {
      this.renderCount++;
      document.body.dataset.renders = String(this.renderCount);
    };
    this.view.controls.addEventListener('end', () => {
      const p = this.view.camera.position;
      this.state.cam = [p.x, p.y, p.z];
      this.writeUrl();
    });
    if (this.state.cam) this.view.setCameraPosition(this.state.cam);
    this.browser = new DatasetBrowser(
      $('browser'),
      $<HTMLSelectElement>('shape-list'),
      $<HTMLSelectElement>('filter-category'),
      $<HTMLSelectElement>('filter-split'),
      $('shape-counter'),
      $<HTMLButtonElement>('prev'),
      $<HTMLButtonElement>('next'),
    );
    this.browser.onSelect = (it) => void this.openItem(it);
    this.browser.onFilter = (category, split) => {
      this.state.category = category;
      this.state.split = split;
      this.writeUrl();
    };
    this.bindControls();
    this.bindDrop();
    this.syncControls();
  }

  handle(ready: Promise<void>): ViewerHandle {
    return {
      ready,
      stats: () => this.data?.stats ?? null,
      state: () => ({ ...this.state }),
      renders: () => this.renderCount,
      busy: () => this.loading || this.scheduled !== null || this.predicting || this.featuring || this.providerLoading,
      setPredictionProvider: (p) => {
        this.providerSetByScript = true;
        this.provider?.dispose();
        this.provider = p;
        this.providerStatus = p ? `model: ${p.name}` : '';
        this.predictions = null;
        this.failedKey = null;
        this.featureColors = null;
        this.featureFailedKey = null;
        this.fillModelList();
        this.schedule(false);
      },
      screenshotDataUrl: () => this.screenshotCanvas().toDataURL('image/png'),
      lastError: () => this.error,
      tfjsBackend: async (order) => (await import('./predict/tfjs-provider.ts')).selectBrowserBackend(order),
      prediction: () => this.predictionSummary(),
      repredict: () => {
        // A new generation: a prediction still running finishes under the old key and is dropped.
        this.predictionGen++;
        this.predictions = null;
        this.failedKey = null;
        this.featureColors = null;
        this.featureFailedKey = null;
        if (this.provider) this.providerStatus = `model: ${this.provider.name}`;
        this.schedule(false);
      },
      predicting: () => this.predicting,
      features: () => {
        const f = this.currentFeatures();
        return f
          ? {
              points: f.input.length / 3,
              channels: f.run.channels,
              model: f.run.model?.dir ?? null,
              backend: f.run.backend,
              explained: f.explained,
              colors: Array.from(f.input),
            }
          : null;
      },
      lastPick: () => this.pick,
      screenPosition: (view, index) => this.screenPosition(view, index),
      viewCount: () => this.view.count,
      camera: () => {
        const p = this.view.camera.position;
        return [p.x, p.y, p.z];
      },
    };
  }

  async init(): Promise<void> {
    this.info = await fetchInfo();
    $('source').textContent = this.info.name;
    $('source').title = this.info.name;
    const catalog = await fetchCatalog();
    this.browser.setItems(catalog.items, this.state.category, this.state.split);
    if (catalog.truncated) this.setStatus(`listing stopped at ${catalog.items.length} shapes`);
    if (this.info.checkpoint) void this.loadProvider();
    else this.providerStatus = 'no checkpoint (start with rq3d view --checkpoint RUN_DIR)';
    window.addEventListener('hashchange', () => void this.applyHash());
    const wanted = this.state.file ?? this.info.file;
    const item = wanted ? (this.browser.find(wanted) ?? { path: wanted, category: '', split: '', labels: null }) : this.browser.first();
    if (item) await this.openItem(item);
    else this.setStatus('no shapes in this folder; drop a file here');
  }

  private async loadProvider(): Promise<void> {
    const ck = this.info!.checkpoint!;
    this.providerStatus = `loading checkpoint ${ck.name}…`;
    this.updateLegend();
    this.providerLoading = true;
    try {
      const provider = await loadDefaultProvider(ck, fetchCheckpointFile);
      if (this.providerSetByScript) {
        provider.dispose();
        return;
      }
      this.provider = provider;
      this.providerStatus = `model: ${this.provider.name}`;
      if (this.provider.segments === false) {
        // A pretraining checkpoint: nothing to predict, but its features are the view that means something.
        this.providerStatus = `${ck.name}: no segmentation model (a pretraining checkpoint); colour by network features (PCA) shows what it learned`;
        if (this.state.color === 'prediction') {
          this.state.color = 'features';
          this.syncControls();
        }
      }
      this.fillModelList();
      this.schedule(false);
    } catch (e) {
      if (!this.providerSetByScript) this.providerStatus = `predictions unavailable: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      this.providerLoading = false;
    }
    this.updateLegend();
  }

  private async applyHash(): Promise<void> {
    const next = decodeState(location.hash);
    const fileChanged = next.file !== this.state.file;
    this.state = next;
    this.syncControls();
    if (next.cam) this.view.setCameraPosition(next.cam);
    if (fileChanged && next.file) await this.openItem(this.browser.find(next.file) ?? { path: next.file, category: '', split: '', labels: null });
    else this.schedule(true);
  }

  async openItem(item: CatalogItem): Promise<void> {
    const token = ++this.loadToken;
    this.loading = true;
    this.setStatus(`loading ${item.path}…`);
    try {
      const [bytes, labelText] = await Promise.all([fetchShapeBytes(item.path), item.labels ? fetchText(item.labels) : Promise.resolve(null)]);
      if (token !== this.loadToken) return;
      const name = item.path.split('/').pop() ?? item.path;
      this.shapeClass = item.category || classFromFileName(item.path);
      this.labelsFromSidecar = labelText !== null;
      this.setSource({ bytes, name, labels: labelText !== null ? parseLabelLines(labelText) : null, shownName: item.path });
      this.state.file = item.path;
      this.browser.mark(item.path);
    } catch (e) {
      if (token === this.loadToken) this.fail(e);
    } finally {
      if (token === this.loadToken) this.loading = false;
    }
  }

  openBytes(bytes: Uint8Array, name: string): void {
    ++this.loadToken;
    try {
      this.shapeClass = classFromFileName(name);
      this.labelsFromSidecar = false;
      this.setSource({ bytes, name, labels: null, shownName: `dropped: ${name}` });
      this.state.file = null;
      this.browser.mark(null);
    } catch (e) {
      this.fail(e);
    }
  }

  /** A new file (or a new point budget for the same file): parse, sample within the budget, recompute. */
  private setSource(src: { bytes: Uint8Array; name: string; labels: Int32Array | null; shownName: string }): void {
    const loaded = loadShape(src.bytes, src.name, src.labels, this.state.budget);
    this.source = src;
    this.loaded = loaded;
    this.pickSel = null;
    this.setCloud(loaded.cloud, src.shownName);
  }

  private setCloud(pc: PointCloud, name: string): void {
    this.base = pc;
    this.baseName = name;
    this.error = null;
    $('status').classList.remove('error');
    this.schedule(true);
  }

  private fail(e: unknown): void {
    this.error = e instanceof Error ? e.message : String(e);
    this.setStatus(this.error, true);
  }

  /** Coalesce changes into one update per frame; `compute` re-runs RQ and the octrees. */
  schedule(compute: boolean): void {
    if (this.scheduled) {
      this.scheduled.compute ||= compute;
      return;
    }
    this.scheduled = { compute, display: true };
    requestAnimationFrame(() => {
      const s = this.scheduled!;
      this.scheduled = null;
      try {
        if (s.compute) this.compute();
        this.display();
      } catch (e) {
        this.fail(e);
      }
      this.writeUrl();
    });
  }

  private compute(): void {
    if (!this.base) return;
    const s = this.state;
    this.data = computeView(this.base, {
      bins: s.bins,
      seed: s.seed,
      variant: s.variant,
      p: s.p,
      mid: s.mid,
      normalize: s.normalize,
      depth: s.depth,
      up: s.up,
    });
    this.dataVersion++;
    this.predictions = null;
    this.featureColors = null;
    const mesh = this.loaded?.mesh ?? null;
    const t = this.data.normalization;
    this.view.left.mesh.set(mesh && t ? normalizeMesh(mesh, t) : null, mesh && t ? mesh.faces : null);
  }

  private clusterIds(d: ViewData): Int32Array {
    const key = `${this.dataVersion}:${this.state.k}:${this.state.seed}`;
    if (this.clusters?.key !== key) this.clusters = { key, assign: kmeans(d.input.points, this.state.k, { seed: this.state.seed }).labels };
    return this.clusters.assign;
  }

  /** Predictions are valid for one computed view and one model choice. */
  private predictionKey(): string {
    return `${this.dataVersion}:${this.state.model}:${this.predictionGen}`;
  }

  private currentPredictions(): Predictions | null {
    return this.predictions?.key === this.predictionKey() ? this.predictions : null;
  }

  private requestPredictions(d: ViewData): void {
    const key = this.predictionKey();
    // A failed prediction is not retried for the same view and model (the status line says why).
    if (!this.provider || this.predicting || this.failedKey === key) return;
    const provider = this.provider;
    const ctx: PredictionContext = { shapeClass: this.shapeClass, chosen: this.state.model || null };
    this.predicting = true;
    this.providerStatus = `predicting with ${provider.name}…`;
    const one = async (pc: PointCloud): Promise<PredictionRun | Int32Array> => (provider.predict ? provider.predict(pc, ctx) : provider.predictLabels(pc, ctx));
    // One after the other: the first run is the one timed and reported.
    (async () => [await one(d.input), await one(d.quantized)] as const)()
      .then(([a, b]) => {
        const run = a instanceof Int32Array ? null : a;
        const labels = (r: PredictionRun | Int32Array): Int32Array => (r instanceof Int32Array ? r : r.labels);
        if (key === this.predictionKey()) this.predictions = { key, input: labels(a), quantized: labels(b), run };
        this.providerStatus = `model: ${provider.name}`;
      })
      .catch((e: unknown) => {
        // A prediction superseded meanwhile (repredict, a new view) is dropped, its failure too: e.g. one
        // that was running while the tfjs backend was switched.
        if (key !== this.predictionKey()) return;
        this.failedKey = key;
        this.providerStatus = `prediction failed: ${e instanceof Error ? e.message : String(e)}`;
      })
      .finally(() => {
        this.predicting = false;
        this.schedule(false);
      });
  }

  private currentFeatures(): FeatureColors | null {
    return this.featureColors?.key === this.predictionKey() ? this.featureColors : null;
  }

  /** Network features of both clouds, then one PCA basis (fitted on the original) colouring both. */
  private requestFeatures(d: ViewData): void {
    const key = this.predictionKey();
    const provider = this.provider;
    if (!provider?.features || this.featuring || this.featureFailedKey === key) return;
    const ctx: PredictionContext = { shapeClass: this.shapeClass, chosen: this.state.model || null };
    this.featuring = true;
    this.featureStatus = `computing point features with ${provider.name}…`;
    (async () => [await provider.features!(d.input, ctx), await provider.features!(d.quantized, ctx)] as const)()
      .then(([a, b]) => {
        const n = a.data.length / a.channels;
        const basis = fitPca(a.data, n, a.channels);
        const explained = basis.totalVariance > 0 ? basis.variances.reduce((x, y) => x + y, 0) / basis.totalVariance : 0;
        if (key === this.predictionKey()) {
          this.featureColors = { key, input: pcaColors(a.data, n, basis), quantized: pcaColors(b.data, b.data.length / b.channels, basis), run: a, explained };
        }
        this.featureStatus = '';
      })
      .catch((e: unknown) => {
        if (key !== this.predictionKey()) return;
        this.featureFailedKey = key;
        this.featureStatus = `features failed: ${e instanceof Error ? e.message : String(e)}`;
      })
      .finally(() => {
        this.featuring = false;
        this.schedule(false);
      });
  }

  private colorsFor(pc: PointCloud, which: 'input' | 'quantized', d: ViewData, yr: [number, number]): Float32Array {
    const n = pc.points.length / 3;
    const grey: [number, number, number] = [0.62, 0.64, 0.68];
    switch (this.state.color) {
      case 'height':
        return colorsFromHeight(pc.points, yr[0], yr[1], this.upAxis());
      case 'normal':
        return colorsFromNormals(pc.normals, n);
      case 'label':
        return pc.labels ? colorsFromLabels(pc.labels) : plainColors(n, grey);
      case 'cluster':
        return colorsFromLabels(this.clusterIds(d));
      case 'prediction': {
        const p = this.currentPredictions()?.[which] ?? null;
        if (!p) this.requestPredictions(d);
        return p ? colorsFromLabels(p) : plainColors(n, grey);
      }
      case 'features': {
        const f = this.currentFeatures()?.[which] ?? null;
        if (!f) this.requestFeatures(d);
        return f ?? plainColors(n, grey);
      }
      case 'plain':
        return plainColors(n, which === 'input' ? [0.2, 0.4, 0.7] : [0.85, 0.4, 0.15]);
    }
  }

  /** Original | quantized, coloured by the chosen mode; the mesh (if any) under the original. */
  private rqViews(d: ViewData, yr: [number, number]): ViewContent[] {
    const s = this.state;
    return [
      {
        pc: d.input,
        tree: d.inputOctree,
        which: 'input',
        colors: this.colorsFor(d.input, 'input', d, yr),
        mesh: true,
        name: 'original',
        title: s.mid ? 'original + MID-Net base transform' : 'original',
      },
      {
        pc: d.quantized,
        tree: d.quantizedOctree,
        which: 'quantized',
        colors: this.colorsFor(d.quantized, 'quantized', d, yr),
        mesh: false,
        name: 'quantized',
        title: d.applied ? `quantized · n = ${s.bins} · ${s.variant} · seed ${s.seed}` : `not quantized this draw (p = ${s.p})`,
      },
    ];
  }

  /** The original cloud three times: ground truth | prediction | error (wrong points red). */
  private compareViews(d: ViewData): ViewContent[] {
    const n = d.input.points.length / 3;
    const grey: [number, number, number] = [0.62, 0.64, 0.68];
    const p = this.currentPredictions();
    if (!p) this.requestPredictions(d);
    const gt = d.input.labels ? this.groundTruthFor(d.input.labels, p?.run ?? null) : null;
    const err = new Float32Array(3 * n);
    let wrong = 0,
      judged = 0;
    for (let i = 0; i < n; i++) {
      const t = gt?.[i] ?? -1;
      const rgb = !p || t < 0 ? [0.85, 0.86, 0.88] : p.input[i] === t ? [0.72, 0.76, 0.82] : [0.86, 0.12, 0.14];
      if (p && t >= 0) {
        judged++;
        if (p.input[i] !== t) wrong++;
      }
      err.set(rgb, 3 * i);
    }
    const model = p?.run?.model ? modelLabel(p.run.model) : (this.provider?.name ?? '');
    const base = { pc: d.input, tree: d.inputOctree, which: 'input' as const, mesh: false };
    return [
      {
        ...base,
        name: 'ground truth',
        colors: gt ? colorsFromLabels(gt) : plainColors(n, grey),
        title: gt ? 'ground truth' : 'ground truth: this shape has no per-point labels',
      },
      {
        ...base,
        name: 'prediction',
        colors: p ? colorsFromLabels(p.input) : plainColors(n, grey),
        title: p
          ? `prediction · ${model}`
          : !this.provider
            ? 'prediction: no checkpoint'
            : this.failedKey === this.predictionKey()
              ? 'prediction: none (the panel says why)'
              : 'prediction: running…',
      },
      {
        ...base,
        name: 'error',
        colors: err,
        title: p && judged ? `errors: ${wrong} of ${judged} points (${((100 * wrong) / judged).toFixed(1)} %)` : 'errors',
      },
    ];
  }

  private display(): void {
    const d = this.data;
    if (!d) return;
    const s = this.state;
    const compare = s.layout === 'compare';
    const yr = axisRange(d.input.points, this.upAxis());
    const views = compare ? this.compareViews(d) : this.rqViews(d, yr);
    this.view.setCount(views.length as 2 | 3);
    $('stage').dataset.views = String(views.length);
    this.shownViews = views;
    const titles = [$('title-left'), $('title-right'), $('title-3')];
    views.forEach((v, i) => {
      const side = this.view.sides[i]!;
      side.setUp(s.up);
      side.cloud.set(v.pc.points, v.colors);
      side.cloud.setSize(v.pc.points.length / 3, s.pointSize);
      side.cloud.visible = s.points;
      side.axes.visible = s.axes;
      side.mesh.visible = v.mesh && s.surface;
      const leaves = v.tree.nnumNempty[s.depth]!;
      side.octree.set(s.boxes, v.tree.cellCoords(s.depth, true), s.depth, leafColors(v.colors, v.tree.pointToLeaf, leaves));
      titles[i]!.textContent = v.title;
      titles[i]!.style.left = `calc(${(100 * i) / views.length}% + 12px)`;
      titles[i]!.hidden = false;
    });
    for (let i = views.length; i < titles.length; i++) titles[i]!.hidden = true;
    this.updateReadouts(d);
    this.updateLegend();
    this.updateBudgetInfo();
    // The pick is recomputed on every change (new bins, depth, predictions arriving), for the same point.
    const sel = this.pickSel;
    this.pick = sel && sel.view < views.length && sel.index < d.input.points.length / 3 ? this.pickInfo(sel.view, sel.index) : null;
    this.showPick();
    this.setStatus(`${this.baseName} · ${d.stats.points} points${this.predicting ? ' · predicting…' : ''}${this.featuring ? ' · computing features…' : ''}`);
    this.view.requestRender();
  }

  /** "showing N of M points", and what a mesh was turned into. */
  private updateBudgetInfo(): void {
    const l = this.loaded;
    const el = $('budget-info');
    if (!l) {
      el.textContent = '';
      return;
    }
    const fmt = (v: number): string => v.toLocaleString('en-US');
    const tri = this.view.left.mesh.triangles;
    el.textContent = l.mesh
      ? `showing ${fmt(l.shown)} of ${fmt(l.total)} points sampled from a mesh of ${fmt(l.mesh.faces.length / 3)} triangles${tri && !this.state.mid ? ' (drawn shaded)' : this.state.mid ? ' (surface hidden under the MID-Net transform)' : ''}`
      : `showing ${fmt(l.shown)} of ${fmt(l.total)} points${l.shown < l.total ? ' (a random subset: raise the budget to see all)' : ''}`;
    el.classList.toggle('warn', l.shown < l.total);
  }

  /** Ground truth as the model's local part ids when a checkpoint model ran, else as it is. */
  private groundTruthFor(gt: Int32Array, run: PredictionRun | null): Int32Array {
    if (!run?.parts) return gt;
    return localGroundTruth(gt, { category: run.model?.category ?? this.shapeClass, parts: run.parts, sidecar: this.labelsFromSidecar });
  }

  private pickAt(clientX: number, clientY: number): void {
    const canvas = this.view.renderer.domElement;
    const r = canvas.getBoundingClientRect();
    const { index: vi, left, width } = this.view.viewAt(clientX - r.left);
    const v = this.shownViews[vi];
    if (!v) return;
    const ndc = new THREE.Vector2(((clientX - r.left - left) / width) * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
    const ray = new THREE.Raycaster();
    ray.setFromCamera(ndc, this.view.camera);
    const side = this.view.sides[vi]!;
    ray.params.Points = { threshold: Math.max(0.01, side.cloud.size * 0.6) };
    const hits = ray.intersectObject(side.cloud.object, false);
    const hit = hits.find((h) => h.index !== undefined);
    if (!hit) return;
    this.pickSel = { view: vi, index: hit.index! };
    this.pick = this.pickInfo(vi, hit.index!);
    this.showPick();
  }

  private pickInfo(vi: number, i: number): PickInfo | null {
    const d = this.data;
    const v = this.shownViews[vi];
    if (!d || !v) return null;
    const depth = this.state.depth;
    const tree = v.tree;
    const leaf = tree.pointToLeaf[i]!;
    const cells = tree.cellCoords(depth, true);
    const at = (pts: Float32Array): [number, number, number] => [pts[3 * i]!, pts[3 * i + 1]!, pts[3 * i + 2]!];
    const p = this.currentPredictions();
    const labels = v.pc.labels ? this.groundTruthFor(v.pc.labels, p?.run ?? null) : null;
    const axisNames = ['x', 'y', 'z'] as const;
    // Index i is the same point in both clouds unless the MID-Net clip removed some.
    const paired = this.samePoints(d);
    return {
      view: vi,
      viewName: v.name,
      index: i,
      xyz: at(v.pc.points),
      original: paired ? at(d.input.points) : v.which === 'input' ? at(v.pc.points) : null,
      depth,
      cell: [cells[3 * leaf]!, cells[3 * leaf + 1]!, cells[3 * leaf + 2]!],
      key: tree.keys[depth]![tree.nemptyIndex(depth)[leaf]!]!,
      label: labels ? labels[i]! : null,
      prediction: p ? p[v.which][i]! : null,
      quantized:
        d.axes.length && paired
          ? d.axes.map((q, a) => {
              const bin = binOf(q.cuts, d.input.points[3 * i + a]!);
              return { axis: axisNames[a]!, bin, bins: q.values.length, lo: q.left[bin]!, hi: q.right[bin]!, value: d.quantized.points[3 * i + a]! };
            })
          : null,
    };
  }

  /** Whether point i of the original cloud is point i of the quantized one (not so after the MID-Net clip). */
  private samePoints(d: ViewData): boolean {
    return d.input.points.length === d.quantized.points.length;
  }

  private showPick(): void {
    const el = $('pick');
    const p = this.pick;
    const paired = this.data ? this.samePoints(this.data) : false;
    this.view.sides.forEach((side, k) => {
      const v = this.shownViews[k];
      const i = p && (paired || k === p.view || v?.which === this.shownViews[p.view]?.which) ? p.index : -1;
      side.mark(
        v && i >= 0 && i < v.pc.points.length / 3 ? [v.pc.points[3 * i]!, v.pc.points[3 * i + 1]!, v.pc.points[3 * i + 2]!] : null,
        Math.max(0.01, side.cloud.size * 0.75),
      );
    });
    this.view.requestRender();
    if (!p) {
      el.textContent = 'click a point to see its coordinates, octree cell, label, prediction and RQ bin';
      el.classList.add('muted');
      return;
    }
    el.classList.remove('muted');
    const f = (x: number): string => x.toFixed(4);
    const rows: Array<[string, string]> = [
      ['point', `#${p.index} in ${p.viewName}`],
      ['xyz', p.xyz.map(f).join(', ')],
      ...(p.view > 0 && this.state.layout === 'rq' && p.original ? [['original', p.original.map(f).join(', ')] as [string, string]] : []),
      ['octree', `depth ${p.depth} · cell (${p.cell.join(', ')}) · key ${p.key}`],
      ['label', p.label === null ? '–' : String(p.label)],
      ['prediction', p.prediction === null ? '–' : String(p.prediction)],
      ...(p.quantized
        ? p.quantized.map((q): [string, string] => [`RQ ${q.axis}`, `bin ${q.bin} of ${q.bins} [${f(q.lo)}, ${f(q.hi)}) → ${f(q.value)}`])
        : [['RQ', this.state.mid && this.data?.applied ? 'bins not kept by the MID-Net training sample' : 'not quantized this draw'] as [string, string]]),
    ];
    el.replaceChildren(
      ...rows.map(([k, v]) => {
        const row = document.createElement('div');
        const b = document.createElement('b');
        b.textContent = `${k} `;
        row.append(b, v);
        return row;
      }),
    );
  }

  private screenPosition(vi: number, i: number): { x: number; y: number } | null {
    const v = this.shownViews[vi];
    if (!v || i < 0 || i >= v.pc.points.length / 3) return null;
    const side = this.view.sides[vi]!;
    side.content.updateMatrixWorld();
    const w = new THREE.Vector3(v.pc.points[3 * i]!, v.pc.points[3 * i + 1]!, v.pc.points[3 * i + 2]!).applyMatrix4(side.content.matrixWorld);
    const ndc = w.project(this.view.camera);
    if (ndc.z > 1) return null;
    const r = this.view.renderer.domElement.getBoundingClientRect();
    const width = r.width / this.view.count;
    return { x: r.left + vi * width + ((ndc.x + 1) / 2) * width, y: r.top + ((1 - ndc.y) / 2) * r.height };
  }

  private updateReadouts(d: ViewData): void {
    const st = d.stats;
    const set = (id: string, v: string | number): void => {
      $(id).textContent = String(v);
    };
    set('r-points-in', st.points);
    set('r-points-q', st.points);
    (['x', 'y', 'z'] as const).forEach((a, i) => {
      set(`r-d${a}-in`, st.distinctInput[i]!);
      set(`r-d${a}-q`, st.distinctQuantized[i]!);
    });
    set('r-depth', st.depth);
    set('r-leaves-in', st.leavesInput);
    set('r-leaves-q', st.leavesQuantized);
    set('r-ratio', `quantized / original leaves at depth ${st.depth}: ${(st.leavesQuantized / st.leavesInput).toFixed(3)}`);
    const p = this.currentPredictions();
    const iou = (pred: Int32Array | undefined, gt: Int32Array | null): [string, string] => {
      const s = pred && gt ? this.shapeIous(pred, gt, p!.run) : null;
      return s ? [s.ref.toFixed(3), s.pointNet.toFixed(3)] : ['–', '–'];
    };
    const [inRef, inPn] = iou(p?.input, d.input.labels);
    const [qRef, qPn] = iou(p?.quantized, d.quantized.labels);
    set('r-iou-in', inRef);
    set('r-iou-q', qRef);
    set('r-iou-pn-in', inPn);
    set('r-iou-pn-q', qPn);
    const r = p?.run;
    $('prediction-info').textContent = r
      ? `${r.model ? modelLabel(r.model) : 'model'} · tfjs ${r.backend} · ${r.ms.toFixed(0)} ms for ${p.input.length} points`
      : '';
  }

  /**
   * Per-shape IoU in both conventions (src/downstream/metrics.ts, as in the tables). With a checkpoint model
   * the ground truth is mapped to its local part ids and the category has `parts` parts; otherwise the ids are
   * compared as they are, over the ids seen.
   */
  private shapeIous(pred: Int32Array, gt: Int32Array, run: PredictionRun | null): { ref: number; pointNet: number } | null {
    let truth = gt;
    let parts: number;
    if (run?.parts) {
      parts = run.parts;
      truth = localGroundTruth(gt, { category: run.model?.category ?? this.shapeClass, parts, sidecar: this.labelsFromSidecar });
    } else {
      parts = 1;
      for (const a of [gt, pred]) for (const v of a) parts = Math.max(parts, v + 1);
    }
    if (!truth.some((v) => v >= 0)) return null;
    return { ref: shapeIoU(pred, truth, parts, 'ocnn'), pointNet: shapeIoU(pred, truth, parts, 'pointnet') };
  }

  private predictionSummary(): PredictionSummary | null {
    const p = this.currentPredictions();
    const d = this.data;
    if (!p || !d) return null;
    const s = d.input.labels ? this.shapeIous(p.input, d.input.labels, p.run) : null;
    return {
      points: p.input.length,
      labels: Array.from(p.input),
      distinct: [...new Set(p.input)].sort((a, b) => a - b),
      model: p.run?.model?.dir ?? null,
      backend: p.run?.backend ?? null,
      ms: p.run?.ms ?? null,
      iou: s?.ref ?? null,
      iouPointNet: s?.pointNet ?? null,
    };
  }

  /** The checkpoint's models in the model list; hidden when the provider has none to choose from. */
  private fillModelList(): void {
    const sel = $<HTMLSelectElement>('model');
    const models = this.provider?.models ?? [];
    const features = this.state.color === 'features';
    sel.replaceChildren(new Option("by the shape's class", ''));
    for (const m of models) {
      // For feature colours any model with an HRNet backbone serves, a pretraining checkpoint included.
      const why = features ? (m.features ? null : 'no HRNet backbone') : m.error;
      const o = new Option(modelLabel(m) + (why ? ` (${why})` : m.kind && m.kind !== 'segment' ? ` (${m.kind})` : ''), m.dir);
      o.disabled = why !== null;
      o.title = m.dir || '(checkpoint folder)';
      sel.append(o);
    }
    $('model-field').hidden = models.length === 0;
    sel.value = models.some((m) => m.dir === this.state.model) ? this.state.model : '';
  }

  private updateLegend(): void {
    const legend = $('legend');
    const d = this.data;
    const s = this.state;
    $('k-field').hidden = s.color !== 'cluster';
    const status = s.color === 'prediction' || s.layout === 'compare' || this.info?.checkpoint ? this.providerStatus : '';
    $('prediction-status').textContent = s.color === 'features' && this.featureStatus ? this.featureStatus : status;
    legend.replaceChildren();
    if (!d) return;
    const swatch = (color: string, text: string): HTMLElement => {
      const e = document.createElement('span');
      const sw = document.createElement('span');
      sw.className = 'sw';
      sw.style.background = color;
      e.append(sw, text);
      return e;
    };
    const categorical = (ids: Int32Array | null, name: string, names: readonly string[] | null = null): void => {
      if (!ids) {
        legend.textContent = s.color === 'label' ? 'this shape has no per-point labels' : '';
        return;
      }
      const counts = new Map<number, number>();
      for (const v of ids) counts.set(v, (counts.get(v) ?? 0) + 1);
      const entries = [...counts.entries()].sort((a, b) => a[0] - b[0]);
      for (const [id, c] of entries.slice(0, 32))
        legend.append(swatch(categoryHex(id), `${id < 0 ? 'none' : `${name} ${id}${names?.[id] ? ` ${names[id]}` : ''}`} (${c})`));
      if (entries.length > 32) legend.append(`… ${entries.length - 32} more`);
    };
    if (s.color === 'label') categorical(d.input.labels, 'part');
    else if (s.color === 'cluster') categorical(this.clusters?.assign ?? null, 'cluster');
    else if (s.color === 'prediction') {
      const p = this.currentPredictions();
      categorical(p?.input ?? null, 'class', p?.run?.model?.partNames ?? null);
    } else if (s.color === 'features') {
      const f = this.currentFeatures();
      if (!this.provider) legend.textContent = 'no checkpoint: start with rq3d view --checkpoint RUN/checkpoint (pretraining or fine-tuned)';
      else if (!f) legend.textContent = this.featuring ? 'computing point features…' : '';
      else {
        const m = f.run.model ?? chooseFeatureModel(this.provider.models ?? [], this.shapeClass, this.state.model || null);
        legend.textContent = `RGB = the 3 principal components of ${f.run.channels} point features (${(100 * f.explained).toFixed(0)} % of their variance) of ${m ? modelLabel(m) : 'the model'} · tfjs ${f.run.backend} · ${f.run.ms.toFixed(0)} ms; one basis for both views`;
      }
    } else if (s.color === 'height') {
      const stops = [0, 0.25, 0.5, 0.75, 1].map((t) =>
        ramp(t)
          .map((c) => Math.round(c * 255))
          .join(','),
      );
      const bar = document.createElement('div');
      bar.style.cssText = `width:100%;height:10px;border-radius:3px;background:linear-gradient(90deg,${stops.map((c) => `rgb(${c})`).join(',')})`;
      const [lo, hi] = axisRange(d.input.points, this.upAxis());
      const ends = document.createElement('div');
      ends.className = 'ramp-ends';
      const a = document.createElement('span'),
        b = document.createElement('span');
      a.textContent = `${s.up} = ${lo.toFixed(2)}`;
      b.textContent = `${s.up} = ${hi.toFixed(2)}`;
      ends.append(a, b);
      legend.append(bar, ends);
    } else if (s.color === 'normal') {
      legend.textContent = d.input.normals ? 'RGB = (normal + 1) / 2' : 'no normals';
    }
  }

  private upAxis(): number {
    return this.state.up === 'z' ? 2 : 1;
  }

  private setStatus(text: string, isError = false): void {
    const el = $('status');
    el.textContent = text;
    el.classList.toggle('error', isError);
  }

  private writeUrl(): void {
    history.replaceState(null, '', encodeState(this.state));
  }

  /** State -> controls (on start and after a pasted link). */
  private syncControls(): void {
    const s = this.state;
    const val = (id: string, v: string | number): void => {
      $<HTMLInputElement>(id).value = String(v);
    };
    val('bins', s.bins);
    val('seed', s.seed);
    val('variant', s.variant);
    val('p', s.p);
    val('normalize', s.normalize);
    val('depth', s.depth);
    val('ps', s.pointSize);
    val('color', s.color);
    val('k', s.k);
    val('up', s.up);
    val('budget', BUDGET_CHOICES.includes(s.budget) ? s.budget : 'custom');
    val('layout', s.layout);
    $<HTMLInputElement>('axes').checked = s.axes;
    $<HTMLInputElement>('surface').checked = s.surface;
    $<HTMLInputElement>('mid').checked = s.mid;
    $<HTMLInputElement>('points').checked = s.points;
    $<HTMLSelectElement>('normalize').disabled = s.mid;
    for (const b of Array.from($('boxes').querySelectorAll('button'))) b.classList.toggle('active', b.dataset.value === s.boxes);
    $('bins-value').textContent = String(s.bins);
    $('p-value').textContent = s.p.toFixed(2);
    $('depth-value').textContent = String(s.depth);
    $('ps-value').textContent = String(s.pointSize);
    $('k-value').textContent = String(s.k);
    $('k-field').hidden = s.color !== 'cluster';
    const models = this.provider?.models ?? [];
    $<HTMLSelectElement>('model').value = models.some((m) => m.dir === s.model) ? s.model : '';
  }

  private bindControls(): void {
    const s = (): ViewState => this.state;
    const onInput = (id: string, apply: (el: HTMLInputElement) => void, compute: boolean, event = 'input'): void => {
      $<HTMLInputElement>(id).addEventListener(event, (ev) => {
        apply(ev.target as HTMLInputElement);
        this.syncControls();
        this.schedule(compute);
      });
    };
    const clampInt = (v: string, lo: number, hi: number, fallback: number): number => {
      const n = Math.round(Number(v));
      return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : fallback;
    };
    onInput('bins', (e) => (s().bins = clampInt(e.value, 1, 64, DEFAULT_STATE.bins)), true);
    onInput('seed', (e) => (s().seed = clampInt(e.value, 0, 2 ** 31 - 1, 0)), true, 'change');
    onInput(
      'variant',
      (e) => {
        if (isVariant(e.value)) s().variant = e.value;
      },
      true,
      'change',
    );
    onInput('p', (e) => (s().p = Number(e.value)), true);
    onInput('mid', (e) => (s().mid = e.checked), true, 'change');
    onInput('normalize', (e) => (s().normalize = e.value === 'bbox' ? 'bbox' : 'sphere'), true, 'change');
    onInput('depth', (e) => (s().depth = clampInt(e.value, 1, 8, DEFAULT_STATE.depth)), true);
    onInput('points', (e) => (s().points = e.checked), false, 'change');
    onInput('ps', (e) => (s().pointSize = Number(e.value)), false);
    onInput('color', (e) => (s().color = e.value as ColorMode), false, 'change');
    onInput('k', (e) => (s().k = clampInt(e.value, 2, 32, DEFAULT_STATE.k)), false);
    onInput('up', (e) => (s().up = e.value === 'z' ? 'z' : 'y'), false, 'change');
    onInput('model', (e) => (s().model = e.value), false, 'change');
    $('color').addEventListener('change', () => this.fillModelList());
    onInput('layout', (e) => (s().layout = (e.value === 'compare' ? 'compare' : 'rq') satisfies LayoutMode), false, 'change');
    onInput('axes', (e) => (s().axes = e.checked), false, 'change');
    onInput('surface', (e) => (s().surface = e.checked), false, 'change');
    $<HTMLSelectElement>('budget').addEventListener('change', (ev) => {
      const v = Number((ev.target as HTMLSelectElement).value);
      if (!Number.isInteger(v) || v < 1000 || v > MAX_POINT_BUDGET) return;
      this.state.budget = v;
      this.syncControls();
      if (this.source) {
        try {
          this.setSource(this.source);
        } catch (e) {
          this.fail(e);
        }
      }
    });
    for (const b of Array.from($('standard-views').querySelectorAll('button'))) {
      b.addEventListener('click', () => {
        const v = b.dataset.view as StandardView;
        if (!(v in STANDARD_VIEWS)) return;
        this.view.standardView(v);
        const p = this.view.camera.position;
        this.state.cam = [p.x, p.y, p.z];
        this.writeUrl();
      });
    }
    // A click (press and release without dragging) on a point picks it; a drag orbits.
    const canvas = this.view.renderer.domElement;
    let down: { x: number; y: number } | null = null;
    canvas.addEventListener('pointerdown', (e) => {
      down = { x: e.clientX, y: e.clientY };
    });
    canvas.addEventListener('pointerup', (e) => {
      if (down && Math.hypot(e.clientX - down.x, e.clientY - down.y) < 4) this.pickAt(e.clientX, e.clientY);
      down = null;
    });
    $('reshuffle').addEventListener('click', () => {
      // A fresh seed for the user to look at; it lands in the URL, so the view stays reproducible.
      const r = new Uint32Array(1);
      crypto.getRandomValues(r);
      this.state.seed = r[0]! % 100000;
      this.syncControls();
      this.schedule(true);
    });
    for (const b of Array.from($('boxes').querySelectorAll('button'))) {
      b.addEventListener('click', () => {
        this.state.boxes = (b.dataset.value ?? 'off') as BoxMode;
        this.syncControls();
        this.schedule(false);
      });
    }
    $('screenshot').addEventListener('click', () => this.downloadScreenshot());
    $('copy-link').addEventListener('click', () => {
      const url = location.href;
      navigator.clipboard?.writeText(url).then(
        () => this.setStatus('link copied'),
        () => window.prompt('Link to this view:', url),
      );
    });
    $('reset-camera').addEventListener('click', () => {
      this.view.resetCamera();
      this.state.cam = null;
      this.writeUrl();
    });
    $<HTMLInputElement>('file-input').addEventListener('change', (ev) => {
      const f = (ev.target as HTMLInputElement).files?.[0];
      if (f) void f.arrayBuffer().then((b) => this.openBytes(new Uint8Array(b), f.name));
    });
    window.addEventListener('keydown', (ev) => {
      if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
      if (ev.key === ']') this.browser.step(1);
      else if (ev.key === '[') this.browser.step(-1);
    });
  }

  private bindDrop(): void {
    const stage = $('stage');
    let depth = 0;
    stage.addEventListener('dragenter', (e) => {
      e.preventDefault();
      depth++;
      stage.classList.add('dragging');
    });
    stage.addEventListener('dragover', (e) => e.preventDefault());
    stage.addEventListener('dragleave', () => {
      if (--depth <= 0) stage.classList.remove('dragging');
    });
    stage.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      stage.classList.remove('dragging');
      const f = e.dataTransfer?.files[0];
      if (f) void f.arrayBuffer().then((b) => this.openBytes(new Uint8Array(b), f.name));
    });
  }

  /** The canvas with the two view titles drawn in, as exported. */
  private screenshotCanvas(): HTMLCanvasElement {
    this.view.renderNow();
    const src = this.view.renderer.domElement;
    const out = document.createElement('canvas');
    out.width = src.width;
    out.height = src.height;
    const g = out.getContext('2d')!;
    g.drawImage(src, 0, 0);
    const scale = src.width / Math.max(1, src.clientWidth);
    g.font = `600 ${Math.round(13 * scale)}px system-ui, sans-serif`;
    g.fillStyle = '#1f2430';
    const n = this.view.count;
    const titles = [$('title-left'), $('title-right'), $('title-3')];
    g.strokeStyle = '#d5d9e0';
    for (let i = 0; i < n; i++) {
      const x = (i * src.width) / n;
      g.fillText(titles[i]!.textContent ?? '', x + 14 * scale, 24 * scale);
      if (i > 0) {
        g.beginPath();
        g.moveTo(x, 0);
        g.lineTo(x, src.height);
        g.stroke();
      }
    }
    return out;
  }

  private downloadScreenshot(): void {
    this.screenshotCanvas().toBlob((blob) => {
      if (!blob) return;
      const a = document.createElement('a');
      const stem =
        (this.state.file ?? this.baseName)
          .split('/')
          .pop()
          ?.replace(/\.[^.]*$/, '') ?? 'shape';
      a.download = `rq3d-${stem}-n${this.state.bins}-s${this.state.seed}-${this.state.variant}.png`;
      a.href = URL.createObjectURL(blob);
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 5000);
    }, 'image/png');
  }
}
