import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backboneIdentity, cellConfigHash, stableJson } from '../../src/downstream/cell-id.ts';
import { loadFewshotConfig, type FewshotConfig } from '../../src/downstream/fewshot-config.ts';

/** The resolved-config hash that names queued cells and marks stale cell files. */
const smoke = (): FewshotConfig => loadFewshotConfig(path.resolve(__dirname, '../../experiments/smoke-grid.json'));
const cell = { protocol: 'finetune', backbone: 'scratch', ratio: 0.1, seed: 0 };
const hash = (c: FewshotConfig, x = cell): string => cellConfigHash(c, x, backboneIdentity(c, c.backbones[x.backbone]!));

describe('cellConfigHash', () => {
  it('changes with what decides the result, not with key order or other grids’ settings', () => {
    const base = hash(smoke());
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    const steps = smoke();
    steps.finetune!.baseSteps += 1;
    expect(hash(steps)).not.toBe(base);
    const data = smoke();
    data.data.points = 1024;
    expect(hash(data)).not.toBe(base);
    expect(hash(smoke(), { ...cell, seed: 1 })).not.toBe(base);
    expect(hash(smoke(), { ...cell, ratio: 1 })).not.toBe(base);
    // the pretraining recipe names a pretrained backbone's weights
    const pre = smoke();
    (pre.backbones.mid_rq as { maxSteps: number }).maxSteps = 9;
    expect(hash(pre, { ...cell, backbone: 'mid_rq' })).not.toBe(hash(smoke(), { ...cell, backbone: 'mid_rq' }));
    // not part of a cell's result: other seeds and ratios of the grid, its name, notes, octree workers
    const other = smoke();
    other.seeds = [7];
    other.ratios = [0.5];
    other.name = 'renamed';
    other.notes = 'x';
    other.workers = 3;
    expect(hash(other)).toBe(base);
  });

  it('stableJson sorts keys at every level', () => {
    expect(stableJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(stableJson({ a: { c: null, d: [2, { e: 0, f: 1 }] }, b: 1 }));
  });
});
