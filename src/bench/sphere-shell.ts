/**
 * Real 27-neighbourhood tables for the conv benchmark only: the voxels of a sphere shell, sorted in
 * Morton order, with idx[i*27 + k] = index of the k-th neighbour (dz, dy, dx in -1..1, x fastest) or -1.
 * The octree code builds its own tables; this exists so the benchmark needs nothing else.
 */

export interface NeighbourTable {
  /** Number of voxels (rows). */
  n: number;
  /** [n * 27] neighbour indices, -1 where the neighbour voxel is empty. */
  idx: Int32Array;
  /** Fraction of idx entries that are -1. */
  emptyFraction: number;
  /** Grid side the shell was voxelised in. */
  grid: number;
}

/** Interleaves the low 10 bits of x, y, z (x lowest). */
export function morton3(x: number, y: number, z: number): number {
  let code = 0;
  for (let b = 0; b < 10; b++) {
    code += (((x >> b) & 1) + ((y >> b) & 1) * 2 + ((z >> b) & 1) * 4) * 2 ** (3 * b);
  }
  return code;
}

function shellVoxels(radius: number, thickness: number): Array<[number, number, number]> {
  const g = Math.ceil(2 * (radius + thickness)) + 2;
  const c = g / 2;
  const out: Array<[number, number, number]> = [];
  for (let z = 0; z < g; z++) {
    for (let y = 0; y < g; y++) {
      for (let x = 0; x < g; x++) {
        const d = Math.hypot(x + 0.5 - c, y + 0.5 - c, z + 0.5 - c);
        if (Math.abs(d - radius) < thickness / 2) out.push([x, y, z]);
      }
    }
  }
  return out;
}

/**
 * A shell 1.75 voxels thick with at least n voxels, cut to its first n in Morton order (the cut
 * leaves a few more empties at the boundary). About 40% of the entries are -1.
 */
export function sphereShellTable(n: number): NeighbourTable {
  const thickness = 1.75;
  let radius = Math.max(2, Math.sqrt(n / (4 * Math.PI * thickness)));
  let vox = shellVoxels(radius, thickness);
  while (vox.length < n) {
    radius *= 1.02;
    vox = shellVoxels(radius, thickness);
  }
  const keyed = vox.map(([x, y, z]) => ({ x, y, z, key: morton3(x, y, z) }));
  keyed.sort((a, b) => a.key - b.key);
  keyed.length = n;
  const where = new Map<number, number>();
  keyed.forEach((v, i) => where.set(v.key, i));
  const idx = new Int32Array(n * 27);
  let empty = 0;
  for (let i = 0; i < n; i++) {
    const v = keyed[i]!;
    let k = 0;
    for (let dz = -1; dz <= 1; dz++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++, k++) {
          const x = v.x + dx,
            y = v.y + dy,
            z = v.z + dz;
          const j = x < 0 || y < 0 || z < 0 ? undefined : where.get(morton3(x, y, z));
          idx[i * 27 + k] = j ?? -1;
          if (j === undefined) empty++;
        }
      }
    }
  }
  return { n, idx, emptyFraction: empty / idx.length, grid: Math.ceil(2 * (radius + thickness)) + 2 };
}
