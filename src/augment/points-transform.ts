/**
 * Primitive rigid/affine transforms and clipping of a `PointCloud`, with the semantics of ocnn-pytorch's
 * `Points` (anchor-spec §2.2) and of O-CNN's C++ `PointsParser` for the MID-Net clip (§3.2).
 * Every function is pure: it returns a new cloud and never mutates its argument.
 */
import { clonePointCloud, selectPoints, type PointCloud } from '../data/pointcloud.ts';

export type Vec3 = readonly [number, number, number];
export type Axis = 'x' | 'y' | 'z';
export type NormalOrientation = 'x' | 'y' | 'z' | 'xyz';

/** Row-major 3x3 matrix Rz·Ry·Rx for angles in radians (right-handed, active rotation of column vectors). */
export function rotationMatrix(angles: Vec3): Float64Array {
  const [ax, ay, az] = angles;
  const cx = Math.cos(ax),
    sx = Math.sin(ax);
  const cy = Math.cos(ay),
    sy = Math.sin(ay);
  const cz = Math.cos(az),
    sz = Math.sin(az);
  // Rz·Ry·Rx expanded once, so that tests can compare against explicit products.
  return new Float64Array([
    cz * cy,
    cz * sy * sx - sz * cx,
    cz * sy * cx + sz * sx,
    sz * cy,
    sz * sy * sx + cz * cx,
    sz * sy * cx - cz * sx,
    -sy,
    cy * sx,
    cy * cx,
  ]);
}

function applyMatrix(src: Float32Array, m: Float64Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    const x = src[i]!,
      y = src[i + 1]!,
      z = src[i + 2]!;
    out[i] = m[0]! * x + m[1]! * y + m[2]! * z;
    out[i + 1] = m[3]! * x + m[4]! * y + m[5]! * z;
    out[i + 2] = m[6]! * x + m[7]! * y + m[8]! * z;
  }
  return out;
}

/** Rotate points and normals by p' = Rz·Ry·Rx·p (angles in radians). +90° about x maps (x,y,z) to (x,−z,y). */
export function rotate(pc: PointCloud, angles: Vec3): PointCloud {
  const m = rotationMatrix(angles);
  return {
    ...clonePointCloud(pc),
    points: applyMatrix(pc.points, m),
    normals: pc.normals ? applyMatrix(pc.normals, m) : null,
  };
}

/** Normalize each normal to unit length in place; zero normals stay zero. */
export function renormalize(normals: Float32Array): void {
  for (let i = 0; i < normals.length; i += 3) {
    const x = normals[i]!,
      y = normals[i + 1]!,
      z = normals[i + 2]!;
    const len = Math.sqrt(x * x + y * y + z * z);
    if (len > 0) {
      normals[i] = x / len;
      normals[i + 1] = y / len;
      normals[i + 2] = z / len;
    }
  }
}

/**
 * Scale points by s per axis. An anisotropic scale maps normals by the inverse transpose, i.e. ×1/s, then
 * renormalizes them; a uniform scale leaves normals alone. As in O-CNN, a scale with a zero component is a no-op.
 */
export function scale(pc: PointCloud, s: Vec3 | number): PointCloud {
  const sv: Vec3 = typeof s === 'number' ? [s, s, s] : s;
  const out = clonePointCloud(pc);
  if (sv[0] === 0 || sv[1] === 0 || sv[2] === 0) return out;
  for (let i = 0; i < out.points.length; i += 3) {
    out.points[i] = out.points[i]! * sv[0];
    out.points[i + 1] = out.points[i + 1]! * sv[1];
    out.points[i + 2] = out.points[i + 2]! * sv[2];
  }
  const uniform = sv[0] === sv[1] && sv[0] === sv[2];
  if (out.normals && !uniform) {
    const inv = [1 / sv[0], 1 / sv[1], 1 / sv[2]] as const;
    for (let i = 0; i < out.normals.length; i += 3) {
      out.normals[i] = out.normals[i]! * inv[0];
      out.normals[i + 1] = out.normals[i + 1]! * inv[1];
      out.normals[i + 2] = out.normals[i + 2]! * inv[2];
    }
    renormalize(out.normals);
  }
  return out;
}

