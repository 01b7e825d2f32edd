/**
 * Furniture recipes: chair, table, sofa. Floor at y = 0, y up, front towards +z. They share parts (seats,
 * backs, legs, arms) on purpose, so that telling them apart needs proportions, not just the presence of a part.
 */
import type { Rng } from '../../../util/rng.ts';
import { applyRot, euler, ShapeBuilder, type V3 } from '../builder.ts';
import { chance, oneOf, U } from '../rand.ts';
import type { CategoryRecipe } from './recipe.ts';

/** A straight leg from `top` down to the floor, splayed outward by `splay` radians towards (sx, sz). */
function addLeg(b: ShapeBuilder, label: number, top: V3, sx: number, sz: number, splay: number, r: number, square: boolean): void {
  const h = top[1];
  const len = h / Math.cos(splay);
  const off = Math.tan(splay) * h;
  const nx = sx * Math.SQRT1_2,
    nz = sz * Math.SQRT1_2;
  const at: V3 = [top[0] + (nx * off) / 2, h / 2, top[2] + (nz * off) / 2];
  const rot: V3 = [-nz * splay, 0, nx * splay];
  if (square) b.add(label, { kind: 'box', size: [2 * r, len, 2 * r] }, { at, rot });
  else b.add(label, { kind: 'cylinder', radius: r, height: len }, { at, rot });
}

const CHAIR = { seat: 0, back: 1, leg: 2, arm: 3 } as const;

function chair(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const W = U(rng, 0.8, 1.2),
    D = W * U(rng, 0.85, 1.15),
    T = U(rng, 0.05, 0.14),
    seatY = U(rng, 0.8, 1.15);
  const round = chance(rng, 0.25);
  if (round) b.add(CHAIR.seat, { kind: 'cylinder', radius: W / 2, height: T }, { at: [0, seatY - T / 2, 0] });
  else b.add(CHAIR.seat, { kind: 'box', size: [W, T, D] }, { at: [0, seatY - T / 2, 0] });
  const depth = round ? W : D;

  const legStyle = oneOf(rng, ['four', 'pedestal', 'panels'] as const, [0.6, 0.25, 0.15]);
  const legTop = seatY - T;
  if (legStyle === 'four') {
    const r = U(rng, 0.025, 0.07),
      square = chance(rng, 0.4),
      splay = U(rng, 0, 0.15),
      inset = r + U(rng, 0, 0.08);
    for (const sx of [-1, 1])
      for (const sz of [-1, 1]) {
        const x = round ? sx * (W / 2) * 0.65 : sx * (W / 2 - inset);
        const z = round ? sz * (W / 2) * 0.65 : sz * (D / 2 - inset);
        addLeg(b, CHAIR.leg, [x, legTop, z], sx, sz, splay, r, square);
      }
  } else if (legStyle === 'pedestal') {
    const footY = U(rng, 0.06, 0.14),
      poleR = U(rng, 0.03, 0.07),
      nFeet = oneOf(rng, [4, 5]);
    b.add(CHAIR.leg, { kind: 'cylinder', radius: poleR, height: legTop - footY }, { at: [0, (legTop + footY) / 2, 0] });
    const footL = W * U(rng, 0.35, 0.55),
      spin = U(rng, 0, Math.PI);
    const casters = chance(rng, 0.5);
    for (let k = 0; k < nFeet; k++) {
      const a = spin + (2 * Math.PI * k) / nFeet;
      const dir = applyRot(euler([0, a, 0]), [1, 0, 0]);
      b.add(CHAIR.leg, { kind: 'box', size: [footL, 0.05, 0.06] }, { at: [(dir[0] * footL) / 2, footY, (dir[2] * footL) / 2], rot: [0, a, 0] });
      if (casters) b.add(CHAIR.leg, { kind: 'sphere', radius: 0.04 }, { at: [dir[0] * footL, 0.04, dir[2] * footL] });
    }
  } else {
    const t = U(rng, 0.04, 0.08),
      pd = depth * U(rng, 0.75, 1);
    for (const sx of [-1, 1]) b.add(CHAIR.leg, { kind: 'box', size: [t, legTop, pd] }, { at: [sx * (W / 2 - t / 2), legTop / 2, 0] });
  }

  const backStyle = oneOf(rng, ['slab', 'slats', 'round'] as const, [0.6, 0.25, 0.15]);
  const H = U(rng, 0.6, 1.2),
    bt = U(rng, 0.04, 0.1),
    tilt = U(rng, -0.05, 0.3),
    bw = W * U(rng, 0.8, 1);
  const rot = euler([-tilt, 0, 0]);
  const base: V3 = [0, seatY, -depth / 2 + bt / 2];
  const place = (lx: number, ly: number): V3 => {
    const p = applyRot(rot, [lx, ly, 0]);
    return [base[0] + p[0], base[1] + p[1], base[2] + p[2]];
  };
  if (backStyle === 'slab') {
    b.add(CHAIR.back, { kind: 'box', size: [bw, H, bt] }, { at: place(0, H / 2), rot });
  } else if (backStyle === 'round') {
    b.add(CHAIR.back, { kind: 'ellipsoid', radii: [bw / 2, H / 2, bt / 2] }, { at: place(0, H / 2), rot });
  } else {
    const post = U(rng, 0.04, 0.07);
    for (const sx of [-1, 1]) b.add(CHAIR.back, { kind: 'box', size: [post, H, bt] }, { at: place(sx * (bw / 2 - post / 2), H / 2), rot });
    const vertical = chance(rng, 0.4),
      nBars = rng.int(2, 5),
      bar = U(rng, 0.04, 0.1);
    for (let k = 0; k < nBars; k++) {
      if (vertical) {
        const x = -bw / 2 + post + ((k + 0.5) * (bw - 2 * post)) / nBars;
        b.add(CHAIR.back, { kind: 'box', size: [bar, H * 0.8, bt * 0.7] }, { at: place(x, H * 0.5), rot });
      } else {
        const y = H * (0.35 + (0.6 * (k + 1)) / nBars);
        b.add(CHAIR.back, { kind: 'box', size: [bw - 2 * post, bar, bt * 0.8] }, { at: place(0, Math.min(y, H - bar / 2)), rot });
      }
    }
  }

  if (chance(rng, 0.4)) {
    const ah = U(rng, 0.18, 0.32),
      aw = U(rng, 0.05, 0.1),
      ad = depth * U(rng, 0.6, 0.95);
    for (const sx of [-1, 1]) {
      const x = sx * (W / 2 - aw / 2);
      b.add(CHAIR.arm, { kind: 'box', size: [aw, 0.05, ad] }, { at: [x, seatY + ah, -depth / 2 + ad / 2] });
      b.add(CHAIR.arm, { kind: 'box', size: [aw * 0.7, ah, 0.05] }, { at: [x, seatY + ah / 2, -depth / 2 + ad * 0.85] });
    }
  }
  return b;
}

