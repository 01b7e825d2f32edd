/**
 * What the viewer computes, with the CLI's own code: parse (src/data/shape.ts) -> cloud (meshes sampled,
 * normals estimated if absent) -> normalize -> optional MID-Net base transform -> randomized quantization ->
 * octrees of both clouds at the chosen depth. Pure functions of the inputs and the seed, no DOM.
 * The MID-Net view is the training pipeline's own `sampleClouds` (src/pipeline/sample.ts: base transform with
 * its clip, then RQ on the clipped points, the draws of `prepareSample` for that seed) on the shape turned
 * y-up as the datasets' loader turns it, shown back in the file's frame.
 */
import { parseShape, shapeToCloud } from '../../src/data/shape.ts';
import {
  applyNormalization,
  bboxNormalization,
  normalizeCloud,
  sphereNormalization,
  type Normalization,
  type NormalizeMode,
} from '../../src/data/normalize.ts';
import type { Mesh, PointCloud } from '../../src/data/pointcloud.ts';
import { randomizedQuantize, rqVariantOptions, type AxisQuantizer, type RqVariant } from '../../src/augment/randomized-quantization.ts';
import { fromYUp, toYUp, type UpAxis } from '../../src/data/up-axis.ts';
import { sampleClouds } from '../../src/pipeline/sample.ts';
import { buildOctree, type Octree } from '../../octree/octree.ts';
import { Rng } from '../../src/util/rng.ts';

/**
 * The default point budget: clouds bigger than the budget are shown as a random subset of that size (seeded),
 * and the panel says so ("showing N of M points"). Large enough for a scanned statue (Igea: 134,345 points);
 * the user can raise it up to MAX_POINT_BUDGET.
 */
export const DEFAULT_POINT_BUDGET = 200_000;
export const MAX_POINT_BUDGET = 5_000_000;
export const MESH_SAMPLES = 8000;

/** A parsed file as the viewer shows it: the cloud, the mesh it was sampled from (if any) and the point counts. */
export interface LoadedShape {
  cloud: PointCloud;
  /** The file's triangles in its own coordinates (meshes only), drawn shaded beside the samples. */
  mesh: Mesh | null;
  /** Points in the file (clouds) or samples drawn (meshes), before the budget. */
  total: number;
  /** Points shown: min(total, budget). */
  shown: number;
}

export interface QuantizeParams {
  bins: number;
  seed: number;
  variant: RqVariant;
  p: number;
  /** Apply MID-Net's pretraining base transform (rotate/scale/translate/clip) before RQ. */
  mid: boolean;
  normalize: Exclude<NormalizeMode, 'none'>;
  depth: number;
  /** The file's up axis (the view's up setting): the MID-Net view turns the shape y-up first, as training does. */
  up?: UpAxis;
}

