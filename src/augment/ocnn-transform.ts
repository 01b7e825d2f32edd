/**
 * ocnn-pytorch's training-time point transform (`ocnn/dataset.py` `Transform`, anchor-spec §2.3):
 * flip → rotate → translate → scale → orient normals → clip to (−0.99, 0.99)^3.
 * Unlike MID-Net's TF pipeline, the angle steps are drawn from an inclusive range and the translation is
 * U[−jitter, jitter) (not doubled).
 */
import type { PointCloud } from '../data/pointcloud.ts';
import type { Rng } from '../util/rng.ts';
import { clip, flip, orientNormal, rotate, scale, translate, type NormalOrientation, type Vec3 } from './points-transform.ts';

export interface OcnnTransformOptions {
  /** Apply the random flip/rotate/translate/scale; orientation and clipping happen regardless. */
  distort: boolean;
  /** Largest rotation per axis in degrees. */
  angle: Vec3;
  /** Rotation step per axis in degrees; angle_i = randint[−⌊a_i/interval_i⌋, ⌊a_i/interval_i⌋]·interval_i. */
  interval: Vec3;
  /** s_i ~ U[1−scale, 1+scale). */
  scale: number;
  /** Same scale on every axis (copied from x). */
  uniform: boolean;
  /** t_i ~ U[−jitter, jitter). */
  jitter: number;
  /** Probability of mirroring each axis. */
  flip: Vec3;
  /** Normal orientation after the distortion, or null for none. */
  orientNormal: NormalOrientation | null;
}

export const OCNN_DEFAULTS: Readonly<OcnnTransformOptions> = Object.freeze({
  distort: true,
  angle: [180, 180, 180] as Vec3,
  interval: [1, 1, 1] as Vec3,
  scale: 0.25,
  uniform: false,
  jitter: 0.25,
  flip: [0, 0, 0] as Vec3,
  orientNormal: null,
});

export interface OcnnTransformParams {
  flip: [boolean, boolean, boolean];
  /** Radians. */
  angles: [number, number, number];
  translation: [number, number, number];
  scale: [number, number, number];
}

/** Draw order: three angles, three scales (one when uniform), three translations, three flips. */
export function drawOcnnParams(rng: Rng, o: OcnnTransformOptions): OcnnTransformParams {
  const angles = [0, 1, 2].map((i) => {
    const m = o.interval[i]! > 0 ? Math.floor(o.angle[i]! / o.interval[i]!) : 0;
    return (rng.int(-m, m) * o.interval[i]! * Math.PI) / 180;
  }) as [number, number, number];
  const sx = rng.range(1 - o.scale, 1 + o.scale);
  const s: [number, number, number] = o.uniform ? [sx, sx, sx] : [sx, rng.range(1 - o.scale, 1 + o.scale), rng.range(1 - o.scale, 1 + o.scale)];
  const t = [0, 1, 2].map(() => rng.range(-o.jitter, o.jitter)) as [number, number, number];
  const f = [0, 1, 2].map((i) => rng.uniform() < o.flip[i]!) as [boolean, boolean, boolean];
  return { flip: f, angles, translation: t, scale: s };
}

export function ocnnTransform(
  pc: PointCloud,
  rng: Rng,
  options: Partial<OcnnTransformOptions> = {},
): { cloud: PointCloud; params: OcnnTransformParams | null } {
  const o: OcnnTransformOptions = { ...OCNN_DEFAULTS, ...options };
  let out = pc;
  let params: OcnnTransformParams | null = null;
  if (o.distort) {
    params = drawOcnnParams(rng, o);
    out = flip(out, params.flip);
    out = rotate(out, params.angles);
    out = translate(out, params.translation);
    out = scale(out, params.scale);
  }
  if (o.orientNormal) out = orientNormal(out, o.orientNormal);
  return { cloud: clip(out, -1, 1, 0.01), params };
}
