import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HRNET_PRESETS } from '../../src/models/presets.ts';
import { PRETRAIN_PRESETS } from '../../src/train/config.ts';
import { pretrain } from '../../src/train/pretrain.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { WASM32_HEAP_LIMIT_BYTES, checkBatchFits, estimateStepHeapBytes } from '../../src/train/step-memory.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));

describe('step memory estimate', () => {
  it('is within ~10 % of the wasm heap measured after one step (paper batch 4, cpu batch 16; docs/performance.md)', () => {
    const paper = estimateStepHeapBytes(HRNET_PRESETS.paper, [4, 32, 256, 896, 3736, 12000, 24192], [4, 32, 112, 467, 1500, 3024, 3905]);
    expect(paper / (1583 * 2 ** 20)).toBeGreaterThan(0.9);
    expect(paper / (1583 * 2 ** 20)).toBeLessThan(1.1);
    const cpu = estimateStepHeapBytes(HRNET_PRESETS.cpu, [16, 128, 1024, 3576, 14912, 47280], [16, 128, 447, 1864, 5910, 11575]);
    expect(cpu / (404 * 2 ** 20)).toBeGreaterThan(0.9);
    expect(cpu / (404 * 2 ** 20)).toBeLessThan(1.1);
  });

  it('gives the largest batch under the limit from a sample of shapes', () => {
    const fit = checkBatchFits(HRNET_PRESETS.paper, [4, 32, 256, 896, 3736, 12000, 24192], [4, 32, 112, 467, 1500, 3024, 3905], 4, 32);
    expect(fit.fits).toBe(false);
    expect(fit.limitBytes).toBe(WASM32_HEAP_LIMIT_BYTES);
    const per = (b: number) => checkBatchFits(HRNET_PRESETS.paper, [4, 32, 256, 896, 3736, 12000, 24192], [4, 32, 112, 467, 1500, 3024, 3905], 4, b);
    expect(per(fit.largestBatch).fits).toBe(true);
    expect(per(fit.largestBatch + 1).fits).toBe(false);
    expect(checkBatchFits(HRNET_PRESETS.cpu, [16, 128, 1024, 3576, 14912, 47280], [16, 128, 447, 1864, 5910, 11575], 16, 32).fits).toBe(true);
  });

  it('the paper preset at batch 32 on wasm fails before k-means with one line: the limit and the largest batch', async () => {
    const { initBackend } = await import('../../src/backend.ts');
    await initBackend({ backend: 'wasm', threads: 1 });
    const cfg = structuredClone(PRETRAIN_PRESETS.paper!);
    const shapes = await loadShapes('synth:4', { split: 'train', points: 3000, quiet: true });
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-paper-')), 'run');
    const t0 = performance.now();
    await expect(pretrain(cfg, { out, quiet: true, shapes, backend: 'wasm', watchdog: false })).rejects.toThrow(
      /batch 32 at depth 6 .* needs about [\d.]+ GiB of wasm heap, over the 4\.0 GiB wasm32 limit; the largest batch that fits is about \d+: pass --batch-size \d+ \(or set optim.batchSize in a config file\)/,
    );
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(fs.existsSync(out)).toBe(false);
  });
});
