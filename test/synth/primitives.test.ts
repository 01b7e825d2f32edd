import { describe, expect, it } from 'vitest';
import { makeSampler, type PrimitiveSpec } from '../../src/data/synth/primitives.ts';
import { Rng } from '../../src/util/rng.ts';

/** Inside test of each solid (closed primitives only), in the primitive's local frame. */
function inside(spec: PrimitiveSpec, x: number, y: number, z: number): boolean {
  switch (spec.kind) {
    case 'box':
      return Math.abs(x) <= spec.size[0] / 2 && Math.abs(y) <= spec.size[1] / 2 && Math.abs(z) <= spec.size[2] / 2;
    case 'sphere':
      return Math.hypot(x, y, z) <= spec.radius;
    case 'ellipsoid':
      return (x / spec.radii[0]) ** 2 + (y / spec.radii[1]) ** 2 + (z / spec.radii[2]) ** 2 <= 1;
    case 'cylinder':
      return Math.abs(y) <= spec.height / 2 && Math.hypot(x, z) <= spec.radius;
    case 'cone': {
      const t = (y + spec.height / 2) / spec.height;
      return t >= 0 && t <= 1 && Math.hypot(x, z) <= spec.radiusBottom + (spec.radiusTop - spec.radiusBottom) * t;
    }
    case 'capsule': {
      const cy = Math.max(-spec.height / 2, Math.min(spec.height / 2, y));
      return Math.hypot(x, y - cy, z) <= spec.radius;
    }
    case 'torus': {
      const q = Math.hypot(x, z) - spec.major;
      return Math.hypot(q, y) <= spec.minor;
    }
  }
}

const CLOSED: PrimitiveSpec[] = [
  { kind: 'box', size: [0.3, 1.2, 0.05] },
  { kind: 'sphere', radius: 0.7 },
  { kind: 'ellipsoid', radii: [0.2, 0.9, 0.5] },
  { kind: 'cylinder', radius: 0.3, height: 1.1 },
  { kind: 'cone', radiusBottom: 0.5, radiusTop: 0.1, height: 0.8 },
  { kind: 'cone', radiusBottom: 0.2, radiusTop: 0.6, height: 0.4 },
  { kind: 'cone', radiusBottom: 0.4, radiusTop: 0, height: 0.9 },
  { kind: 'capsule', radius: 0.25, height: 1.0 },
  { kind: 'torus', major: 0.6, minor: 0.15 },
];

describe('surface primitives', () => {
  it('sample on the surface with unit outward normals', () => {
    const rng = new Rng(1);
    const out = new Float64Array(6);
    const eps = 1e-7; // small enough that points near an edge (within eps) are vanishingly rare
    for (const spec of CLOSED) {
      const s = makeSampler(spec);
      let bad = '';
      for (let i = 0; i < 3000 && !bad; i++) {
        s.sample(rng, out);
        const [x, y, z, nx, ny, nz] = out;
        const len = Math.hypot(nx!, ny!, nz!);
        if (Math.abs(len - 1) > 1e-9) bad = `normal length ${len}`;
        else if (!inside(spec, x! - eps * nx!, y! - eps * ny!, z! - eps * nz!)) bad = `p - eps n is outside at ${x},${y},${z}`;
        else if (inside(spec, x! + eps * nx!, y! + eps * ny!, z! + eps * nz!)) bad = `p + eps n is inside at ${x},${y},${z}`;
      }
      expect(bad, spec.kind).toBe('');
    }
  });

  it('reports the exact surface areas', () => {
    const area = (spec: PrimitiveSpec): number => makeSampler(spec).area;
    expect(area({ kind: 'box', size: [1, 2, 3] })).toBeCloseTo(22, 12);
    expect(area({ kind: 'sphere', radius: 2 })).toBeCloseTo(16 * Math.PI, 10);
    expect(area({ kind: 'ellipsoid', radii: [2, 2, 2] })).toBeCloseTo(16 * Math.PI, 10);
    expect(area({ kind: 'cylinder', radius: 1, height: 2 })).toBeCloseTo(6 * Math.PI, 10);
    expect(area({ kind: 'cylinder', radius: 1, height: 2, caps: 'none' })).toBeCloseTo(4 * Math.PI, 10);
    expect(area({ kind: 'cone', radiusBottom: 3, radiusTop: 0, height: 4, caps: 'bottom' })).toBeCloseTo(Math.PI * 3 * 5 + 9 * Math.PI, 10);
    expect(area({ kind: 'capsule', radius: 1, height: 2 })).toBeCloseTo(8 * Math.PI, 10);
    expect(area({ kind: 'torus', major: 2, minor: 0.5 })).toBeCloseTo(4 * Math.PI * Math.PI, 10);
    expect(area({ kind: 'torus', major: 2, minor: 0.5, arc: [0, Math.PI] })).toBeCloseTo(2 * Math.PI * Math.PI, 10);
  });

  it('spreads points uniformly by area (box faces, frustum height, torus sides)', () => {
    const rng = new Rng(2);
    const out = new Float64Array(6);
    const n = 40000;
    // box 1 x 2 x 4: faces normal to x have area 8 of 28 in total (both sides)
    const box = makeSampler({ kind: 'box', size: [1, 2, 4] });
    let onX = 0;
    for (let i = 0; i < n; i++) {
      box.sample(rng, out);
      if (out[3] !== 0) onX++;
    }
    expect(onX / n).toBeCloseTo(16 / 28, 1);
    // frustum lateral surface r0 = 1 -> r1 = 0 (a cone): mean height fraction = ∫t(1-t)/∫(1-t) = 1/3
    const cone = makeSampler({ kind: 'cone', radiusBottom: 1, radiusTop: 0, height: 1, caps: 'none' });
    let sumT = 0;
    for (let i = 0; i < n; i++) {
      cone.sample(rng, out);
      sumT += out[1]! + 0.5;
    }
    expect(sumT / n).toBeCloseTo(1 / 3, 2);
    // torus R=1, r=0.5: the outer half (cos θ > 0) carries (π·R + 2r)/(π·R) / 2 of the area
    const torus = makeSampler({ kind: 'torus', major: 1, minor: 0.5 });
    let outer = 0;
    for (let i = 0; i < n; i++) {
      torus.sample(rng, out);
      if (Math.hypot(out[0]!, out[2]!) > 1) outer++;
    }
    expect(outer / n).toBeCloseTo((Math.PI + 1) / (2 * Math.PI), 2);
  });
});
