import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Octree } from '../../octree/octree.ts';
import { concatColumns, octreeDepad, octreeGlobalPool, octreeInterp, octreeMaxPool, octreeUpsample } from '../../octree/ops/index.ts';
import { buildBackbone, projectionHeads, registerBackbone, unregisterBackbone, type Backbone, type BackboneFeatures, type BackboneSpec } from '../../src/models/backbones.ts';
import { Conv1x1Bn, convBnRelu, type Linear, type OctreeConvBn } from '../../src/models/layers.ts';
import { Params, type ForwardContext } from '../../src/models/params.ts';
import { Classifier, loadPretrained, Segmenter } from '../../src/downstream/models.ts';
import { extractFc1, trainLinearProbe } from '../../src/downstream/classify.ts';
import { disposeLoaded, loadCheckpoint, readCheckpointMeta } from '../../src/train/checkpoint.ts';
import { PRETRAIN_PRESETS, resolvePretrainConfig, validatePretrainConfig } from '../../src/train/config.ts';
import { pretrain } from '../../src/train/pretrain.ts';
import { loadShapes } from '../../src/train/shapes.ts';
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

  constructor(readonly config: ToySpec, seed: number | string) {
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
  });
});

afterAll(() => {
  unregisterBackbone('toy-conv');
});

describe('a registered toy backbone', () => {
  it("its own fields are checked by its registry entry; `model: { type: 'toy-conv', ... }` passes the config schema", () => {
    expect(() => buildBackbone({ ...toy, width: 0 }, 0, 'toy.json')).toThrow(/^toy.json: model.width must be/);
    const c = validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: toy }, 'toy.json');
    expect(c.model).toEqual(toy);
    // the common fields are still checked by the schema
    expect(() => validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: { ...toy, projection: 0 } }, 'toy.json')).toThrow(/toy.json: model.projection/);
    expect(() => validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: { ...toy, width: 0 } }, 'toy.json')).toThrow(/^toy.json: model.width must be/);
    expect(() => validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: { ...toy, type: 'nope' } }, 'toy.json')).toThrow(/^toy.json: model.type 'nope' is not a registered backbone/);
    // a config file extending a preset: another type replaces the preset's model, 'mid-hrnet' merges into it
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-toy-config-'));
    fs.writeFileSync(path.join(dir, 'toy.json'), JSON.stringify({ extends: 'tiny', model: toy }));
    expect(resolvePretrainConfig(path.join(dir, 'toy.json')).model).toEqual(toy);
    fs.writeFileSync(path.join(dir, 'mid.json'), JSON.stringify({ extends: 'tiny', model: { type: 'mid-hrnet', fc1: 24 } }));
    expect(resolvePretrainConfig(path.join(dir, 'mid.json')).model).toEqual({ ...PRETRAIN_PRESETS.tiny!.model, type: 'mid-hrnet', fc1: 24 });
  });

  it('pretrains with the MID losses for two steps, then a linear probe runs on its global features; the segmentation head wraps it', async () => {
    const shapes = await loadShapes('synth:2', { split: 'train', points: 384, quiet: true });
    const cfg = validatePretrainConfig({ ...structuredClone(PRETRAIN_PRESETS.tiny!), model: toy, optim: { ...PRETRAIN_PRESETS.tiny!.optim, epochs: 1 } }, 'toy');
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
