import { describe, expect, it } from 'vitest';
import {
  buildOctree,
  getNeighbors,
  inputFeature,
  keyToXyz,
  linearTable,
  mergeOctrees,
  nearestTable,
  neighborTable,
  applyInterp,
  searchKeys,
  type Octree,
} from '../../octree/index.ts';
import { hasGolden, loadGolden, splitKey, type GoldenField } from '../helpers/golden.ts';

function concat<T extends Int32Array>(parts: T[]): number[] {
  return parts.flatMap((p) => Array.from(p));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `max |diff| at index ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThanOrEqual(tol);
}

/** Rebuild a merged golden octree from its finest non-empty keys: one point at the centre of each leaf. */
function octreeFromGoldenKeys(g: Record<string, GoldenField>): Octree {
  const depth = g.depth!.data[0]!;
  const fullDepth = g.full_depth!.data[0]!;
  const nnum = g.nnum!.data;
  const start = nnum.slice(0, depth).reduce((a, b) => a + b, 0);
  const keys = g.key!.data.slice(start, start + nnum[depth]!);
  const child = g.child!.data.slice(start, start + nnum[depth]!);
  const feat = g.feature!.data;
  const perShape = new Map<number, { pts: number[]; nrm: number[] }>();
  const xyz = [0, 0, 0];
  for (let r = 0; r < keys.length; r++) {
    const c = child[r]!;
    if (c < 0) continue;
    const { key, batch } = splitKey(keys[r]!);
    keyToXyz(key, xyz);
    const s = perShape.get(batch) ?? { pts: [], nrm: [] };
    for (let a = 0; a < 3; a++) s.pts.push(((xyz[a]! + 0.5) / 2 ** depth) * 2 - 1);
    s.nrm.push(feat[4 * c]!, feat[4 * c + 1]!, feat[4 * c + 2]!);
    perShape.set(batch, s);
  }
  const octs = [...perShape.keys()]
    .sort((a, b) => a - b)
    .map((b) => {
      const s = perShape.get(b)!;
      return buildOctree({ points: Float32Array.from(s.pts), normals: Float32Array.from(s.nrm) }, { depth, fullDepth });
    });
  return mergeOctrees(octs);
}

describe.skipIf(!hasGolden)('ocnn golden data', () => {
  for (const name of ['test_001.json', 'test_002.json']) {
    it(`${name}: nnum, nnumNempty, keys, children and the ND feature`, () => {
      const g = loadGolden(name);
      const depth = g.depth!.data[0]!;
      const fullDepth = g.full_depth!.data[0]!;
      const oct = buildOctree({ points: Float32Array.from(g.points!.data), normals: Float32Array.from(g.normals!.data) }, { depth, fullDepth });
      expect(oct.nnum).toEqual(g.nnum!.data);
      expect(oct.nnumNempty).toEqual(g.nnum_nempty!.data);
      expect(concat(oct.keys)).toEqual(g.key!.data);
      expect(concat(oct.children)).toEqual(g.child!.data);
      const f = inputFeature(oct, { letters: 'ND', nempty: true });
      expect(f.channels).toBe(4);
      expectClose(f.data, g.feature!.data, 1e-5);
    });
  }

  const batch = hasGolden ? loadGolden('batch_45.json') : null;
  const octree = batch ? octreeFromGoldenKeys(batch) : null;

  it('batch_45: merged keys, children, node counts and leaf normals', () => {
    const g = batch!;
    const oct = octree!;
    expect(oct.batchSize).toBe(2);
    expect(oct.nnum).toEqual(g.nnum!.data);
    expect(oct.nnumNempty).toEqual(g.nnum_nempty!.data);
    const keys: number[] = [];
    for (let d = 0; d <= oct.depth; d++) {
      const bid = oct.batchId(d);
      oct.keys[d]!.forEach((k, r) => keys.push(bid[r]! * 2 ** 48 + k));
    }
    expect(keys).toEqual(g.key!.data);
    expect(concat(oct.children)).toEqual(g.child!.data);
    const normals = Array.from(g.feature!.data).filter((_, i) => i % 4 !== 3);
    expectClose(oct.normals!, normals, 1e-6);
  });

  it('batch_45: the full neighbour table of depths 1..6', () => {
    const oct = octree!;
    const all: number[] = [];
    for (let d = 1; d <= oct.depth; d++) for (const v of neighborTable(oct, d)) all.push(v);
    expect(all.length).toBe(batch!.neigh!.data.length);
    let mismatches = 0;
    for (let i = 0; i < all.length; i++) if (all[i] !== batch!.neigh!.data[i]) mismatches++;
    expect(mismatches).toBe(0);
    // the stride-2 / nempty variants are slices of the same table
    const s2 = getNeighbors(oct, { depth: 6, stride: 2 });
    expect(s2.length / 27).toBe(oct.nnumNempty[5]);
  });

  it('search_key: rows (all / non-empty) of xyz+batch queries at depth 5', () => {
    const g = loadGolden('search_key.json');
    expect(Array.from(searchKeys(octree!, 5, g.xyzb!.data, false))).toEqual(g.idx!.data);
    expect(Array.from(searchKeys(octree!, 5, g.xyzb!.data, true))).toEqual(g.idx_ne!.data);
  });

  it('interp: trilinear and nearest, all nodes and non-empty, at depth 5', () => {
    const g = loadGolden('interp.json');
    const oct = octree!;
    const data = g.data!.data;
    const rows = oct.nemptyIndex(5);
    const dataNe: number[] = [];
    for (const r of rows) dataNe.push(data[2 * r]!, data[2 * r + 1]!);
    const pts = g.pts!.data;
    expectClose(applyInterp(linearTable(oct, 5, pts, false), data, 2), g.linear!.data, 1e-5);
    expectClose(applyInterp(linearTable(oct, 5, pts, true), dataNe, 2), g.linear_ne!.data, 1e-5);
    expectClose(applyInterp(nearestTable(oct, 5, pts, false), data, 2), g.near!.data, 0);
    expectClose(applyInterp(nearestTable(oct, 5, pts, true), dataNe, 2), g.near_ne!.data, 0);
  });
});
