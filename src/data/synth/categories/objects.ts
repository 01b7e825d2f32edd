/**
 * Household object recipes: lamp, mug, bottle, guitar. y up; lamps, mugs and bottles stand on y = 0,
 * a guitar stands on the bottom of its body with its strings facing +z.
 */
import type { Rng } from '../../../util/rng.ts';
import { applyRot, euler, ShapeBuilder, type V3 } from '../builder.ts';
import { chance, oneOf, U } from '../rand.ts';
import type { CategoryRecipe } from './recipe.ts';

const LAMP = { base: 0, pole: 1, shade: 2 } as const;

function lamp(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const baseStyle = oneOf(rng, ['disk', 'box', 'cone'] as const, [0.5, 0.2, 0.3]);
  const br = U(rng, 0.15, 0.35),
    bh = U(rng, 0.03, 0.12);
  if (baseStyle === 'disk') b.add(LAMP.base, { kind: 'cylinder', radius: br, height: bh }, { at: [0, bh / 2, 0] });
  else if (baseStyle === 'box') b.add(LAMP.base, { kind: 'box', size: [2 * br, bh, 2 * br * U(rng, 0.6, 1)] }, { at: [0, bh / 2, 0] });
  else b.add(LAMP.base, { kind: 'cone', radiusBottom: br, radiusTop: br * U(rng, 0.2, 0.6), height: bh * 1.5 }, { at: [0, (bh * 1.5) / 2, 0] });
  const baseTop = baseStyle === 'cone' ? bh * 1.5 : bh;

  const pr = U(rng, 0.012, 0.035);
  let top: V3;
  let hanging = false;
  if (chance(rng, 0.6)) {
    const L = U(rng, 0.6, 1.6);
    b.add(LAMP.pole, { kind: 'cylinder', radius: pr, height: L }, { at: [0, baseTop + L / 2, 0] });
    top = [0, baseTop + L, 0];
  } else {
    // desk lamp: a vertical segment, a joint and an arm leaning sideways
    const L1 = U(rng, 0.4, 0.9),
      L2 = U(rng, 0.3, 0.8),
      a = U(rng, 0.4, 1.3);
    b.add(LAMP.pole, { kind: 'cylinder', radius: pr, height: L1 }, { at: [0, baseTop + L1 / 2, 0] });
    b.add(LAMP.pole, { kind: 'sphere', radius: pr * 1.8 }, { at: [0, baseTop + L1, 0] });
    const dir = applyRot(euler([0, 0, -a]), [0, 1, 0]);
    b.add(LAMP.pole, { kind: 'cylinder', radius: pr, height: L2 }, { at: [(dir[0] * L2) / 2, baseTop + L1 + (dir[1] * L2) / 2, 0], rot: [0, 0, -a] });
    top = [dir[0] * L2, baseTop + L1 + dir[1] * L2, 0];
    hanging = true;
  }

  const shade = oneOf(rng, ['cone', 'globe', 'drum'] as const, [0.5, 0.25, 0.25]);
  if (shade === 'cone') {
    const r0 = U(rng, 0.18, 0.45),
      r1 = r0 * U(rng, 0.3, 0.75),
      h = U(rng, 0.2, 0.45);
    const y = hanging ? top[1] - h / 2 : top[1] + h * U(rng, -0.3, 0.2);
    b.add(LAMP.shade, { kind: 'cone', radiusBottom: r0, radiusTop: r1, height: h, caps: 'none' }, { at: [top[0], y, top[2]] });
  } else if (shade === 'globe') {
    const r = U(rng, 0.1, 0.28);
    b.add(LAMP.shade, { kind: 'sphere', radius: r }, { at: [top[0], top[1] + (hanging ? -r : r * 0.8), top[2]] });
  } else {
    const r = U(rng, 0.15, 0.35),
      h = U(rng, 0.2, 0.4);
    b.add(LAMP.shade, { kind: 'cylinder', radius: r, height: h, caps: 'none' }, { at: [top[0], top[1] + (hanging ? -h / 2 : 0), top[2]] });
  }
  return b;
}

const MUG = { body: 0, handle: 1 } as const;

function mug(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const R = U(rng, 0.3, 0.5),
    H = U(rng, 0.6, 1.2);
  if (chance(rng, 0.35)) {
    b.add(MUG.body, { kind: 'cone', radiusBottom: R * U(rng, 0.7, 0.92), radiusTop: R, height: H, caps: 'bottom' }, { at: [0, H / 2, 0] });
  } else {
    b.add(MUG.body, { kind: 'cylinder', radius: R, height: H, caps: 'bottom' }, { at: [0, H / 2, 0] });
  }
  if (chance(rng, 0.5)) b.add(MUG.body, { kind: 'torus', major: R, minor: U(rng, 0.012, 0.03) }, { at: [0, H, 0] });
  const yc = H * U(rng, 0.42, 0.6);
  if (chance(rng, 0.7)) {
    const major = H * U(rng, 0.18, 0.32),
      minor = U(rng, 0.025, 0.055),
      open = U(rng, 0.5, 0.65) * Math.PI;
    // the ring stands in the xy plane; the arc spans the side away from the body
    b.add(MUG.handle, { kind: 'torus', major, minor, arc: [-open, open] }, { at: [R * 0.95, yc, 0], rot: [-Math.PI / 2, 0, 0] });
  } else {
    const t = U(rng, 0.04, 0.08),
      reach = U(rng, 0.15, 0.3),
      span = H * U(rng, 0.35, 0.6);
    for (const dy of [-span / 2, span / 2]) b.add(MUG.handle, { kind: 'box', size: [reach, t, t] }, { at: [R + reach / 2 - t / 2, yc + dy, 0] });
    b.add(MUG.handle, { kind: 'box', size: [t, span + t, t] }, { at: [R + reach - t, yc, 0] });
  }
  return b;
}