const TABLE = { top: 0, leg: 1 } as const;

function table(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const W = U(rng, 1.2, 2.4),
    T = U(rng, 0.04, 0.12);
  const H = chance(rng, 0.2) ? U(rng, 0.35, 0.55) : U(rng, 0.65, 1.05);
  const shape = oneOf(rng, ['rect', 'round', 'oval'] as const, [0.6, 0.25, 0.15]);
  const D = shape === 'round' ? W : W * U(rng, 0.45, 0.9);
  const topY = H - T / 2;
  if (shape === 'rect') b.add(TABLE.top, { kind: 'box', size: [W, T, D] }, { at: [0, topY, 0] });
  else if (shape === 'round') b.add(TABLE.top, { kind: 'cylinder', radius: W / 2, height: T }, { at: [0, topY, 0] });
  else b.add(TABLE.top, { kind: 'ellipsoid', radii: [W / 2, T / 2, D / 2] }, { at: [0, topY, 0] });

  const style = oneOf(rng, ['four', 'pedestal', 'panels', 'trestle'] as const, [0.5, 0.2, 0.15, 0.15]);
  const legTop = H - T;
  if (style === 'four') {
    const r = U(rng, 0.025, 0.08),
      square = chance(rng, 0.5),
      splay = U(rng, 0, 0.12),
      inset = r + U(rng, 0, 0.15);
    const n = shape === 'rect' ? 4 : oneOf(rng, [3, 4]);
    if (n === 4 && shape === 'rect') {
      for (const sx of [-1, 1]) for (const sz of [-1, 1]) addLeg(b, TABLE.leg, [sx * (W / 2 - inset), legTop, sz * (D / 2 - inset)], sx, sz, splay, r, square);
    } else {
      for (let k = 0; k < n; k++) {
        const a = Math.PI / 4 + (2 * Math.PI * k) / n;
        const x = Math.cos(a) * (W / 2) * 0.6,
          z = Math.sin(a) * (D / 2) * 0.6;
        addLeg(b, TABLE.leg, [x, legTop, z], Math.sign(x) || 1, Math.sign(z) || 1, splay, r, square);
      }
    }
  } else if (style === 'pedestal') {
    const cr = W * U(rng, 0.03, 0.08),
      baseH = U(rng, 0.03, 0.08);
    b.add(TABLE.leg, { kind: 'cylinder', radius: cr, height: legTop - baseH }, { at: [0, (legTop + baseH) / 2, 0] });
    if (chance(rng, 0.5)) {
      b.add(TABLE.leg, { kind: 'cylinder', radius: Math.min(W, D) * U(rng, 0.2, 0.35), height: baseH }, { at: [0, baseH / 2, 0] });
    } else {
      const fl = Math.min(W, D) * U(rng, 0.5, 0.8);
      b.add(TABLE.leg, { kind: 'box', size: [fl, baseH, 0.08] }, { at: [0, baseH / 2, 0] });
      b.add(TABLE.leg, { kind: 'box', size: [0.08, baseH, fl] }, { at: [0, baseH / 2, 0] });
    }
  } else if (style === 'panels') {
    const t = U(rng, 0.04, 0.1),
      inset = U(rng, 0, 0.15) * W;
    for (const sx of [-1, 1])
      b.add(TABLE.leg, { kind: 'box', size: [t, legTop, D * U(rng, 0.7, 0.95)] }, { at: [sx * (W / 2 - inset - t / 2), legTop / 2, 0] });
  } else {
    const post = U(rng, 0.05, 0.1),
      inset = W * U(rng, 0.08, 0.2),
      foot = D * U(rng, 0.6, 0.9);
    for (const sx of [-1, 1]) {
      const x = sx * (W / 2 - inset);
      b.add(TABLE.leg, { kind: 'box', size: [post, legTop, post] }, { at: [x, legTop / 2, 0] });
      b.add(TABLE.leg, { kind: 'box', size: [post, 0.06, foot] }, { at: [x, 0.03, 0] });
    }
    b.add(TABLE.leg, { kind: 'box', size: [W - 2 * inset, 0.06, 0.06] }, { at: [0, legTop * U(rng, 0.2, 0.5), 0] });
  }
  return b;
}

