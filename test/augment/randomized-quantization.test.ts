import { describe, expect, it } from 'vitest';
import { makePointCloud, type PointCloud } from '../../src/data/pointcloud.ts';
import { binOf, randomizedQuantize, rqVariantOptions, RQ_VARIANT_NAMES } from '../../src/augment/randomized-quantization.ts';
import { Rng } from '../../src/util/rng.ts';
import { randomCloud } from './helpers.ts';

function distinctPerAxis(pc: PointCloud): number[] {
  return [0, 1, 2].map((a) => {
    const s = new Set<number>();
    for (let i = a; i < pc.points.length; i += 3) s.add(pc.points[i]!);
    return s.size;
  });
}

/** Clouds of varied size and spread, some with ties and degenerate axes. */
function cloudCases(): PointCloud[] {
  const rng = new Rng(123);
  const out: PointCloud[] = [];
  for (let c = 0; c < 40; c++) {
    const n = rng.int(1, 1500);
    const pc = randomCloud(rng, n, rng.range(0.05, 0.98));
    if (c % 7 === 3) for (let i = 1; i < pc.points.length; i += 3) pc.points[i] = 0.25; // flat y
    if (c % 5 === 1) for (let i = 0; i < pc.points.length; i++) pc.points[i] = Math.round(pc.points[i]! * 8) / 8; // ties
    out.push(pc);
  }
  return out;
}

describe('binOf', () => {
  it('counts cuts <= x: a value equal to a cut goes to the right bin', () => {
    const cuts = new Float64Array([0.1, 0.5, 0.5, 0.9]);
    expect(binOf(cuts, 0)).toBe(0);
    expect(binOf(cuts, 0.1)).toBe(1);
    expect(binOf(cuts, 0.3)).toBe(1);
    expect(binOf(cuts, 0.5)).toBe(3);
    expect(binOf(cuts, 0.95)).toBe(4);
  });
});

