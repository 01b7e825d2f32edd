/**
 * Assemble a shape from labelled, placed primitives and sample its surface: the points are spread across all
 * primitives by area, so a thin leg gets few points and a large seat many, as in a scanned or mesh-sampled
 * shape.
 */
import { makePointCloud, type PointCloud } from '../pointcloud.ts';
import { rotationMatrix } from '../../augment/points-transform.ts';
import type { Rng } from '../../util/rng.ts';
import { makeSampler, type PrimitiveSpec, type SurfaceSampler } from './primitives.ts';

export type V3 = readonly [number, number, number];

/** Row-major Rz·Ry·Rx for angles in radians: the augmentations' rotation, under the name the shape recipes use. */
export const euler: (angles: V3) => Float64Array = rotationMatrix;

export function matMul(a: Float64Array, b: Float64Array): Float64Array {
  const c = new Float64Array(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      c[3 * i + j] = a[3 * i]! * b[j]! + a[3 * i + 1]! * b[3 + j]! + a[3 * i + 2]! * b[6 + j]!;
    }
  return c;
}

export function applyRot(m: Float64Array, v: V3): [number, number, number] {
  return [m[0]! * v[0] + m[1]! * v[1] + m[2]! * v[2], m[3]! * v[0] + m[4]! * v[1] + m[5]! * v[2], m[6]! * v[0] + m[7]! * v[1] + m[8]! * v[2]];
}

export interface Placement {
  /** Where the primitive's local origin goes. */
  at?: V3;
  /** Euler angles (radians, Rz·Ry·Rx) or a rotation matrix. */
  rot?: V3 | Float64Array;
}

export interface PlacedPrimitive {
  label: number;
  spec: PrimitiveSpec;
  sampler: SurfaceSampler;
  rot: Float64Array;
  at: V3;
}

export interface SampleOptions {
  points: number;
  /** Largest half-extent of the bounding box after normalization. */
  halfExtent?: number;
  /** Rotate the whole shape by a random angle about y before normalizing. */
  randomYRotation?: boolean;
}

const IDENTITY = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);

export class ShapeBuilder {
  readonly parts: PlacedPrimitive[] = [];

  add(label: number, spec: PrimitiveSpec, place: Placement = {}): this {
    const rot = place.rot === undefined ? IDENTITY : place.rot instanceof Float64Array ? place.rot : euler(place.rot);
    this.parts.push({ label, spec, sampler: makeSampler(spec), rot, at: place.at ?? [0, 0, 0] });
    return this;
  }

  /**
   * Sample `points` surface points (each primitive chosen with probability ∝ its area), then centre the
   * bounding box at 0 and scale uniformly so that its largest half-extent is `halfExtent` (default 0.9).
   */
  sample(rng: Rng, opts: SampleOptions): PointCloud {
    const n = opts.points;
    const cum = new Float64Array(this.parts.length);
    let total = 0;
    this.parts.forEach((p, i) => {
      total += p.sampler.area;
      cum[i] = total;
    });
    const points = new Float32Array(3 * n);
    const normals = new Float32Array(3 * n);
    const labels = new Int32Array(n);
    const tmp = new Float64Array(6);
    const pos = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      const u = rng.uniform() * total;
      let lo = 0,
        hi = cum.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cum[mid]! > u) hi = mid;
        else lo = mid + 1;
      }
      const part = this.parts[lo]!;
      part.sampler.sample(rng, tmp);
      const p = applyRot(part.rot, [tmp[0]!, tmp[1]!, tmp[2]!]);
      const q = [p[0] + part.at[0], p[1] + part.at[1], p[2] + part.at[2]];
      const nn = applyRot(part.rot, [tmp[3]!, tmp[4]!, tmp[5]!]);
      pos[3 * i] = q[0];
      pos[3 * i + 1] = q[1];
      pos[3 * i + 2] = q[2];
      normals[3 * i] = nn[0];
      normals[3 * i + 1] = nn[1];
      normals[3 * i + 2] = nn[2];
      labels[i] = part.label;
    }
    // drawn after sampling, so that switching the rotation on changes nothing else about the shape
    if (opts.randomYRotation) {
      const m = euler([0, rng.range(-Math.PI, Math.PI), 0]);
      for (let i = 0; i < 3 * n; i += 3) {
        const q = applyRot(m, [pos[i]!, pos[i + 1]!, pos[i + 2]!]);
        pos[i] = q[0];
        pos[i + 1] = q[1];
        pos[i + 2] = q[2];
        const nn = applyRot(m, [normals[i]!, normals[i + 1]!, normals[i + 2]!]);
        normals[i] = nn[0];
        normals[i + 1] = nn[1];
        normals[i + 2] = nn[2];
      }
    }
    const min = [Infinity, Infinity, Infinity],
      max = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < 3 * n; i++) {
      const a = i % 3;
      if (pos[i]! < min[a]!) min[a] = pos[i]!;
      if (pos[i]! > max[a]!) max[a] = pos[i]!;
    }
    const half = Math.max(max[0]! - min[0]!, max[1]! - min[1]!, max[2]! - min[2]!) / 2;
    const s = (opts.halfExtent ?? 0.9) / (half > 0 ? half : 1);
    for (let i = 0; i < 3 * n; i++) {
      const a = i % 3;
      points[i] = (pos[i]! - (min[a]! + max[a]!) / 2) * s;
    }
    return makePointCloud(points, { normals, labels });
  }
}
