import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  computeView,
  DEFAULT_POINT_BUDGET,
  distinctPerAxis,
  loadCloud,
  loadShape,
  normalizeMesh,
  parseLabelLines,
  prepareInput,
} from '../../viewer/src/pipeline.ts';
import { decodeState, DEFAULT_STATE, encodeState } from '../../viewer/src/state.ts';
import { latin1 } from '../../viewer/src/shims/buffer.ts';
import { extname, basename } from '../../viewer/src/shims/path.ts';
import { synthDataset } from '../../src/data/synth/index.ts';
import { encodePly } from '../../src/data/formats/ply.ts';
import type { RqVariant } from '../../src/augment/randomized-quantization.ts';
import { normalizeCloud } from '../../src/data/normalize.ts';
import { fromYUp, toYUp } from '../../src/data/up-axis.ts';
import { prepareSample } from '../../src/pipeline/sample.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/data');
const chair = (): Uint8Array => {
  const ds = synthDataset({ perClass: 1, points: 2048, categories: ['chair'] });
  return encodePly(ds.loadSync(ds.items[0]!));
};
const q = { bins: 30, seed: 0, variant: 'random-random' as RqVariant, p: 1, mid: false, normalize: 'sphere' as const, depth: 5 };

describe('viewer pipeline (the CLI modules, run as the browser runs them)', () => {
  it('reads every fixture format through parseShape', () => {
    for (const f of ['tetra.ply', 'cube.obj', 'cloud.pcd', 'points.xyz', 'labelled.txt', 'cube.off', 'cloud-labels.ply']) {
      const pc = loadCloud(new Uint8Array(readFileSync(path.join(FIXTURES, f))), f);
      expect(pc.points.length, f).toBeGreaterThan(0);
      expect(pc.normals, f).not.toBeNull();
    }
    expect(loadCloud(new Uint8Array(readFileSync(path.join(FIXTURES, 'cube.obj'))), 'cube.obj').points.length / 3).toBe(8000);
  });

  it('quantizes to at most `bins` values per axis, so at most bins^3 octree leaves', () => {
    const pc = loadCloud(chair(), 'chair.ply');
    for (const variant of ['random-random', 'random-middle', 'uniform-random', 'uniform-middle'] as const) {
      for (const bins of [1, 4, 30, 64]) {
        const v = computeView(pc, { ...q, variant, bins });
        expect(Math.max(...v.stats.distinctQuantized), `${variant} ${bins}`).toBeLessThanOrEqual(bins);
        expect(v.stats.leavesQuantized).toBeLessThanOrEqual(Math.min(bins ** 3, v.stats.points));
        expect(v.quantizedOctree.cellCoords(5, true).length).toBe(3 * v.stats.leavesQuantized);
      }
    }
    const few = computeView(pc, { ...q, bins: 4 });
    expect(few.stats.leavesQuantized).toBeLessThan(few.stats.leavesInput / 4);
    expect(computeView(pc, { ...q, p: 0 }).stats.distinctQuantized).toEqual(computeView(pc, q).stats.distinctInput);
  });

  it('is a function of the seed; the MID-Net transform keeps points in the box', () => {
    const pc = loadCloud(chair(), 'chair.ply');
    const a = computeView(pc, q),
      b = computeView(pc, q),
      c = computeView(pc, { ...q, seed: 1 });
    expect(a.quantized.points).toEqual(b.quantized.points);
    expect(a.quantized.points).not.toEqual(c.quantized.points);
    const m = computeView(pc, { ...q, mid: true });
    expect(m.input.points.every((v) => v > -1 && v < 1)).toBe(true);
    expect(m.input.labels!.length).toBe(m.input.points.length / 3);
  });

  it('the MID-Net view is the training sample of that seed (prepareSample), turned y-up first and shown back', () => {
    const pc = loadCloud(chair(), 'chair.ply');
    const spec = {
      depth: 5,
      fullDepth: 2,
      transform: 'midnet' as const,
      rq: { bins: 30, variant: 'random-random' as const, p: 1 },
      features: 'ND',
      nempty: false,
    };
    for (const up of ['y', 'z'] as const) {
      const v = computeView(pc, { ...q, mid: true, seed: 7, up });
      const train = prepareSample(normalizeCloud(toYUp(pc, up), 'sphere'), spec, 7);
      expect(toYUp(v.quantized, up).points, up).toEqual(train.points.points);
      expect(fromYUp(train.points, up).normals, up).toEqual(v.quantized.normals);
      expect(v.quantized.points.length, up).toBe(3 * train.params.pointsKept);
    }
  });

  it('shows at most the point budget, says how many there were, keeps sidecar labels with their points', () => {
    expect(DEFAULT_POINT_BUDGET).toBeGreaterThanOrEqual(134_345); // Igea, a scanned statue, whole
    const ds = synthDataset({ perClass: 1, points: 3000, categories: ['chair'] });
    const pc = ds.loadSync(ds.items[0]!);
    const bytes = encodePly({ ...pc, labels: null });
    const all = loadShape(bytes, 'c.ply', pc.labels);
    expect([all.total, all.shown, all.cloud.points.length / 3]).toEqual([3000, 3000, 3000]);
    const some = loadShape(bytes, 'c.ply', pc.labels, 1000);
    expect([some.total, some.shown, some.cloud.points.length / 3, some.cloud.labels!.length]).toEqual([3000, 1000, 1000, 1000]);
    // Each kept point keeps its own label: find it in the full cloud.
    const key = (p: Float32Array, i: number): string => `${p[3 * i]},${p[3 * i + 1]},${p[3 * i + 2]}`;
    const full = new Map(Array.from({ length: 3000 }, (_, i) => [key(pc.points, i), pc.labels![i]!]));
    for (let i = 0; i < 1000; i++) expect(some.cloud.labels![i]).toBe(full.get(key(some.cloud.points, i)));
    expect(() => loadShape(bytes, 'c.ply', pc.labels!.subarray(0, 10))).toThrow(/10 labels for 3000 points/);
  });

  it('keeps a mesh to draw, in the frame of the sampled points', () => {
    const shape = loadShape(new Uint8Array(readFileSync(path.join(FIXTURES, 'cube.off'))), 'cube.off');
    expect(shape.mesh!.faces.length).toBe(36);
    expect([shape.total, shape.shown]).toEqual([8000, 8000]);
    const v = computeView(shape.cloud, q);
    expect(v.normalization).not.toBeNull();
    const verts = normalizeMesh(shape.mesh!, v.normalization!);
    // The samples lie on the surface: the normalized vertices bound the normalized samples.
    for (let a = 0; a < 3; a++) {
      const vs = verts.filter((_, i) => i % 3 === a);
      const ps = v.input.points.filter((_, i) => i % 3 === a);
      expect(Math.min(...vs)).toBeLessThanOrEqual(Math.min(...ps) + 1e-6);
      expect(Math.max(...vs)).toBeGreaterThanOrEqual(Math.max(...ps) - 1e-6);
      expect(Math.max(...vs) - Math.min(...ps)).toBeLessThan(2.1);
    }
    expect(v.input.points).toEqual(prepareInput(shape.cloud, q).points);
    expect(computeView(shape.cloud, { ...q, mid: true }).normalization).toBeNull();
    expect(v.axes.length).toBe(3);
  });

  it('counts distinct values per axis', () => {
    expect(distinctPerAxis(new Float32Array([0, 1, 2, 0, 1, 3, 0, 5, 2]))).toEqual([1, 2, 2]);
    expect(parseLabelLines('1\n2\n 3\n')).toEqual(Int32Array.from([1, 2, 3]));
  });
});

