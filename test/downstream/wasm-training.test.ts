import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { finetuneClassifier } from '../../src/downstream/classify.ts';
import { segmentCategory } from '../../src/downstream/segment.ts';
import { HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { loadShapes } from '../../src/data/sources.ts';

// The downstream training steps on the wasm backend (the default), where some built-in gradients
// (tf.gather's UnsortedSegmentSum) do not exist: the other downstream tests run on cpu.
process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

describe('downstream training on wasm', async () => {
  const shapes = await loadShapes('synth:3', { points: 384, quiet: true, scale: 0.95 });
  const train = shapes.items.flatMap((it, i) => (it.split === 'train' ? [i] : []));
  const test = shapes.items.flatMap((it, i) => (it.split === 'test' ? [i] : []));
  const common = { steps: 2, lr: 0.05, backboneLrScale: 0.1, momentum: 0.9, weightDecay: 5e-4, decayAt: [], seed: 0, workers: 0, quiet: true };

  it('segments one category (loss only on labelled points) without leaking tensors', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const c = shapes.classes.indexOf('chair');
    const tr = train.filter((i) => shapes.items[i]!.label === c);
    const te = test.filter((i) => shapes.items[i]!.label === c);
    const before = tf.memory().numTensors;
    const r = await segmentCategory(tiny, shapes.clouds, shapes.parts!.chair!.length, tr, te, { ...common, init: 'scratch', mode: 'finetune', batchSize: 4 });
    expect(r.steps).toBe(2);
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    expect(r.ious.length).toBe(te.length);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fine-tunes a classifier', async () => {
    const before = tf.memory().numTensors;
    const r = await finetuneClassifier(tiny, { clouds: shapes.clouds, labels: shapes.items.map((i) => i.label), classes: shapes.classes.length }, train, test, {
      ...common,
      init: 'scratch',
      mode: 'full',
      batchSize: 8,
    });
    expect(r.steps).toBe(2);
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
