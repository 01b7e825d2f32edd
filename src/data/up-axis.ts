/**
 * The up axis of a dataset, and the one rotation that makes a shape y-up. MID-Net rotates shapes about y
 * (ShapeNet's up axis, anchor-spec §3.2), so every dataset is turned y-up once when it is loaded; a z-up source
 * (ModelNet's meshes) would otherwise be tipped over by the ±180° augmentation. The rotations are signed axis
 * permutations with determinant +1 (right-handed): '+z' is O-CNN's and ocnn-pytorch's y-up remap
 * (x, y, z) → (y, z, x) (anchor-spec §5.2). Node-free (the viewer bundles it).
 */
import { clonePointCloud, type PointCloud } from './pointcloud.ts';

export const UP_AXES = ['x', 'y', 'z', '+x', '+y', '+z', '-x', '-y', '-z'] as const;
export type UpAxis = (typeof UP_AXES)[number];

export function isUpAxis(v: unknown): v is UpAxis {
  return typeof v === 'string' && (UP_AXES as readonly string[]).includes(v);
}

/** One spelling per direction ('z' and '+z' are the same axis), for cache keys and comparisons. */
export function signedUpAxis(up: UpAxis): '+x' | '+y' | '+z' | '-x' | '-y' | '-z' {
  return (up.length === 1 ? `+${up}` : up) as '+x' | '+y' | '+z' | '-x' | '-y' | '-z';
}

/**
 * Row-major 3×3 rotation R with R·up = +y: '+x' (x,y,z) → (z,x,y), '+z' → (y,z,x), '-y' → (x,−y,−z),
 * '-x' → (z,−x,−y), '-z' → (y,−z,−x); '+y' is the identity.
 */
export function upRotation(up: UpAxis): Float64Array {
  switch (signedUpAxis(up)) {
    case '+y':
      return new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    case '+z':
      return new Float64Array([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    case '+x':
      return new Float64Array([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    case '-y':
      return new Float64Array([1, 0, 0, 0, -1, 0, 0, 0, -1]);
    case '-z':
      return new Float64Array([0, 1, 0, 0, 0, -1, -1, 0, 0]);
    case '-x':
      return new Float64Array([0, 0, 1, -1, 0, 0, 0, -1, 0]);
  }
}

function apply(src: Float32Array, m: Float64Array, transpose: boolean): Float32Array {
  const out = new Float32Array(src.length);
  // entries are 0 / ±1, so the products are exact: the rotation and its inverse round-trip bit for bit
  const at = (r: number, c: number): number => (transpose ? m[3 * c + r]! : m[3 * r + c]!);
  for (let i = 0; i < src.length; i += 3) {
    const x = src[i]!,
      y = src[i + 1]!,
      z = src[i + 2]!;
    out[i] = at(0, 0) * x + at(0, 1) * y + at(0, 2) * z;
    out[i + 1] = at(1, 0) * x + at(1, 1) * y + at(1, 2) * z;
    out[i + 2] = at(2, 0) * x + at(2, 1) * y + at(2, 2) * z;
  }
  return out;
}

function rotateBy(pc: PointCloud, up: UpAxis, inverse: boolean): PointCloud {
  const out = clonePointCloud(pc);
  if (signedUpAxis(up) === '+y') return out;
  const m = upRotation(up);
  out.points = apply(pc.points, m, inverse);
  out.normals = pc.normals ? apply(pc.normals, m, inverse) : null;
  return out;
}

/** A cloud whose up axis is `up`, turned y-up (points and normals; labels and features ride along). */
export function toYUp(pc: PointCloud, up: UpAxis): PointCloud {
  return rotateBy(pc, up, false);
}

/** The inverse of `toYUp`: a y-up cloud back in the frame whose up axis is `up`. */
export function fromYUp(pc: PointCloud, up: UpAxis): PointCloud {
  return rotateBy(pc, up, true);
}

/** Map one vector (a centre, a bbox corner) from y-up back to the source frame. */
export function vectorFromYUp(v: readonly [number, number, number], up: UpAxis): [number, number, number] {
  const m = upRotation(up);
  return [0, 1, 2].map((c) => m[c]! * v[0] + m[3 + c]! * v[1] + m[6 + c]! * v[2]) as [number, number, number];
}
