import { describe, expect, it } from 'vitest';
import {
  generateShape,
  globalPartId,
  partTable,
  synthDataset,
  SYNTH_CATEGORIES,
  SYNTH_PARTS,
  SYNTH_PART_OFFSETS,
  SYNTH_TOTAL_PARTS,
} from '../../src/data/synth/index.ts';
import type { PointCloud } from '../../src/data/pointcloud.ts';
import { Rng } from '../../src/util/rng.ts';

/** A simple global descriptor: sorted bbox extents + D2 (pairwise distance) histogram. */
function descriptor(pc: PointCloud, rng: Rng): number[] {
  const n = pc.points.length / 3;
  const ext = [0, 1, 2].map((a) => {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = a; i < pc.points.length; i += 3) {
      lo = Math.min(lo, pc.points[i]!);
      hi = Math.max(hi, pc.points[i]!);
    }
    return hi - lo;
  });
  const hist = new Array(16).fill(0);
  for (let k = 0; k < 3000; k++) {
    const i = rng.int(0, n - 1),
      j = rng.int(0, n - 1);
    const d = Math.hypot(pc.points[3 * i]! - pc.points[3 * j]!, pc.points[3 * i + 1]! - pc.points[3 * j + 1]!, pc.points[3 * i + 2]! - pc.points[3 * j + 2]!);
    hist[Math.min(15, Math.floor((d / 3.2) * 16))] += 1 / 3000;
  }
  return [...ext, ...hist.map((h) => 2 * h)];
}

describe('synthetic shapes', () => {
  it('has at least 8 distinct categories with ShapeNet-Part-like global part offsets', () => {
    expect(SYNTH_CATEGORIES.length).toBeGreaterThanOrEqual(8);
    expect(new Set(SYNTH_CATEGORIES).size).toBe(SYNTH_CATEGORIES.length);
    for (const c of ['chair', 'table', 'lamp', 'airplane', 'mug']) expect(SYNTH_CATEGORIES).toContain(c);
    expect(SYNTH_PARTS.chair).toEqual(['seat', 'back', 'leg', 'arm']);
    let off = 0;
    for (const c of SYNTH_CATEGORIES) {
      expect(SYNTH_PART_OFFSETS[c]).toBe(off);
      expect(globalPartId(c, 0)).toBe(off);
      off += SYNTH_PARTS[c]!.length;
    }
    expect(SYNTH_TOTAL_PARTS).toBe(off);
    expect(partTable().categories.length).toBe(SYNTH_CATEGORIES.length);
    expect(() => globalPartId('chair', 4)).toThrow();
    expect(() => generateShape('spaceship', new Rng(0))).toThrow(/unknown synthetic category/);
  });

  it('is deterministic per seed and varies across seeds', () => {
    for (const c of SYNTH_CATEGORIES) {
      const a = generateShape(c, new Rng(11), { points: 512 });
      const b = generateShape(c, new Rng(11), { points: 512 });
      const d = generateShape(c, new Rng(12), { points: 512 });
      expect(a.points).toEqual(b.points);
      expect(a.normals).toEqual(b.normals);
      expect(a.labels).toEqual(b.labels);
      expect(d.points).not.toEqual(a.points);
    }
  });

  it('gives unit normals, in-range labels, every part of each category, and the normalized box', () => {
    for (const c of SYNTH_CATEGORIES) {
      const nParts = SYNTH_PARTS[c]!.length;
      const seen = new Set<number>();
      for (let s = 0; s < 25; s++) {
        const pc = generateShape(c, new Rng(1000 + s), { points: 2048 });
        expect(pc.points.length).toBe(3 * 2048);
        let bad = '';
        let maxAbs = 0;
        const lo = [Infinity, Infinity, Infinity],
          hi = [-Infinity, -Infinity, -Infinity];
        for (let i = 0; i < 2048 && !bad; i++) {
          const n = pc.normals!;
          const len = Math.hypot(n[3 * i]!, n[3 * i + 1]!, n[3 * i + 2]!);
          if (Math.abs(len - 1) > 1e-5) bad = `normal ${i} has length ${len}`;
          const l = pc.labels![i]!;
          if (!(l >= 0 && l < nParts)) bad = `label ${l}`;
          seen.add(l);
          for (let a = 0; a < 3; a++) {
            const v = pc.points[3 * i + a]!;
            maxAbs = Math.max(maxAbs, Math.abs(v));
            lo[a] = Math.min(lo[a]!, v);
            hi[a] = Math.max(hi[a]!, v);
          }
        }
        expect(bad, c).toBe('');
        expect(maxAbs).toBeLessThanOrEqual(0.9 + 1e-6);
        const half = Math.max(...[0, 1, 2].map((a) => (hi[a]! - lo[a]!) / 2));
        expect(half).toBeCloseTo(0.9, 5);
        for (let a = 0; a < 3; a++) expect(Math.abs(lo[a]! + hi[a]!)).toBeLessThan(1e-5);
      }
      expect([...seen].sort(), c).toEqual([...Array(nParts).keys()]);
    }
  });

  it('random y rotation is off by default and keeps y when on', () => {
    const a = generateShape('chair', new Rng(5), { points: 256 });
    const b = generateShape('chair', new Rng(5), { points: 256, randomYRotation: true });
    expect(b.points).not.toEqual(a.points);
    // a rotation about y keeps the y extent relation: both normalized, labels identical
    expect(b.labels).toEqual(a.labels);
  });

  it('categories are distinct: a nearest-centroid classifier on a simple descriptor beats chance by far', () => {
    const rng = new Rng(3);
    const train: number[][][] = SYNTH_CATEGORIES.map(() => []);
    const test: Array<[number, number[]]> = [];
    SYNTH_CATEGORIES.forEach((c, label) => {
      for (let s = 0; s < 16; s++) {
        const d = descriptor(generateShape(c, new Rng(label * 1000 + s), { points: 1024 }), rng);
        if (s < 10) train[label]!.push(d);
        else test.push([label, d]);
      }
    });
    const centroids = train.map((ds) => ds[0]!.map((_, k) => ds.reduce((s, d) => s + d[k]!, 0) / ds.length));
    let correct = 0;
    for (const [label, d] of test) {
      let best = -1,
        bd = Infinity;
      centroids.forEach((c, j) => {
        const dist = c.reduce((s, v, k) => s + (v - d[k]!) ** 2, 0);
        if (dist < bd) {
          bd = dist;
          best = j;
        }
      });
      if (best === label) correct++;
    }
    expect(correct / test.length).toBeGreaterThan(3 / SYNTH_CATEGORIES.length);
  });
});

