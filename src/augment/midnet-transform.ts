/**
 * MID-Net's per-sample base augmentation (O-CNN TF `transform_points` with distort on; anchor-spec §3.2):
 * rotate about y by an integer number of degrees → translate → scale (which also scales the translation) →
 * clip to the open box (−1,1)^3, keeping one point at bbmin if nothing survives.
 * The input is expected to be normalized into the unit ball already (bounding sphere, radius 1).
 */
import type { PointCloud } from '../data/pointcloud.ts';
import type { Rng } from '../util/rng.ts';
import { clipMid, rotate, scale, translate, type Vec3 } from './points-transform.ts';

export interface MidTransformOptions {
  /** Largest rotation in degrees; with interval i, k is drawn from the integers [−⌊angle/i⌋, ⌊angle/i⌋). */
  angle: number;
  /** Rotation step in degrees. */
  interval: number;
  /** Axes the rotation may use; MID-Net uses 'y' only (the other two angles are zero). */
  axis: 'x' | 'y' | 'z' | 'xyz';
  /** s_i ~ U[1−scale, 1+scale). */
  scale: number;
  /** t_i ~ U[−jitter, jitter)·2r with r = 1 (the bounding-sphere radius after normalization). */
  jitter: number;
  /** One scale factor for all axes (copied from x) instead of one per axis. */
  uniform: boolean;
  /** Clip to the open box (−1,1)^3 at the end. */
  clip: boolean;
}

/** MID-Net pretraining (config mid_hrnet_d6.yaml): angle 180, interval 1, scale 0.25, jitter 0.25, anisotropic. */
export const MID_PRETRAIN: Readonly<MidTransformOptions> = Object.freeze({
  angle: 180,
  interval: 1,
  axis: 'y',
  scale: 0.25,
  jitter: 0.25,
  uniform: false,
  clip: true,
});

/** MID-Net downstream fine-tuning: y-rotation k ∈ [−5,5)°, uniform scale U[0.75,1.25), translation ±0.25. */
export const MID_FINETUNE: Readonly<MidTransformOptions> = Object.freeze({
  angle: 5,
  interval: 1,
  axis: 'y',
  scale: 0.25,
  jitter: 0.125,
  uniform: true,
  clip: true,
});

export interface MidTransformParams {
  /** Radians about x, y, z (applied as Rz·Ry·Rx). */
  angles: [number, number, number];
  /** Integer step counts that gave the angles (angle = k·interval degrees). */
  steps: [number, number, number];
  translation: [number, number, number];
  scale: [number, number, number];
}

export interface MidTransformResult {
  cloud: PointCloud;
  params: MidTransformParams;
}

/**
 * Draw the random parameters. Order of draws (fixed, for reproducibility): three angle steps (x, y, z; an
 * axis not allowed draws nothing), three scales (x, y, z; with `uniform` only x is drawn), three translations.
 */
export function drawMidParams(rng: Rng, opts: MidTransformOptions): MidTransformParams {
  const m = Math.floor(opts.angle / opts.interval);
  const allowed = [opts.axis === 'x' || opts.axis === 'xyz', opts.axis === 'y' || opts.axis === 'xyz', opts.axis === 'z' || opts.axis === 'xyz'];
  // TF's integer uniform excludes the upper bound, unlike ocnn-pytorch's randint.
  const steps = allowed.map((a) => (a && m > 0 ? rng.int(-m, m - 1) : 0)) as [number, number, number];
  const angles = steps.map((k) => (k * opts.interval * Math.PI) / 180) as [number, number, number];
  const sx = rng.range(1 - opts.scale, 1 + opts.scale);
  const s: [number, number, number] = opts.uniform ? [sx, sx, sx] : [sx, rng.range(1 - opts.scale, 1 + opts.scale), rng.range(1 - opts.scale, 1 + opts.scale)];
  const t = [0, 1, 2].map(() => rng.range(-opts.jitter, opts.jitter) * 2) as [number, number, number];
  return { angles, steps, translation: t, scale: s };
}

/** Apply given parameters in MID-Net's order: rotate → translate → scale → clip. */
export function applyMidParams(pc: PointCloud, p: MidTransformParams, clipToBox = true): PointCloud {
  let out = rotate(pc, p.angles);
  out = translate(out, p.translation);
  out = scale(out, p.scale as Vec3);
  return clipToBox ? clipMid(out) : out;
}

export function midTransform(pc: PointCloud, rng: Rng, options: Partial<MidTransformOptions> = {}): MidTransformResult {
  const opts: MidTransformOptions = { ...MID_PRETRAIN, ...options };
  const params = drawMidParams(rng, opts);
  return { cloud: applyMidParams(pc, params, opts.clip), params };
}