export interface ViewData {
  /** The cloud before RQ (normalized, base-transformed when `mid`). */
  input: PointCloud;
  quantized: PointCloud;
  applied: boolean;
  /** The quantizer of each axis (x, y, z) when applied: bins and values, for picking. */
  axes: AxisQuantizer[];
  /** File coordinates -> the left view's (null with the MID-Net base transform, whose rotation the mesh does not follow). */
  normalization: Normalization | null;
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

/**
 * Parse a file's bytes and make a displayable cloud: meshes are sampled (and kept, to be drawn shaded), clouds
 * above `budget` points subsampled (labels of a sidecar file with them), normals estimated when missing.
 */
export function loadShape(bytes: Uint8Array, fileName: string, labels: Int32Array | null = null, budget = DEFAULT_POINT_BUDGET): LoadedShape {
  const shape = parseShape(bytes, fileName);
  const n = shape.cloud ? shape.cloud.points.length / 3 : 0;
  if (labels) {
    if (shape.mesh || labels.length !== n) {
      throw new Error(`${fileName}: label file has ${labels.length} labels for ${shape.mesh ? 'a mesh' : `${n} points`}`);
    }
    shape.cloud = { ...shape.cloud!, labels };
  }
  const total = shape.mesh ? MESH_SAMPLES : n;
  const shown = Math.min(total, Math.max(1, Math.floor(budget)));
  const cloud = shapeToCloud(shape, { sample: shown, normals: 'auto', seed: 0 });
  return { cloud, mesh: shape.mesh ?? null, total, shown };
}

/** The cloud of `loadShape`, for callers that need only that. */
export function loadCloud(bytes: Uint8Array, fileName: string, labels: Int32Array | null = null, budget = DEFAULT_POINT_BUDGET): PointCloud {
  return loadShape(bytes, fileName, labels, budget).cloud;
}

/** Integer labels, one per line (ShapeNet Part v0 `.seg`). */
export function parseLabelLines(text: string): Int32Array {
  const vals = text
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
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
  return buildOctree({ points: pc.points, normals: pc.normals, labels: pc.labels }, { depth, fullDepth: Math.min(depth, 2), bounds: 'clamp' });
}

/** The normalized cloud: the left view and the input of RQ without the MID-Net transform. */
export function prepareInput(base: PointCloud, q: Pick<QuantizeParams, 'normalize'>): PointCloud {
  return applyNormalization(base, viewNormalization(base, q));
}

/** normalizeCloud's transform, kept so the mesh can be put into the same frame as the points. */
function viewNormalization(base: PointCloud, q: Pick<QuantizeParams, 'normalize'>): Normalization {
  return q.normalize === 'bbox' ? bboxNormalization(base.points) : sphereNormalization(base.points);
}

/** A mesh's vertices in the frame of the left view. */
export function normalizeMesh(mesh: Mesh, t: Normalization): Float32Array {
  const v = mesh.vertices;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i += 3) {
    out[i] = (v[i]! - t.center[0]) * t.factor;
    out[i + 1] = (v[i + 1]! - t.center[1]) * t.factor;
    out[i + 2] = (v[i + 2]! - t.center[2]) * t.factor;
  }
  return out;
}

/**
 * The MID-Net view: the shape turned y-up and normalized to the bounding sphere (MID-Net's normalization, as
 * the runs load it), then exactly the training sample's clouds for this seed, mapped back to the file's frame.
 */
export function midSample(
  base: PointCloud,
  q: Pick<QuantizeParams, 'bins' | 'seed' | 'variant' | 'p' | 'up'>,
): { input: PointCloud; quantized: PointCloud; applied: boolean } {
  const up = q.up ?? 'y';
  const s = sampleClouds(normalizeCloud(toYUp(base, up), 'sphere'), { transform: 'midnet', rq: { bins: q.bins, variant: q.variant, p: q.p } }, q.seed);
  return { input: fromYUp(s.base, up), quantized: fromYUp(s.points, up), applied: s.params.rq?.applied ?? false };
}

export function computeView(base: PointCloud, q: QuantizeParams): ViewData {
  let input: PointCloud, quantized: PointCloud, applied: boolean;
  // The MID-Net view's quantizers are not kept by the training sample (only their ranges), and the mesh does
  // not follow its random rotation: picking then shows no bins, and no surface is drawn.
  let axes: AxisQuantizer[] = [];
  let normalization: Normalization | null = null;
  if (q.mid) {
    ({ input, quantized, applied } = midSample(base, q));
  } else {
    normalization = viewNormalization(base, q);
    input = applyNormalization(base, normalization);
    const rq = randomizedQuantize(input, new Rng(q.seed).fork('rq'), rqVariantOptions(q.variant, { bins: q.bins, p: q.p }));
    quantized = rq.cloud;
    applied = rq.applied;
    axes = rq.axes;
  }
  const inputOctree = cloudOctree(input, q.depth);
  const quantizedOctree = cloudOctree(quantized, q.depth);
  return {
    input,
    quantized,
    applied,
    axes,
    normalization,
    inputOctree,
    quantizedOctree,
    stats: {
      points: input.points.length / 3,
      distinctInput: distinctPerAxis(input.points),
      distinctQuantized: distinctPerAxis(quantized.points),
      leavesInput: inputOctree.nnumNempty[q.depth]!,
      leavesQuantized: quantizedOctree.nnumNempty[q.depth]!,
      depth: q.depth,
    },
  };
}
