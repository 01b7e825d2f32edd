import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HRNET_PRESETS } from '../../src/models/presets.ts';
import { PRETRAIN_PRESETS } from '../../src/train/config.ts';
import { pretrain } from '../../src/train/pretrain.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { HEAP_HEADROOM, WASM32_HEAP_LIMIT_BYTES, checkBatchFits, estimateStepHeapBytes } from '../../src/train/step-memory.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));

describe('step memory estimate', () => {
  // measured by src/bench/step-heap-main.ts after the tape-releasing backward (docs/performance.md): node
  // counts of the bench batch and the wasm heap after one step in a fresh process
  it('is within ~10 % of the wasm heap measured after one step (paper batch 4 and 8, cpu batch 16 and 32; docs/performance.md)', () => {
    const measured: Array<[keyof typeof HRNET_PRESETS, number[], number[], number]> = [
      ['paper', [4, 32, 256, 1496, 5136, 19384, 52008], [4, 32, 187, 642, 2423, 6501, 10090], 923],
      ['paper', [8, 64, 512, 2792, 9616, 29728, 58568], [8, 64, 349, 1202, 3716, 7321, 9775], 1392],
      ['cpu', [16, 128, 1024, 5112, 19016, 70824], [16, 128, 639, 2377, 8853, 24396], 295],
      ['cpu', [32, 256, 2048, 9992, 37048, 112896], [32, 256, 1249, 4631, 14112, 26938], 428],
    ];
    for (const [preset, nnum, nnumNempty, heapMiB] of measured) {
      const ratio = estimateStepHeapBytes(HRNET_PRESETS[preset], nnum, nnumNempty) / (heapMiB * 2 ** 20);
      expect(ratio, `${preset} batch ${nnum[0]}`).toBeGreaterThan(0.9);
      expect(ratio, `${preset} batch ${nnum[0]}`).toBeLessThan(1.1);
    }
  });

  it('refuses a batch whose estimate is under the limit by less than its headroom', () => {
    const nnum = [4, 32, 256, 1496, 5136, 19384, 52008];
    const nnumNempty = [4, 32, 187, 642, 2423, 6501, 10090];
    const est = estimateStepHeapBytes(HRNET_PRESETS.paper, nnum, nnumNempty);
    expect(checkBatchFits(HRNET_PRESETS.paper, nnum, nnumNempty, 4, 4, est * (1 + (HEAP_HEADROOM - 1) / 2)).fits).toBe(false);
    expect(checkBatchFits(HRNET_PRESETS.paper, nnum, nnumNempty, 4, 4, est * HEAP_HEADROOM * 1.01).fits).toBe(true);
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

  // batch 64 of synth:8 (70 training shapes): since the backward frees the tape as it goes, the paper preset trains at
  // batch 32 and 40 of these synthetic shapes (docs/performance.md, "paper preset"); batch 64 cannot fit
  it('the paper preset at batch 64 on wasm fails before k-means with one line: the limit and the largest batch', async () => {
    const { initBackend } = await import('../../src/backend.ts');
    await initBackend({ backend: 'wasm', threads: 1 });
    const cfg = structuredClone(PRETRAIN_PRESETS.paper!);
    cfg.optim.batchSize = 64;
    const shapes = await loadShapes('synth:8', { split: 'train', points: 3000, quiet: true });
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-paper-')), 'run');
    const t0 = performance.now();
    await expect(pretrain(cfg, { out, quiet: true, shapes, backend: 'wasm', watchdog: false })).rejects.toThrow(
      /batch 64 at depth 6 .* needs about [\d.]+ GiB of wasm heap, over the 4\.0 GiB wasm32 limit; the largest batch that fits is about \d+: pass --batch-size \d+ \(or set optim.batchSize in a config file\)/,
    );
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(fs.existsSync(out)).toBe(false);
  });
});
