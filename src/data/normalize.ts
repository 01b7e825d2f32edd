import { UserError } from '../util/errors.ts';
import { boundingBox, clonePointCloud, type PointCloud } from './pointcloud.ts';

/**
 * Put a shape into the octree's box. `bbox` (ocnn-pytorch): bounding-box center to the origin, largest half
 * extent to `scale` (1 gives [-1, 1]; ShapeNet Part uses 0.8). `sphere` (O-CNN TF / MID-Net): the bounding
 * sphere's center to the origin and its radius to `scale`. Normals are unchanged: both maps are a
 * translation plus a uniform scale.
 */
export type NormalizeMode = 'bbox' | 'sphere' | 'none';

export interface Normalization {
  center: [number, number, number];
  /** Multiplier applied after centering. */
  factor: number;
}

export function bboxNormalization(points: Float32Array, scale = 1): Normalization {
  const { min, max } = boundingBox(points);
  const center: [number, number, number] = [(min[0] + max[0]) / 2, (min[1] + max[1]) / 2, (min[2] + max[2]) / 2];
  const half = Math.max(max[0] - min[0], max[1] - min[1], max[2] - min[2]) / 2;
  return { center, factor: half > 0 && Number.isFinite(half) ? scale / half : 1 };
}

/**
 * Ritter's bounding sphere: start from the segment between two far-apart points and grow the ball just
 * enough for every point outside it. Every point ends inside; the radius is within a few percent of the
 * minimal enclosing ball for typical shapes.
 */
export function boundingSphere(points: Float32Array): { center: [number, number, number]; radius: number } {
  const n = points.length / 3;
  if (n === 0) return { center: [0, 0, 0], radius: 0 };
  const far = (from: number): number => {
    let best = from,
      bd = -1;
    for (let i = 0; i < n; i++) {
      const d =
        (points[3 * i]! - points[3 * from]!) ** 2 + (points[3 * i + 1]! - points[3 * from + 1]!) ** 2 + (points[3 * i + 2]! - points[3 * from + 2]!) ** 2;
      if (d > bd) {
        bd = d;
        best = i;
      }
    }
    return best;
  };
  const y = far(0);
  const z = far(y);
  let cx = (points[3 * y]! + points[3 * z]!) / 2,
    cy = (points[3 * y + 1]! + points[3 * z + 1]!) / 2,
    cz = (points[3 * y + 2]! + points[3 * z + 2]!) / 2;
  let r = Math.hypot(points[3 * y]! - cx, points[3 * y + 1]! - cy, points[3 * y + 2]! - cz);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < n; i++) {
      const dx = points[3 * i]! - cx,
        dy = points[3 * i + 1]! - cy,
        dz = points[3 * i + 2]! - cz;
      const d = Math.hypot(dx, dy, dz);
      if (d > r) {
        const nr = (r + d) / 2;
        const t = (nr - r) / d;
        cx += dx * t;
        cy += dy * t;
        cz += dz * t;
        r = nr;
      }
    }
  }
  // Float rounding can leave a point a hair outside; grow by the largest excess.
  let maxD = 0;
  for (let i = 0; i < n; i++) maxD = Math.max(maxD, Math.hypot(points[3 * i]! - cx, points[3 * i + 1]! - cy, points[3 * i + 2]! - cz));
  return { center: [cx, cy, cz], radius: Math.max(r, maxD) };
}

export function sphereNormalization(points: Float32Array, scale = 1): Normalization {
  const { center, radius } = boundingSphere(points);
  return { center, factor: radius > 0 ? scale / radius : 1 };
}

export function applyNormalization(pc: PointCloud, t: Normalization): PointCloud {
  const out = clonePointCloud(pc);
  const p = out.points;
  for (let i = 0; i < p.length; i += 3) {
    p[i] = (p[i]! - t.center[0]) * t.factor;
    p[i + 1] = (p[i + 1]! - t.center[1]) * t.factor;
    p[i + 2] = (p[i + 2]! - t.center[2]) * t.factor;
  }
  return out;
}

export function normalizeCloud(pc: PointCloud, mode: NormalizeMode, scale = 1): PointCloud {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new UserError(`normalization scale must be positive, got ${scale}`);
  if (mode === 'none') return pc;
  return applyNormalization(pc, normalizationOf(pc.points, mode, scale));
}

/** The map `normalizeCloud` applies (so that a caller can undo it: input = centre + normalized / factor). */
export function normalizationOf(points: Float32Array, mode: Exclude<NormalizeMode, 'none'>, scale = 1): Normalization {
  return mode === 'bbox' ? bboxNormalization(points, scale) : sphereNormalization(points, scale);
}
