/**
 * Vehicle recipes: airplane, car, rocket. y up; airplanes and cars point along +z, rockets stand along +y.
 */
import type { Rng } from '../../../util/rng.ts';
import { applyRot, euler, matMul, ShapeBuilder, type V3 } from '../builder.ts';
import { chance, oneOf, U } from '../rand.ts';
import type { CategoryRecipe } from './recipe.ts';

const ALONG_Z: V3 = [Math.PI / 2, 0, 0]; // local y axis -> world z

const PLANE = { body: 0, wing: 1, tail: 2, engine: 3 } as const;

/** Two mirrored half-wings from a root point: span = tip to tip, swept back by `sweep`, raised by `dihedral`. */
function addWingPair(
  b: ShapeBuilder,
  label: number,
  root: V3,
  span: number,
  chord: number,
  thick: number,
  sweep: number,
  dihedral: number,
): Array<(f: number) => V3> {
  const along: Array<(f: number) => V3> = [];
  for (const sx of [-1, 1]) {
    const rot = euler([0, sx * sweep, sx * dihedral]);
    const c = applyRot(rot, [(sx * span) / 4, 0, 0]);
    b.add(label, { kind: 'box', size: [span / 2, thick, chord] }, { at: [root[0] + c[0], root[1] + c[1], root[2] + c[2]], rot });
    along.push((f) => {
      const p = applyRot(rot, [(sx * span * f) / 2, 0, 0]);
      return [root[0] + p[0], root[1] + p[1], root[2] + p[2]];
    });
  }
  return along;
}

function airplane(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const L = U(rng, 1.6, 2.6),
    R = L * U(rng, 0.035, 0.07);
  if (chance(rng, 0.75)) b.add(PLANE.body, { kind: 'capsule', radius: R, height: L - 2 * R }, { rot: ALONG_Z });
  else b.add(PLANE.body, { kind: 'ellipsoid', radii: [R, R * U(rng, 0.9, 1.3), L / 2] });

  const span = L * U(rng, 0.7, 1.25),
    chord = L * U(rng, 0.1, 0.22),
    thick = R * U(rng, 0.15, 0.3);
  const sweep = U(rng, 0, 0.6),
    dihedral = U(rng, -0.05, 0.12);
  const root: V3 = [0, R * U(rng, -0.6, 0.5), L * U(rng, -0.1, 0.15)];
  const halves = addWingPair(b, PLANE.wing, root, span, chord, thick, sweep, dihedral);

  const fh = L * U(rng, 0.09, 0.2),
    fc = L * U(rng, 0.08, 0.15),
    fsweep = U(rng, 0, 0.5);
  const tailZ = -L / 2 + fc / 2 + R * 0.3;
  const frot = euler([-fsweep, 0, 0]);
  const fc0 = applyRot(frot, [0, fh / 2, 0]);
  b.add(PLANE.tail, { kind: 'box', size: [thick, fh, fc] }, { at: [0, R * 0.5 + fc0[1], tailZ + fc0[2]], rot: frot });
  const tTail = chance(rng, 0.3);
  const top = applyRot(frot, [0, fh, 0]);
  const stabRoot: V3 = tTail ? [0, R * 0.5 + top[1], tailZ + top[2]] : [0, 0, tailZ];
  addWingPair(b, PLANE.tail, stabRoot, L * U(rng, 0.22, 0.45), fc * U(rng, 0.7, 1), thick, sweep * U(rng, 0.6, 1.2), 0);

  if (chance(rng, 0.75)) {
    const perSide = oneOf(rng, [1, 2], [0.7, 0.3]);
    const er = R * U(rng, 0.35, 0.6),
      el = chord * U(rng, 0.8, 1.4);
    const fractions = perSide === 1 ? [U(rng, 0.25, 0.45)] : [0.3, 0.6];
    for (const along of halves)
      for (const f of fractions) {
        const p = along(f);
        b.add(PLANE.engine, { kind: 'cylinder', radius: er, height: el }, { at: [p[0], p[1] - thick / 2 - er * 1.1, p[2] + chord * 0.2], rot: ALONG_Z });
      }
  }
  return b;
}

const CAR = { body: 0, cabin: 1, wheel: 2 } as const;

