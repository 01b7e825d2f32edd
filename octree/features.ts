import { OctreeError, type Octree } from './octree.ts';

/**
 * Input signals of the finest depth by ocnn letters (anchor-spec §2.9), concatenated in the order
 * N (normal, 3), D (displacement, 1), L (local position, 3), P (global position, 3), F (features, C):
 * - D = dot(frac(mean point) - 0.5, normal) x displacementScale. The default scale 2/sqrt(3) is the
 *   original O-CNN convention MID-Net was trained with (and the golden data's); ocnn-pytorch uses 1.
 * - L = frac(mean point) - 0.5; P = mean point x 2^(1-depth) - 1 (back in [-1, 1)).
 */
export interface InputFeatureOptions {
  /** Letters among N, D, L, P, F, e.g. 'ND' (MID-Net, HRNet) or 'P' for clouds without normals. */
  letters: string;
  /** true: one row per non-empty leaf; false: all rows at depth, zeros on empty nodes. */
  nempty: boolean;
  displacementScale?: number;
}

export const OCNN_DISPLACEMENT_SCALE = 2 / Math.sqrt(3);

export function featureChannels(octree: Octree, letters: string): number {
  let c = 0;
  for (const ch of letters.toUpperCase()) {
    if (ch === 'N' || ch === 'L' || ch === 'P') c += 3;
    else if (ch === 'D') c += 1;
    else if (ch === 'F') c += octree.featureChannels;
    else throw new OctreeError(`unknown input feature letter '${ch}' in '${letters}' (use N, D, L, P, F)`);
  }
  return c;
}

export function inputFeature(octree: Octree, opts: InputFeatureOptions): { data: Float32Array; channels: number } {
  const letters = opts.letters.toUpperCase();
  const C = featureChannels(octree, letters);
  const depth = octree.depth;
  const nLeaves = octree.nnumNempty[depth]!;
  const scale = opts.displacementScale ?? OCNN_DISPLACEMENT_SCALE;
  if ((letters.includes('N') || letters.includes('D')) && !octree.normals) {
    throw new OctreeError(`input feature '${letters}' needs normals but the octree has none (estimate normals, or use 'L'/'P')`);
  }
  if (letters.includes('F') && !octree.features) throw new OctreeError(`input feature 'F' needs per-point features but the octree has none`);
  const leaf = new Float32Array(nLeaves * C);
  const pts = octree.points;
  const nrm = octree.normals;
  const feats = octree.features;
  const FC = octree.featureChannels;
  const global = 2 ** (1 - depth);
  for (let i = 0; i < nLeaves; i++) {
    let o = i * C;
    const px = pts[3 * i]!;
    const py = pts[3 * i + 1]!;
    const pz = pts[3 * i + 2]!;
    const lx = px - Math.floor(px) - 0.5;
    const ly = py - Math.floor(py) - 0.5;
    const lz = pz - Math.floor(pz) - 0.5;
    for (const ch of letters) {
      if (ch === 'N') {
        leaf[o++] = nrm![3 * i]!;
        leaf[o++] = nrm![3 * i + 1]!;
        leaf[o++] = nrm![3 * i + 2]!;
      } else if (ch === 'D') {
        leaf[o++] = (lx * nrm![3 * i]! + ly * nrm![3 * i + 1]! + lz * nrm![3 * i + 2]!) * scale;
      } else if (ch === 'L') {
        leaf[o++] = lx;
        leaf[o++] = ly;
        leaf[o++] = lz;
      } else if (ch === 'P') {
        leaf[o++] = px * global - 1;
        leaf[o++] = py * global - 1;
        leaf[o++] = pz * global - 1;
      } else {
        for (let c = 0; c < FC; c++) leaf[o++] = feats![FC * i + c]!;
      }
    }
  }
  if (opts.nempty) return { data: leaf, channels: C };
  const all = new Float32Array(octree.nnum[depth]! * C);
  const rows = octree.nemptyIndex(depth);
  for (let i = 0; i < nLeaves; i++) all.set(leaf.subarray(i * C, (i + 1) * C), rows[i]! * C);
  return { data: all, channels: C };
}
