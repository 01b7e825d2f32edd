import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { finetuneClassifier, type FinetuneOptions } from '../../src/downstream/classify.ts';
import { DEFAULT_HYPER, FewshotConfigSchema } from '../../src/downstream/fewshot-config.ts';
import { loadGridShapes, runFewshot, segmentationCategories, segmentationCell } from '../../src/downstream/fewshot.ts';
import type { PartialRun } from '../../src/downstream/train-loop.ts';
import { readCells } from '../../src/downstream/cells.ts';
import { backboneIdentity, cellConfigHash } from '../../src/downstream/cell-id.ts';
import { HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { disposeLoaded, loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { loadShapes } from '../../src/data/sources.ts';
import type { PointCloud } from '../../src/data/pointcloud.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
process.env.RQ3D_BACKEND ??= 'cpu';
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-partial-'));
const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const weights = async (dir: string): Promise<Map<string, Float32Array>> => {
  const ck = await loadCheckpoint(dir);
  const m = new Map([...ck.groups.get('model')!].map(([n, t]) => [n, t.dataSync() as Float32Array]));
  disposeLoaded(ck);
  return m;
};

describe('a fine-tune run checkpoints as it trains and an interrupted run resumes exactly (PartialRun)', async () => {
  const shapes = await loadShapes('synth:5', { points: 256, quiet: true });
  const train = shapes.items.flatMap((it, i) => (it.split === 'train' ? [i] : []));
  const test = shapes.items.flatMap((it, i) => (it.split === 'test' ? [i] : [])).slice(0, 4);
  const data = { clouds: shapes.clouds, labels: shapes.items.map((i) => i.label), classes: shapes.classes.length };
  const base: FinetuneOptions = {
    init: 'scratch',
    mode: 'full',
    steps: 6,
    lr: 0.05,
    backboneLrScale: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
    batchSize: 4,
    decayAt: [0.4, 0.6, 0.8],
    seed: 3,
    workers: 0,
    quiet: true,
  };

  // the shapes a run loads (training batches and the test pass)
  const counting = (): { clouds: PointCloud[]; loads: () => number } => {
    let n = 0;
    const clouds = new Proxy(shapes.clouds as PointCloud[], {
      get(target, key, recv) {
        if (typeof key === 'string' && /^\d+$/.test(key)) n++;
        return Reflect.get(target, key, recv) as unknown;
      },
    });
    return { clouds, loads: () => n };
  };

  it('checkpointing changes nothing; a run killed mid-way and started again continues from its checkpoint and ends bit-identical, at no extra tensors', async () => {
    const plain = tmp();
    const fresh = counting();
    const ref = await finetuneClassifier(tiny, { ...data, clouds: fresh.clouds }, train, test, { ...base, saveDir: plain });
    const withPartial = tmp();
    const part = path.join(tmp(), 'partial');
    const r1 = await finetuneClassifier(tiny, data, train, test, { ...base, saveDir: withPartial, partial: { dir: part, every: 2, id: 'cell-a' } });
    expect(r1.confusion).toEqual(ref.confusion);
    const wRef = await weights(plain);
    const w1 = await weights(withPartial);
    for (const [n, v] of wRef) expect(w1.get(n), n).toEqual(v);
    // the last save is after the last step
    expect((await readCheckpointMeta(part)).step).toBe(6);

    // a crash: loading a training shape fails after the run has checkpointed at least once
    const crashDir = path.join(tmp(), 'partial');
    let loads = 0;
    const failing = new Proxy(shapes.clouds as PointCloud[], {
      get(target, key, recv) {
        if (typeof key === 'string' && /^\d+$/.test(key) && ++loads > 14) throw new Error('simulated crash while loading a shape');
        return Reflect.get(target, key, recv) as unknown;
      },
    });
    const before = tf.memory().numTensors;
    await expect(
      finetuneClassifier(tiny, { ...data, clouds: failing }, train, test, { ...base, partial: { dir: crashDir, every: 2, id: 'cell-a' } }),
    ).rejects.toThrow(/simulated crash/);
    expect(tf.memory().numTensors).toBe(before);
    const stoppedAt = Number((await readCheckpointMeta(crashDir)).step);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(6);

    const resumed = tmp();
    const again = counting();
    const r2 = await finetuneClassifier(tiny, { ...data, clouds: again.clouds }, train, test, {
      ...base,
      saveDir: resumed,
      partial: { dir: crashDir, every: 2, id: 'cell-a' },
    });
    expect(r2.steps).toBe(6);
    // it trained only the steps after the checkpoint: a batch of 4 shapes per step fewer
    expect(again.loads()).toBe(fresh.loads() - 4 * stoppedAt);
    expect(r2.confusion).toEqual(ref.confusion);
    expect(r2.finalLoss).toBe(ref.finalLoss);
    const w2 = await weights(resumed);
    for (const [n, v] of wRef) expect(w2.get(n), n).toEqual(v);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('a checkpoint of another run is refused with a line naming its folder', async () => {
    const part = path.join(tmp(), 'partial');
    await finetuneClassifier(tiny, data, train, test, { ...base, steps: 2, partial: { dir: part, every: 1, id: 'cell-a' } });
    await expect(finetuneClassifier(tiny, data, train, test, { ...base, steps: 2, partial: { dir: part, every: 1, id: 'cell-b' } })).rejects.toThrow(
      new RegExp(`${part.replace(/[/\\.]/g, '\\$&')}: this partial checkpoint belongs to another run`),
    );
  }, 60_000);
});

describe('a segmentation cell keeps its finished categories and its running one (PartialRun per category)', () => {
  it('a cell killed in its second category continues there and ends bit-identical', async () => {
    const cfg = FewshotConfigSchema.parse({
      name: 'partial-seg',
      task: 'segmentation',
      data: { source: 'synth:5', points: 256 },
      model: 'tiny',
      backbones: { scratch: { from: 'scratch' } },
      protocols: ['finetune'],
      ratios: [1],
      seeds: [0],
      segment: { ...DEFAULT_HYPER.segment, batchSize: 4 },
      categories: ['chair', 'airplane'],
      workers: 0,
    });
    const shapes = await loadGridShapes(cfg, true);
    const cats = segmentationCategories(cfg, shapes);
    const bb = { kind: 'scratch' as const, checkpoint: null, model: tiny };
    const run = (s: typeof shapes, partial?: PartialRun) =>
      segmentationCell(cfg, cfg.segment!, s, cats, bb, 'finetune', 1, 0, 4, (c) => c, true, undefined, partial);
    const ref = await run(shapes);
    // the second category's model fails after its first checkpoint (each category trains on 4 shapes a step)
    const dir = path.join(tmp(), 'partial');
    const chair = shapes.classes.indexOf('chair');
    let airplaneLoads = 0;
    const failing = {
      ...shapes,
      clouds: new Proxy(shapes.clouds as PointCloud[], {
        get(target, key, recv) {
          if (typeof key === 'string' && /^\d+$/.test(key) && shapes.items[Number(key)]!.label !== chair && ++airplaneLoads > 10)
            throw new Error('simulated crash in the second category');
          return Reflect.get(target, key, recv) as unknown;
        },
      }),
    };
    const before = tf.memory().numTensors;
    await expect(run(failing, { dir, every: 2, id: 'cell-s' })).rejects.toThrow(/simulated crash/);
    expect(tf.memory().numTensors).toBe(before);
    expect(fs.existsSync(path.join(dir, 'chair.json'))).toBe(true);
    expect(Number((await readCheckpointMeta(path.join(dir, 'airplane'))).step)).toBe(2);
    // the resumed cell loads no chair shape (its result is stored) and only the airplane steps after step 2
    let chairLoads = 0;
    let planeLoads = 0;
    const counted = {
      ...shapes,
      clouds: new Proxy(shapes.clouds as PointCloud[], {
        get(target, key, recv) {
          if (typeof key === 'string' && /^\d+$/.test(key)) void (shapes.items[Number(key)]!.label === chair ? chairLoads++ : planeLoads++);
          return Reflect.get(target, key, recv) as unknown;
        },
      }),
    };
    const again = await run(counted, { dir, every: 2, id: 'cell-s' });
    expect(chairLoads).toBe(0);
    const plane = shapes.classes.indexOf('airplane');
    const testShapes = shapes.items.filter((it) => it.split === 'test' && it.label === plane).length;
    expect(planeLoads).toBe(2 * 4 + testShapes);
    expect(again.perCategory).toEqual(ref.perCategory);
    expect([again.cmiou, again.imiou, again.cmiouPointNet, again.steps, again.trainShapes]).toEqual([
      ref.cmiou,
      ref.imiou,
      ref.cmiouPointNet,
      ref.steps,
      ref.trainShapes,
    ]);
    // each finished category's checkpoint folder is gone; its result stays until the grid stores the cell
    expect(fs.readdirSync(dir).sort()).toEqual(['airplane.json', 'chair.json']);
    // a stored category of another run is not reused
    const other = await run(shapes, { dir, every: 2, id: 'cell-t' });
    expect(other.perCategory).toEqual(ref.perCategory);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'chair.json'), 'utf8')).id).toBe('cell-t/chair');
  }, 120_000);
});