describe('randomized quantization (property tests)', () => {
  const cases = cloudCases();

  it('each axis has at most n distinct values, and each output lies in [L_k, R_k] of its input bin', () => {
    let seed = 0;
    for (const variant of RQ_VARIANT_NAMES) {
      for (const pc of cases) {
        const n = [1, 2, 5, 30, 64][seed % 5]!;
        const r = randomizedQuantize(pc, new Rng(seed++), rqVariantOptions(variant, { bins: n }));
        expect(r.applied).toBe(true);
        for (const d of distinctPerAxis(r.cloud)) expect(d).toBeLessThanOrEqual(n);
        for (let a = 0; a < 3; a++) {
          const q = r.axes[a]!;
          expect(q.left.length).toBe(n);
          for (let k = 0; k + 1 < n; k++) expect(q.left[k]!).toBeLessThanOrEqual(q.left[k + 1]!);
          // plain comparisons in the hot loop (expect() per element is slow); report the first failure
          let bad = '';
          for (let i = a; i < pc.points.length && !bad; i += 3) {
            const x = pc.points[i]!;
            // the bin of x by the module's definition: L_k <= x < Rc_k (Rc = right ends with hi+1)
            let k = -1,
              matches = 0;
            for (let j = 0; j < n; j++) {
              const rc = j === n - 1 ? q.hi + 1 : q.right[j]!;
              if (q.left[j]! <= x && x < rc) {
                k = j;
                matches++;
              }
            }
            const y = r.cloud.points[i]!;
            if (matches !== 1) bad = `x=${x} matches ${matches} bins`;
            else if (!(y >= Math.fround(q.left[k]!) && y <= Math.fround(q.right[k]!))) bad = `y=${y} outside bin ${k}`;
            else if (y !== Math.fround(q.values[k]!)) bad = `y=${y} is not v_${k}`;
          }
          expect(bad).toBe('');
          let total = 0;
          for (const c of q.counts) total += c;
          expect(total).toBe(pc.points.length / 3);
        }
      }
    }
  });

  it('p = 0 is the identity, normals/labels/features are untouched', () => {
    for (const pc of cases.slice(0, 10)) {
      const id = randomizedQuantize(pc, new Rng(1), { p: 0 });
      expect(id.applied).toBe(false);
      expect(id.cloud.points).toEqual(pc.points);
      const q = randomizedQuantize(pc, new Rng(1));
      expect(q.cloud.normals).toEqual(pc.normals);
      expect(q.cloud.labels).toEqual(pc.labels);
      expect(q.cloud.features).toEqual(pc.features);
      expect(q.cloud.normals).not.toBe(pc.normals);
    }
  });

  it('p = 0.5 quantizes about half of the shapes', () => {
    const pc = cases[0]!;
    const rng = new Rng(77);
    let applied = 0;
    for (let i = 0; i < 400; i++) if (randomizedQuantize(pc, rng, { p: 0.5, bins: 2 }).applied) applied++;
    expect(applied).toBeGreaterThan(150);
    expect(applied).toBeLessThan(250);
  });

  it('same seed gives the same output, different seeds differ', () => {
    for (const pc of cases.filter((c) => c.points.length > 300).slice(0, 8)) {
      const a = randomizedQuantize(pc, new Rng(5));
      const b = randomizedQuantize(pc, new Rng(5));
      const c = randomizedQuantize(pc, new Rng(6));
      expect(a.cloud.points).toEqual(b.cloud.points);
      expect(a.axes[0]!.cuts).toEqual(b.axes[0]!.cuts);
      expect(c.cloud.points).not.toEqual(a.cloud.points);
    }
    // uniform-middle has no randomness once applied
    const pc = cases[2]!;
    const u1 = randomizedQuantize(pc, new Rng(1), rqVariantOptions('uniform-middle'));
    const u2 = randomizedQuantize(pc, new Rng(2), rqVariantOptions('uniform-middle'));
    expect(u1.cloud.points).toEqual(u2.cloud.points);
  });

  it('uniform-middle equals classical uniform quantization', () => {
    const n = 30;
    let compared = 0,
      mismatched = 0;
    for (const pc of cases) {
      const r = randomizedQuantize(pc, new Rng(0), rqVariantOptions('uniform-middle', { bins: n }));
      for (let a = 0; a < 3; a++) {
        let lo = Infinity,
          hi = -Infinity;
        for (let i = a; i < pc.points.length; i += 3) {
          lo = Math.min(lo, pc.points[i]!);
          hi = Math.max(hi, pc.points[i]!);
        }
        const w = (hi - lo) / n;
        for (let i = a; i < pc.points.length; i += 3) {
          const x = pc.points[i]!;
          if (w > 0) {
            const t = (x - lo) / w;
            if (Math.abs(t - Math.round(t)) < 1e-9 && Math.round(t) > 0 && Math.round(t) < n) continue; // on a cut
          }
          const k = w > 0 ? Math.min(Math.floor((x - lo) / w), n - 1) : n - 1;
          const right = k === n - 1 ? hi : lo + (k + 1) * w;
          const want = (lo + k * w + right) / 2;
          if (Math.abs(r.cloud.points[i]! - want) < 1e-6) compared++;
          else mismatched++;
        }
      }
    }
    expect(mismatched).toBe(0);
    expect(compared).toBeGreaterThan(10000);
  });

  it('n = 1 collapses each axis to one value inside [lo, hi+1e-6]', () => {
    for (const pc of cases) {
      const r = randomizedQuantize(pc, new Rng(3), { bins: 1 });
      expect(distinctPerAxis(r.cloud)).toEqual([1, 1, 1]);
      for (let a = 0; a < 3; a++) {
        const v = r.cloud.points[a]!;
        expect(v).toBeGreaterThanOrEqual(Math.fround(r.axes[a]!.lo));
        expect(v).toBeLessThanOrEqual(Math.fround(r.axes[a]!.hi + 1e-6));
      }
    }
  });

  it('random spacing makes unequal bins; values stay inside the octree box', () => {
    const pc = cases.find((c) => c.points.length > 1000)!;
    const r = randomizedQuantize(pc, new Rng(8), { bins: 30 });
    const widths = Array.from(r.axes[0]!.right, (rr, k) => rr - r.axes[0]!.left[k]!);
    expect(Math.max(...widths) / Math.min(...widths)).toBeGreaterThan(2);
    // a point at the float32 just below 1: its bin value may be up to hi+1e-6 >= 1, and must be clamped
    const edge = makePointCloud(new Float32Array([-0.5, 0, 0, 0.99999994, 0.99999994, 0.99999994]));
    for (let s = 0; s < 200; s++) {
      const q = randomizedQuantize(edge, new Rng(s), { bins: 1 });
      for (const v of q.cloud.points) expect(v).toBeLessThan(1);
    }
  });

  it('rejects a bad bin count', () => {
    expect(() => randomizedQuantize(cases[0]!, new Rng(0), { bins: 0 })).toThrow(RangeError);
  });
});