describe('viewer state, IoU, shims', () => {
  it('round-trips the URL state and falls back per field on bad values', () => {
    const s = {
      ...DEFAULT_STATE,
      file: 'a b/c#.ply',
      bins: 7,
      seed: 42,
      variant: 'uniform-middle' as const,
      p: 0.5,
      mid: true,
      depth: 3,
      boxes: 'solid' as const,
      color: 'label' as const,
      cam: [1, 2, 3] as [number, number, number],
      category: 'chair',
      split: 'test',
    };
    expect(decodeState(encodeState(s))).toEqual(s);
    const t = { ...s, budget: 12_345, layout: 'compare' as const, axes: false, surface: false, color: 'features' as const };
    expect(decodeState(encodeState(t))).toEqual(t);
    expect(decodeState('#budget=5&layout=grid')).toMatchObject({ budget: DEFAULT_STATE.budget, layout: 'rq' });
    const bad = decodeState('#bins=999&variant=nope&depth=0&color=x&file=ok.ply&seed=-3');
    expect(bad).toMatchObject({ bins: 30, variant: 'random-random', depth: 5, color: 'height', file: 'ok.ply', seed: 0 });
  });

  it('the browser shims decode latin1 like Node and split names like node:path', () => {
    const bytes = Uint8Array.from({ length: 70000 }, (_, i) => i % 256);
    expect(latin1(bytes)).toBe(Buffer.from(bytes).toString('latin1'));
    expect(extname('a/b.c/d.PLY')).toBe('.PLY');
    expect(extname('.hidden')).toBe('');
    expect(basename('x/y/z.off')).toBe('z.off');
  });
});