describe('a grid keeps a cell’s partial run only until the cell is stored', () => {
  it('passes each fine-tune cell a partial folder keyed by its config hash and removes it (and stale ones) after the cell', async () => {
    const out = tmp();
    const cfg = FewshotConfigSchema.parse({
      name: 'partial-grid',
      task: 'classification',
      data: { source: 'synth:5', points: 256 },
      model: 'tiny',
      backbones: { scratch: { from: 'scratch' } },
      protocols: ['finetune'],
      ratios: [1],
      seeds: [0],
      finetune: { ...DEFAULT_HYPER.finetune, batchSize: 8, baseSteps: 2, minSteps: 2 },
      workers: 0,
    });
    const cell = { protocol: 'finetune', backbone: 'scratch', ratio: 1, seed: 0 };
    const hash = cellConfigHash(cfg, cell, backboneIdentity(cfg, cfg.backbones.scratch!));
    // the cell's partial folder is the one the grid resumes from: a checkpoint of another run there is refused
    const current = path.join(out, 'partial', 'finetune', 'scratch', `r1.00-s0-${hash}`);
    await saveCheckpoint(current, { meta: { kind: 'downstream-partial', id: 'another run', step: 1, totalSteps: 2 }, groups: { model: new Map() } });
    await expect(runFewshot(cfg, { out, quiet: true })).rejects.toThrow(`${current}: this partial checkpoint belongs to another run`);
    expect(readCells(out)).toHaveLength(0);
    fs.rmSync(current, { recursive: true });
    // a partial run of this cell under an old config hash is never resumed, and goes with the stored cell
    const stale = path.join(out, 'partial', 'finetune', 'scratch', 'r1.00-s0-0123456789abcdef');
    fs.mkdirSync(stale, { recursive: true });
    fs.writeFileSync(path.join(stale, 'model.json'), '{}');
    await runFewshot(cfg, { out, quiet: true });
    const cells = readCells(out);
    expect(cells).toHaveLength(1);
    expect(cells[0]!.steps).toBe(2);
    expect(fs.readdirSync(path.join(out, 'partial', 'finetune', 'scratch'))).toEqual([]);
  }, 120_000);
});
