import { keyToXyz, xyzToKey } from './keys.ts';
import type { Octree } from './octree.ts';

/**
 * 27-neighbour tables (anchor-spec §2.5). Slot k = 9(dx+1) + 3(dy+1) + (dz+1), 13 = the node itself,
 * -1 = no such node. Tables cover all rows of a depth; `getNeighbors` derives the variants that convs use
 * (non-empty rows only, stride-2 first-child windows, kernel subsets) and caches them on the octree.
 */

export type Kernel = '333' | '222' | '311' | '131' | '113' | '331' | '313' | '133';

export const KERNELS: readonly Kernel[] = ['333', '222', '311', '131', '113', '331', '313', '133'];

/** Slots of each kernel inside the 27-neighbourhood. */
export function kernelSlots(kernel: Kernel): Int32Array {
  if (kernel === '222') return Int32Array.of(13, 14, 16, 17, 22, 23, 25, 26);
  const ext = kernel.split('').map(Number);
  const range = (e: number): number[] => (e === 3 ? [-1, 0, 1] : [0]);
  const out: number[] = [];
  for (const dx of range(ext[0]!)) for (const dy of range(ext[1]!)) for (const dz of range(ext[2]!)) out.push(9 * (dx + 1) + 3 * (dy + 1) + (dz + 1));
  return Int32Array.from(out);
}

export function kernelSize(kernel: Kernel): number {
  return kernel === '222' ? 8 : kernel === '333' ? 27 : kernel.split('').filter((c) => c === '3').length === 2 ? 9 : 3;
}

// For child slot a (bits ax, ay, az) and offset o: g = 2 + a + o in 1..4; the neighbour lies in the parent's
// neighbour floor(g/2) at child slot g mod 2 (per axis).
const PARENT_SLOT = new Int32Array(8 * 27);
const CHILD_SLOT = new Int32Array(8 * 27);
for (let a = 0; a < 8; a++) {
  const ax = (a >> 2) & 1;
  const ay = (a >> 1) & 1;
  const az = a & 1;
  for (let dx = -1; dx <= 1; dx++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dz = -1; dz <= 1; dz++) {
        const k = 9 * (dx + 1) + 3 * (dy + 1) + (dz + 1);
        const gx = 2 + ax + dx;
        const gy = 2 + ay + dy;
        const gz = 2 + az + dz;
        PARENT_SLOT[27 * a + k] = 9 * (gx >> 1) + 3 * (gy >> 1) + (gz >> 1);
        CHILD_SLOT[27 * a + k] = 4 * (gx & 1) + 2 * (gy & 1) + (gz & 1);
      }
    }
  }
}

/** The full 27-neighbour table of all rows at `depth` (nnum[depth] x 27), built and cached. */
export function neighborTable(octree: Octree, depth: number): Int32Array {
  const name = `neigh:${depth}`;
  const hit = octree.cache.get(name);
  if (hit) return hit;
  const rows = octree.nnum[depth]!;
  const covered = depth > octree.fullDepth && rows === 8 * octree.nnumNempty[depth - 1]!;
  const out = new Int32Array(rows * 27);
  if (!covered) out.fill(-1);
  if (depth === 0) {
    for (let r = 0; r < rows; r++) out[27 * r + 13] = r;
  } else if (depth <= octree.fullDepth) {
    // Dense grid: each shape owns 8^depth rows in key order, so row = shape offset + key.
    const res = 1 << depth;
    const per = 1 << (3 * depth);
    const keys = octree.keys[depth]!;
    const xyz = [0, 0, 0];
    for (let r = 0; r < rows; r++) {
      const base = r - (r % per);
      keyToXyz(keys[r]!, xyz);
      const [x, y, z] = xyz as [number, number, number];
      for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx;
        if (nx < 0 || nx >= res) continue;
        for (let dy = -1; dy <= 1; dy++) {
          const ny = y + dy;
          if (ny < 0 || ny >= res) continue;
          for (let dz = -1; dz <= 1; dz++) {
            const nz = z + dz;
            if (nz < 0 || nz >= res) continue;
            out[27 * r + 9 * (dx + 1) + 3 * (dy + 1) + (dz + 1)] = base + xyzToKey(nx, ny, nz);
          }
        }
      }
    }
  } else {
    // Every row at this depth is one of the 8 children of a non-empty parent, so each row is written
    // below. Per parent, first resolve its 27 neighbours to their first-child blocks (one indirection
    // instead of two per entry), then fill the 8 x 27 entries of its children from two lookup tables.
    const parentNeigh = neighborTable(octree, depth - 1);
    const parentChildren = octree.children[depth - 1]!;
    const nParents = octree.nnum[depth - 1]!;
    const block = new Int32Array(27);
    for (let p = 0; p < nParents; p++) {
      const c = parentChildren[p]!;
      if (c < 0) continue;
      const pn = 27 * p;
      for (let k = 0; k < 27; k++) {
        const q = parentNeigh[pn + k]!;
        const qc = q < 0 ? -1 : parentChildren[q]!;
        block[k] = qc < 0 ? -8 : 8 * qc;
      }
      // branch-free (missing neighbours are unpredictable on a surface): a missing block is -8, so
      // b + slot is in [-8, -1] and OR-ing the sign mask turns it into -1
      const o = 216 * c;
      for (let j = 0; j < 216; j++) {
        const b = block[PARENT_SLOT[j]!]!;
        out[o + j] = (b + CHILD_SLOT[j]!) | (b >> 31);
      }
    }
  }
  octree.cache.set(name, out);
  return out;
}

export interface NeighborQuery {
  depth: number;
  kernel?: Kernel;
  stride?: 1 | 2;
  /** Rows and values restricted to non-empty nodes (values remapped to non-empty indices). */
  nempty?: boolean;
}

/**
 * The neighbour index of a conv at `depth` (ocnn's get_neigh): rows x K, row-major.
 * - stride 1: one row per node (or per non-empty node);
 * - stride 2: one row per non-empty node at depth-1, the window of its first child at depth;
 * - nempty: values are non-empty indices at `depth` (empty neighbours become -1).
 */
export function getNeighbors(octree: Octree, q: NeighborQuery): Int32Array {
  const kernel = q.kernel ?? '333';
  const stride = q.stride ?? 1;
  const nempty = q.nempty ?? false;
  const name = `nb:${q.depth}:${kernel}:${stride}:${nempty ? 1 : 0}`;
  const hit = octree.cache.get(name);
  if (hit) return hit;
  const full = neighborTable(octree, q.depth);
  if (kernel === '333' && stride === 1 && !nempty) {
    // the full table is already this variant: share it instead of copying 27 ints per row
    octree.cache.set(name, full);
    return full;
  }
  const children = octree.children[q.depth]!;
  let rows: Int32Array;
  if (stride === 2) {
    rows = new Int32Array(octree.nnum[q.depth]! / 8);
    for (let i = 0; i < rows.length; i++) rows[i] = 8 * i;
  } else if (nempty) {
    rows = octree.nemptyIndex(q.depth);
  } else {
    rows = new Int32Array(octree.nnum[q.depth]!);
    for (let i = 0; i < rows.length; i++) rows[i] = i;
  }
  const slots = kernelSlots(kernel);
  const K = slots.length;
  const out = new Int32Array(rows.length * K);
  for (let i = 0; i < rows.length; i++) {
    const base = 27 * rows[i]!;
    for (let k = 0; k < K; k++) {
      const v = full[base + slots[k]!]!;
      out[i * K + k] = v < 0 ? -1 : nempty ? children[v]! : v;
    }
  }
  octree.cache.set(name, out);
  return out;
}
