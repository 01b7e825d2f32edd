import { describe, expect, it } from 'vitest';
import {
  buildOctree,
  childSlot,
  getNeighbors,
  kernelSlots,
  keyToXyz,
  mergeOctrees,
  neighborTable,
  parentKey,
  searchKey,
  xyzToKey,
  OctreeError,
  type Octree,
} from '../../octree/index.ts';
import { Rng } from '../../src/util/rng.ts';

function randomCloud(rng: Rng, n: number, withLabels = false): { points: Float32Array; normals: Float32Array; labels?: Int32Array } {
  const points = new Float32Array(3 * n);
  const normals = new Float32Array(3 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // points on a sphere shell of radius 0.8 plus noise: a surface-like distribution
    const v = [rng.normal(), rng.normal(), rng.normal()];
    const len = Math.hypot(v[0]!, v[1]!, v[2]!);
    for (let a = 0; a < 3; a++) {
      points[3 * i + a] = (0.8 * v[a]!) / len + 0.01 * rng.normal();
      normals[3 * i + a] = v[a]! / len;
    }
    labels[i] = rng.int(-1, 3);
  }
  return withLabels ? { points, normals, labels } : { points, normals };
}

describe('Morton keys', () => {
  it('round-trips random coordinates at every depth up to 10', () => {
    const rng = new Rng(1);
    const xyz = [0, 0, 0];
    for (let i = 0; i < 10000; i++) {
      const d = rng.int(1, 10);
      const x = rng.int(0, 2 ** d - 1);
      const y = rng.int(0, 2 ** d - 1);
      const z = rng.int(0, 2 ** d - 1);
      const k = xyzToKey(x, y, z);
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThan(2 ** (3 * d));
      expect(keyToXyz(k, xyz)).toEqual([x, y, z]);
    }
  });

  it('puts x in the highest bit of each triplet; parent and child slot', () => {
    expect(xyzToKey(1, 0, 0)).toBe(4);
    expect(xyzToKey(0, 1, 0)).toBe(2);
    expect(xyzToKey(0, 0, 1)).toBe(1);
    expect(xyzToKey(2, 0, 0)).toBe(32);
    const k = xyzToKey(5, 6, 3);
    expect(childSlot(k)).toBe(4 * 1 + 2 * 0 + 1);
    expect(parentKey(k)).toBe(xyzToKey(2, 3, 1));
    expect(xyzToKey(1023, 1023, 1023)).toBe(2 ** 30 - 1);
  });
});

