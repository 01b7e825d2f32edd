/**
 * One training sample, CPU side (DESIGN.md "The data flow of one training step", docs/pipeline.md):
 * base transform (rotate, translate, scale, clip to the octree box) → randomized quantization of the clipped
 * points (its per-axis lo / hi are theirs) → octree. This is the order of the paper (RQ after MID-Net's base
 * augmentations, clip included): quantizing before the clip would span bins over points that the clip then
 * drops, and RQ's clamp to the box would flatten the points pushed past +1 into a wall on the box face.
 * Every random draw comes from the per-shape seed, so a sample is the same whichever worker (or the main
 * thread) builds it. Node-free: the viewer bundles this module for the browser.
 */
import { buildOctree, checkDepths, type Octree } from '../../octree/index.ts';
import type { PointCloud } from '../data/pointcloud.ts';
import { Rng } from '../util/rng.ts';
import { MID_FINETUNE, MID_PRETRAIN, drawMidParams, applyMidParams, type MidTransformParams } from '../augment/midnet-transform.ts';
import { isRqVariant, randomizedQuantize, rqVariantOptions, RQ_VARIANT_NAMES, type RqVariant } from '../augment/randomized-quantization.ts';
import { clipMid } from '../augment/points-transform.ts';

/** 'midnet': MID-Net pretraining base transform; 'finetune': MID-Net's downstream transform; 'none'. */
export type SampleTransform = 'midnet' | 'finetune' | 'none';

export interface RqSpec {
  bins: number;
  variant: RqVariant;
  /** Probability that a shape is quantized. */
  p: number;
}

export interface SampleSpec {
  depth: number;
  fullDepth: number;
  transform: SampleTransform;
  rq: RqSpec | null;
  /** Input feature letters of the octree (ocnn: N, D, L, P, F), e.g. 'ND'. */
  features: string;
  /** Input features on all rows of the finest depth (false, MID-Net/ocnn default) or non-empty rows only. */
  nempty: boolean;
}

/** What was drawn for one sample (plain data: it crosses worker boundaries by structured clone). */
export interface SampleParams {
  seed: number;
  transform: MidTransformParams | null;
  /** Null when the spec has no RQ; applied = false when the Bernoulli(p) draw skipped the shape. */
  rq: { applied: boolean; lo: number[]; hi: number[] } | null;
  /** Points of the input cloud / kept by the clip to the octree box (RQ keeps every point). */
  pointsIn: number;
  pointsKept: number;
}

/** The clouds of one sample, before the octree (shared by the training pipeline, `rq3d sample` and the viewer). */
export interface SampleClouds {
  /** After the base transform and the clip (the input of RQ); the input cloud clipped when the transform is 'none'. */
  base: PointCloud;
  /** What the octree is built from: `base` quantized, or `base` itself without RQ (or when p skipped the shape). */
  points: PointCloud;
  params: SampleParams;
}

export interface PreparedSample {
  octree: Octree;
  /** The cloud the octree was built from (transformed, clipped, quantized): octree.pointToLeaf indexes it. */
  points: PointCloud;
  params: SampleParams;
}

export class SampleSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SampleSpecError';
  }
}

export function checkSampleSpec(spec: SampleSpec): void {
  checkDepths(spec.depth, spec.fullDepth);
  if (!['midnet', 'finetune', 'none'].includes(spec.transform)) {
    throw new SampleSpecError(`transform must be midnet, finetune or none, got '${String(spec.transform)}'`);
  }
  if (spec.rq) {
    const { bins, variant, p } = spec.rq;
    if (!Number.isInteger(bins) || bins < 1) throw new SampleSpecError(`rq.bins must be an integer >= 1, got ${bins}`);
    if (!isRqVariant(variant)) throw new SampleSpecError(`rq.variant must be one of ${RQ_VARIANT_NAMES.join(', ')}, got '${String(variant)}'`);
    if (!(p >= 0 && p <= 1)) throw new SampleSpecError(`rq.p must be in [0, 1], got ${p}`);
  }
  if (!/^[NDLPF]+$/i.test(spec.features)) {
    throw new SampleSpecError(`features must be ocnn letters among N, D, L, P, F (e.g. 'ND'), got '${spec.features}'`);
  }
}

/**
 * The clouds of one sample: transform + clip, then RQ. The transform and RQ draw from separate forks of the
 * seed's generator, so switching RQ on or off does not change the transform a shape gets. Every attribute
 * (normals, labels such as cluster ids, features) is sliced with the points by the clip and left alone by RQ.
 */
export function sampleClouds(cloud: PointCloud, spec: Pick<SampleSpec, 'transform' | 'rq'>, seed: number): SampleClouds {
  const rng = new Rng(seed);
  const transformRng = rng.fork('transform');
  const rqRng = rng.fork('rq');
  let transform: MidTransformParams | null = null;
  let base: PointCloud;
  if (spec.transform !== 'none') {
    transform = drawMidParams(transformRng, spec.transform === 'midnet' ? MID_PRETRAIN : MID_FINETUNE);
    base = applyMidParams(cloud, transform, true);
  } else {
    base = clipMid(cloud);
  }
  let points = base;
  let rq: SampleParams['rq'] = null;
  if (spec.rq) {
    // lo / hi are the clipped points' range, so every bin lies inside the box; RQ's clamp to [-1, 1-ulp] is
    // left only for the last value's documented 1e-6 overshoot past hi.
    const r = randomizedQuantize(base, rqRng, rqVariantOptions(spec.rq.variant, { bins: spec.rq.bins, p: spec.rq.p }));
    points = r.cloud;
    rq = { applied: r.applied, lo: r.axes.map((a) => a.lo), hi: r.axes.map((a) => a.hi) };
  }
  return { base, points, params: { seed, transform, rq, pointsIn: cloud.points.length / 3, pointsKept: points.points.length / 3 } };
}

/** Build one sample: `sampleClouds`, then the octree of its points. */
export function prepareSample(cloud: PointCloud, spec: SampleSpec, seed: number): PreparedSample {
  const { points, params } = sampleClouds(cloud, spec, seed);
  const octree = buildOctree(points, { depth: spec.depth, fullDepth: spec.fullDepth, bounds: 'clamp' });
  return { octree, points, params };
}

/** The seed of shape `index` in `epoch` of a run seeded with `runSeed` (independent of batching and workers). */
export function sampleSeed(runSeed: number, epoch: number, index: number): number {
  let h = (runSeed >>> 0) ^ 0x9e3779b9;
  for (const v of [epoch, index]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
