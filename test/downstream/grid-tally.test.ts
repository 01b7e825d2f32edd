import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_HYPER, FewshotConfigSchema } from '../../src/downstream/fewshot-config.ts';
import { runFewshot } from '../../src/downstream/fewshot.ts';
import { GridTally } from '../../src/downstream/grid-tally.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
process.env.RQ3D_BACKEND ??= 'cpu';

describe('grid progress', () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts stored cells towards k, prints a line only for computed ones, and says the elapsed time', () => {
    const lines: string[] = [];
    let t = 1_000;
    const tally = new GridTally(
      'g',
      4,
      false,
      (l) => lines.push(l),
      () => t,
    );
    tally.cell(false);
    t += 30_000;
    tally.cell(true);
    t += 20 * 60_000;
    tally.cell(true);
    t += 2 * 3600_000;
    tally.cell(true);
    expect(lines).toEqual([
      'grid g: 2/4 cells (1 new in this run, 30 s)\n',
      'grid g: 3/4 cells (2 new in this run, 21 min)\n',
      'grid g: 4/4 cells (3 new in this run, 2.3 h)\n',
    ]);
    const quiet: string[] = [];
    const q = new GridTally('g', 1, true, (l) => quiet.push(l));
    q.cell(true);
    expect(quiet).toEqual([]);
  });

  it("a grid's log counts the selected cells across backbones and protocols; a re-run computes and prints nothing", async () => {
    await tf.setBackend('cpu');
    const cfg = FewshotConfigSchema.parse({
      name: 'tally',
      task: 'classification',
      data: { source: 'synth:5', points: 256 },
      model: 'tiny',
      backbones: { scratch: { from: 'scratch' }, random: { from: 'random' } },
      protocols: ['linear', 'finetune'],
      ratios: [0.5, 1],
      seeds: [0],
      linear: { ...DEFAULT_HYPER.linear, baseSteps: 4, minSteps: 2 },
      finetune: { ...DEFAULT_HYPER.finetune, baseSteps: 2, minSteps: 1, batchSize: 8 },
      workers: 0,
    });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-tally-'));
    const err: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
    // the random backbone is a probe only (no finetune protocol): 2 ratios x (scratch linear + finetune, random linear)
    await runFewshot(cfg, { out, quiet: false, only: { ratios: [1] } });
    const grid = () => err.filter((l) => l.startsWith('grid tally:')).map((l) => l.replace(/, [\d.]+ (s|min|h)\)\n$/, ')'));
    expect(grid()).toEqual([
      'grid tally: 1/3 cells (1 new in this run)',
      'grid tally: 2/3 cells (2 new in this run)',
      'grid tally: 3/3 cells (3 new in this run)',
    ]);
    err.length = 0;
    await runFewshot(cfg, { out, quiet: false });
    // the ratio-1 cells are stored (each backbone and protocol runs ratio 0.5, then 1): they count, silently
    expect(grid()).toEqual([
      'grid tally: 1/6 cells (1 new in this run)',
      'grid tally: 3/6 cells (2 new in this run)',
      'grid tally: 5/6 cells (3 new in this run)',
    ]);
    err.length = 0;
    await runFewshot(cfg, { out, quiet: false });
    expect(grid()).toEqual([]);
  }, 120_000);
});
