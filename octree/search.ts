import { xyzToKey } from './keys.ts';
import type { Octree } from './octree.ts';

/**
 * Key search and point interpolation (anchor-spec §2.7). Queries are (x, y, z, batch) with x, y, z in cell
 * units of the given depth. Coordinates outside [0, 2^depth) and batch indices outside the batch find
 * nothing (-1); the reference gets the same answers on its golden data through key wrap-around.
 */

/** Row of the node with cell (x, y, z) of shape b at `depth`, or -1; with nempty, its non-empty index. */
export function searchKey(octree: Octree, depth: number, x: number, y: number, z: number, b: number, nempty = false): number {
  const res = 1 << depth;
  if (x < 0 || y < 0 || z < 0 || x >= res || y >= res || z >= res || b < 0 || b >= octree.batchSize) return -1;
  const key = xyzToKey(x, y, z);
  const offsets = octree.batchOffsets(depth);
  const keys = octree.keys[depth]!;
  let lo = offsets[b]!;
  let hi = offsets[b + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  if (lo >= offsets[b + 1]! || keys[lo] !== key) return -1;
  return nempty ? octree.children[depth]![lo]! : lo;
}

/** searchKey for many integer queries, xyzb interleaved (4 per query). */
export function searchKeys(octree: Octree, depth: number, xyzb: ArrayLike<number>, nempty = false): Int32Array {
  const m = xyzb.length / 4;
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    out[i] = searchKey(octree, depth, xyzb[4 * i]!, xyzb[4 * i + 1]!, xyzb[4 * i + 2]!, xyzb[4 * i + 3]!, nempty);
  }
  return out;
}

/**
 * An interpolation as a sparse matrix with `width` entries per query: out[i] = sum_j weight[i,j] *
 * data[index[i,j]], index -1 contributing nothing. The tfjs op applies it with a gather + weighted sum
 * (and its transpose for the gradient).
 */
export interface InterpTable {
  index: Int32Array;
  weight: Float32Array;
  width: number;
}

/**
 * Nearest interpolation: the node containing trunc(pt) (rows of `depth`, or non-empty rows with nempty);
 * missing nodes give zeros. Points are (x, y, z, batch) in cell units.
 */
export function nearestTable(octree: Octree, depth: number, pts: ArrayLike<number>, nempty = false): InterpTable {
  const m = pts.length / 4;
  const index = new Int32Array(m);
  const weight = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    const r = searchKey(octree, depth, Math.trunc(pts[4 * i]!), Math.trunc(pts[4 * i + 1]!), Math.trunc(pts[4 * i + 2]!), pts[4 * i + 3]!, nempty);
    index[i] = r;
    weight[i] = r < 0 ? 0 : 1;
  }
  return { index, weight, width: 1 };
}

/**
 * Trilinear interpolation from node centres (ocnn's octree_linear_pts): f = xyz - 0.5, the 8 corners
 * floor(f) + {0,1}^3 weighted by prod |1 - c - t|; missing corners are dropped and the weights of the
 * present ones renormalized (sum + 1e-12).
 */
export function linearTable(octree: Octree, depth: number, pts: ArrayLike<number>, nempty = false): InterpTable {
  const m = pts.length / 4;
  const index = new Int32Array(8 * m);
  const weight = new Float32Array(8 * m);
  const w = new Float64Array(8);
  for (let i = 0; i < m; i++) {
    const fx = Math.fround(pts[4 * i]! - 0.5);
    const fy = Math.fround(pts[4 * i + 1]! - 0.5);
    const fz = Math.fround(pts[4 * i + 2]! - 0.5);
    const b = pts[4 * i + 3]!;
    const bx = Math.floor(fx);
    const by = Math.floor(fy);
    const bz = Math.floor(fz);
    const tx = fx - bx;
    const ty = fy - by;
    const tz = fz - bz;
    let sum = 0;
    for (let c = 0; c < 8; c++) {
      const cx = (c >> 2) & 1;
      const cy = (c >> 1) & 1;
      const cz = c & 1;
      const r = searchKey(octree, depth, bx + cx, by + cy, bz + cz, b, nempty);
      index[8 * i + c] = r;
      const wc = r < 0 ? 0 : Math.abs((1 - cx - tx) * (1 - cy - ty) * (1 - cz - tz));
      w[c] = wc;
      sum += wc;
    }
    const norm = 1 / (sum + 1e-12);
    for (let c = 0; c < 8; c++) weight[8 * i + c] = w[c]! * norm;
  }
  return { index, weight, width: 8 };
}

/** Apply an interpolation table to plain row-major data (rows x channels): the CPU reference. */
export function applyInterp(table: InterpTable, data: ArrayLike<number>, channels: number): Float32Array {
  const m = table.index.length / table.width;
  const out = new Float32Array(m * channels);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < table.width; j++) {
      const r = table.index[i * table.width + j]!;
      if (r < 0) continue;
      const w = table.weight[i * table.width + j]!;
      for (let c = 0; c < channels; c++) out[i * channels + c] += w * data[r * channels + c]!;
    }
  }
  return out;
}
