import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { backbonePreset, backboneTypes, buildBackbone, registerBackbone } from '../../src/models/backbones.ts';
import { HRNET_PRESETS, MidHRNet, type HRNetConfig } from '../../src/models/mid-hrnet.ts';
import { Classifier, MidClassifier, MidSegmenter, Segmenter } from '../../src/downstream/heads.ts';
import { inputFeature } from '../../octree/index.ts';
import { smallBatch } from '../ops/helpers.ts';
import { DEFAULT_HYPER, FewshotConfigSchema, fewshotModel } from '../../src/downstream/fewshot-config.ts';
import { describeIssues } from '../../src/util/config-issues.ts';
import { classifierSelection } from '../../src/downstream/classify.ts';
import { segmenterSelection } from '../../src/downstream/segment.ts';
import type { TrainSelection } from '../../src/downstream/train-loop.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const cfg: HRNetConfig = { ...HRNET_PRESETS.tiny, depth: 4, fullDepth: 1 };

function same(a: tf.Tensor, b: tf.Tensor): void {
  expect(a.shape).toEqual(b.shape);
  expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
}

describe('backbone registry', () => {
  it("'mid-hrnet' is registered with its presets; a typed config builds the same network as MidHRNet", () => {
    expect(backboneTypes()).toContain('mid-hrnet');
    expect(backbonePreset('mid-hrnet', 'tiny')).toEqual({ ...HRNET_PRESETS.tiny, type: 'mid-hrnet' });
    const a = buildBackbone({ type: 'mid-hrnet', ...cfg }, 3);
    const b = new MidHRNet(cfg, 3);
    expect(a).toBeInstanceOf(MidHRNet);
    expect(a.type).toBe('mid-hrnet');
    // the registry's type field does not leak into the network's config (checkpoints keep their meta.model)
    expect(a.config).toEqual(cfg);
    expect([...a.params.variables.keys()]).toEqual([...b.params.variables.keys()]);
    for (const [n, v] of a.params.variables) same(v, b.params.variables.get(n)!);
    // an untyped config means mid-hrnet
    const c = buildBackbone(cfg, 3);
    expect(c.params.count()).toBe(b.params.count());
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('an unknown type is one error naming the field and the registered types; a taken name cannot be registered again', () => {
    expect(() => buildBackbone({ type: 'nope', depth: 4, fullDepth: 1, inChannels: 4, projection: 8, pointOut: 8 }, 0, 'my.json')).toThrow(
      /^my.json: model.type 'nope' is not a registered backbone \(registered: .*mid-hrnet/,
    );
    expect(() => registerBackbone('mid-hrnet', { build: () => new MidHRNet(cfg, 0) })).toThrow(/already registered/);
    expect(() => registerBackbone('Bad Name', { build: () => new MidHRNet(cfg, 0) })).toThrow(/lower-case/);
  });

  it("a checkpoint's meta.model that is not a whole MID HRNet config is one line naming the field (the viewer builds from it)", () => {
    const { channels: _c, ...noChannels } = cfg;
    expect(() => buildBackbone(noChannels as unknown as HRNetConfig, 0, 'x/model.json')).toThrow(
      /^x\/model.json: model.channels must be three positive integers \(a MID HRNet config\)$/,
    );
    expect(() => buildBackbone({ ...cfg, fc1: 0 }, 0, 'x/model.json')).toThrow(/^x\/model.json: model.fc1 must be a positive integer/);
  });
});

describe('MID HRNet through the Backbone interface', () => {
  it('forward + projections give bit-identically the named parts (fc1, fc2, point hidden and out) and the same gradients', () => {
    const before = tf.memory().numTensors;
    const oct = smallBatch(4, 1, 3);
    const net = new MidHRNet(cfg, 1);
    const f0 = inputFeature(oct, { letters: 'ND', nempty: false });
    const x = tf.tensor2d(f0.data, [oct.nnum[4]!, 4]);
    const vars = net.params.trainableVariables();
    // the old pretraining step, by named parts
    const named = tf.variableGrads(() => {
      const ctx = { training: true };
      const bb = net.backbone(x, oct, ctx);
      const sh = net.shapeHead(bb, oct, ctx);
      const pt = net.pointHead(bb, oct, ctx);
      return tf.add(tf.sum(tf.square(sh.fc2)), tf.sum(tf.mul(pt.out, 0.5))) as tf.Scalar;
    }, vars);
    const stats = [...net.params.variables].filter(([n]) => n.includes('running')).map(([, v]) => tf.clone(v));
    // reset the running statistics the first pass moved, then the interface's step
    let i = 0;
    const runningNames = [...net.params.variables.keys()].filter((n) => n.includes('running'));
    const initial = new MidHRNet(cfg, 1);
    for (const n of runningNames) net.params.variables.get(n)!.assign(initial.params.variables.get(n)!);
    initial.dispose();
    net.training = true;
    const viaInterface = tf.variableGrads(() => {
      const f = net.forward(x, oct);
      const fc2 = net.projections.shape.apply(f.global);
      const out = net.projections.point.apply(f.point);
      return tf.add(tf.sum(tf.square(fc2)), tf.sum(tf.mul(out, 0.5))) as tf.Scalar;
    }, vars);
    same(viaInterface.value, named.value);
    for (const k of Object.keys(named.grads)) same(viaInterface.grads[k]!, named.grads[k]!);
    for (const n of runningNames) same(net.params.variables.get(n)!, stats[i++]!);
    expect(net.globalChannels).toBe(cfg.fc1);
    expect(net.pointChannels).toBe(cfg.pointHidden);

    // inference: globalFeature is shapeHead's fc1; pointFeature is the point head's hidden layer
    net.training = false;
    const ctx = { training: false };
    const g = net.globalFeature(x, oct);
    const gNamed = tf.tidy(() => net.shapeHead(net.backbone(x, oct, ctx), oct, ctx).fc1);
    same(g, gNamed);
    const p = net.pointFeature(x, oct);
    const pNamed = tf.tidy(() => net.pointHead(net.backbone(x, oct, ctx), oct, ctx).hidden);
    same(p, pNamed);
    tf.dispose([named.value, viaInterface.value, ...Object.values(named.grads), ...Object.values(viaInterface.grads), ...stats, g, gNamed, p, pNamed, x]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('MidClassifier / MidSegmenter are the generic heads on MID HRNet, with the checkpoint names cls/fc and seg/fc', () => {
    const cls = new MidClassifier(cfg, 3, 0);
    expect(cls).toBeInstanceOf(Classifier);
    expect(cls.net).toBeInstanceOf(MidHRNet);
    expect([...cls.net.params.variables.keys()].filter((n) => n.startsWith('cls/'))).toEqual(['cls/fc/weights', 'cls/fc/bias']);
    const seg = new MidSegmenter(cfg, 5, 0);
    expect(seg).toBeInstanceOf(Segmenter);
    expect(seg.head.cin).toBe(cfg.pointHidden);
    cls.dispose();
    seg.dispose();
  });

  it("MID HRNet's train selections, now its registry entry's downstream hooks, are exactly the ones written out before the registry", () => {
    // the predicates classifierSelection / segmenterSelection held before they asked the registry (main at ca9f52f)
    const before = {
      classify: (mode: 'full' | 'head') => ({
        include: (n: string) => !n.startsWith('shape_head/fc2') && !n.startsWith('point_head/'),
        head: (n: string) => n.startsWith('cls/') || n.startsWith('shape_head/conv'),
        fullRate: (n: string) => n.startsWith('cls/'),
        headOnly: mode === 'head',
      }),
      segment: (mode: '2fc' | 'finetune') => {
        const head = (n: string): boolean => n.startsWith('seg/') || n.startsWith('point_head/fc1');
        return { include: (n: string) => !n.startsWith('shape_head/') && !n.startsWith('point_head/fc2'), head, fullRate: head, headOnly: mode === '2fc' };
      },
    };
    const cls = new MidClassifier(HRNET_PRESETS.paper, 40, 0);
    const seg = new MidSegmenter(HRNET_PRESETS.paper, 4, 0);
    const names = [...new Set([...cls.net.params.variables.keys(), ...seg.net.params.variables.keys()])];
    cls.dispose();
    seg.dispose();
    let compared = 0;
    const check = (got: TrainSelection, want: TrainSelection): void => {
      expect(got.headOnly).toBe(want.headOnly);
      for (const n of names) {
        expect([n, got.include(n), got.head(n), got.fullRate(n)]).toEqual([n, want.include(n), want.head(n), want.fullRate(n)]);
        compared++;
      }
    };
    const built = new MidHRNet(cfg, 0);
    for (const mode of ['full', 'head'] as const) {
      // without a type, with the type, and through a built network (what finetuneClassifier passes)
      check(classifierSelection(mode), before.classify(mode));
      check(classifierSelection(mode, { type: 'mid-hrnet' }), before.classify(mode));
      check(classifierSelection(mode, built), before.classify(mode));
    }
    built.dispose();
    for (const mode of ['2fc', 'finetune'] as const) {
      check(segmenterSelection(mode), before.segment(mode));
      check(segmenterSelection(mode, { type: 'mid-hrnet' }), before.segment(mode));
    }
    expect(compared).toBe(10 * names.length);
    expect(names.length).toBeGreaterThan(100);
  });
});

describe("a grid's model: a preset name or { type: 'mid-hrnet', ... }", () => {
  const grid = (model: unknown): unknown => ({
    name: 'g',
    task: 'classification',
    data: { source: 'synth:2' },
    model,
    backbones: { scratch: { from: 'scratch' } },
    protocols: ['linear'],
    ratios: [1],
    seeds: [0],
    finetune: DEFAULT_HYPER.finetune,
    workers: 0,
  });

  it('both forms name the same network; a bad name or field is named as before', () => {
    const byName = FewshotConfigSchema.parse(grid('tiny'));
    const byObject = FewshotConfigSchema.parse(grid({ type: 'mid-hrnet', ...HRNET_PRESETS.tiny }));
    expect(fewshotModel(byName.model)).toEqual(HRNET_PRESETS.tiny);
    expect(fewshotModel(byObject.model)).toEqual(HRNET_PRESETS.tiny);
    const bad = grid('huge');
    const r = FewshotConfigSchema.safeParse(bad);
    expect(r.success).toBe(false);
    expect(describeIssues(r.error!, bad, 'g.json')).toMatch(/g.json: model: must be one of paper, cpu, tiny, got 'huge'/);
    const badField = grid({ type: 'mid-hrnet', ...HRNET_PRESETS.tiny, fc1: 0 });
    const r2 = FewshotConfigSchema.safeParse(badField);
    expect(describeIssues(r2.error!, badField, 'g.json')).toMatch(/g.json: model.fc1: /);
  });
});
