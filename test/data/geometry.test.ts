import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.ts';
import { KdTree } from '../../src/data/kdtree.ts';
import { estimateNormals, smallestEigenvector } from '../../src/data/normals.ts';
import { meshArea, sampleMesh } from '../../src/data/sample.ts';
import { boundingSphere, normalizeCloud } from '../../src/data/normalize.ts';
import { boundingBox, makePointCloud, type Mesh } from '../../src/data/pointcloud.ts';
import { parseShape } from '../../src/data/shape.ts';
import { readFileSync } from 'node:fs';
import { fixture } from './helpers.ts';

function spherePoints(n: number, rng: Rng): Float32Array {
  const p = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const x = rng.normal(),
      y = rng.normal(),
      z = rng.normal();
    const l = Math.hypot(x, y, z);
    p[3 * i] = x / l;
    p[3 * i + 1] = y / l;
    p[3 * i + 2] = z / l;
  }
  return p;
}

/** Fraction of points whose normal is within `deg` of the truth (signed unless `unsigned`). */
function within(normals: Float32Array, truth: Float32Array, deg: number, unsigned = false): number {
  const c = Math.cos((deg * Math.PI) / 180);
  let ok = 0;
  const n = normals.length / 3;
  for (let i = 0; i < n; i++) {
    let d = normals[3 * i]! * truth[3 * i]! + normals[3 * i + 1]! * truth[3 * i + 1]! + normals[3 * i + 2]! * truth[3 * i + 2]!;
    if (unsigned) d = Math.abs(d);
    if (d >= c) ok++;
  }
  return ok / n;
}

function torus(n: number, R: number, r: number, rng: Rng): { points: Float32Array; truth: Float32Array } {
  const points = new Float32Array(3 * n);
  const truth = new Float32Array(3 * n);
  for (let i = 0; i < n;) {
    const u = rng.range(0, 2 * Math.PI),
      v = rng.range(0, 2 * Math.PI);
    // Rejection keeps the sampling uniform in area (density ~ R + r cos v).
    if (rng.uniform() * (R + r) > R + r * Math.cos(v)) continue;
    const nx = Math.cos(v) * Math.cos(u),
      ny = Math.cos(v) * Math.sin(u),
      nz = Math.sin(v);
    points[3 * i] = (R + r * Math.cos(v)) * Math.cos(u);
    points[3 * i + 1] = (R + r * Math.cos(v)) * Math.sin(u);
    points[3 * i + 2] = r * Math.sin(v);
    truth[3 * i] = nx;
    truth[3 * i + 1] = ny;
    truth[3 * i + 2] = nz;
    i++;
  }
  return { points, truth };
}

describe('kd-tree', () => {
  it('finds exactly the brute-force k nearest neighbours', () => {
    const rng = new Rng(5);
    const n = 3000;
    const pts = Float32Array.from({ length: 3 * n }, (_, i) => (i % 3 === 2 ? Math.round(rng.range(0, 4)) : rng.range(-1, 1)));
    const tree = new KdTree(pts);
    const k = 12;
    const out = new Int32Array(k);
    const d2 = new Float64Array(k);
    for (let q = 0; q < 100; q++) {
      const x = rng.range(-1.2, 1.2),
        y = rng.range(-1.2, 1.2),
        z = rng.range(-1, 5);
      expect(tree.knn(x, y, z, k, out, d2)).toBe(k);
      const all = Array.from({ length: n }, (_, i) => (pts[3 * i]! - x) ** 2 + (pts[3 * i + 1]! - y) ** 2 + (pts[3 * i + 2]! - z) ** 2).sort((a, b) => a - b);
      for (let j = 0; j < k; j++) expect(d2[j]).toBeCloseTo(all[j]!, 10);
    }
  });
});

