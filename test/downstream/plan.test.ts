import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { backboneIdentity, cellConfigHash } from '../../src/downstream/cell-id.ts';
import { partialDir } from '../../src/downstream/cells.ts';
import { DEFAULT_HYPER, FewshotConfigSchema } from '../../src/downstream/fewshot-config.ts';
import { runFewshot } from '../../src/downstream/fewshot.ts';
import { formatPlan, gridPlan } from '../../src/downstream/plan.ts';
import { MidHRNet, HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { saveCheckpoint } from '../../src/train/checkpoint.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
process.env.RQ3D_BACKEND ??= 'cpu';
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-plan-'));

describe('rq3d fewshot --plan', () => {
  it('counts stored, partial and remaining cells and steps per row, the pretraining state, and trains or writes nothing', async () => {
    await tf.setBackend('cpu');
    const out = tmp();
    // a pretraining halfway (5 of 2 x 10 steps) and a checkpoint backbone whose folder its arm has not made yet
    const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };
    const net = new MidHRNet(tiny, 'plan');
    await saveCheckpoint(path.join(out, 'pre', 'checkpoint'), {
      meta: { kind: 'pretrain', step: 5, stepsPerEpoch: 10, model: tiny },
      groups: { model: net.params.variables },
    });
    net.dispose();
    const cfg = FewshotConfigSchema.parse({
      name: 'plan',
      task: 'classification',
      data: { source: 'synth:5', points: 256 },
      model: 'tiny',
      backbones: {
        scratch: { from: 'scratch' },
        rand: { from: 'random' },
        pre: { pretrain: 'tiny', epochs: 2, out: path.join(out, 'pre') },
        pre_e1: { checkpoint: path.join(out, 'pre', 'checkpoint-e1'), arm: 'pre', epoch: 1, protocols: ['linear'] },
      },
      protocols: ['linear', 'finetune'],
      ratios: [0.5, 1],
      seeds: [0],
      linear: { ...DEFAULT_HYPER.linear, baseSteps: 8, minSteps: 3 },
      finetune: { ...DEFAULT_HYPER.finetune, baseSteps: 6, minSteps: 2, batchSize: 8 },
      workers: 0,
    });
    // scratch's and the random probe's ratio-1 cells run; the pretrained ones do not
    await runFewshot(cfg, { out, quiet: true, only: { backbones: ['scratch', 'rand'], ratios: [1] } });
    // a finetune cell of `pre` interrupted at step 2 of 3 (6 x 0.5)
    const cell = { protocol: 'finetune', backbone: 'pre', ratio: 0.5, seed: 0 };
    const hash = cellConfigHash(cfg, cell, backboneIdentity(cfg, cfg.backbones.pre!));
    const n2 = new MidHRNet(tiny, 'p');
    await saveCheckpoint(partialDir(out, cell, hash), {
      meta: { kind: 'downstream-partial', id: hash, step: 2, totalSteps: 3 },
      groups: { model: n2.params.variables },
    });
    n2.dispose();
    const before = fs.readdirSync(out, { recursive: true }).length;

    const plan = await gridPlan(cfg, out);
    expect(plan.pretraining).toEqual([{ backbone: 'pre', dir: path.join(out, 'pre'), step: 5, totalSteps: 20, epochs: 2, state: 'partial' }]);
    const row = (p: string, b: string) => plan.rows.find((r) => r.protocol === p && r.backbone === b)!;
    // scratch: end to end with the finetune recipe (ratio 0.5: 3 steps); its finetune cells are copies
    expect(row('linear', 'scratch')).toMatchObject({ cells: 2, stored: 1, toRun: 1, steps: 3, probe: false });
    expect(row('finetune', 'scratch')).toMatchObject({ cells: 2, stored: 1, toRun: 1, steps: 0, note: 'copies of the linear cells (one computation)' });
    expect(row('linear', 'rand')).toMatchObject({ stored: 1, toRun: 1, steps: 4, probe: true });
    expect(plan.rows.some((r) => r.backbone === 'rand' && r.protocol === 'finetune')).toBe(false);
    // the partial cell has 1 of its 3 steps left; ratio 1 needs 6
    expect(row('finetune', 'pre')).toMatchObject({ stored: 0, partial: 1, toRun: 2, steps: 1 + 6 });
    expect(row('linear', 'pre_e1').note).toMatch(/its checkpoint is not there yet .*kept by pre's pretraining/);
    expect(plan.total).toMatchObject({ cells: 12, stored: 3, partial: 1, toRun: 9 });
    // network steps: scratch 3, pre finetune 7; probe steps: rand 4, pre linear 4 + 8, pre_e1 4 + 8
    expect([plan.total.steps, plan.total.probeSteps]).toEqual([10, 28]);
    const text = formatPlan(plan);
    expect(text.split('\n')[0]).toBe(
      `grid plan (${out}): 3 of 12 cells stored, 9 to run (10 network training steps, 28 linear-probe steps on cached features; 1 continue a partial run)`,
    );
    expect(text).toContain(`pretraining pre: partial, 5 / 20 steps (2 epochs), ${path.join(out, 'pre')}`);
    // nothing was written
    expect(fs.readdirSync(out, { recursive: true }).length).toBe(before);
    // filters select rows as a run's would
    const part = await gridPlan(cfg, out, { backbones: ['scratch'], ratios: [1] });
    expect(part.total).toMatchObject({ cells: 2, stored: 2, toRun: 0, steps: 0 });
  }, 120_000);

  it('on the command line: --plan --json is one JSON object and creates no results folder; --json alone is a usage error', () => {
    const out = path.join(tmp(), 'never');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['bin/rq3d.js', 'fewshot', '--config', 'experiments/smoke-grid.json', '--out', out, ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const r = run('--plan', '--json');
    expect(r.status, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { grid: string; total: { stored: number; cells: number } };
    expect(plan.grid).toBe('smoke-grid');
    expect(plan.total.stored).toBe(0);
    expect(plan.total.cells).toBeGreaterThan(0);
    expect(fs.existsSync(out)).toBe(false);
    const bad = run('--json');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('rq3d: --json goes with --plan (a grid writes its results as summary.json)');
  }, 60_000);
});
