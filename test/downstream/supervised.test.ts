import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { trainSupervised, type SupervisedOptions } from '../../src/downstream/supervised.ts';
import { trainingBatches, trainingEpochs } from '../../src/downstream/batches.ts';
import { loadShapes, type ShapeCollection } from '../../src/data/sources.ts';
import { loadCheckpoint, disposeLoaded } from '../../src/train/checkpoint.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-sup-'));

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

describe('training batches by epoch', () => {
  it('group the flat batch sequence by epoch, each epoch a fresh permutation of the pool', () => {
    const pool = Array.from({ length: 10 }, (_, i) => 100 + i);
    const epochs = trainingEpochs(pool, 4, 5, 7);
    expect(epochs.map((e) => e.length)).toEqual([2, 2, 1]);
    expect(epochs.flat()).toEqual(trainingBatches(pool, 4, 5, 7));
    expect(epochs[0]!.flat()).not.toEqual(epochs[1]!.flat());
    for (const e of epochs) expect(new Set(e.flat()).size).toBe(e.flat().length);
  });
});

describe('rq3d supervised', async () => {
  const shapes = await loadShapes('synth:5', { points: 256, quiet: true, scale: 0.95 });
  const opts = (out: string): SupervisedOptions => ({
    model: 'lenet',
    depth: 4,
    fullDepth: 2,
    epochs: 2,
    batchSize: 8,
    lr: 0.05,
    weightDecay: 5e-4,
    resblocks: 1,
    widthScale: 1,
    seed: 3,
    workers: 0,
    out,
    quiet: true,
  });
  const weights = async (dir: string): Promise<Map<string, Float32Array>> => {
    const ck = await loadCheckpoint(path.join(dir, 'checkpoint'));
    const out = new Map([...ck.groups.get('model')!].map(([n, t]) => [n, t.dataSync() as Float32Array]));
    disposeLoaded(ck);
    return out;
  };

  it('trains, evaluates after every epoch, writes result and checkpoint, and leaks no tensors', async () => {
    const out = tmp();
    const before = tf.memory().numTensors;
    const r = await trainSupervised(shapes, opts(out));
    expect(tf.memory().numTensors).toBe(before);
    expect(r.epochs).toBe(2);
    expect(r.oa).toBeGreaterThanOrEqual(0);
    const lines = fs
      .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { epoch: number; testOa: number });
    expect(lines.map((l) => l.epoch)).toEqual([1, 2]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).oa).toBe(r.oa);
    expect(fs.readFileSync(path.join(out, 'accuracy.svg'), 'utf8')).toMatch(/<svg[\s\S]*test OA[\s\S]*<\/svg>/);
  });

  it('resumes an interrupted run after its last finished epoch and ends exactly where an uninterrupted run does', async () => {
    const straight = tmp();
    const a = await trainSupervised(shapes, opts(straight));
    // the same run, crashing while it reads shapes in the second epoch
    const crashed = tmp();
    const train = shapes.items.filter((it) => it.split === 'train').length;
    const perEpoch = Math.floor(train / 8) * 8;
    let reads = 0;
    const failing: ShapeCollection = {
      ...shapes,
      clouds: new Proxy(shapes.clouds, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key) && ++reads > perEpoch + shapes.items.length - train + 8) throw new Error('simulated crash');
          return Reflect.get(target, key, receiver) as unknown;
        },
      }),
    };
    await expect(trainSupervised(failing, opts(crashed))).rejects.toThrow('simulated crash');
    expect(fs.readFileSync(path.join(crashed, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    const b = await trainSupervised(shapes, { ...opts(crashed), resume: true });
    expect(b.oa).toBe(a.oa);
    expect(b.bestOa).toBe(a.bestOa);
    const wa = await weights(straight),
      wb = await weights(crashed);
    for (const [n, v] of wa) expect(wb.get(n)).toEqual(v);
    expect(fs.readFileSync(path.join(crashed, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('refuses to resume from a different run', async () => {
    const out = tmp();
    await trainSupervised(shapes, { ...opts(out), epochs: 1 });
    await expect(trainSupervised(shapes, { ...opts(out), model: 'resnet', resume: true })).rejects.toThrow(/another supervised run/);
  });
});
