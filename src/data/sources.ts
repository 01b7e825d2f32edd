import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset, DatasetItem } from './datasets/index.ts';
import { preprocessDataset, type PreprocessSpec } from './datasets/cache.ts';
import { openDataFolder } from './datasets/detect.ts';
import { normalizeCloud } from './normalize.ts';
import type { PointCloud } from './pointcloud.ts';
import { synthDataset } from './synth/index.ts';
import { signedUpAxis, toYUp, type UpAxis } from './up-axis.ts';
import { UserError } from '../util/errors.ts';
import { createProgress } from '../util/progress.ts';

/**
 * The shapes a run trains on, loaded once into memory in canonical form: normalized into the octree box
 * (bounding sphere to the unit ball, MID-Net's choice, or bounding box) with unit normals (estimated where the
 * source has none). Downstream code picks splits and ratios from `items`.
 *
 * Sources: `synth` or `synth:<perClass>` (the bundled generator), `modelnet10` (the real ModelNet10 next to
 * the project, ../shared/data/modelnet10, or $RQ3D_MODELNET10), or a folder in any supported layout
 * (ModelNet class tree, modelnet40_normal_resampled, modelnet40_ply_hdf5_2048, ShapeNet Part, or any folder of shape
 * files such as ShapeNetCore's <synset>/<model>/model.obj for pretraining).
 */
export interface ShapeCollection {
  name: string;
  classes: string[];
  items: Array<{ id: string; label: number; split: 'train' | 'test' }>;
  clouds: PointCloud[];
  /** Per-point part labels are present (synth, ShapeNet Part). */
  hasPartLabels: boolean;
  /** Part names per class, when known. */
  parts?: Record<string, string[]>;
  /** A stable description of the source and preprocessing (cache keys, run configs). */
  key: string;
  /** The up axis the source was read with (declared by its reader, or the override); `clouds` are y-up. */
  upAxis: UpAxis;
}

export interface LoadShapesOptions {
  split?: 'train' | 'test' | 'all';
  normalize?: 'sphere' | 'bbox';
  /** Scale of the normalization (radius / half extent); MID-Net uses 1, ShapeNet Part 0.8 in ocnn. */
  scale?: number;
  /** Points per shape (meshes sampled; synth generated with this many). */
  points?: number;
  /** Default per-class count of `synth`. */
  synthPerClass?: number;
  seed?: number;
  quiet?: boolean;
  /** The source's up axis, overriding the one its reader declares (config `data.upAxis`). */
  upAxis?: UpAxis;
  /**
   * Shapes a dataset lists (split files, JSON lists) whose files are absent: by default an error listing
   * them; with skipMissing the run goes on without them (a one-line note says how many).
   */
  skipMissing?: boolean;
}

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function defaultModelNet10(): string {
  return process.env.RQ3D_MODELNET10 ?? path.resolve(PACKAGE_ROOT, '../shared/data/modelnet10');
}

export function cacheDir(): string {
  return process.env.RQ3D_CACHE ?? path.join(os.homedir(), '.cache', 'rq3d');
}

export async function loadShapes(source: string, opts: LoadShapesOptions = {}): Promise<ShapeCollection> {
  const split = opts.split ?? 'all';
  const normalize = opts.normalize ?? 'sphere';
  const scale = opts.scale ?? 1;
  const keep = <T extends { split: string }>(items: T[]): T[] => (split === 'all' ? items : items.filter((i) => i.split === split));
  const synth = /^synth(?::(\d+))?$/.exec(source);
  if (synth) {
    const perClass = synth[1] ? Number(synth[1]) : (opts.synthPerClass ?? 40);
    const ds = synthDataset({ perClass, seed: opts.seed ?? 0, points: opts.points ?? 2048 });
    const items = keep(ds.items);
    // the generator builds y-up shapes (furniture on y = 0, front towards +z)
    const upAxis = opts.upAxis ?? 'y';
    const clouds = items.map((it) => normalizeCloud(toYUp(ds.loadSync(it), upAxis), normalize, scale));
    return {
      name: 'synth',
      classes: ds.classes,
      items: items.map((i) => ({ id: i.id, label: i.label, split: i.split })),
      clouds,
      hasPartLabels: true,
      parts: ds.parts,
      key: `synth:${perClass}:${opts.seed ?? 0}:${opts.points ?? 2048}:${normalize}:${scale}:${signedUpAxis(upAxis)}`,
      upAxis,
    };
  }
  const ds = await openDataSource(source);
  const items = withoutMissing(source === 'modelnet10' ? defaultModelNet10() : path.resolve(source), keep(ds.items), opts);
  const progress = createProgress(`preprocessing ${ds.name}`, items.length, { quiet: opts.quiet, unit: 'shapes' });
  const pre = await preprocessDataset(ds, shapeCacheSpec(opts.points, opts.seed ?? 0, opts.upAxis), {
    cacheDir: cacheDir(),
    items,
    onProgress: (d) => progress.update(d),
  });
  progress.stop();
  const clouds: PointCloud[] = [];
  for (const it of items) clouds.push(normalizeCloud(await pre.load(it), normalize, scale));
  return {
    name: ds.name,
    classes: ds.classes,
    items: items.map((i: DatasetItem) => ({ id: i.id, label: i.label, split: i.split })),
    clouds,
    hasPartLabels: clouds.length > 0 && clouds.every((c) => c.labels !== null),
    ...(ds.parts ? { parts: ds.parts } : {}),
    key: collectionKey(ds.name, pre.key, normalize, scale),
    upAxis: pre.upAxis,
  };
}

/** The dataset of a `modelnet10` or folder source (not synth). */
export async function openDataSource(source: string): Promise<Dataset> {
  const dir = source === 'modelnet10' ? defaultModelNet10() : path.resolve(source);
  if (source === 'modelnet10' && !fs.existsSync(dir)) {
    throw new UserError(`ModelNet10 not found at ${dir} (set RQ3D_MODELNET10 or pass --data DIR)`);
  }
  return openDataFolder(dir);
}

/**
 * How loaded shapes are cached: normals estimated where the files have none (ModelNet10 PCD); normalization
 * is applied after loading, so one cache serves both normalizations.
 */
export function shapeCacheSpec(points: number | undefined, seed: number, upAxis?: UpAxis): PreprocessSpec {
  return { normalize: 'none', normals: 'auto', sample: points, seed, ...(upAxis ? { upAxis } : {}) };
}

/** The `key` of a loaded collection (it names the cluster-id cache of pretraining). */
export function collectionKey(dataset: string, cacheKey: string, normalize: string, scale: number): string {
  return `${dataset}:${cacheKey}:${normalize}:${scale}`;
}

/** The one policy for partial datasets: listed files that are absent are an error, or skipped on request. */
function withoutMissing<T extends DatasetItem>(dir: string, items: T[], opts: LoadShapesOptions): T[] {
  const missing = items.filter((it) => it.file !== undefined && !fs.existsSync(it.file));
  if (missing.length === 0) return items;
  const names = missing
    .slice(0, 3)
    .map((it) => path.relative(dir, it.file!))
    .join(', ');
  const what = `${missing.length} of ${items.length} shapes listed by ${dir} have no file (${names}${missing.length > 3 ? ', ...' : ''})`;
  if (!opts.skipMissing) throw new UserError(`${what}; restore them, or pass --skip-missing to run without them`);
  if (!opts.quiet) process.stderr.write(`rq3d: ${what}; skipped (--skip-missing)\n`);
  return items.filter((it) => !missing.includes(it));
}
