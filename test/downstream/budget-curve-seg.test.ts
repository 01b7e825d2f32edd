import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HYPER, FewshotConfigSchema, loadFewshotConfig } from '../../src/downstream/fewshot-config.ts';
import { runBudgetCurve, writeBudgetCurveReport, type CurvePoint } from '../../src/downstream/budget-curve.ts';
import { runFewshot } from '../../src/downstream/fewshot.ts';
import { readCells } from '../../src/downstream/cells.ts';
import { MidHRNet, HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { saveCheckpoint } from '../../src/train/checkpoint.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
process.env.RQ3D_BACKEND ??= 'cpu';
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-segcurve-'));
const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };
const read = (f: string): CurvePoint => JSON.parse(fs.readFileSync(f, 'utf8')) as CurvePoint;

describe('segmentation budget curve', () => {
  it('runs every protocol per budget (scratch once), resumes without recomputing, and matches the grid cell for cell', async () => {
    await tf.setBackend('cpu');
    // a "pretrained" checkpoint: a network of another seed, saved as pretraining saves it
    const pre = tmp();
    const net = new MidHRNet(tiny, 'pretrained');
    await saveCheckpoint(pre, { meta: { kind: 'pretrain', model: tiny }, groups: { model: net.params.variables } });
    net.dispose();
    // synth:5: 4 training and 1 test shape per category; two categories, so a cell aggregates two models
    const cfg = FewshotConfigSchema.parse({
      name: 'segcurve',
      task: 'segmentation',
      data: { source: 'synth:5', points: 256 },
      model: 'tiny',
      backbones: { scratch: { from: 'scratch' }, pre: { checkpoint: pre } },
      protocols: ['2fc', 'finetune'],
      ratios: [0.5, 1],
      seeds: [0],
      // the grid's budget at ratio 1 is 2 steps per category: the curve's n2 points are the grid's cells
      segment: { ...DEFAULT_HYPER.segment, batchSize: 4, baseSteps: 2, minSteps: 2 },
      budgetCurve: { steps: [1, 2] },
      categories: ['chair', 'airplane'],
      workers: 0,
    });
    const out = tmp();
    const before = tf.memory().numTensors;
    const pts = await runBudgetCurve(cfg, { out, quiet: true, only: { ratios: [1] } });
    expect(tf.memory().numTensors).toBe(before);
    // scratch once (under the first protocol), the pretrained backbone in both protocols; 2 budgets each
    expect(pts.map((p) => [p.backbone, p.protocol, p.budget, p.steps])).toEqual([
      ['pre', '2fc', 1, 2],
      ['pre', '2fc', 2, 4],
      ['pre', 'finetune', 1, 2],
      ['pre', 'finetune', 2, 4],
      ['scratch', '2fc', 1, 2],
      ['scratch', '2fc', 2, 4],
    ]);
    expect(fs.readdirSync(path.join(out, 'curve', 'pre')).sort()).toEqual([
      '2fc-r1.00-s0-n1.json',
      '2fc-r1.00-s0-n2.json',
      'finetune-r1.00-s0-n1.json',
      'finetune-r1.00-s0-n2.json',
    ]);
    expect(pts.every((p) => p.cmiou! >= 0 && p.cmiou! <= 1 && Object.keys(p.perCategory!).length === 2)).toBe(true);
    expect(pts.filter((p) => p.backbone === 'pre').map((p) => p.recipe!.split(';')[0])).toEqual([
      'two-FC head only',
      'two-FC head only',
      'whole network, pretrained backbone at backboneLrScale',
      'whole network, pretrained backbone at backboneLrScale',
    ]);
    const md = fs.readFileSync(path.join(out, 'curve.md'), 'utf8');
    expect(md).toContain('C.mIoU vs step budget');
    expect(md).toContain('| pre, finetune, 100 %, seed 0 |');
    expect(md).toContain('| scratch (end to end from random init), 100 %, seed 0 |');
    expect(fs.readFileSync(path.join(out, 'curve.svg'), 'utf8')).toContain('C.mIoU (%)');
    expect((JSON.parse(fs.readFileSync(path.join(out, 'curve.json'), 'utf8')) as { budgetUnit: string }).budgetUnit).toBe('steps per category');

    // a finished point is not recomputed
    const f = path.join(out, 'curve', 'pre', 'finetune-r1.00-s0-n2.json');
    fs.writeFileSync(f, JSON.stringify({ ...read(f), cmiou: 0.321 }));
    const again = await runBudgetCurve(cfg, { out, quiet: true, only: { ratios: [1] } });
    expect(again.find((x) => x.protocol === 'finetune' && x.budget === 2)!.cmiou).toBe(0.321);
    expect(again.length).toBe(6);
    fs.writeFileSync(f, JSON.stringify({ ...read(f), cmiou: pts.find((x) => x.protocol === 'finetune' && x.budget === 2 && x.backbone === 'pre')!.cmiou }));

    // --protocols finetune in a fresh folder: the pretrained backbone's finetune points and scratch's (still filed
    // under 2fc, so a whole probe would reuse them), the same numbers as the whole probe's
    const ftOut = tmp();
    const onlyFt = await runBudgetCurve(cfg, { out: ftOut, quiet: true, only: { ratios: [1], protocols: ['finetune'] } });
    expect(fs.readdirSync(path.join(ftOut, 'curve', 'pre')).sort()).toEqual(['finetune-r1.00-s0-n1.json', 'finetune-r1.00-s0-n2.json']);
    expect(fs.readdirSync(path.join(ftOut, 'curve', 'scratch')).sort()).toEqual(['2fc-r1.00-s0-n1.json', '2fc-r1.00-s0-n2.json']);
    expect(onlyFt.map((p) => [p.backbone, p.protocol, p.budget, p.cmiou])).toEqual(
      pts.filter((p) => p.backbone === 'scratch' || p.protocol === 'finetune').map((p) => [p.backbone, p.protocol, p.budget, p.cmiou]),
    );
    await expect(runBudgetCurve(cfg, { out, quiet: true, only: { protocols: ['linear'] } })).rejects.toThrow(
      /--protocols: 'linear' is not a protocol this budget curve probes \(2fc, finetune\)/,
    );

    // the grid's cells at ratio 1 (2 steps per category) are the curve's 2-step points: one shared computation
    const grid = tmp();
    await runFewshot(cfg, { out: grid, quiet: true, only: { ratios: [1] } });
    const cells = readCells(grid);
    // scratch's finetune cell is its 2fc cell copied (sharedScratchCell)
    expect(cells.map((c) => `${c.protocol}/${c.backbone}`).sort()).toEqual(['2fc/pre', '2fc/scratch', 'finetune/pre', 'finetune/scratch']);
    const same = (c: {
      cmiou?: number;
      imiou?: number;
      cmiouPointNet?: number;
      perCategory?: unknown;
      steps: number;
      trainShapes: number;
      recipe?: string;
    }) => [c.cmiou, c.imiou, c.cmiouPointNet, c.perCategory, c.steps, c.trainShapes, c.recipe];
    // the comparison can tell budgets apart: a 1-step point differs from its 2-step one
    expect(
      pts
        .filter((p) => p.budget === 1)
        .some((p) => p.cmiou !== pts.find((x) => x.budget === 2 && x.backbone === p.backbone && x.protocol === p.protocol)!.cmiou),
    ).toBe(true);
    for (const c of cells) {
      const p = pts.find((x) => x.backbone === c.backbone && x.budget === 2 && (c.backbone === 'scratch' || x.protocol === c.protocol))!;
      expect(same(c)).toEqual(same(p));
    }
    await expect(runBudgetCurve(cfg, { out, quiet: true, only: { backbones: ['mid'] } })).rejects.toThrow(/backbone 'mid' is not in the config/);
  }, 240_000);

  it('a classification curve re-reported from its points is byte-identical to the committed pilot curve', async () => {
    const committed = path.resolve('experiments/results/pilot-modelnet10/budget-curve');
    const out = tmp();
    fs.cpSync(committed, out, { recursive: true });
    for (const f of ['curve.md', 'curve.json', 'curve.svg']) fs.rmSync(path.join(out, f));
    const cfg = FewshotConfigSchema.parse(JSON.parse(fs.readFileSync(path.join(committed, 'config.json'), 'utf8')));
    await writeBudgetCurveReport(cfg, out);
    for (const f of ['curve.md', 'curve.json', 'curve.svg'])
      expect(fs.readFileSync(path.join(out, f), 'utf8')).toBe(fs.readFileSync(path.join(committed, f), 'utf8'));
  });

  it('the synthparts probe loads and reuses the synthparts grid pretraining', () => {
    const probe = loadFewshotConfig(path.resolve('experiments/probes/synthparts-budget-curve.json'));
    const grid = loadFewshotConfig(path.resolve('experiments/cpu-synthparts.json'));
    expect(probe.task).toBe('segmentation');
    expect(probe.budgetCurve!.steps).toEqual([30, 60, 120, 240, 480]);
    expect(probe.ratios).toEqual([0.01, 1.0]);
    // the same pretraining specs and folders (absolute once loaded): whichever runs first pretrains, the other reuses it
    expect(probe.backbones).toEqual(grid.backbones);
    expect((probe.backbones.mid as { out: string }).out).toBe(path.resolve('runs/cpu-synthparts/mid'));
    for (const k of ['data', 'model', 'categories', 'protocols'] as const) expect(probe[k]).toEqual(grid[k]);
    // the same recipe but the budget, which the probe measures and the grid then takes from its curve
    const recipe = (h: typeof grid.segment) => ({ ...h, baseSteps: 0, minSteps: 0 });
    expect(recipe(probe.segment)).toEqual(recipe(grid.segment));
  });
});
