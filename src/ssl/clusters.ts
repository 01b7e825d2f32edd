import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { PointCloud } from '../data/pointcloud.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { kmeans } from './kmeans.ts';

/**
 * MID-Net's per-point cluster ids: k-means on the xyz of each canonical (un-augmented) shape, computed once
 * and cached on disk, then carried through augmentation as per-point labels. Shapes with fewer points than
 * k get one cluster per point.
 */
export async function shapeClusters(
  clouds: readonly PointCloud[],
  k: number,
  opts: { key: string; cacheDir: string; seed?: number; onProgress?: (done: number, total: number) => void },
): Promise<Int32Array[]> {
  const hash = createHash('sha256').update(JSON.stringify({ v: 1, key: opts.key, k, seed: opts.seed ?? 0, n: clouds.length })).digest('hex').slice(0, 16);
  const file = path.join(opts.cacheDir, `clusters-${hash}.bin`);
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
  const out: Int32Array[] = [];
  for (let i = 0; i < clouds.length; i++) {
    out.push(kmeans(clouds[i]!.points, k, { seed: (opts.seed ?? 0) * 100003 + i }).labels);
    opts.onProgress?.(i + 1, clouds.length);
  }
  const all = new Int32Array(total);
  let o = 0;
  for (const l of out) {
    all.set(l, o);
    o += l.length;
  }
  await writeFileAtomic(file, new Uint8Array(all.buffer));
  return out;
}
