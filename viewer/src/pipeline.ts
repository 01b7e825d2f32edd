/**
 * What the viewer computes, with the CLI's own code: parse (src/data/shape.ts) -> cloud (meshes sampled,
 * normals estimated if absent) -> normalize -> optional MID-Net base transform -> randomized quantization ->
 * octrees of both clouds at the chosen depth. Pure functions of the inputs and the seed, no DOM.
 */
import { parseShape, shapeToCloud } from '../../src/data/shape.ts';
import { normalizeCloud, type NormalizeMode } from '../../src/data/normalize.ts';
import type { PointCloud } from '../../src/data/pointcloud.ts';
import { midTransform, MID_PRETRAIN } from '../../src/augment/midnet-transform.ts';
import { randomizedQuantize, rqVariantOptions, type RqVariant } from '../../src/augment/randomized-quantization.ts';
import { buildOctree, type Octree } from '../../octree/octree.ts';
import { Rng } from '../../src/util/rng.ts';

/** Clouds bigger than this are subsampled for display (a random subset, seeded). */
export const MAX_VIEW_POINTS = 50_000;
export const MESH_SAMPLES = 8000;

export interface QuantizeParams {
  bins: number;
  seed: number;
  variant: RqVariant;
  p: number;
  /** Apply MID-Net's pretraining base transform (rotate/scale/translate/clip) before RQ. */
  mid: boolean;
  normalize: Exclude<NormalizeMode, 'none'>;
  depth: number;
}

export interface ViewData {
  /** The cloud before RQ (normalized, base-transformed when `mid`). */
  input: PointCloud;
  quantized: PointCloud;
  applied: boolean;
  inputOctree: Octree;
  quantizedOctree: Octree;
  stats: ViewStats;
}

export interface ViewStats {
  points: number;
  distinctInput: [number, number, number];
  distinctQuantized: [number, number, number];
  leavesInput: number;
  leavesQuantized: number;
  depth: number;
}

/** Parse a file's bytes and make a displayable cloud: meshes are sampled, normals estimated when missing. */
export function loadCloud(bytes: Uint8Array, fileName: string, labels: Int32Array | null = null): PointCloud {
  const shape = parseShape(bytes, fileName);
  const n = shape.cloud ? shape.cloud.points.length / 3 : 0;
  let pc = shapeToCloud(shape, {
    sample: shape.mesh ? MESH_SAMPLES : Math.min(n, MAX_VIEW_POINTS),
    normals: 'auto',
    seed: 0,
  });
  if (labels) {
    if (shape.mesh || labels.length !== n || n > MAX_VIEW_POINTS) {
      throw new Error(`${fileName}: label file has ${labels.length} labels for ${shape.mesh ? 'a mesh' : `${n} points`}`);
    }
    pc = { ...pc, labels };
  }
  return pc;
}

/** Integer labels, one per line (ShapeNet Part v0 `.seg`). */
export function parseLabelLines(text: string): Int32Array {
  const vals = text.split(/\s+/).filter((s) => s !== '').map(Number);
  if (vals.some((v) => !Number.isInteger(v))) throw new Error('label file holds a value that is not an integer');
  return Int32Array.from(vals);
}

export function distinctPerAxis(points: Float32Array): [number, number, number] {
  const sets = [new Set<number>(), new Set<number>(), new Set<number>()];
  for (let i = 0; i < points.length; i += 3) {
    sets[0]!.add(points[i]!);
    sets[1]!.add(points[i + 1]!);
    sets[2]!.add(points[i + 2]!);
  }
  return [sets[0]!.size, sets[1]!.size, sets[2]!.size];
}

export function cloudOctree(pc: PointCloud, depth: number): Octree {
  return buildOctree(
    { points: pc.points, normals: pc.normals, labels: pc.labels },
    { depth, fullDepth: Math.min(depth, 2), bounds: 'clamp' },
  );
}

/** The normalized cloud, base-transformed when asked: the left view and the input of RQ. */
export function prepareInput(base: PointCloud, q: Pick<QuantizeParams, 'normalize' | 'mid' | 'seed'>): PointCloud {
  // MID-Net normalizes to the bounding sphere before its base transform; the bbox mode is ocnn-pytorch's.
  const normalized = normalizeCloud(base, q.mid ? 'sphere' : q.normalize);
  return q.mid ? midTransform(normalized, new Rng(q.seed).fork('mid'), MID_PRETRAIN).cloud : normalized;
}

export function computeView(base: PointCloud, q: QuantizeParams): ViewData {
  const input = prepareInput(base, q);
  const rq = randomizedQuantize(input, new Rng(q.seed).fork('rq'), rqVariantOptions(q.variant, { bins: q.bins, p: q.p }));
  const inputOctree = cloudOctree(input, q.depth);
  const quantizedOctree = cloudOctree(rq.cloud, q.depth);
  return {
    input,
    quantized: rq.cloud,
    applied: rq.applied,
    inputOctree,
    quantizedOctree,
    stats: {
      points: input.points.length / 3,
      distinctInput: distinctPerAxis(input.points),
      distinctQuantized: distinctPerAxis(rq.cloud.points),
      leavesInput: inputOctree.nnumNempty[q.depth]!,
      leavesQuantized: quantizedOctree.nnumNempty[q.depth]!,
      depth: q.depth,
    },
  };
}
