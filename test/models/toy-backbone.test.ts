import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Octree } from '../../octree/octree.ts';
import { concatColumns, octreeDepad, octreeGlobalPool, octreeInterp, octreeMaxPool, octreeUpsample } from '../../octree/ops/index.ts';
import {
  buildBackbone,
  projectionHeads,
  registerBackbone,
  unregisterBackbone,
  type Backbone,
  type BackboneFeatures,
  type BackboneSpec,
} from '../../src/models/backbones.ts';
import { Conv1x1Bn, convBnRelu, type Linear, type OctreeConvBn } from '../../src/models/layers.ts';
import { Params, type ForwardContext } from '../../src/models/params.ts';
import { Classifier, Segmenter } from '../../src/downstream/heads.ts';
import { checkpointModelConfig, loadPretrained } from '../../src/downstream/pretrained.ts';
import { classifierSelection, extractFc1, finetuneClassifier, trainLinearProbe } from '../../src/downstream/classify.ts';
import { segmentCategory, segmenterSelection } from '../../src/downstream/segment.ts';
import { lrFactors } from '../../src/downstream/train-loop.ts';
import { DEFAULT_HYPER, FewshotConfigSchema } from '../../src/downstream/fewshot-config.ts';
import { RECIPES, runFewshot } from '../../src/downstream/fewshot.ts';
import { readCells } from '../../src/downstream/cells.ts';
import { synthDataset } from '../../src/data/synth/index.ts';
import { HRNET_PRESETS } from '../../src/models/presets.ts';
import { hasStepHeapEstimate } from '../../src/train/step-memory.ts';
import { loadBackbone, pointFeatures } from '../../viewer/src/predict/feature-model.ts';
import { loadSegmenter, predictParts } from '../../viewer/src/predict/segment-model.ts';
import { disposeLoaded, loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { PRETRAIN_PRESETS, resolvePretrainConfig, validatePretrainConfig } from '../../src/train/config.ts';
import { pretrain } from '../../src/train/pretrain.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { UserError } from '../../src/util/errors.ts';
import { prepareSample } from '../../src/pipeline/sample.ts';
import { inputFeature } from '../../octree/index.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));

/**
 * Issue 12 item 2: a backbone that is not MID HRNet, written only against the public API (the Backbone
 * interface, the registry, the layers), pretrained with the MID losses and probed linearly. Two octree
 * convs (depth D, then D-1 after a max-pool), a global mean pool for the global feature, the D-1 features
 * copied back to D beside the D ones for the point feature.
 */
interface ToySpec extends BackboneSpec {
  type: 'toy-conv';
  width: number;
}

class ToyConv implements Backbone<ToySpec> {
  readonly type = 'toy-conv';
  training = false;
  readonly params: Params;
  readonly globalChannels: number;
  readonly pointChannels: number;
  readonly projections: { shape: Linear; point: Linear };
  private readonly conv1: OctreeConvBn;
  private readonly conv2: OctreeConvBn;
  private readonly pointFc: Conv1x1Bn;

  constructor(
    readonly config: ToySpec,
    seed: number | string,
  ) {
    this.params = new Params(seed);
    const w = config.width;
    this.conv1 = convBnRelu(this.params.scope('conv1'), config.inChannels, w);
    this.conv2 = convBnRelu(this.params.scope('conv2'), w, 2 * w);
    this.pointFc = new Conv1x1Bn(this.params.scope('point/fc'), 3 * w, w, true);
    this.globalChannels = 2 * w;
    this.pointChannels = w;
    this.projections = projectionHeads(this.params, this.globalChannels, this.pointChannels, config);
  }

  private get ctx(): ForwardContext {
    return { training: this.training };
  }

  /** conv at D, max-pool, conv at D-1 (all rows). */
  private encode(input: tf.Tensor2D, octree: Octree): { fine: tf.Tensor2D; coarse: tf.Tensor2D } {
    const D = this.config.depth;
    const fine = this.conv1.apply(input, octree, D, this.ctx);
    return { fine, coarse: this.conv2.apply(octreeMaxPool(fine, octree, D), octree, D - 1, this.ctx) };
  }

  /** [nnumNempty[D], 3w]: the D-1 features copied to their children beside the D ones. */
  private nodeInputs(e: { fine: tf.Tensor2D; coarse: tf.Tensor2D }, octree: Octree): tf.Tensor2D {
    const D = this.config.depth;
    return concatColumns([octreeDepad(octreeUpsample(e.coarse, octree, D - 1), octree, D), octreeDepad(e.fine, octree, D)]);
  }

  forward(input: tf.Tensor2D, octree: Octree): BackboneFeatures {
    return tf.tidy(() => {
      const e = this.encode(input, octree);
      return { global: octreeGlobalPool(e.coarse, octree, this.config.depth - 1), point: this.pointFc.apply(this.nodeInputs(e, octree), this.ctx) };
    });
  }

  globalFeature(input: tf.Tensor2D, octree: Octree): tf.Tensor2D {
    return tf.tidy(() => octreeGlobalPool(this.encode(input, octree).coarse, octree, this.config.depth - 1));
  }

  pointFeature(input: tf.Tensor2D, octree: Octree, pts?: Float32Array): tf.Tensor2D {
    return tf.tidy(() => {
      const nodes = this.nodeInputs(this.encode(input, octree), octree);
      const rows = pts ? octreeInterp(nodes, octree, this.config.depth, pts, { method: 'nearest', nempty: true }) : nodes;
      return this.pointFc.apply(rows, this.ctx);
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

const isProjection = (n: string): boolean => n.startsWith('shape_head/fc2/') || n.startsWith('point_head/fc2/');

const toy: ToySpec = { type: 'toy-conv', depth: 5, fullDepth: 2, inChannels: 4, width: 8, projection: 8, pointOut: 8 };

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerBackbone<ToySpec>('toy-conv', {
    build: (c, seed) => new ToyConv(c, seed),
    validate: (c, where) => {
      if (typeof c.width !== 'number' || !Number.isInteger(c.width) || c.width < 1) throw new UserError(`${where}: model.width must be a whole number >= 1`);
      return c as unknown as ToySpec;
    },
    presets: { small: toy },
    // the reference fine-tune structure, as MID HRNet's entry gives it: for classification `conv2` (the conv
    // the global feature pools) joins the new classifier in head-only mode, at the backbone's rate otherwise,
    // and the point branch takes no part; for segmentation the point FC joins the new layer at its full rate
    downstream: {
      classify: { unused: (n) => isProjection(n) || n.startsWith('point/'), head: (n) => n.startsWith('conv2/'), fullRate: () => false },
      segment: { unused: isProjection, head: (n) => n.startsWith('point/fc/'), fullRate: (n) => n.startsWith('point/fc/') },
    },
  });
  // the same network without hooks: the registry's default structure
  registerBackbone<ToySpec>('toy-plain', { build: (c, seed) => new ToyConv(c, seed) });
});

afterAll(() => {
  unregisterBackbone('toy-conv');
  unregisterBackbone('toy-plain');
});

describe('a registered toy backbone', () => {
  it("its own fields are checked by its registry entry; `model: { type: 'toy-conv', ... }` passes the config schema", () => {
    expect(() => buildBackbone({ ...toy, width: 0 }, 0, 'toy.json')).toThrow(/^toy.json: model.width must be/);
    const c = validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: toy }, 'toy.json');
    expect(c.model).toEqual(toy);
    // the common fields are still checked by the schema
    expect(() => validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: { ...toy, projection: 0 } }, 'toy.json')).toThrow(
      /toy.json: model.projection/,
    );
    expect(() => validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: { ...toy, width: 0 } }, 'toy.json')).toThrow(
      /^toy.json: model.width must be/,
    );
    expect(() => validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: { ...toy, type: 'nope' } }, 'toy.json')).toThrow(
      /^toy.json: model.type 'nope' is not a registered backbone/,
    );
    // a config file extending a preset: another type replaces the preset's model, 'mid-hrnet' merges into it
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-toy-config-'));
    fs.writeFileSync(path.join(dir, 'toy.json'), JSON.stringify({ extends: 'tiny', model: toy }));
    expect(resolvePretrainConfig(path.join(dir, 'toy.json')).model).toEqual(toy);
    fs.writeFileSync(path.join(dir, 'mid.json'), JSON.stringify({ extends: 'tiny', model: { type: 'mid-hrnet', fc1: 24 } }));
    expect(resolvePretrainConfig(path.join(dir, 'mid.json')).model).toEqual({ ...PRETRAIN_PRESETS.tiny!.model, type: 'mid-hrnet', fc1: 24 });
  });

  it('pretrains with the MID losses for two steps, then a linear probe runs on its global features; the segmentation head wraps it', async () => {
    const shapes = await loadShapes('synth:2', { split: 'train', points: 384, quiet: true });
    const cfg = validatePretrainConfig(
      { ...structuredClone(PRETRAIN_PRESETS.tiny!), model: toy, optim: { ...PRETRAIN_PRESETS.tiny!.optim, epochs: 1 } },
      'toy',
    );
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-toy-'));
    const r = await pretrain(cfg, { out, quiet: true, shapes, maxSteps: 2, watchdog: false });
    expect(r.steps).toBe(2);
    expect(Number.isFinite(r.last!.loss)).toBe(true);
    expect(r.last!.shapeLoss).toBeGreaterThan(0);
    expect(r.last!.pointLoss).toBeGreaterThan(0);
    // nothing leaks from step to step
    expect(r.last!.tensors).toBe(r.first!.tensors);

    // the checkpoint holds the toy's variables and config; a fresh toy built from meta.model restores them all
    const meta = (await readCheckpointMeta(r.checkpoint)) as { model: ToySpec };
    expect(meta.model).toEqual(toy);
    const net = buildBackbone(meta.model, 'fresh');
    const cls = new Classifier(net, shapes.classes.length);
    const restored = await loadPretrained(net, r.checkpoint, ['cls/']);
    expect(restored).toBe([...net.params.variables.keys()].filter((n) => !n.startsWith('cls/')).length);
    const ck = await loadCheckpoint(r.checkpoint, { arrays: false });
    const w = ck.groups.get('model')!.get('conv1/conv/weights')!;
    expect(Array.from(net.params.variables.get('conv1/conv/weights')!.dataSync())).toEqual(Array.from(w.dataSync()));
    disposeLoaded(ck);

    const labels = shapes.items.map((it) => it.label);
    const n = labels.length;
    const train = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 !== 0);
    const test = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 === 0);
    const before = tf.memory().numTensors;
    const xTrain = await extractFc1(cls, { clouds: shapes.clouds, labels, classes: shapes.classes.length }, train, { quiet: true, workers: 0 });
    const xTest = await extractFc1(cls, { clouds: shapes.clouds, labels, classes: shapes.classes.length }, test, { quiet: true, workers: 0 });
    expect(xTrain.length).toBe(train.length * net.globalChannels);
    expect(xTrain.every(Number.isFinite)).toBe(true);
    // feature extraction through the interface leaves no tensor behind
    expect(tf.memory().numTensors).toBe(before);
    const probe = await trainLinearProbe(
      { x: xTrain, y: train.map((i) => labels[i]!) },
      { x: xTest, y: test.map((i) => labels[i]!) },
      net.globalChannels,
      shapes.classes.length,
      { lr: 0.1, momentum: 0.9, weightDecay: 0, batchSize: 8, steps: 20, decayAt: [1], seed: 0 },
    );
    expect(probe.oa).toBeGreaterThanOrEqual(0);
    expect(probe.oa).toBeLessThanOrEqual(1);
    expect(probe.confusion.flat().reduce((a, b) => a + b, 0)).toBe(test.length);
    expect(tf.memory().numTensors).toBe(before);
    cls.dispose();

    // the segmentation head on the same backbone type: one row of logits per query point
    const seg = new Segmenter(buildBackbone(toy, 0), 3);
    const s = prepareSample(shapes.clouds[0]!, { depth: 5, fullDepth: 2, transform: 'none', rq: null, features: 'ND', nempty: false }, 0);
    const f = inputFeature(s.octree, { letters: 'ND', nempty: false });
    const x = tf.tensor2d(f.data, [s.octree.nnum[5]!, f.channels]);
    const pts = new Float32Array([0, 0, 0, 0, 0.5, -0.5, 0.25, 0]);
    const logits = seg.logits(x, s.octree, pts, { training: false });
    expect(logits.shape).toEqual([2, 3]);
    tf.dispose([x, logits]);
    seg.dispose();
  });
});