const SOFA = { seat: 0, back: 1, arm: 2, leg: 3 } as const;

function sofa(rng: Rng): ShapeBuilder {
  const b = new ShapeBuilder();
  const W = U(rng, 1.6, 3.0),
    D = U(rng, 0.8, 1.1),
    seatY = U(rng, 0.35, 0.55),
    cushT = U(rng, 0.08, 0.18);
  const legs = chance(rng, 0.5);
  const legH = legs ? U(rng, 0.06, 0.15) : 0;
  const baseH = seatY - cushT - legH;
  b.add(SOFA.seat, { kind: 'box', size: [W, baseH, D] }, { at: [0, legH + baseH / 2, 0] });
  const nC = rng.int(1, 3);
  const backT = U(rng, 0.15, 0.3);
  for (let k = 0; k < nC; k++) {
    const cw = W / nC;
    b.add(SOFA.seat, { kind: 'box', size: [cw * 0.98, cushT, (D - backT) * 0.98] }, { at: [-W / 2 + cw * (k + 0.5), seatY - cushT / 2, backT / 2] });
  }
  const backH = U(rng, 0.3, 0.65),
    tilt = U(rng, 0, 0.2);
  const totalBack = seatY + backH - legH;
  const rot = euler([-tilt, 0, 0]);
  const c = applyRot(rot, [0, totalBack / 2, 0]);
  b.add(SOFA.back, { kind: 'box', size: [W, totalBack, backT] }, { at: [c[0], legH + c[1], -D / 2 + backT / 2 + c[2]], rot });
  if (chance(rng, 0.3)) {
    const top = applyRot(rot, [0, totalBack, 0]);
    b.add(
      SOFA.back,
      { kind: 'capsule', radius: backT / 2, height: W - backT },
      { at: [0, legH + top[1], -D / 2 + backT / 2 + top[2]], rot: [0, 0, Math.PI / 2] },
    );
  }
  if (chance(rng, 0.8)) {
    const armT = U(rng, 0.1, 0.25),
      armH = seatY + U(rng, 0.1, 0.3) - legH,
      roundArm = chance(rng, 0.4);
    for (const sx of [-1, 1]) {
      const x = sx * (W / 2 + armT / 2);
      b.add(SOFA.arm, { kind: 'box', size: [armT, armH, D] }, { at: [x, legH + armH / 2, 0] });
      if (roundArm) b.add(SOFA.arm, { kind: 'cylinder', radius: armT / 2, height: D }, { at: [x, legH + armH, 0], rot: [Math.PI / 2, 0, 0] });
    }
  }
  if (legs) {
    const r = U(rng, 0.025, 0.05);
    for (const sx of [-1, 1])
      for (const sz of [-1, 1]) {
        b.add(SOFA.leg, { kind: 'cylinder', radius: r, height: legH }, { at: [sx * (W / 2 - 0.1), legH / 2, sz * (D / 2 - 0.1)] });
      }
  }
  return b;
}

export const FURNITURE: CategoryRecipe[] = [
  { name: 'chair', parts: ['seat', 'back', 'leg', 'arm'], build: chair },
  { name: 'table', parts: ['top', 'leg'], build: table },
  { name: 'sofa', parts: ['seat', 'back', 'arm', 'leg'], build: sofa },
];
