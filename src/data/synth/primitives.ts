/**
 * Analytic surface primitives for the synthetic shapes. Each samples points uniformly by area on its surface,
 * with the exact outward unit normal, in a local frame whose symmetry axis is y and whose centre is the origin.
 */
import type { Rng } from '../../util/rng.ts';

export type CapMode = 'both' | 'top' | 'bottom' | 'none';

export type PrimitiveSpec =
  /** Full extents along x, y, z. */
  | { kind: 'box'; size: readonly [number, number, number] }
  | { kind: 'sphere'; radius: number }
  | { kind: 'ellipsoid'; radii: readonly [number, number, number] }
  /** Axis y, from −height/2 to +height/2. */
  | { kind: 'cylinder'; radius: number; height: number; caps?: CapMode }
  /** Frustum (a cone when one radius is 0), axis y, bottom at −height/2. */
  | { kind: 'cone'; radiusBottom: number; radiusTop: number; height: number; caps?: CapMode }
  /** Cylinder of the given height with hemispherical ends (total length height + 2·radius). */
  | { kind: 'capsule'; radius: number; height: number }
  /** Ring around the y axis in the xz plane; `arc` = [φ0, φ1] radians from +x towards +z (default full). */
  | { kind: 'torus'; major: number; minor: number; arc?: readonly [number, number] };

/** A sampler writes a point (out[0..2]) and its outward unit normal (out[3..5]). */
export interface SurfaceSampler {
  area: number;
  sample(rng: Rng, out: Float64Array): void;
}

function unitGaussian(rng: Rng, out: Float64Array, o: number): void {
  let x = 0,
    y = 0,
    z = 0,
    l = 0;
  while (l < 1e-12) {
    x = rng.normal();
    y = rng.normal();
    z = rng.normal();
    l = x * x + y * y + z * z;
  }
  l = Math.sqrt(l);
  out[o] = x / l;
  out[o + 1] = y / l;
  out[o + 2] = z / l;
}

function disk(rng: Rng, out: Float64Array, radius: number, y: number, ny: number): void {
  const r = radius * Math.sqrt(rng.uniform());
  const a = 2 * Math.PI * rng.uniform();
  out[0] = r * Math.cos(a);
  out[1] = y;
  out[2] = r * Math.sin(a);
  out[3] = 0;
  out[4] = ny;
  out[5] = 0;
}

function capFlags(caps: CapMode | undefined): [boolean, boolean] {
  const c = caps ?? 'both';
  return [c === 'both' || c === 'bottom', c === 'both' || c === 'top'];
}

/** Pick one of several weighted alternatives. */
function pick(rng: Rng, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let u = rng.uniform() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i]!;
    if (u < 0) return i;
  }
  return weights.length - 1;
}

