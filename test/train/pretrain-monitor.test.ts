import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { PRETRAIN_PRESETS, validatePretrainConfig } from '../../src/train/config.ts';
import { pretrain, pretrainLr, pretrainMilestones, readMonitorInit, splitMetricRows } from '../../src/train/pretrain.ts';
import { cosineKnnAccuracy, knnSplit } from '../../src/train/knn-monitor.ts';
import { disposeLoaded, loadCheckpoint } from '../../src/train/checkpoint.ts';
import { MetricsLog } from '../../src/train/metrics.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { MidClassifier } from '../../src/downstream/heads.ts';
import { loadPretrained } from '../../src/downstream/pretrained.ts';
import { Rng } from '../../src/util/rng.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-monitor-'));
}

describe('pretraining lr schedule (reference: x0.1 at 50 % and 75 %)', () => {
  it('every preset decays at 50 % and 75 % of the run', () => {
    for (const name of ['paper', 'cpu', 'quick', 'tiny']) expect(PRETRAIN_PRESETS[name]!.optim.decayAt).toEqual([0.5, 0.75]);
  });

  it('lr at 49 %, 50 %, 74 %, 75 % of the steps, and the schedule follows --epochs', () => {
    const cfg = structuredClone(PRETRAIN_PRESETS.cpu!);
    cfg.optim.epochs = 20;
    const spe = 50; // 1,000 steps
    expect(pretrainMilestones(cfg, spe)).toEqual([500, 750]);
    expect(pretrainLr(cfg, spe, 490)).toBeCloseTo(0.03, 12);
    expect(pretrainLr(cfg, spe, 499)).toBeCloseTo(0.03, 12);
    expect(pretrainLr(cfg, spe, 500)).toBeCloseTo(0.003, 12);
    expect(pretrainLr(cfg, spe, 749)).toBeCloseTo(0.003, 12);
    expect(pretrainLr(cfg, spe, 750)).toBeCloseTo(0.0003, 12);
    expect(pretrainLr(cfg, spe, 999)).toBeCloseTo(0.0003, 12);
    cfg.optim.epochs = 40;
    expect(pretrainMilestones(cfg, spe)).toEqual([1000, 1500]);
  });

  it('an old config with optim.milestones (epochs) is refused with the new field named', () => {
    const c = structuredClone(PRETRAIN_PRESETS.tiny!) as unknown as { optim: Record<string, unknown> };
    delete c.optim.decayAt;
    c.optim.milestones = [1];
    expect(() => validatePretrainConfig(c, 'old.json')).toThrow(/old.json: optim.milestones .*optim.decayAt/);
  });
});

describe('cosine kNN monitor', () => {
  it('separable clusters: top-1 is 1.0; a majority of the k neighbours decides; tensors are disposed', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const rng = new Rng('knn-test');
    const dim = 8;
    const make = (n: number): { x: Float32Array; y: number[] } => {
      const x = new Float32Array(n * dim);
      const y: number[] = [];
      for (let i = 0; i < n; i++) {
        const c = i % 4;
        y.push(c);
        // class c points along axis c (scaled: cosine ignores length), a little noise on the other axes
        for (let d = 0; d < dim; d++) x[i * dim + d] = (d === c ? 1 : 0.05 * rng.range(-1, 1)) * (1 + i);
      }
      return { x, y };
    };
    expect(await cosineKnnAccuracy(make(40), make(12), dim, 5)).toBe(1);
    // a query nearest to one "a" row but with two "b" rows in its 3 neighbours goes to b
    const mem = { x: Float32Array.from([1, 0, 0.9, 0.3, 0.9, 0.35, -1, 0]), y: [0, 1, 1, 0] };
    const q = { x: Float32Array.from([1, 0.05]), y: [1] };
    expect(await cosineKnnAccuracy(mem, q, 2, 1)).toBe(0);
    expect(await cosineKnnAccuracy(mem, q, 2, 3)).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the held-out split is seeded, disjoint and 10 % of the shapes', () => {
    const a = knnSplit(200, 0.1, 0);
    expect(a.queries.length).toBe(20);
    expect(a.memory.length).toBe(180);
    expect(new Set([...a.queries, ...a.memory]).size).toBe(200);
    expect(knnSplit(200, 0.1, 0)).toEqual(a);
    expect(knnSplit(200, 0.1, 1).queries).not.toEqual(a.queries);
  });
});

