import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HYPER, FewshotConfigSchema, loadFewshotConfig } from '../../src/downstream/fewshot-config.ts';
import { runBudgetCurve } from '../../src/downstream/budget-curve.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
process.env.RQ3D_BACKEND ??= 'cpu';

describe('fine-tune budget curve', () => {
  it('runs one fine-tune per step budget, writes curve.md / .json / .svg, and resumes without recomputing', async () => {
    await tf.setBackend('cpu');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-curve-'));
    const cfg = FewshotConfigSchema.parse({
      name: 'curve',
      task: 'classification',
      data: { source: 'synth:3', points: 256 },
      model: 'tiny',
      backbones: { scratch: { from: 'scratch' } },
      protocols: ['finetune'],
      ratios: [0.5, 1],
      seeds: [0],
      finetune: { ...DEFAULT_HYPER.finetune, batchSize: 8 },
      budgetCurve: { steps: [1, 3] },
      workers: 0,
    });
    const pts = await runBudgetCurve(cfg, { out, quiet: true, only: { ratios: [1] } });
    expect(pts.map((p) => [p.ratio, p.budget, p.steps])).toEqual([
      [1, 1, 1],
      [1, 3, 3],
    ]);
    expect(pts.every((p) => p.oa! >= 0 && p.oa! <= 1 && p.recipe!.startsWith('whole network from random init'))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'curve.md'), 'utf8')).toContain('| scratch (end to end from random init), 100 %, seed 0 |');
    expect(fs.existsSync(path.join(out, 'curve.svg'))).toBe(true);
    // each point checkpointed under partial/ while it trained; nothing is left once its file is written
    const left = (fs.readdirSync(path.join(out, 'partial'), { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(out, 'partial', f)).isFile());
    expect(left).toEqual([]);
    expect(fs.readdirSync(path.join(out, 'partial', 'scratch'))).toEqual([]);
    // a finished point is not recomputed
    const f = path.join(out, 'curve', 'scratch', 'r1.00-s0-n3.json');
    const p = JSON.parse(fs.readFileSync(f, 'utf8')) as { oa: number };
    p.oa = 0.321;
    fs.writeFileSync(f, JSON.stringify(p));
    const again = await runBudgetCurve(cfg, { out, quiet: true, only: { ratios: [1] } });
    expect(again.find((x) => x.budget === 3)!.oa).toBe(0.321);
    await expect(runBudgetCurve(cfg, { out, quiet: true, only: { ratios: [0.3] } })).rejects.toThrow(/ratio 0.3 is not in the config/);
    // the linear protocol has no step budget: a classification curve probes finetune only
    await expect(runBudgetCurve(cfg, { out, quiet: true, only: { protocols: ['linear'] } })).rejects.toThrow(
      /--protocols: 'linear' is not a protocol this budget curve probes \(finetune\)/,
    );
  }, 120_000);

  it('the committed probe config loads', () => {
    const c = loadFewshotConfig(path.resolve('experiments/probes/finetune-budget-curve.json'));
    expect(c.budgetCurve!.steps.length).toBeGreaterThan(2);
    expect(c.finetune!.decayAt).toEqual([0.4, 0.6, 0.8]);
  });
});