const BOTTLE = { body: 0, neck: 1, cap: 2 } as const;

function bottle(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const R = U(rng, 0.22, 0.45),
    Hb = U(rng, 0.7, 1.5),
    neckR = R * U(rng, 0.2, 0.5);
  const style = oneOf(rng, ['round', 'square', 'flask'] as const, [0.55, 0.2, 0.25]);
  let top: number;
  if (style === 'flask') {
    const ry = Hb / 2;
    b.add(BOTTLE.body, { kind: 'ellipsoid', radii: [R, ry, R * U(rng, 0.55, 1)] }, { at: [0, ry, 0] });
    top = 2 * ry - ry * 0.05;
  } else {
    if (style === 'round') b.add(BOTTLE.body, { kind: 'cylinder', radius: R, height: Hb, caps: 'bottom' }, { at: [0, Hb / 2, 0] });
    else b.add(BOTTLE.body, { kind: 'box', size: [2 * R, Hb, 2 * R * U(rng, 0.6, 1)] }, { at: [0, Hb / 2, 0] });
    const sh = Hb * U(rng, 0.08, 0.35);
    b.add(
      BOTTLE.body,
      { kind: 'cone', radiusBottom: style === 'square' ? R * 0.95 : R, radiusTop: neckR, height: sh, caps: 'none' },
      { at: [0, Hb + sh / 2, 0] },
    );
    top = Hb + sh;
  }
  const nh = U(rng, 0.15, 0.55);
  b.add(BOTTLE.neck, { kind: 'cylinder', radius: neckR, height: nh, caps: 'none' }, { at: [0, top + nh / 2, 0] });
  if (chance(rng, 0.4)) b.add(BOTTLE.neck, { kind: 'torus', major: neckR, minor: neckR * 0.15 }, { at: [0, top + nh * 0.8, 0] });
  const ch = U(rng, 0.05, 0.16);
  b.add(BOTTLE.cap, { kind: 'cylinder', radius: neckR * U(rng, 1.05, 1.35), height: ch }, { at: [0, top + nh + ch / 2, 0] });
  return b;
}

const GUITAR = { body: 0, neck: 1, head: 2 } as const;

function guitar(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const acoustic = chance(rng, 0.6);
  const Rl = U(rng, 0.38, 0.55);
  const T = acoustic ? U(rng, 0.15, 0.26) : U(rng, 0.06, 0.1);
  const flat: V3 = [Math.PI / 2, 0, 0]; // cylinder axis y -> z
  let anchor: number;
  if (acoustic) {
    const Ru = Rl * U(rng, 0.62, 0.85),
      yu = Rl + (Rl + Ru) * U(rng, 0.55, 0.75);
    b.add(GUITAR.body, { kind: 'cylinder', radius: Rl, height: T }, { at: [0, Rl, 0], rot: flat });
    b.add(GUITAR.body, { kind: 'cylinder', radius: Ru, height: T }, { at: [0, yu, 0], rot: flat });
    anchor = yu;
  } else {
    const rx = Rl * U(rng, 0.75, 1.05),
      ry = Rl * U(rng, 1.05, 1.4);
    b.add(GUITAR.body, { kind: 'ellipsoid', radii: [rx, ry, T / 2] }, { at: [0, ry, 0] });
    if (chance(rng, 0.6)) {
      const hr = rx * U(rng, 0.3, 0.45);
      b.add(GUITAR.body, { kind: 'ellipsoid', radii: [hr, hr * 1.6, T / 2] }, { at: [-rx * 0.55, ry * 1.6, 0], rot: [0, 0, 0.4] });
    }
    anchor = ry * 1.5;
  }
  const nw = U(rng, 0.07, 0.12),
    nl = U(rng, 0.9, 1.5),
    nt = U(rng, 0.04, 0.07);
  b.add(GUITAR.neck, { kind: 'box', size: [nw, nl, nt] }, { at: [0, anchor + nl / 2, T / 2 - nt / 2] });
  const hw = U(rng, 0.11, 0.2),
    hl = U(rng, 0.15, 0.32),
    tilt = U(rng, 0, 0.3);
  const rot = euler([-tilt, 0, 0]);
  const off = applyRot(rot, [0, hl / 2, 0]);
  const base: V3 = [0, anchor + nl, T / 2 - nt / 2];
  b.add(GUITAR.head, { kind: 'box', size: [hw, hl, 0.04] }, { at: [base[0] + off[0], base[1] + off[1], base[2] + off[2]], rot });
  if (chance(rng, 0.5)) {
    for (let k = 0; k < 3; k++)
      for (const sx of [-1, 1]) {
        const p = applyRot(rot, [sx * (hw / 2 + 0.03), hl * (0.25 + 0.25 * k), 0]);
        b.add(
          GUITAR.head,
          { kind: 'cylinder', radius: 0.015, height: 0.06 },
          { at: [base[0] + p[0], base[1] + p[1], base[2] + p[2]], rot: [0, 0, Math.PI / 2] },
        );
      }
  }
  return b;
}

export const OBJECTS: CategoryRecipe[] = [
  { name: 'lamp', parts: ['base', 'pole', 'shade'], build: lamp },
  { name: 'mug', parts: ['body', 'handle'], build: mug },
  { name: 'bottle', parts: ['body', 'neck', 'cap'], build: bottle },
  { name: 'guitar', parts: ['body', 'neck', 'head'], build: guitar },
];