describe('pretraining with the per-epoch monitor and kept checkpoints', async () => {
  const cfg = structuredClone(PRETRAIN_PRESETS.tiny!);
  cfg.optim.epochs = 2;
  cfg.keepEpochs = [1, 2];
  cfg.monitor = { knn: { k: 3, holdout: 0.25 } };
  const shapes = await loadShapes('synth:2', { split: 'train', points: 384, quiet: true });

  it('writes one epoch row per epoch (values in [0, 1]), monitor.svg and checkpoint-e1/-e2 that load; resume stays exact', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const a = tmp();
    const r = await pretrain(cfg, { out: a, quiet: true, shapes });
    const spe = r.steps / 2;
    const rows = await MetricsLog.read(path.join(a, 'metrics.jsonl'));
    const { steps, epochs } = splitMetricRows(rows);
    expect(steps.length).toBe(r.steps);
    expect(epochs.map((e) => [e.epochsDone, e.step])).toEqual([
      [1, spe],
      [2, 2 * spe],
    ]);
    for (const e of epochs) {
      for (const k of ['epochShapeAcc', 'epochPointAcc', 'knnTop1', 'knnChance']) {
        expect(e[k]).toBeGreaterThanOrEqual(0);
        expect(e[k]).toBeLessThanOrEqual(1);
      }
      expect(e.shapeChance).toBeCloseTo(1 / shapes.clouds.length, 12);
      expect(e.knnK).toBe(3);
      expect(e.knnQueries).toBe(Math.ceil(0.25 * shapes.clouds.length));
      // the monitor leaves no tensor behind: the same live count as after the steps
      expect(e.tensors).toBe(steps[steps.length - 1]!.tensors);
    }
    // the epoch row's mean is the mean of that epoch's step rows
    const mean0 = steps.slice(0, spe).reduce((s, x) => s + x.shapeAcc!, 0) / spe;
    expect(epochs[0]!.epochShapeAcc).toBeCloseTo(mean0, 12);
    expect(fs.readFileSync(path.join(a, 'monitor.svg'), 'utf8')).toContain('kNN top-1');
    // the random initialization's kNN level, measured before the first step
    const init = (await readMonitorInit(a))!;
    expect(init.epochsDone).toBe(0);
    expect(init.knnTop1).toBeGreaterThanOrEqual(0);
    expect(init.knnTop1).toBeLessThanOrEqual(1);
    expect(tf.memory().numTensors).toBe(before);

    for (const e of [1, 2]) {
      const dir = path.join(a, `checkpoint-e${e}`);
      const ck = await loadCheckpoint(dir);
      expect(ck.meta.epoch).toBe(e);
      expect(ck.meta.step).toBe(e * spe);
      disposeLoaded(ck);
      const m = new MidClassifier(cfg.model, shapes.classes.length, 0);
      expect(await loadPretrained(m.net, dir, ['cls/'])).toBeGreaterThan(0);
      m.dispose();
    }
    // the last kept epoch is the final state: the same weights as the rolling checkpoint
    const last = await loadCheckpoint(path.join(a, 'checkpoint-e2'));
    const roll = await loadCheckpoint(path.join(a, 'checkpoint'));
    for (const [name, t] of last.groups.get('model')!) expect(Array.from(t.dataSync())).toEqual(Array.from(roll.groups.get('model')!.get(name)!.dataSync()));
    disposeLoaded(last);
    disposeLoaded(roll);

    // interrupted mid-epoch 0 and resumed: bit-identical weights and the same epoch rows
    const b = tmp();
    await pretrain(cfg, { out: b, quiet: true, shapes, maxSteps: spe - 2 });
    await pretrain(cfg, { out: b, quiet: true, shapes, resume: true });
    const ca = await loadCheckpoint(path.join(a, 'checkpoint'));
    const cb = await loadCheckpoint(path.join(b, 'checkpoint'));
    for (const [name, t] of ca.groups.get('model')!) expect(Array.from(cb.groups.get('model')!.get(name)!.dataSync())).toEqual(Array.from(t.dataSync()));
    disposeLoaded(ca);
    disposeLoaded(cb);
    const eb = splitMetricRows(await MetricsLog.read(path.join(b, 'metrics.jsonl'))).epochs;
    const pick = (e: Record<string, number>): number[] => [e.step!, e.epochShapeAcc!, e.epochPointAcc!, e.knnTop1!, e.knnChance!];
    expect(eb.map(pick)).toEqual(epochs.map(pick));
  });

  it('a dataset without class labels skips the monitor with a one-line notice', async () => {
    await tf.setBackend('cpu');
    const one = { ...shapes, classes: ['all'], items: shapes.items.map((it) => ({ ...it, label: 0 })) };
    const c = structuredClone(cfg);
    c.optim.epochs = 1;
    c.keepEpochs = [];
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string | Uint8Array): boolean => {
      lines.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    let out: string;
    try {
      out = tmp();
      // not quiet, to see the notice; progress bars are off outside a TTY
      await pretrain(c, { out, shapes: one, watchdog: false });
    } finally {
      process.stderr.write = write;
    }
    expect(lines.filter((l) => l.includes('kNN monitor skipped')).length).toBe(1);
    const { epochs } = splitMetricRows(await MetricsLog.read(path.join(out, 'metrics.jsonl')));
    expect(epochs.length).toBe(1);
    expect(epochs[0]!.knnTop1).toBeUndefined();
    expect(epochs[0]!.epochShapeAcc).toBeGreaterThanOrEqual(0);
  });
});