describe('synthetic dataset', () => {
  it('lists items with class labels and a stable 80/20 split, and loads them deterministically', async () => {
    const ds = synthDataset({ perClass: 10, seed: 7, points: 256 });
    expect(ds.name).toBe('synth');
    expect(ds.classes).toEqual([...SYNTH_CATEGORIES]);
    expect(ds.items.length).toBe(10 * SYNTH_CATEGORIES.length);
    expect(ds.items.filter((i) => i.split === 'test').length).toBe(2 * SYNTH_CATEGORIES.length);
    expect(new Set(ds.items.map((i) => i.id)).size).toBe(ds.items.length);
    for (const it of ds.items) expect(ds.classes[it.label]).toBe(it.category);
    const item = ds.items[13]!;
    const a = await ds.load(item);
    const b = await synthDataset({ perClass: 20, seed: 7, points: 256 }).load(item);
    expect(a.points.length).toBe(3 * 256);
    expect(b.points).toEqual(a.points); // independent of perClass and of load order
    const c = await synthDataset({ perClass: 10, seed: 8, points: 256 }).load(item);
    expect(c.points).not.toEqual(a.points);
    const bigger = synthDataset({ perClass: 20, seed: 7 });
    expect(bigger.items.filter((i) => i.index < 10).map((i) => i.split)).toEqual(ds.items.map((i) => i.split));
  });
  it('takes a subset of categories', () => {
    const ds = synthDataset({ perClass: 3, categories: ['mug', 'chair'] });
    expect(ds.classes).toEqual(['mug', 'chair']);
    expect(ds.items.map((i) => i.label)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(() => synthDataset({ perClass: 1, categories: ['nope'] })).toThrow();
  });
});
