import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileError, UserError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { hashString } from '../../util/rng.ts';
import { encodePoints, parsePoints } from '../formats/points.ts';
import { normalizeCloud, type NormalizeMode } from '../normalize.ts';
import type { NormalOrientation } from '../normals.ts';
import type { PointCloud } from '../pointcloud.ts';
import { shapeToCloud, type NormalsMode } from '../shape.ts';
import { signedUpAxis, toYUp, type UpAxis } from '../up-axis.ts';
import type { Dataset, DatasetItem, DatasetSource } from './types.ts';

/**
 * Preprocessing cache: each item of a dataset is loaded, sampled, given normals and normalized once, in
 * parallel worker threads, and stored as an O-CNN `.points` file under `<cacheDir>/<dataset>-<hash of spec
 * and source>/`. Later runs with the same spec reuse the files. Every write is atomic (temp + rename), so an
 * interrupted run leaves only complete files behind. Cached clouds are y-up: each is turned from its
 * dataset's up axis (or `upAxis`) once, before normals and normalization, and the key includes that axis.
 */
export interface PreprocessSpec {
  normalize: NormalizeMode;
  /** Target half extent (bbox) or radius (sphere); default 1. */
  scale?: number;
  /** Mesh surface samples, or the subset size for larger clouds; default: meshes 8000, clouds unchanged. */
  sample?: number;
  normals: NormalsMode;
  orient?: NormalOrientation;
  k?: number;
  seed?: number;
  /** The up axis of the files, overriding the dataset's declared `upAxis` (config `data.upAxis`). */
  upAxis?: UpAxis;
}

export interface CacheOptions {
  cacheDir: string;
  /** Worker threads; 0 runs in this thread. Default: min(available cores, 4), at least 1. */
  workers?: number;
  /** Only these items (default: all of the dataset's items). */
  items?: readonly DatasetItem[];
  onProgress?: (done: number, total: number) => void;
}

export interface PreprocessedDataset {
  dir: string;
  key: string;
  /** The up axis the files were read with (the cached clouds are y-up). */
  upAxis: UpAxis;
  computed: number;
  reused: number;
  fileOf(item: DatasetItem): string;
  load(item: DatasetItem): Promise<PointCloud>;
}

const CACHE_VERSION = 1;

function resolvedSpec(spec: PreprocessSpec): Required<Omit<PreprocessSpec, 'sample' | 'upAxis'>> & { sample: number | null } {
  return {
    normalize: spec.normalize,
    scale: spec.scale ?? 1,
    sample: spec.sample ?? null,
    normals: spec.normals,
    orient: spec.orient ?? 'centroid',
    k: spec.k ?? 16,
    seed: spec.seed ?? 0,
  };
}

/** The up axis the files are read with: the override, else the dataset's own. */
export function resolvedUpAxis(ds: Pick<Dataset, 'upAxis'>, spec: Pick<PreprocessSpec, 'upAxis'>): UpAxis {
  return spec.upAxis ?? ds.upAxis;
}

export function cacheKey(ds: Pick<Dataset, 'name' | 'source' | 'upAxis'>, spec: PreprocessSpec): string {
  const json = JSON.stringify({
    v: CACHE_VERSION,
    name: ds.name,
    source: ds.source ?? null,
    spec: resolvedSpec(spec),
    up: signedUpAxis(resolvedUpAxis(ds, spec)),
  });
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

export function itemFileName(item: DatasetItem): string {
  const safe = item.id.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(-80);
  return `${safe}-${hashString(item.id).toString(16).padStart(8, '0')}.points`;
}

/**
 * One loaded shape made canonical: turned y-up from `upAxis`, subsampled, given normals where it has none,
 * normalized. Shared by the cache and `rq3d sample` (one file, the same steps). `what` names it in errors.
 */
export function canonicalCloud(raw: PointCloud, spec: PreprocessSpec, upAxis: UpAxis, seed: number, what: string): PointCloud {
  const r = resolvedSpec(spec);
  const pc = shapeToCloud(
    { format: 'points', cloud: toYUp(raw, upAxis) },
    { sample: r.sample ?? undefined, normals: r.normals, orient: r.orient, k: r.k, seed },
  );
  if (pc.points.length === 0) throw new UserError(`${what}: shape has no points`);
  return normalizeCloud(pc, r.normalize, r.scale);
}

/** The per-item work, shared by workers and the in-thread path. */
export async function preprocessItem(ds: Dataset, item: DatasetItem, spec: PreprocessSpec): Promise<PointCloud> {
  const r = resolvedSpec(spec);
  const seed = (hashString(item.id) ^ r.seed) >>> 0;
  const raw = await ds.load(item, { sample: r.sample ?? undefined, seed });
  return canonicalCloud(raw, spec, resolvedUpAxis(ds, spec), seed, item.file ?? item.id);
}

export async function writeCached(file: string, pc: PointCloud): Promise<void> {
  await writeFileAtomic(file, encodePoints(pc));
}

interface WorkerReply {
  ok: boolean;
  index: number;
  message?: string;
  user?: boolean;
}

function defaultWorkers(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, cores));
}