function car(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const L = U(rng, 1.6, 2.4),
    W = L * U(rng, 0.36, 0.5),
    Hb = L * U(rng, 0.1, 0.2);
  const wr = L * U(rng, 0.08, 0.13),
    ww = W * U(rng, 0.15, 0.25);
  const bodyY = wr * U(rng, 0.6, 0.95) + Hb / 2;
  b.add(CAR.body, { kind: 'box', size: [W, Hb, L] }, { at: [0, bodyY, 0] });
  const top = bodyY + Hb / 2;
  const style = oneOf(rng, ['sedan', 'van', 'pickup', 'sport'] as const, [0.4, 0.2, 0.2, 0.2]);
  if (style === 'sport') {
    const hc = L * U(rng, 0.08, 0.14),
      lc = L * U(rng, 0.4, 0.6);
    b.add(CAR.cabin, { kind: 'ellipsoid', radii: [W * U(rng, 0.38, 0.48), hc, lc / 2] }, { at: [0, top, L * U(rng, -0.15, 0.05)] });
  } else {
    const lc = style === 'van' ? L * U(rng, 0.7, 0.85) : style === 'pickup' ? L * U(rng, 0.22, 0.35) : L * U(rng, 0.38, 0.55);
    const hc = style === 'van' ? L * U(rng, 0.16, 0.26) : L * U(rng, 0.1, 0.16);
    const z = style === 'van' ? L / 2 - lc / 2 - L * U(rng, 0, 0.08) : style === 'pickup' ? L * U(rng, 0.08, 0.2) : L * U(rng, -0.15, 0.05);
    b.add(CAR.cabin, { kind: 'box', size: [W * U(rng, 0.8, 0.96), hc, lc] }, { at: [0, top + hc / 2, z] });
  }
  const axleZ = L / 2 - wr * U(rng, 1.1, 1.7);
  const axles = chance(rng, 0.15) ? [axleZ, -axleZ, -axleZ + 2.2 * wr] : [axleZ, -axleZ];
  for (const z of axles)
    for (const sx of [-1, 1]) {
      b.add(CAR.wheel, { kind: 'cylinder', radius: wr, height: ww }, { at: [sx * (W / 2 - ww * 0.3), wr, z], rot: [0, 0, Math.PI / 2] });
    }
  return b;
}

const ROCKET = { body: 0, fin: 1, nose: 2 } as const;

function rocket(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const R = U(rng, 0.12, 0.25),
    H = U(rng, 1.2, 2.2);
  b.add(ROCKET.body, { kind: 'cylinder', radius: R, height: H, caps: 'bottom' }, { at: [0, H / 2, 0] });
  let top = H,
    topR = R;
  if (chance(rng, 0.4)) {
    const r2 = R * U(rng, 0.55, 0.85),
      h2 = H * U(rng, 0.2, 0.4),
      ht = R * U(rng, 0.3, 0.8);
    b.add(ROCKET.body, { kind: 'cone', radiusBottom: R, radiusTop: r2, height: ht, caps: 'none' }, { at: [0, top + ht / 2, 0] });
    b.add(ROCKET.body, { kind: 'cylinder', radius: r2, height: h2, caps: 'none' }, { at: [0, top + ht + h2 / 2, 0] });
    top += ht + h2;
    topR = r2;
  }
  if (chance(rng, 0.7)) {
    const h = topR * U(rng, 1.5, 4);
    b.add(ROCKET.nose, { kind: 'cone', radiusBottom: topR, radiusTop: 0, height: h, caps: 'none' }, { at: [0, top + h / 2, 0] });
  } else {
    b.add(ROCKET.nose, { kind: 'ellipsoid', radii: [topR, topR * U(rng, 1.5, 3), topR] }, { at: [0, top, 0] });
  }
  const n = oneOf(rng, [3, 4, 6], [0.4, 0.45, 0.15]);
  const fh = H * U(rng, 0.12, 0.3),
    fw = R * U(rng, 0.6, 1.6),
    ft = R * U(rng, 0.05, 0.12),
    sweep = U(rng, 0, 0.6);
  const spin = U(rng, 0, Math.PI);
  const tilt = euler([0, 0, -sweep]);
  for (let k = 0; k < n; k++) {
    const yaw = euler([0, spin + (2 * Math.PI * k) / n, 0]);
    const d = applyRot(tilt, [fw / 2, 0, 0]);
    const c = applyRot(yaw, [R + d[0], fh / 2 + d[1], d[2]]);
    b.add(ROCKET.fin, { kind: 'box', size: [fw, fh, ft] }, { at: c, rot: matMul(yaw, tilt) });
  }
  if (chance(rng, 0.25)) {
    const nb = oneOf(rng, [2, 4]),
      br = R * U(rng, 0.3, 0.45),
      bh = H * U(rng, 0.35, 0.6);
    for (let k = 0; k < nb; k++) {
      const p = applyRot(euler([0, spin + Math.PI / n + (2 * Math.PI * k) / nb, 0]), [R + br, 0, 0]);
      b.add(ROCKET.body, { kind: 'cylinder', radius: br, height: bh, caps: 'bottom' }, { at: [p[0], bh / 2, p[2]] });
      b.add(ROCKET.nose, { kind: 'cone', radiusBottom: br, radiusTop: 0, height: br * 2.5, caps: 'none' }, { at: [p[0], bh + br * 1.25, p[2]] });
    }
  }
  return b;
}

export const VEHICLES: CategoryRecipe[] = [
  { name: 'airplane', parts: ['body', 'wing', 'tail', 'engine'], build: airplane },
  { name: 'car', parts: ['body', 'cabin', 'wheel'], build: car },
  { name: 'rocket', parts: ['body', 'fin', 'nose'], build: rocket },
];