export function makeSampler(spec: PrimitiveSpec): SurfaceSampler {
  switch (spec.kind) {
    case 'box': {
      const [sx, sy, sz] = spec.size;
      const faces = [sy * sz, sx * sz, sx * sy];
      return {
        area: 2 * (faces[0]! + faces[1]! + faces[2]!),
        sample(rng, out) {
          const axis = pick(rng, faces);
          const sign = rng.uniform() < 0.5 ? -1 : 1;
          out[0] = (rng.uniform() - 0.5) * sx;
          out[1] = (rng.uniform() - 0.5) * sy;
          out[2] = (rng.uniform() - 0.5) * sz;
          out[axis] = (sign * spec.size[axis]!) / 2;
          out[3] = 0;
          out[4] = 0;
          out[5] = 0;
          out[3 + axis] = sign;
        },
      };
    }
    case 'sphere': {
      const r = spec.radius;
      return {
        area: 4 * Math.PI * r * r,
        sample(rng, out) {
          unitGaussian(rng, out, 3);
          out[0] = r * out[3]!;
          out[1] = r * out[4]!;
          out[2] = r * out[5]!;
        },
      };
    }
    case 'ellipsoid': {
      const [a, b, c] = spec.radii;
      // Knud Thomsen's approximation (≤1.1% error) is enough for area weighting across parts.
      const p = 1.6075;
      const area = 4 * Math.PI * (((a * b) ** p + (a * c) ** p + (b * c) ** p) / 3) ** (1 / p);
      const gmax = 1 / Math.min(a, b, c);
      return {
        area,
        sample(rng, out) {
          // Map the unit sphere onto the ellipsoid; the area element grows with |(u/a, v/b, w/c)|, so
          // accept a sphere point with probability proportional to it.
          for (;;) {
            unitGaussian(rng, out, 3);
            const nx = out[3]! / a,
              ny = out[4]! / b,
              nz = out[5]! / c;
            const g = Math.sqrt(nx * nx + ny * ny + nz * nz);
            if (rng.uniform() * gmax <= g) {
              out[0] = a * out[3]!;
              out[1] = b * out[4]!;
              out[2] = c * out[5]!;
              out[3] = nx / g;
              out[4] = ny / g;
              out[5] = nz / g;
              return;
            }
          }
        },
      };
    }
    case 'cylinder':
      return makeSampler({ kind: 'cone', radiusBottom: spec.radius, radiusTop: spec.radius, height: spec.height, caps: spec.caps });
    case 'cone': {
      const { radiusBottom: r0, radiusTop: r1, height: h } = spec;
      const [bottom, top] = capFlags(spec.caps);
      const slant = Math.hypot(h, r0 - r1);
      const parts = [Math.PI * (r0 + r1) * slant, bottom ? Math.PI * r0 * r0 : 0, top ? Math.PI * r1 * r1 : 0];
      const nl = Math.hypot(h, r0 - r1);
      return {
        area: parts[0]! + parts[1]! + parts[2]!,
        sample(rng, out) {
          const which = pick(rng, parts);
          if (which === 1) return disk(rng, out, r0, -h / 2, -1);
          if (which === 2) return disk(rng, out, r1, h / 2, 1);
          // The lateral area element is proportional to the radius at height t; r(t)² is then uniform.
          const u = rng.uniform();
          const t = r0 === r1 ? u : (Math.sqrt(r0 * r0 + u * (r1 * r1 - r0 * r0)) - r0) / (r1 - r0);
          const r = r0 + (r1 - r0) * t;
          const a = 2 * Math.PI * rng.uniform();
          const c = Math.cos(a),
            s = Math.sin(a);
          out[0] = r * c;
          out[1] = -h / 2 + t * h;
          out[2] = r * s;
          out[3] = (h * c) / nl;
          out[4] = (r0 - r1) / nl;
          out[5] = (h * s) / nl;
        },
      };
    }
    case 'capsule': {
      const { radius: r, height: h } = spec;
      const side = 2 * Math.PI * r * h,
        ends = 4 * Math.PI * r * r;
      return {
        area: side + ends,
        sample(rng, out) {
          if (rng.uniform() * (side + ends) < side) {
            const a = 2 * Math.PI * rng.uniform();
            out[3] = Math.cos(a);
            out[4] = 0;
            out[5] = Math.sin(a);
            out[0] = r * out[3]!;
            out[1] = (rng.uniform() - 0.5) * h;
            out[2] = r * out[5]!;
            return;
          }
          unitGaussian(rng, out, 3);
          const cy = out[4]! >= 0 ? h / 2 : -h / 2;
          out[0] = r * out[3]!;
          out[1] = cy + r * out[4]!;
          out[2] = r * out[5]!;
        },
      };
    }
    case 'torus': {
      const { major: R, minor: r } = spec;
      const [p0, p1] = spec.arc ?? [0, 2 * Math.PI];
      return {
        area: (p1 - p0) * R * 2 * Math.PI * r,
        sample(rng, out) {
          // Tube angle θ has density ∝ R + r·cosθ (outer side of the ring is longer).
          let th = 0;
          do th = 2 * Math.PI * rng.uniform();
          while (rng.uniform() * (R + r) > R + r * Math.cos(th));
          const ph = p0 + (p1 - p0) * rng.uniform();
          const ct = Math.cos(th),
            st = Math.sin(th),
            cp = Math.cos(ph),
            sp = Math.sin(ph);
          out[3] = ct * cp;
          out[4] = st;
          out[5] = ct * sp;
          out[0] = (R + r * ct) * cp;
          out[1] = r * st;
          out[2] = (R + r * ct) * sp;
        },
      };
    }
  }
}
