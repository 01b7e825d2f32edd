import { UserError } from '../util/errors.ts';
import { KdTree } from './kdtree.ts';

/**
 * Normal estimation for clouds that have none (ModelNet10 PCD): PCA over the k nearest neighbours (the
 * eigenvector of the smallest covariance eigenvalue), then a consistent orientation, either outward from the
 * centroid (right for closed, roughly star-shaped objects) or propagated over a kNN graph along a minimum
 * spanning tree of the weights 1 - |n_i . n_j| (Hoppe et al. 1992), which also handles concave shapes.
 */
export type NormalOrientation = 'centroid' | 'propagate' | 'none';

export interface NormalOptions {
  /** Neighbours per point, the point itself included (default 16). */
  k?: number;
  orient?: NormalOrientation;
}

/** Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi; returns the unit eigenvector of the smallest eigenvalue. */
export function smallestEigenvector(m: Float64Array, out: Float64Array): void {
  const a = [m[0]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7]!, m[8]!];
  const v = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 12; sweep++) {
    const off = a[1]! * a[1]! + a[2]! * a[2]! + a[5]! * a[5]!;
    const scale = a[0]! * a[0]! + a[4]! * a[4]! + a[8]! * a[8]! + 1e-300;
    if (off <= 1e-24 * scale) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const apq = a[3 * p + q]!;
      if (Math.abs(apq) < 1e-300) continue;
      const app = a[3 * p + p]!,
        aqq = a[3 * q + q]!;
      const theta = (aqq - app) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1),
        s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[3 * k + p]!,
          akq = a[3 * k + q]!;
        a[3 * k + p] = c * akp - s * akq;
        a[3 * k + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[3 * p + k]!,
          aqk = a[3 * q + k]!;
        a[3 * p + k] = c * apk - s * aqk;
        a[3 * q + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[3 * k + p]!,
          vkq = v[3 * k + q]!;
        v[3 * k + p] = c * vkp - s * vkq;
        v[3 * k + q] = s * vkp + c * vkq;
      }
    }
  }
  let best = 0;
  if (a[4]! < a[3 * best + best]!) best = 1;
  if (a[8]! < a[3 * best + best]!) best = 2;
  const x = v[best]!,
    y = v[3 + best]!,
    z = v[6 + best]!;
  const len = Math.hypot(x, y, z) || 1;
  out[0] = x / len;
  out[1] = y / len;
  out[2] = z / len;
}

/** Unoriented PCA normals from a kNN table (n x k). */
function pcaNormals(points: Float32Array, nbrs: Int32Array, k: number): Float32Array {
  const n = points.length / 3;
  const normals = new Float32Array(3 * n);
  const cov = new Float64Array(9);
  const ev = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    let mx = 0,
      my = 0,
      mz = 0;
    for (let j = 0; j < k; j++) {
      const q = 3 * nbrs[i * k + j]!;
      mx += points[q]!;
      my += points[q + 1]!;
      mz += points[q + 2]!;
    }
    mx /= k;
    my /= k;
    mz /= k;
    let xx = 0,
      xy = 0,
      xz = 0,
      yy = 0,
      yz = 0,
      zz = 0;
    for (let j = 0; j < k; j++) {
      const q = 3 * nbrs[i * k + j]!;
      const dx = points[q]! - mx,
        dy = points[q + 1]! - my,
        dz = points[q + 2]! - mz;
      xx += dx * dx;
      xy += dx * dy;
      xz += dx * dz;
      yy += dy * dy;
      yz += dy * dz;
      zz += dz * dz;
    }
    cov[0] = xx;
    cov[1] = xy;
    cov[2] = xz;
    cov[3] = xy;
    cov[4] = yy;
    cov[5] = yz;
    cov[6] = xz;
    cov[7] = yz;
    cov[8] = zz;
    if (xx + yy + zz === 0) {
      // All neighbours coincide: no direction is better than another.
      normals[3 * i + 2] = 1;
      continue;
    }
    smallestEigenvector(cov, ev);
    normals[3 * i] = ev[0]!;
    normals[3 * i + 1] = ev[1]!;
    normals[3 * i + 2] = ev[2]!;
  }
  return normals;
}

/** The mean of a packed xyz array. */
function centroid(points: Float32Array): [number, number, number] {
  const n = points.length / 3;
  let cx = 0,
    cy = 0,
    cz = 0;
  for (let i = 0; i < n; i++) {
    cx += points[3 * i]!;
    cy += points[3 * i + 1]!;
    cz += points[3 * i + 2]!;
  }
  return [cx / n, cy / n, cz / n];
}

/** Flip normals to point away from the centroid. */
export function orientOutward(points: Float32Array, normals: Float32Array): void {
  const n = points.length / 3;
  const [cx, cy, cz] = centroid(points);
  for (let i = 0; i < n; i++) {
    const d = (points[3 * i]! - cx) * normals[3 * i]! + (points[3 * i + 1]! - cy) * normals[3 * i + 1]! + (points[3 * i + 2]! - cz) * normals[3 * i + 2]!;
    if (d < 0) {
      normals[3 * i] = -normals[3 * i]!;
      normals[3 * i + 1] = -normals[3 * i + 1]!;
      normals[3 * i + 2] = -normals[3 * i + 2]!;
    }
  }
}

