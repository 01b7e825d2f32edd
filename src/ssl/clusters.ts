import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { PointCloud } from '../data/pointcloud.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { kmeans } from './kmeans.ts';

/**
 * MID-Net's per-point cluster ids: k-means on the xyz of each canonical (un-augmented) shape, computed once
 * and cached on disk, then carried through augmentation as per-point labels. Shapes with fewer points than
 * k get one cluster per point.
 */
export async function shapeClusters(
  clouds: readonly PointCloud[],
  k: number,
  opts: { key: string; cacheDir: string; seed?: number; workers?: number; onProgress?: (done: number, total: number) => void },
): Promise<Int32Array[]> {
  const file = clustersFile(opts.cacheDir, opts.key, k, opts.seed ?? 0, clouds.length);
  const sizes = clouds.map((c) => c.points.length / 3);
  const total = sizes.reduce((s, n) => s + n, 0);
  try {
    const bytes = await fs.readFile(file);
    if (bytes.byteLength === total * 4) {
      const all = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const out: Int32Array[] = [];
      let o = 0;
      for (const n of sizes) {
        out.push(all.slice(o, o + n));
        o += n;
      }
      opts.onProgress?.(clouds.length, clouds.length);
      return out;
    }
  } catch {
    // not cached yet
  }
  const seedOf = (i: number): number => clusterSeed(opts.seed ?? 0, i);
  const workers = Math.min(opts.workers ?? defaultWorkers(), clouds.length);
  const out = workers > 0 && clouds.length >= 64 ? await inWorkers(clouds, k, seedOf, workers, opts.onProgress) : inThread(clouds, k, seedOf, opts.onProgress);
  await writeClusters(file, out);
  return out;
}

/** The cache file of the cluster ids of `n` shapes of the collection `key`. */
export function clustersFile(cacheDir: string, key: string, k: number, seed: number, n: number): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ v: 1, key, k, seed, n }))
    .digest('hex')
    .slice(0, 16);
  return path.join(cacheDir, `clusters-${hash}.bin`);
}

/** The k-means seed of shape `i` of a collection (its position in the collection). */
export function clusterSeed(seed: number, i: number): number {
  return seed * 100003 + i;
}

/** Writes the cluster ids of all shapes, concatenated in collection order (int32). */
export async function writeClusters(file: string, labels: readonly Int32Array[]): Promise<void> {
  const all = new Int32Array(labels.reduce((s, l) => s + l.length, 0));
  let o = 0;
  for (const l of labels) {
    all.set(l, o);
    o += l.length;
  }
  await writeFileAtomic(file, new Uint8Array(all.buffer));
}

function defaultWorkers(): number {
  return Math.max(1, Math.min(4, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
}

function inThread(clouds: readonly PointCloud[], k: number, seedOf: (i: number) => number, onProgress?: (d: number, t: number) => void): Int32Array[] {
  const out: Int32Array[] = [];
  for (let i = 0; i < clouds.length; i++) {
    out.push(kmeans(clouds[i]!.points, k, { seed: seedOf(i) }).labels);
    onProgress?.(i + 1, clouds.length);
  }
  return out;
}

/** The same k-means, shape by shape, spread over worker threads (same seeds, so the same result). */
async function inWorkers(
  clouds: readonly PointCloud[],
  k: number,
  seedOf: (i: number) => number,
  n: number,
  onProgress?: (d: number, t: number) => void,
): Promise<Int32Array[]> {
  const boot = new URL('../data/datasets/worker-boot.mjs', import.meta.url);
  const entry = new URL('./clusters-worker.ts', import.meta.url).href;
  const out: Int32Array[] = new Array(clouds.length);
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const give = (w: Worker): void => {
        if (next >= clouds.length) return;
        const i = next++;
        w.postMessage({ index: i, points: clouds[i]!.points, seed: seedOf(i) });
      };
      for (let j = 0; j < n; j++) {
        const w = new Worker(boot, { workerData: { entry, k } });
        workers.push(w);
        w.on('message', (m: { ready: true } | { index: number; labels: Int32Array }) => {
          if ('ready' in m) return give(w);
          out[m.index] = m.labels;
          onProgress?.(++done, clouds.length);
          if (done === clouds.length) resolve();
          else give(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (code !== 0 && done < clouds.length) reject(new Error(`k-means worker exited with code ${code}`));
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}
