import { describe, expect, it } from 'vitest';
import { buildOctree } from '../../octree/index.ts';
import { applyMidParams } from '../../src/augment/midnet-transform.ts';
import { clipMid } from '../../src/augment/points-transform.ts';
import { syntheticShapes } from '../../src/bench/octree.ts';
import { checkSampleSpec, prepareSample, sampleSeed, SampleSpecError } from '../../src/pipeline/sample.ts';
import { SPEC, sameBits } from './helpers.ts';

const [shape, other] = syntheticShapes(2, 7, 800);

describe('prepareSample', () => {
  it('is a function of (cloud, spec, seed) only', () => {
    const a = prepareSample(shape!, SPEC, 11);
    const b = prepareSample(shape!, SPEC, 11);
    const c = prepareSample(shape!, SPEC, 12);
    expect(sameBits(a.points.points, b.points.points)).toBe(true);
    expect(sameBits(a.octree.points, b.octree.points)).toBe(true);
    expect(a.params).toEqual(b.params);
    expect(sameBits(a.points.points, c.points.points)).toBe(false);
    // the input is not modified
    expect(sameBits(shape!.points, syntheticShapes(2, 7, 800)[0]!.points)).toBe(true);
  });

  it('runs transform -> clip -> RQ -> octree, in that order', () => {
    const s = prepareSample(shape!, { ...SPEC, rq: { bins: 30, variant: 'random-random', p: 1 } }, 3);
    expect(s.params.transform).not.toBeNull();
    expect(s.params.rq?.applied).toBe(true);
    // RQ came after the transform and its clip: the quantizer's ranges are those of the transformed, clipped
    // cloud, and at most 30 distinct values per axis survive
    const moved = applyMidParams(shape!, s.params.transform!, true);
    for (let a = 0; a < 3; a++) {
      const vals = new Set<number>();
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = a; i < moved.points.length; i += 3) {
        lo = Math.min(lo, moved.points[i]!);
        hi = Math.max(hi, moved.points[i]!);
      }
      for (let i = a; i < s.points.points.length; i += 3) vals.add(s.points.points[i]!);
      expect(vals.size).toBeLessThanOrEqual(30);
      expect(s.params.rq!.lo[a]).toBe(lo);
      expect(s.params.rq!.hi[a]).toBe(hi);
    }
    // clipped into the open box, and the octree is built from exactly the returned cloud
    expect(s.points.points.every((v) => v > -1 && v < 1)).toBe(true);
    expect(s.params.pointsKept).toBe(s.points.points.length / 3);
    expect(s.octree.pointToLeaf.length).toBe(s.params.pointsKept);
    const direct = buildOctree(s.points, { depth: SPEC.depth, fullDepth: SPEC.fullDepth });
    expect(sameBits(direct.points, s.octree.points)).toBe(true);
    expect(sameBits(direct.normals, s.octree.normals)).toBe(true);
  });

  it('keeps the transform draws when RQ is switched off, and transform none leaves points alone', () => {
    const withRq = prepareSample(shape!, SPEC, 5);
    const without = prepareSample(shape!, { ...SPEC, rq: null }, 5);
    expect(without.params.transform).toEqual(withRq.params.transform);
    expect(without.params.rq).toBeNull();
    const moved = clipMid(applyMidParams(shape!, without.params.transform!, false));
    expect(sameBits(moved.points, without.points.points)).toBe(true);
    const none = prepareSample(other!, { ...SPEC, transform: 'none', rq: null }, 5);
    expect(none.params.transform).toBeNull();
    expect(sameBits(none.points.points, other!.points)).toBe(true);
  });

  it('finetune draws MID-Net downstream parameters (uniform scale, small rotation)', () => {
    const s = prepareSample(shape!, { ...SPEC, transform: 'finetune' }, 9).params.transform!;
    expect(s.scale[0]).toBe(s.scale[1]);
    expect(s.scale[1]).toBe(s.scale[2]);
    expect(Math.abs(s.steps[1])).toBeLessThanOrEqual(5);
  });

  it('rejects bad specs with the field named', () => {
    expect(() => checkSampleSpec({ ...SPEC, depth: 11 })).toThrow(/depth/);
    expect(() => checkSampleSpec({ ...SPEC, rq: { bins: 0, variant: 'random-random', p: 1 } })).toThrow(/rq\.bins/);
    expect(() => checkSampleSpec({ ...SPEC, rq: { bins: 30, variant: 'nope' as 'random-random', p: 1 } })).toThrow(SampleSpecError);
    expect(() => checkSampleSpec({ ...SPEC, features: 'NQ' })).toThrow(/features/);
  });

  it('sampleSeed depends on run seed, epoch and index', () => {
    const s = new Set([sampleSeed(1, 0, 0), sampleSeed(1, 0, 1), sampleSeed(1, 1, 0), sampleSeed(2, 0, 0)]);
    expect(s.size).toBe(4);
    expect(sampleSeed(1, 3, 4)).toBe(sampleSeed(1, 3, 4));
  });
});
