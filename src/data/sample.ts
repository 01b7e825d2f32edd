import { UserError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import type { Mesh, PointCloud } from './pointcloud.ts';

/**
 * Area-weighted uniform sampling of a triangle mesh's surface (what trimesh's sample_surface does for the
 * ocnn-pytorch ModelNet pipeline): a face is chosen with probability proportional to its area, a point
 * uniformly inside it (the sqrt trick), and the point takes the face's unit normal.
 */
export function sampleMesh(mesh: Mesh, count: number, rng: Rng): PointCloud {
  const V = mesh.vertices;
  const F = mesh.faces;
  const nf = F.length / 3;
  const cum = new Float64Array(nf);
  const fn = new Float32Array(3 * nf);
  let total = 0;
  for (let f = 0; f < nf; f++) {
    const a = 3 * F[3 * f]!,
      b = 3 * F[3 * f + 1]!,
      c = 3 * F[3 * f + 2]!;
    const ux = V[b]! - V[a]!,
      uy = V[b + 1]! - V[a + 1]!,
      uz = V[b + 2]! - V[a + 2]!;
    const vx = V[c]! - V[a]!,
      vy = V[c + 1]! - V[a + 1]!,
      vz = V[c + 2]! - V[a + 2]!;
    const nx = uy * vz - uz * vy,
      ny = uz * vx - ux * vz,
      nz = ux * vy - uy * vx;
    const len = Math.hypot(nx, ny, nz);
    if (len > 0 && Number.isFinite(len)) {
      fn[3 * f] = nx / len;
      fn[3 * f + 1] = ny / len;
      fn[3 * f + 2] = nz / len;
      total += len / 2;
    }
    cum[f] = total;
  }
  if (!(total > 0)) throw new UserError('cannot sample the mesh: all of its faces have zero area');
  if (!Number.isInteger(count) || count < 1) throw new UserError(`sample count must be a positive integer, got ${count}`);
  const points = new Float32Array(3 * count);
  const normals = new Float32Array(3 * count);
  for (let i = 0; i < count; i++) {
    const r = rng.uniform() * total;
    let lo = 0,
      hi = nf - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    const f = lo;
    const s = Math.sqrt(rng.uniform());
    const t = rng.uniform();
    const wa = 1 - s,
      wb = s * (1 - t),
      wc = s * t;
    const a = 3 * F[3 * f]!,
      b = 3 * F[3 * f + 1]!,
      c = 3 * F[3 * f + 2]!;
    for (let k = 0; k < 3; k++) {
      points[3 * i + k] = wa * V[a + k]! + wb * V[b + k]! + wc * V[c + k]!;
      normals[3 * i + k] = fn[3 * f + k]!;
    }
  }
  return { points, normals, labels: null, features: null, featureChannels: 0 };
}

/** Total surface area (for tests and summaries). */
export function meshArea(mesh: Mesh): number {
  const V = mesh.vertices;
  const F = mesh.faces;
  let total = 0;
  for (let f = 0; f < F.length; f += 3) {
    const a = 3 * F[f]!,
      b = 3 * F[f + 1]!,
      c = 3 * F[f + 2]!;
    const ux = V[b]! - V[a]!,
      uy = V[b + 1]! - V[a + 1]!,
      uz = V[b + 2]! - V[a + 2]!;
    const vx = V[c]! - V[a]!,
      vy = V[c + 1]! - V[a + 1]!,
      vz = V[c + 2]! - V[a + 2]!;
    total += Math.hypot(uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx) / 2;
  }
  return total;
}
