import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOctree } from '../../octree/index.ts';
import { midTransform } from '../../src/augment/midnet-transform.ts';
import { randomizedQuantize } from '../../src/augment/randomized-quantization.ts';
import { loadPointCloud } from '../../src/data/shape.ts';
import { Rng } from '../../src/util/rng.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mn10 = path.resolve(repoRoot, '../shared/data/modelnet10');

describe('RQ on real ModelNet10 shapes', () => {
  it.skipIf(!existsSync(mn10))('MID base transform + RQ(30) keeps ≤30 values per axis and removes octree leaves', async () => {
    const rng = new Rng(2);
    let before = 0,
      after = 0;
    for (const cls of ['chair', 'monitor', 'toilet']) {
      const dir = path.join(mn10, cls, 'train');
      for (const f of readdirSync(dir).sort().slice(0, 3)) {
        const raw = await loadPointCloud(path.join(dir, f));
        // bounding-sphere normalization, inline (centroid of the bbox + max distance: a sphere containing all points)
        const c = [0, 1, 2].map((a) => {
          let lo = Infinity,
            hi = -Infinity;
          for (let i = a; i < raw.points.length; i += 3) {
            lo = Math.min(lo, raw.points[i]!);
            hi = Math.max(hi, raw.points[i]!);
          }
          return (lo + hi) / 2;
        });
        let r = 0;
        for (let i = 0; i < raw.points.length; i += 3)
          r = Math.max(r, Math.hypot(raw.points[i]! - c[0]!, raw.points[i + 1]! - c[1]!, raw.points[i + 2]! - c[2]!));
        for (let i = 0; i < raw.points.length; i++) raw.points[i] = (raw.points[i]! - c[i % 3]!) / r;
        const pc = midTransform(raw, rng).cloud;
        const q = randomizedQuantize(pc, rng, { bins: 30 });
        for (let a = 0; a < 3; a++) {
          const s = new Set<number>();
          for (let i = a; i < q.cloud.points.length; i += 3) s.add(q.cloud.points[i]!);
          expect(s.size).toBeLessThanOrEqual(30);
        }
        expect(q.cloud.normals).toEqual(pc.normals);
        before += buildOctree(pc, { depth: 6, fullDepth: 2 }).nnumNempty[6]!;
        after += buildOctree(q.cloud, { depth: 6, fullDepth: 2 }).nnumNempty[6]!;
      }
    }
    expect(after).toBeLessThan(0.9 * before);
  });
});