/** fetch for files under `root`, like the viewer's /checkpoint/ endpoint. */
const diskFetch =
  (root: string) =>
  async (file: string): Promise<ArrayBuffer> => {
    const b = fs.readFileSync(path.join(root, ...file.split('/')));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };

/** Every variable of a checkpoint's model group, by name. */
async function weightsOf(dir: string): Promise<Map<string, Float32Array>> {
  const ck = await loadCheckpoint(dir);
  const m = new Map([...ck.groups.get('model')!].map(([n, t]) => [n, t.dataSync() as Float32Array]));
  disposeLoaded(ck);
  return m;
}
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => Math.max(s, Math.abs(v - b[i]!)), 0);
const isStat = (n: string): boolean => n.endsWith('running_mean') || n.endsWith('running_var');

describe('the toy backbone through the downstream path (issue 12 item 2)', () => {
  const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-toy-ds-'));
  const hyper = { steps: 2, lr: 0.05, backboneLrScale: 0.1, momentum: 0.9, weightDecay: 5e-4, batchSize: 4, decayAt: [], seed: 0, workers: 0, quiet: true };
  let checkpoint = '';
  let init = new Map<string, Float32Array>();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    // pretrained as in the test above: two steps with the MID losses
    const shapes = await loadShapes('synth:2', { split: 'train', points: 256, quiet: true });
    const cfg = validatePretrainConfig(
      { ...structuredClone(PRETRAIN_PRESETS.tiny!), model: toy, optim: { ...PRETRAIN_PRESETS.tiny!.optim, epochs: 1 } },
      'toy',
    );
    checkpoint = (await pretrain(cfg, { out: tmp(), quiet: true, shapes, maxSteps: 2, watchdog: false })).checkpoint;
    init = await weightsOf(checkpoint);
  }, 120_000);

  it('the train selections come from its registry entry (downstream hooks), or the default without them', () => {
    const cls = new Classifier(buildBackbone(toy, 0), 3);
    const names = [...cls.net.params.trainable];
    cls.dispose();
    const pre = { pretrained: true, backboneLrScale: 0.1 };
    // head only: the new classifier and conv2, at the full rate
    const head = lrFactors(names, classifierSelection('head', toy), pre);
    expect(new Set([...head.keys()].map((n) => n.split('/')[0]))).toEqual(new Set(['cls', 'conv2']));
    expect(new Set(head.values())).toEqual(new Set([1]));
    // full: the classifier at 1x, conv1 and conv2 at 0.1x, never the point branch or the projections
    const full = lrFactors(names, classifierSelection('full', toy), pre);
    for (const [n, v] of full) expect(v).toBe(n.startsWith('cls/') ? 1 : 0.1);
    expect(new Set([...full.keys()].map((n) => n.split('/')[0]))).toEqual(new Set(['cls', 'conv1', 'conv2']));
    // the default (no hooks): only the projections are left out, the new layer alone is the head
    const plain = { ...toy, type: 'toy-plain' };
    expect([...lrFactors(names, classifierSelection('head', plain), pre).keys()].every((n) => n.startsWith('cls/'))).toBe(true);
    const plainFull = lrFactors(names, classifierSelection('full', plain), pre);
    expect(new Set([...plainFull.keys()].map((n) => n.split('/')[0]))).toEqual(new Set(['cls', 'conv1', 'conv2', 'point']));
    expect([...plainFull.keys()].some(isProjection)).toBe(false);

    const seg = new Segmenter(buildBackbone(toy, 0), 3);
    const sn = [...seg.net.params.trainable];
    seg.dispose();
    const two = lrFactors(sn, segmenterSelection('2fc', toy), pre);
    expect(new Set([...two.keys()].map((n) => n.split('/')[0]))).toEqual(new Set(['seg', 'point']));
    const ft = lrFactors(sn, segmenterSelection('finetune', toy), pre);
    for (const [n, v] of ft) expect(v).toBe(n.startsWith('seg/') || n.startsWith('point/fc/') ? 1 : 0.1);
    expect([...ft.keys()].some(isProjection)).toBe(false);
    expect([...ft.keys()].some((n) => n.startsWith('conv1/'))).toBe(true);
  });

  it('fine-tunes from its checkpoint: head only freezes the backbone (its BN statistics moving), full trains it at 0.1x', async () => {
    const shapes = await loadShapes('synth:5', { points: 256, quiet: true });
    const train = shapes.items.flatMap((it, i) => (it.split === 'train' ? [i] : [])).slice(0, 12);
    const test = shapes.items.flatMap((it, i) => (it.split === 'test' ? [i] : [])).slice(0, 4);
    const data = { clouds: shapes.clouds, labels: shapes.items.map((i) => i.label), classes: shapes.classes.length };
    const before = tf.memory().numTensors;
    const headDir = tmp();
    const r = await finetuneClassifier(toy, data, train, test, { ...hyper, init: { checkpoint }, mode: 'head', saveDir: headDir });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.steps).toBe(2);
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    const w = await weightsOf(headDir);
    for (const n of ['conv1/conv/weights', 'point/fc/conv/weights']) if (w.has(n)) expect(maxDiff(w.get(n)!, init.get(n)!)).toBe(0);
    expect([...w.keys()].filter((n) => n.startsWith('conv1/') && isStat(n)).some((n) => maxDiff(w.get(n)!, init.get(n)!) > 0)).toBe(true);
    expect([...w.keys()].filter((n) => n.startsWith('conv1/') && !isStat(n)).every((n) => maxDiff(w.get(n)!, init.get(n)!) === 0)).toBe(true);
    expect([...w.keys()].filter((n) => n.startsWith('conv2/') && !isStat(n)).some((n) => maxDiff(w.get(n)!, init.get(n)!) > 0)).toBe(true);
    expect(w.has('cls/fc/weights')).toBe(true);

    // one step at backboneLrScale 0.1 and at 1 from the same checkpoint: the backbone's step is 0.1x, the classifier's the same
    const a = tmp();
    const b = tmp();
    await finetuneClassifier(toy, data, train, test, { ...hyper, steps: 1, init: { checkpoint }, mode: 'full', saveDir: a });
    await finetuneClassifier(toy, data, train, test, { ...hyper, steps: 1, backboneLrScale: 1, init: { checkpoint }, mode: 'full', saveDir: b });
    const [wa, wb] = [await weightsOf(a), await weightsOf(b)];
    const l1 = (d: Float32Array): number => d.reduce((s, v) => s + Math.abs(v), 0);
    let checked = 0;
    for (const [n, va] of wa) {
      if (isStat(n) || !init.has(n)) continue;
      const i0 = init.get(n)!;
      const db = wb.get(n)!.map((v, i) => v - i0[i]!);
      if (l1(db) < 1e-4) continue;
      expect(l1(va.map((v, i) => v - i0[i]!)) / l1(db)).toBeCloseTo(0.1, 3);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(2);
    expect(maxDiff(wa.get('cls/fc/weights')!, wb.get('cls/fc/weights')!)).toBeLessThan(1e-6);
  });

  it('segments from its checkpoint (2fc: only the point FC and the new layer train); the viewer loads the saved model through the registry', async () => {
    const shapes = await loadShapes('synth:3', { points: 256, scale: 0.95, quiet: true });
    const c = shapes.classes.indexOf('chair');
    const idx = shapes.items.map((it, i) => (it.label === c ? i : -1)).filter((i) => i >= 0);
    const parts = shapes.parts!.chair!.length;
    const root = tmp();
    const before = tf.memory().numTensors;
    const r = await segmentCategory(toy, shapes.clouds, parts, idx.slice(0, 2), idx.slice(2), {
      ...hyper,
      batchSize: 2,
      init: { checkpoint },
      mode: '2fc',
      saveDir: path.join(root, 'chair'),
      category: 'chair',
      partNames: shapes.parts!.chair,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.ious.length).toBe(1);
    expect(r.ious[0]).toBeGreaterThanOrEqual(0);
    expect(r.ious[0]).toBeLessThanOrEqual(1);
    const w = await weightsOf(path.join(root, 'chair'));
    for (const n of w.keys()) {
      if (isStat(n) || !init.has(n)) continue;
      if (n.startsWith('point/fc/')) expect(maxDiff(w.get(n)!, init.get(n)!)).toBeGreaterThan(0);
      else expect(maxDiff(w.get(n)!, init.get(n)!)).toBe(0);
    }

    // the viewer's loaders build the toy from meta.model through the registry
    const s = await loadSegmenter('chair', diskFetch(root));
    expect(s.model.net.type).toBe('toy-conv');
    const raw = synthDataset({ perClass: 3, seed: 0, points: 256 });
    const cloud = raw.loadSync(raw.items.find((it) => it.category === 'chair')!);
    const labels = await predictParts(s, cloud);
    expect(labels.length).toBe(256);
    expect(labels.every((p) => p >= 0 && p < parts)).toBe(true);
    s.model.dispose();
    const bb = await loadBackbone('chair', diskFetch(root));
    const f = await pointFeatures(bb, cloud);
    expect(f.channels).toBe(bb.net.pointChannels);
    expect(f.data.length).toBe(256 * bb.net.pointChannels);
    bb.net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a few-shot grid takes its checkpoint: linear-probe cells on its global features, fine-tune cells head only below 10 %, full from 10 %', async () => {
    const out = tmp();
    const cfg = FewshotConfigSchema.parse({
      name: 'toy',
      task: 'classification',
      data: { source: 'synth:5', points: 256 },
      model: 'tiny',
      backbones: { toy: { checkpoint } },
      protocols: ['linear', 'finetune'],
      ratios: [0.05, 1],
      seeds: [0],
      linear: { ...DEFAULT_HYPER.linear, baseSteps: 10, minSteps: 5 },
      finetune: { ...DEFAULT_HYPER.finetune, baseSteps: 2, minSteps: 1, batchSize: 8 },
      workers: 0,
    });
    await runFewshot(cfg, { out, quiet: true });
    const cells = readCells(out);
    const get = (p: string, r: number) => cells.find((c) => c.protocol === p && c.backbone === 'toy' && c.ratio === r)!;
    expect(get('linear', 0.05).recipe).toBe(RECIPES.linear);
    expect(get('linear', 1).oa).toBeGreaterThanOrEqual(0);
    expect(get('finetune', 0.05).recipe).toBe(RECIPES.head);
    expect(get('finetune', 1).recipe).toBe(RECIPES.full);
    // the cached features are the toy's global features (2 x width columns), not MID HRNet's fc1
    expect(fs.statSync(path.join(out, 'features', 'toy.bin')).size).toBe(50 * 2 * toy.width * 4);
    // an unregistered type in a checkpoint is one line naming the checkpoint and the field
    const bad = tmp();
    await saveCheckpoint(bad, { meta: { kind: 'pretrain', model: { ...toy, type: 'nope' } }, groups: { model: new Map() } });
    await expect(checkpointModelConfig(bad)).rejects.toThrow(new RegExp(`^${bad}: model.type 'nope' is not a registered backbone \\(registered: .*toy-conv`));
  });

  it("a few-shot grid's `model` may be any registered type: its scratch and random backbones build it", async () => {
    const out = tmp();
    const cfg = FewshotConfigSchema.parse({
      name: 'toy-scratch',
      task: 'classification',
      data: { source: 'synth:5', points: 256 },
      model: toy,
      backbones: { scratch: { from: 'scratch' }, random: { from: 'random' } },
      protocols: ['linear'],
      ratios: [1],
      seeds: [0],
      linear: { ...DEFAULT_HYPER.linear, baseSteps: 10, minSteps: 5 },
      finetune: { ...DEFAULT_HYPER.finetune, baseSteps: 2, minSteps: 1, batchSize: 8 },
      workers: 0,
    });
    await runFewshot(cfg, { out, quiet: true });
    const cells = readCells(out);
    expect(cells.find((c) => c.backbone === 'scratch')!.recipe).toBe(RECIPES.scratch);
    expect(cells.find((c) => c.backbone === 'random')!.recipe).toBe(RECIPES.random);
    // the random probe read the toy's global features (2 x width columns), not MID HRNet's fc1
    expect(fs.statSync(path.join(out, 'features', 'random.bin')).size).toBe(50 * 2 * toy.width * 4);
    // the type's own checks apply to the grid's model, and an unregistered type is named
    expect(() => FewshotConfigSchema.parse({ ...cfg, model: { ...toy, width: 0 } })).toThrow(/width/);
    expect(() => FewshotConfigSchema.parse({ ...cfg, model: { ...toy, type: 'nope' } })).toThrow(/'nope' is not a registered backbone/);
  });

  it('the wasm heap check is a registry hook: a type without one runs unchecked and says so; one with it is checked', async () => {
    expect(hasStepHeapEstimate(toy)).toBe(false);
    expect(hasStepHeapEstimate(HRNET_PRESETS.tiny)).toBe(true);
    registerBackbone<ToySpec>('toy-heavy', {
      build: (c, seed) => new ToyConv(c, seed),
      stepHeapBytes: () => 8 * 2 ** 30,
      describeSize: (c) => `width ${c.width}`,
    });
    const shapes = await loadShapes('synth:2', { split: 'train', points: 256, quiet: true });
    const cfg = (model: ToySpec) =>
      validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model, optim: { ...PRETRAIN_PRESETS.tiny!.optim, epochs: 1, batchSize: 2 } }, 'toy');
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (written.push(String(s)), true));
    try {
      await expect(
        pretrain(cfg({ ...toy, type: 'toy-heavy' } as unknown as ToySpec), {
          out: path.join(tmp(), 'run'),
          shapes,
          backend: 'wasm',
          maxSteps: 1,
          watchdog: false,
        }),
      ).rejects.toThrow(
        /^pretrain: a step of batch 2 at depth 5 \(width 8\) needs about 8\.0 GiB of wasm heap, over the 4\.0 GiB wasm32 limit; not even one shape fits/,
      );
      const r = await pretrain(cfg(toy), { out: tmp(), shapes, backend: 'wasm', maxSteps: 1, watchdog: false });
      expect(r.steps).toBe(1);
    } finally {
      spy.mockRestore();
      unregisterBackbone('toy-heavy');
      await tf.setBackend('cpu');
    }
    expect(written.join('')).toContain(
      'pretrain: backbone toy-conv has no wasm heap estimate (stepHeapBytes in its registry entry), so batch 2 is not checked against the wasm32 heap limit\n',
    );
    expect(written.join('')).toContain('backbone toy-conv depth 5: ');
  });
});
