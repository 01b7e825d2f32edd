import { describe, expect, it } from 'vitest';
import { applyMidParams } from '../../src/augment/midnet-transform.ts';
import { randomizedQuantize, rqVariantOptions } from '../../src/augment/randomized-quantization.ts';
import { normalizeCloud } from '../../src/data/normalize.ts';
import type { PointCloud } from '../../src/data/pointcloud.ts';
import { prepareSample, sampleClouds } from '../../src/pipeline/sample.ts';
import { Rng } from '../../src/util/rng.ts';
import { SPEC, sameBits } from './helpers.ts';

/**
 * Issue 13 item 1: RQ runs on the clipped points. A long, flat slab normalized into the unit ball reaches
 * |x| ≈ 1; MID-Net's scale (up to 1.25 per axis) and translation (up to ±0.5, scaled too) push a large part of
 * it past the box faces, so the clip drops points in most draws.
 */
function slab(n: number, seed: number): PointCloud {
  const rng = new Rng(seed);
  const points = new Float32Array(3 * n);
  const normals = new Float32Array(3 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    points[3 * i] = rng.range(-1, 1);
    points[3 * i + 1] = rng.range(-0.15, 0.15);
    points[3 * i + 2] = rng.range(-0.6, 0.6);
    const nx = rng.range(-1, 1),
      ny = rng.range(-1, 1),
      nz = rng.range(-1, 1);
    const len = Math.hypot(nx, ny, nz) || 1;
    normals.set([nx / len, ny / len, nz / len], 3 * i);
    labels[i] = i; // the point's index: shows which input point each output point came from
  }
  return normalizeCloud({ points, normals, labels, features: null, featureChannels: 0 }, 'sphere');
}

/** The largest float32 below 1: where RQ's clamp put the points pushed past +1 under the old order. */
const BELOW_ONE = new Float32Array([1 - 2 ** -24])[0]!;
const RQ = { bins: 30, variant: 'random-random' as const, p: 1 };

describe('sample order: base transform (clip included) -> RQ on the clipped points -> octree', () => {
  const shape = slab(1500, 4);
  const seeds = Array.from({ length: 12 }, (_, i) => 100 + i);

  it('the test shape is pushed out of the box by most draws', () => {
    const clipped = seeds.filter((seed) => {
      const p = prepareSample(shape, { ...SPEC, rq: null }, seed).params;
      return p.pointsKept < p.pointsIn;
    });
    expect(clipped.length).toBeGreaterThanOrEqual(8);
  });

  it('no point sits on a clamped face, every quantized value lies in its axis range, lo/hi are the clipped range', () => {
    for (const seed of seeds) {
      const s = prepareSample(shape, { ...SPEC, rq: RQ }, seed);
      const clipped = applyMidParams(shape, s.params.transform!, true);
      expect(s.params.rq!.applied).toBe(true);
      expect(s.params.pointsKept).toBe(clipped.points.length / 3);
      for (let a = 0; a < 3; a++) {
        let lo = Infinity,
          hi = -Infinity;
        for (let i = a; i < clipped.points.length; i += 3) {
          lo = Math.min(lo, clipped.points[i]!);
          hi = Math.max(hi, clipped.points[i]!);
        }
        expect(s.params.rq!.lo[a], `seed ${seed} axis ${a}`).toBe(lo);
        expect(s.params.rq!.hi[a], `seed ${seed} axis ${a}`).toBe(hi);
        expect(lo).toBeGreaterThan(-1);
        expect(hi).toBeLessThan(1);
        let onFace = 0,
          outside = 0;
        for (let i = a; i < s.points.points.length; i += 3) {
          const v = s.points.points[i]!;
          if (v === BELOW_ONE || v === -1) onFace++;
          // the module's last right end is hi + 1e-6 (anchor-spec §1.2), so v_last may pass hi by that much
          if (v < lo || v > hi + 1e-6) outside++;
        }
        expect(onFace, `seed ${seed} axis ${a}: points on a box face`).toBe(0);
        expect(outside, `seed ${seed} axis ${a}: values outside [lo, hi]`).toBe(0);
      }
    }
  });

  it('keeps points, normals and labels (cluster ids) aligned through the clip and RQ', () => {
    for (const seed of seeds.slice(0, 4)) {
      const c = sampleClouds(shape, { transform: 'midnet', rq: RQ }, seed);
      const moved = applyMidParams(shape, c.params.transform!, false);
      // the clip keeps exactly the points strictly inside the box, in order, each with its own attributes
      const inside: number[] = [];
      for (let i = 0; i < moved.points.length / 3; i++) {
        if ([0, 1, 2].every((a) => Math.abs(moved.points[3 * i + a]!) < 1)) inside.push(i);
      }
      expect(Array.from(c.base.labels!)).toEqual(inside);
      expect(Array.from(c.points.labels!)).toEqual(inside);
      inside.forEach((src, j) => {
        for (let a = 0; a < 3; a++) {
          expect(c.base.points[3 * j + a]).toBe(moved.points[3 * src + a]);
          expect(c.points.normals![3 * j + a]).toBe(moved.normals![3 * src + a]);
        }
      });
      // and the quantized cloud is RQ of the clipped one with the sample's own RQ generator
      const root = new Rng(seed);
      root.fork('transform');
      const rq = randomizedQuantize(c.base, root.fork('rq'), rqVariantOptions(RQ.variant, RQ));
      expect(sameBits(rq.cloud.points, c.points.points)).toBe(true);
      const s = prepareSample(shape, { ...SPEC, rq: RQ }, seed);
      expect(sameBits(s.points.points, c.points.points)).toBe(true);
      expect(s.octree.pointToLeaf.length).toBe(inside.length);
    }
  });
});