/** Min-heap of (key, a, b) triples with typed storage. */
class TripleHeap {
  private key = new Float64Array(1024);
  private a = new Int32Array(1024);
  private b = new Int32Array(1024);
  size = 0;
  push(k: number, a: number, b: number): void {
    if (this.size === this.key.length) {
      const grow = <T extends Float64Array | Int32Array>(x: T, make: (n: number) => T): T => {
        const y = make(x.length * 2);
        y.set(x);
        return y;
      };
      this.key = grow(this.key, (n) => new Float64Array(n));
      this.a = grow(this.a, (n) => new Int32Array(n));
      this.b = grow(this.b, (n) => new Int32Array(n));
    }
    let c = this.size++;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (this.key[p]! <= k) break;
      this.key[c] = this.key[p]!;
      this.a[c] = this.a[p]!;
      this.b[c] = this.b[p]!;
      c = p;
    }
    this.key[c] = k;
    this.a[c] = a;
    this.b[c] = b;
  }
  /** Pops the minimum into `out` = [a, b]. */
  pop(out: Int32Array): void {
    out[0] = this.a[0]!;
    out[1] = this.b[0]!;
    const n = --this.size;
    const k = this.key[n]!,
      a = this.a[n]!,
      b = this.b[n]!;
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && this.key[r]! < this.key[l]! ? r : l;
      if (this.key[m]! >= k) break;
      this.key[c] = this.key[m]!;
      this.a[c] = this.a[m]!;
      this.b[c] = this.b[m]!;
      c = m;
    }
    this.key[c] = k;
    this.a[c] = a;
    this.b[c] = b;
  }
}

/**
 * Hoppe-style propagation: Prim's algorithm over the symmetric kNN graph with weights 1 - |n_i . n_j|; each
 * node popped from the tree takes the sign that agrees with its tree parent. Each connected component starts
 * at its highest point (max z), oriented outward from the centroid.
 */
export function orientByPropagation(points: Float32Array, normals: Float32Array, nbrs: Int32Array, k: number): void {
  const n = points.length / 3;
  // CSR adjacency of the symmetrised kNN graph.
  const deg = new Int32Array(n + 1);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++) {
      const q = nbrs[i * k + j]!;
      if (q !== i) {
        deg[i + 1]!++;
        deg[q + 1]!++;
      }
    }
  for (let i = 0; i < n; i++) deg[i + 1] += deg[i]!;
  const adj = new Int32Array(deg[n]!);
  const fill = deg.slice(0, n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++) {
      const q = nbrs[i * k + j]!;
      if (q !== i) {
        adj[fill[i]!++] = q;
        adj[fill[q]!++] = i;
      }
    }
  const [cx, cy, cz] = centroid(points);
  const done = new Uint8Array(n);
  // Seeds in decreasing z, so each new component starts at its own top point.
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => points[3 * q + 2]! - points[3 * p + 2]!);
  const heap = new TripleHeap();
  const top = new Int32Array(2);
  const dot = (p: number, q: number): number =>
    normals[3 * p]! * normals[3 * q]! + normals[3 * p + 1]! * normals[3 * q + 1]! + normals[3 * p + 2]! * normals[3 * q + 2]!;
  const flip = (p: number): void => {
    normals[3 * p] = -normals[3 * p]!;
    normals[3 * p + 1] = -normals[3 * p + 1]!;
    normals[3 * p + 2] = -normals[3 * p + 2]!;
  };
  for (const seed of order) {
    if (done[seed]) continue;
    const out =
      (points[3 * seed]! - cx) * normals[3 * seed]! +
      (points[3 * seed + 1]! - cy) * normals[3 * seed + 1]! +
      (points[3 * seed + 2]! - cz) * normals[3 * seed + 2]!;
    if (out < 0) flip(seed);
    heap.push(0, seed, -1);
    while (heap.size > 0) {
      heap.pop(top);
      const u = top[0]!,
        parent = top[1]!;
      if (done[u]) continue;
      done[u] = 1;
      if (parent >= 0 && dot(parent, u) < 0) flip(u);
      for (let e = deg[u]!; e < deg[u + 1]!; e++) {
        const w = adj[e]!;
        if (!done[w]) heap.push(1 - Math.abs(dot(u, w)), w, u);
      }
    }
  }
}

/** Estimate unit normals for a cloud. */
export function estimateNormals(points: Float32Array, opts: NormalOptions = {}): Float32Array {
  const n = points.length / 3;
  if (n === 0) return new Float32Array(0);
  const k = Math.min(opts.k ?? 16, n);
  if (k < 1) throw new UserError('normal estimation needs k >= 1 neighbours');
  const tree = new KdTree(points);
  const nbrs = tree.knnAll(k);
  const normals = pcaNormals(points, nbrs, k);
  const orient = opts.orient ?? 'centroid';
  if (orient === 'centroid') orientOutward(points, normals);
  else if (orient === 'propagate') orientByPropagation(points, normals, nbrs, k);
  return normals;
}
