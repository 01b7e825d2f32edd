import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { PRETRAIN_PRESETS, resolvePretrainConfig, validatePretrainConfig } from '../../src/train/config.ts';
import { pretrain } from '../../src/train/pretrain.ts';
import { loadCheckpoint, disposeLoaded } from '../../src/train/checkpoint.ts';
import { loadShapes } from '../../src/data/sources.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-pretrain-'));
}

describe('pretraining config', () => {
  it('rejects unknown keys and bad values, naming the field', () => {
    const bad = { ...structuredClone(PRETRAIN_PRESETS.tiny!), extra: 1 };
    expect(() => validatePretrainConfig(bad, 'x.json')).toThrow(/x.json: .*extra/);
    const bad2 = structuredClone(PRETRAIN_PRESETS.tiny!);
    (bad2.optim as { lr: number }).lr = -1;
    expect(() => validatePretrainConfig(bad2, 'y.json')).toThrow(/y.json: optim.lr/);
    const file = path.join(tmp(), 'c.json');
    fs.writeFileSync(file, JSON.stringify({ extends: 'tiny', optim: { epochs: 3 } }));
    const c = resolvePretrainConfig(file);
    expect(c.optim.epochs).toBe(3);
    expect(c.optim.lr).toBe(PRETRAIN_PRESETS.tiny!.optim.lr);
    fs.writeFileSync(file, JSON.stringify({ extends: 'tiny', optim: { epochz: 3 } }));
    expect(() => resolvePretrainConfig(file)).toThrow(/optim/);
  });
});

describe('MID-Net pretraining', async () => {
  const cfg = structuredClone(PRETRAIN_PRESETS.tiny!);
  cfg.optim.epochs = 1;
  const shapes = await loadShapes('synth:2', { split: 'train', points: 384, quiet: true });

  it('writes config, metrics and a checkpoint; resuming gives the same weights as an uninterrupted run', async () => {
    await tf.setBackend('cpu');
    const a = tmp();
    const b = tmp();
    const full = await pretrain(cfg, { out: a, quiet: true, shapes, maxSteps: 4 });
    expect(full.steps).toBe(4);
    expect(fs.existsSync(path.join(a, 'config.json'))).toBe(true);
    const lines = fs
      .readFileSync(path.join(a, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    expect(lines.every((l) => Number.isFinite(l.loss))).toBe(true);
    expect(fs.existsSync(path.join(a, 'accuracy.svg'))).toBe(true);

    await pretrain(cfg, { out: b, quiet: true, shapes, maxSteps: 2 });
    const resumed = await pretrain(cfg, { out: b, quiet: true, shapes, maxSteps: 4, resume: true });
    expect(resumed.steps).toBe(4);
    const ca = await loadCheckpoint(path.join(a, 'checkpoint'));
    const cb = await loadCheckpoint(path.join(b, 'checkpoint'));
    expect(cb.meta.step).toBe(4);
    let worst = 0;
    for (const [group, tensors] of ca.groups) {
      for (const [name, t] of tensors) {
        const u = cb.groups.get(group)!.get(name)!;
        worst = Math.max(
          worst,
          tf.tidy(() => tf.max(tf.abs(tf.sub(t, u))).dataSync()[0]!),
        );
      }
    }
    expect(worst).toBe(0);
    expect(Array.from(cb.arrays.get('shape_bank')!)).toEqual(Array.from(ca.arrays.get('shape_bank')!));
    const metricsB = fs.readFileSync(path.join(b, 'metrics.jsonl'), 'utf8');
    expect(metricsB.trim().split('\n').length).toBe(4);
    disposeLoaded(ca);
    disposeLoaded(cb);
  });

  it('does not grow the tfjs tensor count across steps', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    await pretrain(cfg, { out: tmp(), quiet: true, shapes, maxSteps: 2 });
    const after2 = tf.memory().numTensors;
    const out = tmp();
    await pretrain(cfg, { out, quiet: true, shapes, maxSteps: 5 });
    const counts = fs
      .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { tensors: number }).tensors);
    // after the first step (which creates the momentum buffers) the count is flat
    expect(new Set(counts.slice(1)).size).toBe(1);
    // and a run leaves nothing behind, whatever its length
    expect(tf.memory().numTensors).toBe(after2);
    expect(after2).toBe(before);
  });
});
