import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { backboneIdentity, cellConfigHash } from '../../src/downstream/cell-id.ts';
import { DEFAULT_HYPER, FewshotConfigSchema, loadFewshotConfig } from '../../src/downstream/fewshot-config.ts';
import { loadGridShapes, ratioSubset, runFewshot, splitIndices, subsetDraw } from '../../src/downstream/fewshot.ts';
import { readCells } from '../../src/downstream/cells.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
process.env.RQ3D_BACKEND ??= 'cpu';

const base = {
  name: 'subsets',
  task: 'classification' as const,
  data: { source: 'synth:10', points: 256 },
  model: 'tiny',
  backbones: { rand: { from: 'random' as const } },
  protocols: ['linear' as const],
  ratios: [0.2, 1],
  seeds: [0, 1],
  linear: { ...DEFAULT_HYPER.linear, baseSteps: 4, minSteps: 2 },
  workers: 0,
};

describe('per-seed labelled subsets', () => {
  it('only "per-seed" enters the cell hash: the default, named or not, keeps every cell current', () => {
    const ref = FewshotConfigSchema.parse(base);
    const named = FewshotConfigSchema.parse({ ...base, subsets: 'reference' });
    const drawn = FewshotConfigSchema.parse({ ...base, subsets: 'per-seed' });
    const id = backboneIdentity(ref, ref.backbones.rand!);
    const cell = { protocol: 'linear', backbone: 'rand', ratio: 0.2, seed: 0 };
    expect(cellConfigHash(named, cell, id)).toBe(cellConfigHash(ref, cell, id));
    expect(cellConfigHash(drawn, cell, id)).not.toBe(cellConfigHash(ref, cell, id));
    expect(() => FewshotConfigSchema.parse({ ...base, subsets: 'random' })).toThrow();
    // the committed pilot asks for the reference's subsets
    expect(loadFewshotConfig(path.resolve('experiments/pilot-modelnet10.json')).subsets).toBeUndefined();
  });

  it('each seed of a per-seed grid labels its own shapes (per category in segmentation), and the report says what the ± spans', async () => {
    await tf.setBackend('cpu');
    const drawn = FewshotConfigSchema.parse({ ...base, subsets: 'per-seed' });
    const shapes = await loadGridShapes(drawn, true);
    const { train } = splitIndices(shapes);
    const sub = (cfg: typeof drawn, seed: number) => ratioSubset(shapes, train, 0.2, 'per-class', subsetDraw(cfg, seed));
    const ref = FewshotConfigSchema.parse(base);
    expect(sub(ref, 0)).toEqual(sub(ref, 1));
    expect(sub(drawn, 0)).not.toEqual(sub(drawn, 1));
    expect(sub(drawn, 0).length).toBe(sub(ref, 0).length);
    expect(subsetDraw(drawn, 1, 'chair')).not.toBe(subsetDraw(drawn, 1, 'lamp'));
    expect(subsetDraw(ref, 1, 'chair')).toBeUndefined();

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-subsets-'));
    const before = tf.memory().numTensors;
    await runFewshot(drawn, { out, quiet: true });
    expect(tf.memory().numTensors).toBe(before);
    const cells = readCells(out);
    expect(cells).toHaveLength(4);
    expect(new Set(cells.map((c) => c.trainShapes))).toEqual(new Set([sub(drawn, 0).length, train.length]));
    const md = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(md).toContain('each seed draws its own subset at each ratio');
    const refOut = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-subsets-'));
    await runFewshot(ref, { out: refOut, quiet: true, only: { ratios: [1], seeds: [0] } });
    expect(fs.readFileSync(path.join(refOut, 'table.md'), 'utf8')).toContain("the reference's fixed subset at each ratio, the same for every seed");
  }, 120_000);
});
