import type { PointCloud } from '../../src/data/pointcloud.ts';
import { fetchCatalog, fetchCheckpointFile, fetchInfo, fetchShapeBytes, fetchText, type CatalogItem, type ServerInfo } from './api.ts';
import {
  axisRange, categoryHex, colorsFromHeight, colorsFromLabels, colorsFromNormals, leafColors, plainColors, ramp,
} from './colors.ts';
import { DatasetBrowser } from './dataset-browser.ts';
import { kmeans } from '../../src/ssl/kmeans.ts';
import { computeView, loadCloud, parseLabelLines, type ViewData, type ViewStats } from './pipeline.ts';
import { shapeIoU } from '../../src/downstream/metrics.ts';
import { classFromFileName, localGroundTruth, modelLabel } from './predict/models.ts';
import { loadDefaultProvider, type PredictionContext, type PredictionProvider, type PredictionRun } from './predict/provider.ts';
import { SplitView } from './split-view.ts';
import { decodeState, DEFAULT_STATE, encodeState, isVariant, type BoxMode, type ColorMode, type ViewState } from './state.ts';

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
  private providerStatus = '';
  private predictions: Predictions | null = null;
  private predicting = false;
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
      $('browser'), $<HTMLSelectElement>('shape-list'), $<HTMLSelectElement>('filter-category'),
      $<HTMLSelectElement>('filter-split'), $('shape-counter'), $<HTMLButtonElement>('prev'), $<HTMLButtonElement>('next'),
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
      busy: () => this.loading || this.scheduled !== null || this.predicting,
      setPredictionProvider: (p) => {
        this.provider?.dispose();
        this.provider = p;
        this.providerStatus = p ? `model: ${p.name}` : '';
        this.predictions = null;
        this.failedKey = null;
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
        this.schedule(false);
      },
      predicting: () => this.predicting,
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
    try {
      this.provider = await loadDefaultProvider(ck, fetchCheckpointFile);
      this.providerStatus = `model: ${this.provider.name}`;
      this.fillModelList();
      this.schedule(false);
    } catch (e) {
      this.providerStatus = `predictions unavailable: ${e instanceof Error ? e.message : String(e)}`;
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
      const [bytes, labelText] = await Promise.all([
        fetchShapeBytes(item.path),
        item.labels ? fetchText(item.labels) : Promise.resolve(null),
      ]);
      if (token !== this.loadToken) return;
      const name = item.path.split('/').pop() ?? item.path;
      this.shapeClass = item.category || classFromFileName(item.path);
      this.labelsFromSidecar = labelText !== null;
      this.setCloud(loadCloud(bytes, name, labelText !== null ? parseLabelLines(labelText) : null), item.path);
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
      this.setCloud(loadCloud(bytes, name), `dropped: ${name}`);
      this.state.file = null;
      this.browser.mark(null);
    } catch (e) {
      this.fail(e);
    }
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
    this.data = computeView(this.base, { bins: s.bins, seed: s.seed, variant: s.variant, p: s.p, mid: s.mid, normalize: s.normalize, depth: s.depth, up: s.up });
    this.dataVersion++;
    this.predictions = null;
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
        this.failedKey = key;
        this.providerStatus = `prediction failed: ${e instanceof Error ? e.message : String(e)}`;
      })
      .finally(() => {
        this.predicting = false;
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
      case 'plain':
        return plainColors(n, which === 'input' ? [0.2, 0.4, 0.7] : [0.85, 0.4, 0.15]);
    }
  }

  private display(): void {
    const d = this.data;
    if (!d) return;
    const s = this.state;
    const yr = axisRange(d.input.points, this.upAxis());
    this.view.left.setUp(s.up);
    this.view.right.setUp(s.up);
    for (const [side, pc, tree, which] of [
      [this.view.left, d.input, d.inputOctree, 'input'],
      [this.view.right, d.quantized, d.quantizedOctree, 'quantized'],
    ] as const) {
      const colors = this.colorsFor(pc, which, d, yr);
      side.cloud.set(pc.points, colors);
      side.cloud.setSize(pc.points.length / 3, s.pointSize);
      side.cloud.visible = s.points;
      const leaves = tree.nnumNempty[s.depth]!;
      side.octree.set(s.boxes, tree.cellCoords(s.depth, true), s.depth, leafColors(colors, tree.pointToLeaf, leaves));
    }
    $('title-left').textContent = s.mid ? 'original + MID-Net base transform' : 'original';
    $('title-right').textContent = d.applied
      ? `quantized · n = ${s.bins} · ${s.variant} · seed ${s.seed}`
      : `not quantized this draw (p = ${s.p})`;
    this.updateReadouts(d);
    this.updateLegend();
    this.setStatus(`${this.baseName} · ${d.stats.points} points${this.predicting ? ' · predicting…' : ''}`);
    this.view.requestRender();
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
    sel.replaceChildren(new Option("by the shape's class", ''));
    for (const m of models) {
      const o = new Option(modelLabel(m) + (m.error ? ` (${m.error})` : ''), m.dir);
      o.disabled = m.error !== null;
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
    $('prediction-status').textContent = s.color === 'prediction' || this.info?.checkpoint ? this.providerStatus : '';
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
      for (const [id, c] of entries.slice(0, 32)) legend.append(swatch(categoryHex(id), `${id < 0 ? 'none' : `${name} ${id}${names?.[id] ? ` ${names[id]}` : ''}`} (${c})`));
      if (entries.length > 32) legend.append(`… ${entries.length - 32} more`);
    };
    if (s.color === 'label') categorical(d.input.labels, 'part');
    else if (s.color === 'cluster') categorical(this.clusters?.assign ?? null, 'cluster');
    else if (s.color === 'prediction') {
      const p = this.currentPredictions();
      categorical(p?.input ?? null, 'class', p?.run?.model?.partNames ?? null);
    }
    else if (s.color === 'height') {
      const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => ramp(t).map((c) => Math.round(c * 255)).join(','));
      const bar = document.createElement('div');
      bar.style.cssText = `width:100%;height:10px;border-radius:3px;background:linear-gradient(90deg,${stops.map((c) => `rgb(${c})`).join(',')})`;
      const [lo, hi] = axisRange(d.input.points, this.upAxis());
      const ends = document.createElement('div');
      ends.className = 'ramp-ends';
      const a = document.createElement('span'), b = document.createElement('span');
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
    onInput('variant', (e) => {
      if (isVariant(e.value)) s().variant = e.value;
    }, true, 'change');
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
    g.fillText($('title-left').textContent ?? '', 14 * scale, 24 * scale);
    g.fillText($('title-right').textContent ?? '', src.width / 2 + 14 * scale, 24 * scale);
    g.strokeStyle = '#d5d9e0';
    g.beginPath();
    g.moveTo(src.width / 2, 0);
    g.lineTo(src.width / 2, src.height);
    g.stroke();
    return out;
  }

  private downloadScreenshot(): void {
    this.screenshotCanvas().toBlob((blob) => {
      if (!blob) return;
      const a = document.createElement('a');
      const stem = (this.state.file ?? this.baseName).split('/').pop()?.replace(/\.[^.]*$/, '') ?? 'shape';
      a.download = `rq3d-${stem}-n${this.state.bins}-s${this.state.seed}-${this.state.variant}.png`;
      a.href = URL.createObjectURL(blob);
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 5000);
    }, 'image/png');
  }
}