describe('buildOctree', () => {
  it('reproduces the hand case of the reference tests (3 points, depth 5, full depth 1)', () => {
    const oct = buildOctree(
      {
        points: Float32Array.of(-1, -1, -1, 0, 0, -1, 0.0625, 0.0625, -1),
        normals: Float32Array.of(1, 0, 0, -1, 0, 0, 0, 1, 0),
        features: Float32Array.of(1, -1, 2, -2, 3, -3),
        featureChannels: 2,
        labels: Int32Array.of(0, 2, 2),
      },
      { depth: 5, fullDepth: 1 },
    );
    expect(oct.nnum).toEqual([1, 8, 16, 16, 16, 16]);
    expect(oct.nnumNempty).toEqual([1, 2, 2, 2, 2, 3]);
    const block = (hi: number): number[] => [0, 1, 2, 3, 4, 5, 6, 7, ...Array.from({ length: 8 }, (_, i) => hi + i)];
    expect(Array.from(oct.keys[2]!)).toEqual(block(48));
    expect(Array.from(oct.keys[3]!)).toEqual(block(384));
    expect(Array.from(oct.keys[4]!)).toEqual(block(3072));
    expect(Array.from(oct.keys[5]!)).toEqual(block(24576));
    expect(Array.from(oct.children[1]!)).toEqual([0, -1, -1, -1, -1, -1, 1, -1]);
    expect(Array.from(oct.children[5]!)).toEqual([0, -1, -1, -1, -1, -1, -1, -1, 1, -1, -1, -1, -1, -1, 2, -1]);
    expect(Array.from(oct.nemptyIndex(5))).toEqual([0, 8, 14]);
    expect(Array.from(oct.normals!)).toEqual([1, 0, 0, -1, 0, 0, 0, 1, 0]);
    expect(Array.from(oct.features!)).toEqual([1, -1, 2, -2, 3, -3]);
    expect(Array.from(oct.labels!)).toEqual([0, 2, 2]);
    expect(Array.from(oct.pointToLeaf)).toEqual([0, 1, 2]);
  });

  it('aggregates leaf signals: mean point, normalized normal sum, majority label ignoring negatives', () => {
    // four points in one depth-2 cell, one in another
    const oct = buildOctree(
      {
        points: Float32Array.of(0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.3, 0.1, 0.1, 0.1, 0.3, 0.1, -0.9, -0.9, -0.9),
        normals: Float32Array.of(1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1),
        labels: Int32Array.of(3, -1, 3, 1, -1),
      },
      { depth: 2, fullDepth: 1 },
    );
    expect(oct.nnumNempty[2]).toBe(2);
    // leaf order is Morton order: the (-0.9,...) cell first
    expect(Array.from(oct.labels!)).toEqual([-1, 3]);
    const n = Array.from(oct.normals!.subarray(3, 6));
    expect(n[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(n[1]).toBeCloseTo(Math.SQRT1_2, 6);
    // mean point in cell units: ((p + 1) * 2) averaged
    expect(oct.points[3]).toBeCloseTo(((0.1 + 0.2 + 0.3 + 0.1) / 4 + 1) * 2, 5);
    expect(Array.from(oct.pointToLeaf)).toEqual([1, 1, 1, 1, 0]);
  });

  it('keeps invariants on random clouds: sorted keys, contiguous siblings, children of non-empty nodes', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 5; t++) {
      const depth = rng.int(3, 8);
      const fullDepth = rng.int(0, Math.min(3, depth));
      const oct = buildOctree(randomCloud(rng, rng.int(1, 3000)), { depth, fullDepth });
      checkInvariants(oct);
    }
  });

  it('gives the same octree as merging the shapes one by one', () => {
    const rng = new Rng(3);
    const a = buildOctree(randomCloud(rng, 500, true), { depth: 6, fullDepth: 2 });
    const b = buildOctree(randomCloud(rng, 800, true), { depth: 6, fullDepth: 2 });
    const m = mergeOctrees([a, b]);
    checkInvariants(m);
    const m2 = mergeOctrees([mergeOctrees([a]), b]);
    expect(m2.nnum).toEqual(m.nnum);
    expect(Array.from(m2.children[6]!)).toEqual(Array.from(m.children[6]!));
    expect(m.batchSize).toBe(2);
    expect(m.pointToLeaf.length).toBe(1300);
    expect(m.pointToLeaf[500]).toBe(b.pointToLeaf[0]! + a.nnumNempty[6]!);
  });

  it('rejects bad input with clear errors', () => {
    const ok = { depth: 5, fullDepth: 2 };
    expect(() => buildOctree({ points: new Float32Array(0) }, ok)).toThrow(/empty point cloud/);
    expect(() => buildOctree({ points: Float32Array.of(0, NaN, 0) }, ok)).toThrow(/point 0 .* NaN/);
    expect(() => buildOctree({ points: Float32Array.of(0, 0, 0, 0.5, 1.0, 0) }, ok)).toThrow(/point 1 \(0.5, 1, 0\) is outside/);
    expect(() => buildOctree({ points: Float32Array.of(0, -1.5, 0) }, ok)).toThrow(OctreeError);
    expect(() => buildOctree({ points: Float32Array.of(0, 0, 0) }, { depth: 11, fullDepth: 2 })).toThrow(/depth must be an integer in 1..10/);
    expect(() => buildOctree({ points: Float32Array.of(0, 0, 0) }, { depth: 4, fullDepth: 5 })).toThrow(/fullDepth/);
    expect(() => buildOctree({ points: Float32Array.of(0, 0) }, ok)).toThrow(/multiple of 3/);
    expect(() => buildOctree({ points: Float32Array.of(0, 0, 0), normals: Float32Array.of(1) }, ok)).toThrow(/normals length/);
  });

  it('never wraps +1.0 to cell 0: with bounds "clamp" it lands in the last cell', () => {
    const oct = buildOctree({ points: Float32Array.of(1, 1, 1, 2, -3, 0.5) }, { depth: 3, fullDepth: 1, bounds: 'clamp' });
    const cells = oct.cellCoords(3, true);
    const list = [];
    for (let i = 0; i < cells.length; i += 3) list.push([cells[i], cells[i + 1], cells[i + 2]]);
    expect(list).toContainEqual([7, 7, 7]);
    expect(list).toContainEqual([7, 0, 6]);
  });
});

