import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { aggregateIoU, meanStd, overallAccuracy, shapeIoU } from '../../src/downstream/metrics.ts';
import { extractFc1, finetuneClassifier, trainLinearProbe } from '../../src/downstream/classify.ts';
import { MidClassifier } from '../../src/downstream/heads.ts';
import { segmentCategory } from '../../src/downstream/segment.ts';
import { FewshotConfigSchema, stepsFor, DEFAULT_HYPER } from '../../src/downstream/fewshot-config.ts';
import { runFewshot } from '../../src/downstream/fewshot.ts';
import { readCells } from '../../src/downstream/cells.ts';
import { HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { loadCheckpoint, disposeLoaded } from '../../src/train/checkpoint.ts';
import { Rng } from '../../src/util/rng.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
process.env.RQ3D_BACKEND ??= 'cpu';
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-down-'));
const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('metrics', () => {
  it('per-shape IoU in the reference convention ignores parts absent from the ground truth; PointNet counts them as 1', () => {
    // 3 parts; GT uses parts 0 and 1 only; the prediction also predicts part 2 once
    const truth = [0, 0, 0, 1, 1, 1];
    const pred = [0, 0, 1, 1, 1, 2];
    // part 0: inter 2, union 3; part 1: inter 2, union 4
    expect(shapeIoU(pred, truth, 3, 'ocnn')).toBeCloseTo((2 / 3 + 2 / 4) / 2, 10);
    // PointNet: part 2 absent from GT but predicted once -> IoU 0
    expect(shapeIoU(pred, truth, 3, 'pointnet')).toBeCloseTo((2 / 3 + 2 / 4 + 0) / 3, 10);
    expect(shapeIoU([0, 0, 1], [0, 0, 1], 3, 'pointnet')).toBe(1);
    const agg = aggregateIoU({ a: [1, 1, 1], b: [0] });
    expect(agg.cmiou).toBeCloseTo(0.5, 10);
    expect(agg.imiou).toBeCloseTo(0.75, 10);
    expect(overallAccuracy([1, 2, 3], [1, 2, 0])).toBeCloseTo(2 / 3, 10);
    expect(meanStd([1, 2, 3])).toEqual({ mean: 2, std: 1 });
  });

  it('step counts follow base·ratio·m with a floor', () => {
    expect(stepsFor(DEFAULT_HYPER.finetune, 1)).toBe(300);
    expect(stepsFor(DEFAULT_HYPER.finetune, 0.01)).toBe(40);
    expect(stepsFor({ ...DEFAULT_HYPER.finetune, minSteps: 1 }, 0.05)).toBe(30);
  });
});

describe('linear probe', () => {
  it('separates linearly separable features and does no better than chance on noise', async () => {
    const rng = new Rng(1);
    const make = (n: number, signal: boolean): { x: Float32Array; y: number[] } => {
      const x = new Float32Array(n * 8);
      const y: number[] = [];
      for (let i = 0; i < n; i++) {
        const c = i % 4;
        y.push(c);
        for (let d = 0; d < 8; d++) x[i * 8 + d] = rng.normal() * 0.3 + (signal && d === c ? 2 : 0);
      }
      return { x, y };
    };
    const o = { lr: 0.1, momentum: 0.9, weightDecay: 0, batchSize: 16, steps: 200, decayAt: [0.7], seed: 0 };
    expect((await trainLinearProbe(make(80, true), make(80, true), 8, 4, o)).oa).toBeGreaterThan(0.95);
    expect((await trainLinearProbe(make(80, false), make(200, false), 8, 4, o)).oa).toBeLessThan(0.45);
  });
});

describe('fine-tuning and segmentation (tiny network, a few steps)', async () => {
  const shapes = await loadShapes('synth:3', { points: 384, quiet: true, scale: 0.95 });
  const train = shapes.items.flatMap((it, i) => (it.split === 'train' ? [i] : []));
  const test = shapes.items.flatMap((it, i) => (it.split === 'test' ? [i] : []));

  it('fine-tunes a classifier from scratch and reports accuracy on the test split', async () => {
    const before = tf.memory().numTensors;
    const r = await finetuneClassifier(tiny, { clouds: shapes.clouds, labels: shapes.items.map((i) => i.label), classes: shapes.classes.length }, train, test, {
      init: 'scratch',
      mode: 'full',
      steps: 3,
      lr: 0.05,
      backboneLrScale: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      batchSize: 8,
      decayAt: [],
      seed: 0,
      workers: 0,
      quiet: true,
    });
    expect(r.steps).toBe(3);
    expect(r.oa).toBeGreaterThanOrEqual(0);
    expect(r.oa).toBeLessThanOrEqual(1);
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('starts the classifier from a linear probe of the initial network when asked (LP-FT)', async () => {
    // synth:5 has a test split (every 5th shape)
    const s5 = await loadShapes('synth:5', { points: 256, quiet: true, scale: 0.95 });
    const train = s5.items.flatMap((it, i) => (it.split === 'train' ? [i] : []));
    const test = s5.items.flatMap((it, i) => (it.split === 'test' ? [i] : []));
    const data = { clouds: s5.clouds, labels: s5.items.map((i) => i.label), classes: s5.classes.length };
    // a random tiny network's fc1 features are small (|x| < 0.2): a large rate separates them
    const lp = { lr: 20, momentum: 0.9, weightDecay: 5e-7, batchSize: 8, steps: 300, decayAt: [2 / 3], seed: 5 };
    // no fine-tuning steps: the test accuracy is the linear probe's on the same network's fc1 features
    const r = await finetuneClassifier(tiny, data, train, test, {
      init: 'scratch',
      mode: 'full',
      steps: 0,
      lr: 0.05,
      backboneLrScale: 1,
      momentum: 0.9,
      weightDecay: 5e-4,
      batchSize: 8,
      decayAt: [],
      seed: 0,
      workers: 0,
      quiet: true,
      headInit: lp,
    });
    const model = new MidClassifier(tiny, data.classes, '0/finetune');
    const fx = await extractFc1(model, data, [...train, ...test], { quiet: true, workers: 0 });
    model.dispose();
    const dim = tiny.fc1;
    const probe = await trainLinearProbe(
      { x: fx.subarray(0, train.length * dim), y: train.map((i) => data.labels[i]!) },
      { x: fx.subarray(train.length * dim), y: test.map((i) => data.labels[i]!) },
      dim,
      data.classes,
      lp,
    );
    expect(r.steps).toBe(0);
    expect(r.oa).toBe(probe.oa);
    expect(r.oa).toBeGreaterThan(1 / data.classes);
  });

  it('segments one category, scores every test point, and saves a model the viewer can load', async () => {
    const c = shapes.classes.indexOf('chair');
    const tr = train.filter((i) => shapes.items[i]!.label === c);
    const te = test.filter((i) => shapes.items[i]!.label === c);
    const dir = tmp();
    const before = tf.memory().numTensors;
    const r = await segmentCategory(tiny, shapes.clouds, shapes.parts!.chair!.length, tr, te, {
      init: 'scratch',
      mode: 'finetune',
      steps: 2,
      lr: 0.05,
      backboneLrScale: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      batchSize: 4,
      decayAt: [],
      seed: 0,
      workers: 0,
      quiet: true,
      saveDir: dir,
      category: 'chair',
      partNames: shapes.parts!.chair,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.ious.length).toBe(te.length);
    expect(r.ious.every((v) => v >= 0 && v <= 1)).toBe(true);
    const ck = await loadCheckpoint(dir);
    expect(ck.meta.kind).toBe('segment');
    expect(ck.groups.get('model')!.has('seg/fc/weights')).toBe(true);
    disposeLoaded(ck);
  });

  it('runs a few-shot grid, writes the report, and skips finished cells when run again', async () => {
    const out = path.join(tmp(), 'results', 'test-grid');
    // synth:5, not synth:3: synth:3 has no test split, which the grid used to score as OA 0 % (now an error, issue 16)
    const cfg = FewshotConfigSchema.parse({
      name: 'test-grid',
      task: 'classification',
      data: { source: 'synth:5', points: 384 },
      model: 'tiny',
      backbones: { scratch: { from: 'scratch' } },
      protocols: ['linear'],
      ratios: [0.5, 1],
      seeds: [0, 1],
      linear: { ...DEFAULT_HYPER.linear, baseSteps: 20, minSteps: 5 },
      finetune: { ...DEFAULT_HYPER.finetune, baseSteps: 4, minSteps: 2 },
      workers: 0,
    });
    cfg.model = 'tiny';
    // a part of the grid (seed 1 only): its cells are computed, the saved config stays the whole grid's
    await runFewshot(cfg, { out, quiet: true, only: { seeds: [1] } });
    expect(readCells(out).map((c) => c.seed)).toEqual([1, 1]);
    expect((JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { seeds: number[] }).seeds).toEqual([0, 1]);
    await expect(runFewshot(cfg, { out, quiet: true, only: { seeds: [7] } })).rejects.toThrow(/seed 7 is not in the config/);
    await expect(runFewshot(cfg, { out, quiet: true, only: { protocols: ['finetun'] } })).rejects.toThrow(/protocol 'finetun'/);
    await runFewshot(cfg, { out, quiet: true });
    const cells = readCells(out);
    expect(cells.length).toBe(4);
    expect(fs.existsSync(path.join(out, 'table.md'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'linear.svg'))).toBe(true);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as {
      oa: Record<string, Record<string, Record<string, { seeds: number }>>>;
    };
    expect(summary.oa.linear!.scratch!['1.00']!.seeds).toBe(2);
    // the results folder's headline summary carries the grid under its name
    const headline = JSON.parse(fs.readFileSync(path.join(out, '..', 'summary.json'), 'utf8')) as Record<
      string,
      { linear: Record<string, Record<string, { mean: number }>> }
    >;
    expect(headline['test-grid']!.linear.scratch!['0.50']!.mean).toBeGreaterThanOrEqual(0);
    // a finished cell is not recomputed: tamper with one and check it survives a re-run
    const f = path.join(out, 'cells', 'linear', 'scratch', 'r1.00-s0.json');
    const cell = JSON.parse(fs.readFileSync(f, 'utf8')) as { oa: number };
    cell.oa = 0.123;
    fs.writeFileSync(f, JSON.stringify(cell));
    await runFewshot(cfg, { out, quiet: true });
    expect((JSON.parse(fs.readFileSync(f, 'utf8')) as { oa: number }).oa).toBe(0.123);
  });
});
