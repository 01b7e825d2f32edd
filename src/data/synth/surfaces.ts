/**
 * Closed synthetic surfaces without part labels (spheres, boxes, tori, cylinders, chairs made of boxes, blobs
 * of overlapping spheres), the inputs the benchmarks share with the reference implementation's measurements
 * (shared/reference/peer-ocnn.md). Built from the generator's own primitives (primitives.ts): each piece is
 * sampled by area with its exact outward normal, and in a union of pieces the points inside another piece are
 * dropped, so a chair or a blob is one closed surface. The shape is then turned at random and scaled into the
 * ball of radius 0.95 about its mean, so every point lies inside (-1, 1)^3.
 */
import type { PointCloud } from '../pointcloud.ts';
import type { Rng } from '../../util/rng.ts';
import { applyRot, euler, type V3 } from './builder.ts';
import { makeSampler, type PrimitiveSpec } from './primitives.ts';

export type SurfaceKind = 'sphere' | 'box' | 'torus' | 'cylinder' | 'chair' | 'blob';
export const SURFACE_KINDS: readonly SurfaceKind[] = ['sphere', 'box', 'torus', 'cylinder', 'chair', 'blob'];

/** A primitive placed at `at` (unrotated), with the test for points strictly inside its solid. */
interface Piece {
  spec: PrimitiveSpec;
  at: V3;
  inside(p: V3): boolean;
}

const EPS = 1e-9;

function box(at: V3, half: V3): Piece {
  return {
    spec: { kind: 'box', size: [2 * half[0], 2 * half[1], 2 * half[2]] },
    at,
    inside: (p) => Math.abs(p[0] - at[0]) < half[0] - EPS && Math.abs(p[1] - at[1]) < half[1] - EPS && Math.abs(p[2] - at[2]) < half[2] - EPS,
  };
}

function sphere(at: V3, radius: number): Piece {
  return { spec: { kind: 'sphere', radius }, at, inside: (p) => (p[0] - at[0]) ** 2 + (p[1] - at[1]) ** 2 + (p[2] - at[2]) ** 2 < radius * radius - EPS };
}

/** A single closed primitive: nothing of it lies inside another piece. */
const alone = (spec: PrimitiveSpec): Piece => ({ spec, at: [0, 0, 0], inside: () => false });

/** `n` points on the surface of the union of `pieces`, by area, without the points inside another piece. */
function sampleUnion(pieces: readonly Piece[], n: number, rng: Rng): PointCloud {
  const samplers = pieces.map((p) => makeSampler(p.spec));
  const total = samplers.reduce((s, x) => s + x.area, 0);
  const points = new Float32Array(3 * n);
  const normals = new Float32Array(3 * n);
  const out = new Float64Array(6);
  for (let i = 0, guard = 0; i < n && guard < 100 * n; guard++) {
    let u = rng.uniform() * total;
    let k = 0;
    while (k < samplers.length - 1 && u >= samplers[k]!.area) u -= samplers[k++]!.area;
    samplers[k]!.sample(rng, out);
    const at = pieces[k]!.at;
    const p: V3 = [out[0]! + at[0], out[1]! + at[1], out[2]! + at[2]];
    if (pieces.some((piece, j) => j !== k && piece.inside(p))) continue;
    points.set(p, 3 * i);
    normals.set([out[3]!, out[4]!, out[5]!], 3 * i);
    i++;
  }
  return { points, normals, labels: null, features: null, featureChannels: 0 };
}

/** Turn at random, then centre on the mean and scale so that the farthest point is at `radius`. */
function placeInBall(pc: PointCloud, rng: Rng, radius: number): PointCloud {
  const m = euler([rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI)]);
  for (const a of [pc.points, pc.normals!]) {
    for (let i = 0; i < a.length; i += 3) a.set(applyRot(m, [a[i]!, a[i + 1]!, a[i + 2]!]), i);
  }
  const c = [0, 0, 0];
  const N = pc.points.length / 3;
  for (let i = 0; i < pc.points.length; i++) c[i % 3]! += pc.points[i]! / N;
  let r = 0;
  for (let i = 0; i < pc.points.length; i += 3) r = Math.max(r, Math.hypot(pc.points[i]! - c[0]!, pc.points[i + 1]! - c[1]!, pc.points[i + 2]! - c[2]!));
  for (let i = 0; i < pc.points.length; i++) pc.points[i] = ((pc.points[i]! - c[i % 3]!) / r) * radius;
  return pc;
}

/** The pieces of one random instance of `kind`. */
function piecesOf(kind: SurfaceKind, rng: Rng): Piece[] {
  const U = (lo: number, hi: number): number => rng.range(lo, hi);
  switch (kind) {
    case 'sphere':
      return [sphere([0, 0, 0], 1)];
    case 'box':
      return [box([0, 0, 0], [U(0.3, 1), U(0.3, 1), U(0.3, 1)])];
    case 'torus':
      return [alone({ kind: 'torus', major: 1, minor: U(0.15, 0.45) })];
    case 'cylinder': {
      const radius = U(0.3, 0.8);
      return [alone({ kind: 'cylinder', radius, height: 2 * U(0.4, 1), caps: 'both' })];
    }
    case 'chair': {
      // seat, back and four legs, each a box; the legs reach 0.5 below the seat
      const w = U(0.4, 0.6);
      const seatY = U(-0.1, 0.1);
      const t = 0.05;
      const leg = U(0.04, 0.08);
      const parts = [box([0, seatY, 0], [w, t, w]), box([0, seatY + U(0.4, 0.7), -w + t], [w, U(0.35, 0.6), t])];
      for (const sx of [-1, 1]) for (const sz of [-1, 1]) parts.push(box([sx * (w - leg), seatY - 0.5, sz * (w - leg)], [leg, 0.5 - t, leg]));
      return parts;
    }
    case 'blob': {
      // a chain of overlapping spheres (each centre 0.3-0.5 from the previous one) is one connected blob
      const k = rng.int(3, 5);
      const centres: V3[] = [[0, 0, 0]];
      for (let i = 1; i < k; i++) {
        const z = U(-1, 1);
        const a = U(0, 2 * Math.PI);
        const d = U(0.3, 0.5);
        const s = Math.sqrt(1 - z * z);
        const c = centres[i - 1]!;
        centres.push([c[0] + d * s * Math.cos(a), c[1] + d * s * Math.sin(a), c[2] + d * z]);
      }
      return centres.map((c) => sphere(c, U(0.35, 0.6)));
    }
  }
}

/** One closed surface of `kind`: `n` points with unit outward normals, inside the ball of radius 0.95. */
export function closedSurface(kind: SurfaceKind, rng: Rng, n = 3000): PointCloud {
  return placeInBall(sampleUnion(piecesOf(kind, rng), n, rng), rng, 0.95);
}
