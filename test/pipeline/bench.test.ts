import { describe, expect, it } from 'vitest';
import { runOctreeBench } from '../../src/bench/octree.ts';
import { closedSurface as syntheticSurface, SURFACE_KINDS } from '../../src/data/synth/surfaces.ts';
import { Rng } from '../../src/util/rng.ts';

describe('octree bench', () => {
  it('synthetic surfaces: n points inside the 0.95 ball with unit normals, reproducible', () => {
    for (const kind of SURFACE_KINDS) {
      const pc = syntheticSurface(kind, new Rng(4), 500);
      expect(pc.points.length).toBe(1500);
      for (let i = 0; i < 1500; i += 3) {
        expect(Math.hypot(pc.points[i]!, pc.points[i + 1]!, pc.points[i + 2]!)).toBeLessThan(0.951);
        expect(Math.hypot(pc.normals![i]!, pc.normals![i + 1]!, pc.normals![i + 2]!)).toBeCloseTo(1, 5);
      }
      expect(syntheticSurface(kind, new Rng(4), 500).points).toEqual(pc.points);
    }
  });

  it('runOctreeBench reports every figure (tiny run, nothing timed is asserted)', async () => {
    const r = await runOctreeBench({ shapes: 4, points: 400, depths: [4], reps: 1, overlapBatches: 1, stepMs: 1, overlapRepeats: 1 });
    expect(r.depths).toHaveLength(1);
    const d = r.depths[0]!;
    expect(d.nodes.plain).toHaveLength(5);
    expect(d.nodes.plain.slice(0, 2)).toEqual([1, 8]);
    expect(d.nodes.rq30).toHaveLength(5);
    expect(d.batchRows.plain[4]! % 8).toBe(0);
    for (const v of [
      d.buildMsPerShape,
      d.mergeNeighborsMs,
      d.batchMs.plain,
      d.batchMs.rq30,
      r.overlap.inline.wallMs,
      r.overlap.pooledMergeInWorker.wallMs,
      r.overlap.pooledMergeInMain.wallMs,
    ]) {
      expect(v).toBeGreaterThan(0);
    }
    expect(Number.isFinite(r.overlap.overlapRatio)).toBe(true);
  });
});