describe('normal estimation', () => {
  it('smallestEigenvector matches a known diagonalisation', () => {
    // A = R diag(5, 2, 0.1) R^T for a rotation R; the answer is R's third column.
    const c = Math.cos(0.7),
      s = Math.sin(0.7);
    const R = [c, -s, 0, s, c, 0, 0, 0, 1];
    const d = [5, 2, 0.1];
    const A = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) A[3 * i + j] += R[3 * i + k]! * d[k]! * R[3 * j + k]!;
    const out = new Float64Array(3);
    smallestEigenvector(A, out);
    expect(Math.abs(out[2]!)).toBeCloseTo(1, 9);
  });

  it('sphere: >= 95% of normals within 5 degrees, oriented outward (centroid and propagation)', () => {
    const pts = spherePoints(4000, new Rng(1));
    for (const orient of ['centroid', 'propagate'] as const) {
      const nrm = estimateNormals(pts, { k: 16, orient });
      expect(within(nrm, pts, 5)).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('box: face normals recovered away from the edges', () => {
    const cube = parseShape(readFileSync(fixture('cube.off')), 'cube.off').mesh!;
    const pc = sampleMesh(cube, 20000, new Rng(2));
    const nrm = estimateNormals(pc.points, { k: 16, orient: 'centroid' });
    expect(within(nrm, pc.normals!, 5)).toBeGreaterThanOrEqual(0.85);
    const prop = estimateNormals(pc.points, { k: 16, orient: 'propagate' });
    expect(within(prop, pc.normals!, 5)).toBeGreaterThanOrEqual(0.85);
  });

  it('cylinder side: radial normals', () => {
    const rng = new Rng(3);
    const n = 6000;
    const p = new Float32Array(3 * n);
    const t = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const a = rng.range(0, 2 * Math.PI);
      p[3 * i] = Math.cos(a);
      p[3 * i + 1] = Math.sin(a);
      p[3 * i + 2] = rng.range(-2, 2);
      t[3 * i] = Math.cos(a);
      t[3 * i + 1] = Math.sin(a);
    }
    expect(within(estimateNormals(p, { orient: 'centroid' }), t, 5)).toBeGreaterThanOrEqual(0.95);
  });

  it('torus: propagation orients the inner side that the centroid rule gets wrong', () => {
    const { points, truth } = torus(6000, 1, 0.35, new Rng(4));
    const unsigned = within(estimateNormals(points, { orient: 'none' }), truth, 5, true);
    expect(unsigned).toBeGreaterThanOrEqual(0.95);
    expect(within(estimateNormals(points, { orient: 'centroid' }), truth, 5)).toBeLessThan(0.8);
    expect(within(estimateNormals(points, { orient: 'propagate' }), truth, 5)).toBeGreaterThanOrEqual(0.95);
  });
});

describe('mesh sampling', () => {
  it('is area-weighted, on the surface, with face normals, and seeded', () => {
    // Two triangles in z=0 with areas 0.5 and 4.5 (x>=0 and x<=-1).
    const mesh: Mesh = {
      vertices: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, -1, 0, 0, -4, 0, 0, -1, 3, 0]),
      faces: Uint32Array.from([0, 1, 2, 3, 4, 5]),
      vertexNormals: null,
    };
    expect(meshArea(mesh)).toBeCloseTo(5, 6);
    const pc = sampleMesh(mesh, 20000, new Rng(7));
    let small = 0;
    let bad = 0;
    for (let i = 0; i < 20000; i++) {
      const x = pc.points[3 * i]!,
        y = pc.points[3 * i + 1]!;
      if (pc.points[3 * i + 2] !== 0) bad++;
      if (x >= 0) {
        small++;
        if (x + y > 1 + 1e-6 || y < 0 || pc.normals![3 * i + 2] !== 1) bad++;
      } else if (x > -1 - 1e-6 && y > 1e-6) bad++;
      else if (pc.normals![3 * i + 2] !== -1) bad++;
    }
    expect(bad).toBe(0);
    expect(small / 20000).toBeGreaterThan(0.09);
    expect(small / 20000).toBeLessThan(0.11);
    expect(Array.from(sampleMesh(mesh, 50, new Rng(7)).points)).toEqual(Array.from(sampleMesh(mesh, 50, new Rng(7)).points));
  });
  it('cube samples lie on the faces with outward normals', () => {
    const cube = parseShape(readFileSync(fixture('cube.off')), 'cube.off').mesh!;
    const pc = sampleMesh(cube, 2000, new Rng(1));
    for (let i = 0; i < 2000; i++) {
      const p = [pc.points[3 * i]!, pc.points[3 * i + 1]!, pc.points[3 * i + 2]!];
      const nrm = [pc.normals![3 * i]!, pc.normals![3 * i + 1]!, pc.normals![3 * i + 2]!];
      const axis = nrm.findIndex((v) => Math.abs(v) > 0.99);
      expect(axis).toBeGreaterThanOrEqual(0);
      expect(p[axis]).toBeCloseTo(nrm[axis]! > 0 ? 1 : 0, 5);
    }
  });
});

describe('normalization', () => {
  it('bbox: center 0, largest half extent = scale', () => {
    const pc = makePointCloud(Float32Array.from([1, 2, 3, 5, 4, 3.5, 2, 10, 3]));
    const n = normalizeCloud(pc, 'bbox', 0.8);
    const bb = boundingBox(n.points);
    expect(bb.min[1]).toBeCloseTo(-0.8, 6);
    expect(bb.max[1]).toBeCloseTo(0.8, 6);
    expect(bb.min[0] + bb.max[0]).toBeCloseTo(0, 6);
    expect(bb.min[2] + bb.max[2]).toBeCloseTo(0, 6);
  });
  it('sphere: every point inside the unit ball, close to the minimal ball', () => {
    const rng = new Rng(8);
    const pts = spherePoints(3000, rng).map((v, i) => v * 3 + (i % 3) * 10);
    const n = normalizeCloud(makePointCloud(pts), 'sphere');
    let maxR = 0;
    for (let i = 0; i < 3000; i++) maxR = Math.max(maxR, Math.hypot(n.points[3 * i]!, n.points[3 * i + 1]!, n.points[3 * i + 2]!));
    expect(maxR).toBeLessThanOrEqual(1 + 1e-6);
    expect(maxR).toBeGreaterThan(0.999);
    // The minimal ball of a sphere sample is the sphere itself: radius 3, center (0, 10, 20).
    const b = boundingSphere(pts);
    expect(b.radius).toBeLessThan(3 * 1.03);
    expect(Math.hypot(b.center[0], b.center[1] - 10, b.center[2] - 20)).toBeLessThan(0.1);
    const corners = Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1]);
    expect(boundingSphere(corners).radius).toBeLessThan((Math.sqrt(3) / 2) * 1.1);
  });
});