export function translate(pc: PointCloud, d: Vec3): PointCloud {
  const out = clonePointCloud(pc);
  for (let i = 0; i < out.points.length; i += 3) {
    out.points[i] = out.points[i]! + d[0];
    out.points[i + 1] = out.points[i + 1]! + d[1];
    out.points[i + 2] = out.points[i + 2]! + d[2];
  }
  return out;
}

/** Mirror along the listed axes: negate that coordinate and the matching normal component. */
export function flip(pc: PointCloud, axes: readonly Axis[] | readonly [boolean, boolean, boolean]): PointCloud {
  const mask = [false, false, false];
  for (let a = 0; a < axes.length; a++) {
    const v = axes[a];
    if (typeof v === 'boolean') mask[a] = v;
    else if (v !== undefined) mask['xyz'.indexOf(v)] = true;
  }
  const out = clonePointCloud(pc);
  for (let a = 0; a < 3; a++) {
    if (!mask[a]) continue;
    for (let i = a; i < out.points.length; i += 3) out.points[i] = -out.points[i]!;
    if (out.normals) for (let i = a; i < out.normals.length; i += 3) out.normals[i] = -out.normals[i]!;
  }
  return out;
}

/**
 * Make normals point to the positive side of an axis: 'x'|'y'|'z' flips a whole normal whose component on
 * that axis is negative; 'xyz' takes the absolute value of every component (ocnn's definition).
 */
export function orientNormal(pc: PointCloud, axis: NormalOrientation): PointCloud {
  const out = clonePointCloud(pc);
  const n = out.normals;
  if (!n) return out;
  if (axis === 'xyz') {
    for (let i = 0; i < n.length; i++) n[i] = Math.abs(n[i]!);
    return out;
  }
  const j = 'xyz'.indexOf(axis);
  for (let i = 0; i < n.length; i += 3) {
    if (n[i + j]! < 0) {
      n[i] = -n[i]!;
      n[i + 1] = -n[i + 1]!;
      n[i + 2] = -n[i + 2]!;
    }
  }
  return out;
}

/** Indices of the points strictly inside the open box (lo, hi) on every axis. */
export function insideBoxIndices(points: Float32Array, lo: Vec3, hi: Vec3): Int32Array {
  const keep: number[] = [];
  for (let i = 0, p = 0; i < points.length; i += 3, p++) {
    const x = points[i]!,
      y = points[i + 1]!,
      z = points[i + 2]!;
    if (lo[0] < x && x < hi[0] && lo[1] < y && y < hi[1] && lo[2] < z && z < hi[2]) keep.push(p);
  }
  return Int32Array.from(keep);
}

/**
 * ocnn-pytorch `Points.clip`: keep the points strictly inside (min+esp, max−esp) on every axis, slicing every
 * attribute. The result may be empty.
 */
export function clip(pc: PointCloud, min = -1, max = 1, esp = 0.01): PointCloud {
  const lo = min + esp,
    hi = max - esp;
  return selectPoints(pc, insideBoxIndices(pc.points, [lo, lo, lo], [hi, hi, hi]));
}

/**
 * O-CNN C++ `PointsParser::clip` as used by MID-Net: keep the points strictly inside (bbmin, bbmax) (default
 * (−1,1)^3). If none remain, keep the first point (with its normal/label/features) moved to bbmin, so that an
 * octree can still be built from the shape.
 */
export function clipMid(pc: PointCloud, bbmin: Vec3 = [-1, -1, -1], bbmax: Vec3 = [1, 1, 1]): PointCloud {
  const keep = insideBoxIndices(pc.points, bbmin, bbmax);
  if (keep.length > 0 || pc.points.length === 0) return selectPoints(pc, keep);
  const out = selectPoints(pc, [0]);
  out.points[0] = bbmin[0];
  out.points[1] = bbmin[1];
  out.points[2] = bbmin[2];
  return out;
}
