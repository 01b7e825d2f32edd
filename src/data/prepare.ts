import * as fs from 'node:fs';
import * as path from 'node:path';
import { clustersFile, clusterSeed, shapeClusters } from '../ssl/clusters.ts';
import { kmeans } from '../ssl/kmeans.ts';
import type { PretrainConfig } from '../train/config.ts';
import { cacheDir, collectionKey, openDataSource, shapeCacheSpec } from './sources.ts';
import { createProgress } from '../util/progress.ts';
import { UserError } from '../util/errors.ts';
import { cacheKey, itemFileName, openCacheFolder, preprocessDataset, preprocessItem, type PreprocessSpec } from './datasets/cache.ts';
import type { Dataset, DatasetItem, DatasetSource } from './datasets/types.ts';
import { encodePoints, parsePoints } from './formats/points.ts';
import { normalizeCloud, type NormalizeMode } from './normalize.ts';

/**
 * `rq3d prepare`: builds, ahead of pretraining and few-shot grids, the caches they would otherwise build on
 * first use: every shape of a data folder sampled, given normals and stored as `.points` (the preprocessing
 * cache), and the k-means cluster ids of the training split (MID-Net's point-level targets). The file names
 * are the ones `rq3d pretrain --data DIR --config C` looks up, so that run starts training at once. Locally
 * the work is spread over worker threads; with `--queue` it is cut into shards that run as queue jobs on any
 * number of machines (src/queue/prepare.ts). Both produce the same bytes: every shape has its own seed.
 */
export interface PreparePlan {
  ds: Dataset;
  source: DatasetSource;
  spec: PreprocessSpec;
  /** Every item (both splits) goes into the preprocessing cache. */
  items: DatasetItem[];
  /** The training split in collection order: its cluster ids are one file. */
  train: DatasetItem[];
  clusters: ClusterParams;
  clustersFile: string;
  cacheDir: string;
  dir: string;
}

export interface ClusterParams {
  k: number;
  seed: number;
  normalize: NormalizeMode;
  scale: number;
}

export async function planPrepare(source: string, cfg: PretrainConfig): Promise<PreparePlan> {
  if (/^synth(:\d+)?$/.test(source))
    throw new UserError(`--data ${source}: the synthetic shapes are generated in memory and need no preparation; give a data folder`);
  const ds = await openDataSource(source);
  if (!ds.source) throw new UserError(`--data ${source}: this dataset cannot be prepared in parts`);
  const spec = shapeCacheSpec(cfg.data.points, cfg.seed, cfg.data.upAxis);
  const train = ds.items.filter((it) => it.split === 'train');
  const clusters: ClusterParams = { k: cfg.clusters, seed: cfg.seed, normalize: cfg.data.normalize, scale: 1 };
  const root = cacheDir();
  const key = collectionKey(ds.name, cacheKey(ds, spec), clusters.normalize, clusters.scale);
  return {
    ds,
    source: ds.source,
    spec,
    items: ds.items,
    train,
    clusters,
    clustersFile: clustersFile(root, key, clusters.k, clusters.seed, train.length),
    cacheDir: root,
    dir: path.join(root, `${ds.name}-${cacheKey(ds, spec)}`),
  };
}

/** What is left to do: items without a cache file, and whether the cluster file is missing. */
export function missingWork(plan: PreparePlan): { items: Set<string>; clusters: boolean } {
  const present = fs.existsSync(plan.dir) ? new Set(fs.readdirSync(plan.dir)) : new Set<string>();
  return { items: new Set(plan.items.filter((it) => !present.has(itemFileName(it))).map((it) => it.id)), clusters: !fs.existsSync(plan.clustersFile) };
}

/**
 * The cluster ids of one canonical shape from its cache bytes: parsed back and normalized exactly as
 * pretraining loads it, then k-means with the shape's own seed.
 */
export function shapeClusterIds(bytes: Uint8Array, index: number, c: ClusterParams): Int32Array {
  const cloud = normalizeCloud(parsePoints(bytes, 'cache').cloud!, c.normalize, c.scale);
  return kmeans(cloud.points, c.k, { seed: clusterSeed(c.seed, index) }).labels;
}

/** Preprocesses one item and encodes it as the cache stores it. */
export async function preparedBytes(ds: Dataset, item: DatasetItem, spec: PreprocessSpec): Promise<Uint8Array> {
  return encodePoints(await preprocessItem(ds, item, spec));
}

/** Locally: the preprocessing cache and the cluster ids, each over worker threads (the shared mechanisms). */
export async function prepareLocal(plan: PreparePlan, opts: { workers?: number; quiet?: boolean } = {}): Promise<{ computed: number; reused: number }> {
  const bar = createProgress(`preprocessing ${plan.ds.name}`, plan.items.length, { quiet: opts.quiet, unit: 'shapes' });
  const pre = await preprocessDataset(plan.ds, plan.spec, {
    cacheDir: plan.cacheDir,
    items: plan.items,
    workers: opts.workers,
    onProgress: (d) => bar.update(d),
  });
  bar.stop();
  const clouds = [];
  for (const it of plan.train) clouds.push(normalizeCloud(await pre.load(it), plan.clusters.normalize, plan.clusters.scale));
  const kbar = createProgress('k-means clusters', clouds.length, { quiet: opts.quiet, unit: 'shapes' });
  const key = collectionKey(plan.ds.name, pre.key, plan.clusters.normalize, plan.clusters.scale);
  await shapeClusters(clouds, plan.clusters.k, {
    key,
    cacheDir: plan.cacheDir,
    seed: plan.clusters.seed,
    workers: opts.workers,
    onProgress: (d) => kbar.update(d),
  });
  kbar.stop();
  return { computed: pre.computed, reused: pre.reused };
}

/** Creates the cache folder (and its spec.json) the way preprocessing does. */
export async function openPlanFolder(plan: PreparePlan): Promise<void> {
  await openCacheFolder(plan.ds, plan.spec, plan.cacheDir);
}