async function runInWorkers(
  source: DatasetSource,
  spec: PreprocessSpec,
  tasks: { item: DatasetItem; file: string }[],
  nWorkers: number,
  tick: () => void,
): Promise<void> {
  const boot = new URL('./worker-boot.mjs', import.meta.url);
  const entry = new URL('./cache-worker.ts', import.meta.url).href;
  const workers: Worker[] = [];
  let next = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = 0;
      let failed = false;
      const fail = (e: Error): void => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const give = (w: Worker): void => {
        if (next >= tasks.length) return;
        const index = next++;
        w.postMessage({ index, item: tasks[index]!.item, file: tasks[index]!.file });
      };
      for (let i = 0; i < nWorkers; i++) {
        const w = new Worker(boot, { workerData: { entry, source, spec } });
        workers.push(w);
        w.on('message', (msg: WorkerReply | { ready: true }) => {
          if ('ready' in msg) return give(w);
          if (!msg.ok) {
            return fail(msg.user ? new UserError(msg.message ?? 'preprocessing failed') : new Error(msg.message ?? 'preprocessing failed in a worker'));
          }
          tick();
          finished++;
          if (finished === tasks.length) resolve();
          else give(w);
        });
        w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
        w.on('exit', (code) => {
          if (code !== 0 && finished < tasks.length) fail(new Error(`preprocessing worker exited with code ${code}`));
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The cache folder of a dataset and spec, created with its spec.json (the same bytes every time). */
export async function openCacheFolder(
  ds: Pick<Dataset, 'name' | 'source' | 'upAxis'>,
  spec: PreprocessSpec,
  cacheDir: string,
): Promise<{ dir: string; key: string }> {
  const key = cacheKey(ds, spec);
  const dir = path.join(cacheDir, `${ds.name}-${key}`);
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(
    path.join(dir, 'spec.json'),
    JSON.stringify({ dataset: ds.name, source: ds.source ?? null, spec: resolvedSpec(spec), upAxis: resolvedUpAxis(ds, spec) }, null, 2) + '\n',
  );
  return { dir, key };
}

export async function preprocessDataset(ds: Dataset, spec: PreprocessSpec, opts: CacheOptions): Promise<PreprocessedDataset> {
  if (spec.sample !== undefined && (!Number.isInteger(spec.sample) || spec.sample < 1))
    throw new UserError(`sample must be a positive integer, got ${spec.sample}`);
  const { dir, key } = await openCacheFolder(ds, spec, opts.cacheDir);
  const items = opts.items ?? ds.items;
  const fileOf = (item: DatasetItem): string => path.join(dir, itemFileName(item));
  const present = new Set(await fs.readdir(dir));
  const todo = items.filter((it) => !present.has(itemFileName(it))).map((item) => ({ item, file: fileOf(item) }));
  const total = items.length;
  let done = total - todo.length;
  opts.onProgress?.(done, total);
  const tick = (): void => {
    done++;
    opts.onProgress?.(done, total);
  };
  const nWorkers = Math.min(opts.workers ?? defaultWorkers(), todo.length);
  if (todo.length > 0) {
    if (nWorkers > 0 && ds.source) {
      await runInWorkers(ds.source, spec, todo, nWorkers, tick);
    } else {
      for (const t of todo) {
        await writeCached(t.file, await preprocessItem(ds, t.item, spec));
        tick();
      }
    }
  }
  return {
    dir,
    key,
    upAxis: resolvedUpAxis(ds, spec),
    computed: todo.length,
    reused: total - todo.length,
    fileOf,
    load: async (item) => {
      const file = fileOf(item);
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(file);
      } catch {
        throw fileError(file, `item ${item.id} is not in the cache (run preprocessing for it first)`);
      }
      return parsePoints(new Uint8Array(bytes), file).cloud!;
    },
  };
}