describe('neighbour tables', () => {
  it('match brute force by cell coordinates, are symmetric, and slot 13 is the node itself', () => {
    const rng = new Rng(11);
    const oct = mergeOctrees([buildOctree(randomCloud(rng, 1500), { depth: 5, fullDepth: 2 }), buildOctree(randomCloud(rng, 700), { depth: 5, fullDepth: 2 })]);
    for (let d = 1; d <= 5; d++) {
      const nb = neighborTable(oct, d);
      const cells = oct.cellCoords(d);
      const bid = oct.batchId(d);
      let bad = 0;
      let asymmetric = 0;
      for (let r = 0; r < oct.nnum[d]!; r++) {
        if (nb[27 * r + 13] !== r) bad++;
        for (let k = 0; k < 27; k++) {
          const dx = Math.floor(k / 9) - 1;
          const dy = (Math.floor(k / 3) % 3) - 1;
          const dz = (k % 3) - 1;
          const expected = searchKey(oct, d, cells[3 * r]! + dx, cells[3 * r + 1]! + dy, cells[3 * r + 2]! + dz, bid[r]!);
          if (nb[27 * r + k] !== expected) bad++;
          if (expected >= 0 && nb[27 * expected + (26 - k)] !== r) asymmetric++;
        }
      }
      expect({ depth: d, bad, asymmetric }).toEqual({ depth: d, bad: 0, asymmetric: 0 });
    }
  });

  it('derives kernel subsets, stride-2 first-child windows and non-empty remaps', () => {
    const rng = new Rng(5);
    const oct = buildOctree(randomCloud(rng, 2000), { depth: 5, fullDepth: 2 });
    expect(Array.from(kernelSlots('311'))).toEqual([4, 13, 22]);
    expect(Array.from(kernelSlots('131'))).toEqual([10, 13, 16]);
    expect(Array.from(kernelSlots('113'))).toEqual([12, 13, 14]);
    expect(kernelSlots('331').length).toBe(9);
    const full = neighborTable(oct, 5);
    const s2 = getNeighbors(oct, { depth: 5, kernel: '222', stride: 2 });
    expect(s2.length).toBe(8 * oct.nnumNempty[4]!);
    // with stride 2 the 222 window of the first child is exactly its 8 siblings
    for (let p = 0; p < oct.nnumNempty[4]!; p++) {
      expect(Array.from(s2.subarray(8 * p, 8 * p + 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => 8 * p + i));
    }
    const ne = getNeighbors(oct, { depth: 5, nempty: true });
    const rows = oct.nemptyIndex(5);
    expect(ne.length).toBe(27 * rows.length);
    for (let i = 0; i < rows.length; i++) {
      for (let k = 0; k < 27; k++) {
        const v = full[27 * rows[i]! + k]!;
        expect(ne[27 * i + k]).toBe(v < 0 ? -1 : oct.children[5]![v]!);
      }
    }
  });
});

function checkInvariants(oct: Octree): void {
  for (let d = 0; d <= oct.depth; d++) {
    const keys = oct.keys[d]!;
    const ch = oct.children[d]!;
    const bid = oct.batchId(d);
    expect(keys.length).toBe(oct.nnum[d]);
    let nonEmpty = 0;
    for (let r = 0; r < keys.length; r++) {
      if (r > 0 && bid[r] === bid[r - 1]) expect(keys[r]!).toBeGreaterThan(keys[r - 1]!);
      if (ch[r]! >= 0) expect(ch[r]).toBe(nonEmpty++);
    }
    expect(nonEmpty).toBe(oct.nnumNempty[d]);
    if (d > oct.fullDepth) {
      // siblings contiguous: rows 8p..8p+7 share a parent key and have slots 0..7
      for (let r = 0; r < keys.length; r++) expect(keys[r]! & 7).toBe(r % 8);
    }
    if (d < oct.depth) {
      // every non-empty node at d has its 8 children at rows 8c..8c+7 of depth d+1
      const next = oct.keys[d + 1]!;
      const nbid = oct.batchId(d + 1);
      for (let r = 0; r < keys.length; r++) {
        const c = ch[r]!;
        if (c < 0) continue;
        for (let s = 0; s < 8; s++) {
          expect(next[8 * c + s]).toBe(keys[r]! * 8 + s);
          expect(nbid[8 * c + s]).toBe(bid[r]);
        }
      }
    }
  }
  expect(oct.points.length).toBe(3 * oct.nnumNempty[oct.depth]!);
}
