import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrateBatchNorm, classifierSelection, finetuneClassifier, type FinetuneOptions } from '../../src/downstream/classify.ts';
import { segmenterSelection } from '../../src/downstream/segment.ts';
import { downstreamLr, lrFactors } from '../../src/downstream/train-loop.ts';
import { DEFAULT_HYPER, FewshotConfigSchema } from '../../src/downstream/fewshot-config.ts';
import { finetuneMode, RECIPES, runFewshot } from '../../src/downstream/fewshot.ts';
import { readCells } from '../../src/downstream/cells.ts';
import { backboneIdentity, cellConfigHash } from '../../src/downstream/cell-id.ts';
import { MidClassifier, MidSegmenter } from '../../src/downstream/heads.ts';
import { MidHRNet, HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { disposeLoaded, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { loadShapes } from '../../src/data/sources.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
process.env.RQ3D_BACKEND ??= 'cpu';
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-ft-'));
const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };

// describe bodies build networks while collecting: the backend must be set before
await tf.setBackend('cpu');
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const isBackbone = (n: string): boolean => /^(front|stage|transition)/.test(n);

describe('the reference fine-tune structure (O-CNN run_cls_cmd.py / run_cls_finetune.py)', () => {
  const cls = new MidClassifier(tiny, 4, 0);
  const names = [...cls.net.params.trainable];
  cls.dispose();

  it('below 10 %: only cls_header trains (fc1 conv + its BN, and the classifier), at the full rate', () => {
    const f = lrFactors(names, classifierSelection('head'), { pretrained: true, backboneLrScale: 0.1 });
    expect([...f.keys()].every((n) => n.startsWith('cls/') || n.startsWith('shape_head/conv'))).toBe(true);
    expect([...f.keys()].some((n) => n.startsWith('shape_head/conv'))).toBe(true);
    expect([...f.keys()].some((n) => n.startsWith('cls/'))).toBe(true);
    expect(new Set(f.values())).toEqual(new Set([1]));
  });

  it('from 10 %: everything trains, the backbone and the fc1 conv at 0.1x, the classifier at 1x; never fc2 or the point head', () => {
    const f = lrFactors(names, classifierSelection('full'), { pretrained: true, backboneLrScale: 0.1 });
    for (const [n, v] of f) expect(v).toBe(n.startsWith('cls/') ? 1 : 0.1);
    expect([...f.keys()].filter(isBackbone).length).toBe(names.filter(isBackbone).length);
    expect(f.get('shape_head/conv/conv/weights') ?? f.get([...f.keys()].find((n) => n.startsWith('shape_head/conv'))!)).toBe(0.1);
    expect([...f.keys()].some((n) => n.startsWith('shape_head/fc2') || n.startsWith('point_head/'))).toBe(false);
  });

  it('scratch trains the whole network at the full rate, backbone included', () => {
    const f = lrFactors(names, classifierSelection('full'), { pretrained: false, backboneLrScale: 0.1 });
    expect([...f.keys()].filter(isBackbone).length).toBeGreaterThan(10);
    expect(new Set(f.values())).toEqual(new Set([1]));
  });

  it('the switch sits at 10 % for a pretrained backbone and never applies to scratch', () => {
    const h = DEFAULT_HYPER.finetune;
    expect(h.headOnlyBelow).toBe(0.1);
    expect(h.backboneLrScale).toBe(0.1);
    expect(finetuneMode({ kind: 'pretrained' }, 0.05, h)).toBe('head');
    expect(finetuneMode({ kind: 'pretrained' }, 0.1, h)).toBe('full');
    expect(finetuneMode({ kind: 'scratch' }, 0.01, h)).toBe('full');
  });

  it('three decays x0.1 at 40 %, 60 % and 80 % of the steps (reference step sizes 40k, 20k, repeated)', () => {
    const r = { ...DEFAULT_HYPER.finetune, steps: 100 };
    expect(r.decayAt).toEqual([0.4, 0.6, 0.8]);
    const lr = (s: number): number => downstreamLr(r, s);
    expect(lr(39)).toBeCloseTo(0.1, 12);
    expect(lr(40)).toBeCloseTo(0.01, 12);
    expect(lr(59)).toBeCloseTo(0.01, 12);
    expect(lr(60)).toBeCloseTo(0.001, 12);
    expect(lr(79)).toBeCloseTo(0.001, 12);
    expect(lr(80)).toBeCloseTo(0.0001, 12);
  });

  it('segmentation: 2fc trains seg_header only; finetune the backbone at 0.1x, seg_header at 1x; decays at 50 / 75 %', () => {
    const seg = new MidSegmenter(tiny, 3, 0);
    const sn = [...seg.net.params.trainable];
    seg.dispose();
    const two = lrFactors(sn, segmenterSelection('2fc'), { pretrained: true, backboneLrScale: 0.1 });
    expect([...two.keys()].every((n) => n.startsWith('seg/') || n.startsWith('point_head/fc1'))).toBe(true);
    const ft = lrFactors(sn, segmenterSelection('finetune'), { pretrained: true, backboneLrScale: 0.1 });
    for (const [n, v] of ft) expect(v).toBe(n.startsWith('seg/') || n.startsWith('point_head/fc1') ? 1 : 0.1);
    expect([...ft.keys()].some((n) => n.startsWith('shape_head/'))).toBe(false);
    expect(DEFAULT_HYPER.segment.decayAt).toEqual([0.5, 0.75]);
    expect(DEFAULT_HYPER.segment.headOnlyBelow).toBe(0);
  });
});

describe('fine-tuning runs with that structure (tiny network, synthetic shapes)', async () => {
  const shapes = await loadShapes('synth:3', { points: 256, quiet: true });
  const train = shapes.items.flatMap((it, i) => (it.split === 'train' ? [i] : []));
  const test = shapes.items.flatMap((it, i) => (it.split === 'test' ? [i] : [])).slice(0, 4);
  const data = { clouds: shapes.clouds, labels: shapes.items.map((i) => i.label), classes: shapes.classes.length };
  // a "pretrained" checkpoint: a network of another seed, saved as pretraining saves it
  const pre = tmp();
  const net = new MidHRNet(tiny, 'pretrained');
  await saveCheckpoint(pre, { meta: { kind: 'pretrain', model: tiny }, groups: { model: net.params.variables } });
  net.dispose();
  const base: FinetuneOptions = {
    init: { checkpoint: pre },
    mode: 'full',
    steps: 2,
    lr: 0.05,
    backboneLrScale: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
    batchSize: 6,
    decayAt: [0.4, 0.6, 0.8],
    seed: 0,
    workers: 0,
    quiet: true,
  };
  const weights = async (dir: string): Promise<Map<string, Float32Array>> => {
    const ck = await loadCheckpoint(dir);
    const m = new Map([...ck.groups.get('model')!].map(([n, t]) => [n, t.dataSync() as Float32Array]));
    disposeLoaded(ck);
    return m;
  };
  const init = await weights(pre);
  const diff = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => Math.max(s, Math.abs(v - b[i]!)), 0);

  it('head only (5 %): backbone weights unchanged, backbone BN running statistics changed, cls_header trained', async () => {
    const before = tf.memory().numTensors;
    const out = tmp();
    await finetuneClassifier(tiny, data, train, test, { ...base, mode: 'head', saveDir: out });
    expect(tf.memory().numTensors).toBe(before);
    const w = await weights(out);
    let frozen = 0;
    for (const [n, v] of w) {
      if (!isBackbone(n)) continue;
      if (n.endsWith('running_mean') || n.endsWith('running_var')) expect(diff(v, init.get(n)!)).toBeGreaterThan(0);
      else {
        expect(diff(v, init.get(n)!)).toBe(0);
        frozen++;
      }
    }
    expect(frozen).toBeGreaterThan(10);
    const conv = [...w.keys()].find((n) => n.startsWith('shape_head/conv') && n.endsWith('weights'))!;
    expect(diff(w.get(conv)!, init.get(conv)!)).toBeGreaterThan(0);
  });

  it('from 10 %: the backbone step is exactly 0.1x the step it takes at the full rate; the classifier step is the same', async () => {
    const a = tmp();
    const b = tmp();
    await finetuneClassifier(tiny, data, train, test, { ...base, steps: 1, saveDir: a });
    await finetuneClassifier(tiny, data, train, test, { ...base, steps: 1, backboneLrScale: 1, saveDir: b });
    const wa = await weights(a);
    const wb = await weights(b);
    let checked = 0;
    for (const [n, va] of wa) {
      if (n.endsWith('running_mean') || n.endsWith('running_var') || !init.has(n) || n.startsWith('shape_head/fc2') || n.startsWith('point_head/')) continue;
      const i0 = init.get(n)!;
      const da = va.map((v, i) => v - i0[i]!);
      const db = wb.get(n)!.map((v, i) => v - i0[i]!);
      const l1 = (d: Float32Array): number => d.reduce((s, v) => s + Math.abs(v), 0);
      if (l1(db) < 1e-4) continue;
      // one SGD step from zero momentum: delta = lr·scale·(g + wd·w), with the same g in both runs (the
      // ratio of the deltas' L1 norms: single elements lose digits to float32 cancellation in w' - w)
      expect(l1(da) / l1(db)).toBeCloseTo(n.startsWith('cls/') ? 1 : 0.1, 3);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
    const cw = await loadCheckpoint(a);
    expect(cw.groups.get('model')!.has('cls/fc/weights')).toBe(true);
    disposeLoaded(cw);
    expect(diff(wa.get('cls/fc/weights')!, wb.get('cls/fc/weights')!)).toBeLessThan(1e-6);
  });

  it('scratch trains the whole network from its random init', async () => {
    const out = tmp();
    await finetuneClassifier(tiny, data, train, test, { ...base, init: 'scratch', saveDir: out });
    const fresh = new MidClassifier(tiny, data.classes, '0/finetune');
    const w = await weights(out);
    let changed = 0;
    for (const [n, v] of fresh.net.params.variables) if (isBackbone(n) && n.endsWith('weights') && diff(w.get(n)!, v.dataSync() as Float32Array) > 0) changed++;
    expect(changed).toBe([...fresh.net.params.trainable].filter((n) => isBackbone(n) && n.endsWith('weights')).length);
    fresh.dispose();
  });

  it('the random-features probe computes its BN statistics on the training shapes (running stats leave 0 / 1)', async () => {
    const m = new MidClassifier(tiny, data.classes, 'random');
    const before = tf.memory().numTensors;
    const n = await calibrateBatchNorm(m.net, data.clouds, train, { batchSize: 6, workers: 0 });
    expect(n).toBe(Math.floor(train.length / 6));
    expect(tf.memory().numTensors).toBe(before);
    // the statistics are the training shapes' own, not a blend with what the layers held before
    const snap = new Map([...m.net.params.variables].map(([k, v]) => [k, Array.from(v.dataSync())]));
    for (const [k, v] of m.net.params.variables) if (k.endsWith('running_var') && !k.startsWith('point_head/')) v.assign(tf.fill(v.shape, 5));
    await calibrateBatchNorm(m.net, data.clouds, train, { batchSize: 6, workers: 0 });
    for (const [k, v] of m.net.params.variables) {
      if (!k.endsWith('running_mean') && !k.endsWith('running_var')) continue;
      const a = snap.get(k)!;
      const b = Array.from(v.dataSync());
      expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / (1e-3 + Math.abs(x))))).toBeLessThan(1e-3);
    }
    let checked = 0;
    for (const [name, v] of m.net.params.variables) {
      // the point head takes no part in the fc1 probe
      if (name.startsWith('point_head/')) continue;
      const x = v.dataSync();
      if (name.endsWith('running_mean')) expect(Math.max(...Array.from(x, Math.abs))).toBeGreaterThan(1e-4);
      if (name.endsWith('running_var')) {
        expect(Math.max(...Array.from(x, (u) => Math.abs(u - 1)))).toBeGreaterThan(1e-3);
        expect(Array.from(x).every((u) => u >= 0 && Number.isFinite(u))).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
    m.dispose();
  });

  it('a grid: scratch in the linear protocol is trained end to end (shared with finetune), random frozen is labelled as such', async () => {
    const out = path.join(tmp(), 'results', 'g');
    const cfg = FewshotConfigSchema.parse({
      // synth:5, not synth:3: synth:3 has no test split (an error since issue 16)
      name: 'g',
      task: 'classification',
      data: { source: 'synth:5', points: 256 },
      model: 'tiny',
      backbones: { scratch: { from: 'scratch' }, rand: { from: 'random' } },
      protocols: ['linear', 'finetune'],
      ratios: [1],
      seeds: [0],
      linear: { ...DEFAULT_HYPER.linear, baseSteps: 10, minSteps: 5 },
      finetune: { ...DEFAULT_HYPER.finetune, baseSteps: 3, minSteps: 2 },
      workers: 0,
    });
    await runFewshot(cfg, { out, quiet: true });
    const cells = readCells(out);
    const get = (p: string, b: string): (typeof cells)[number] | undefined => cells.find((c) => c.protocol === p && c.backbone === b);
    expect(get('linear', 'scratch')!.recipe).toBe(RECIPES.scratch);
    expect(get('linear', 'scratch')!.steps).toBe(3);
    // computed once: the finetune cell is the linear one's result
    expect(get('finetune', 'scratch')!.oa).toBe(get('linear', 'scratch')!.oa);
    expect(get('finetune', 'scratch')!.seconds).toBe(get('linear', 'scratch')!.seconds);
    expect(get('linear', 'rand')!.recipe).toBe(RECIPES.random);
    expect(get('finetune', 'rand')).toBeUndefined();
    const table = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(table).toContain('rand: random frozen (BN stats on train)');
    expect(table).toContain('scratch (end to end from random init)');
    // an old-style scratch cell (the probe on a random network, no recipe) is not reused: it is recomputed
    const f = path.join(out, 'cells', 'linear', 'scratch', 'r1.00-s0.json');
    const old = JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
    delete old.recipe;
    delete old.configHash;
    old.oa = 0.123;
    fs.writeFileSync(f, JSON.stringify(old));
    fs.rmSync(path.join(out, 'cells', 'finetune', 'scratch'), { recursive: true });
    await runFewshot(cfg, { out, quiet: true });
    expect((JSON.parse(fs.readFileSync(f, 'utf8')) as { oa: number; recipe: string }).recipe).toBe(RECIPES.scratch);
    expect((JSON.parse(fs.readFileSync(f, 'utf8')) as { oa: number }).oa).not.toBe(0.123);
    // nor is any cell without a config hash (written by the pipeline before hashes, the biased one): recomputed
    const g = path.join(out, 'cells', 'linear', 'rand', 'r1.00-s0.json');
    const hashless = JSON.parse(fs.readFileSync(g, 'utf8')) as Record<string, unknown>;
    delete hashless.configHash;
    hashless.oa = 0.123;
    fs.writeFileSync(g, JSON.stringify(hashless));
    await runFewshot(cfg, { out, quiet: true });
    expect((JSON.parse(fs.readFileSync(g, 'utf8')) as { oa: number; configHash?: string }).configHash).toMatch(/^[0-9a-f]{16}$/);
    expect((JSON.parse(fs.readFileSync(g, 'utf8')) as { oa: number }).oa).not.toBe(0.123);
    // a scratch cell's identity follows the fine-tune recipe it trains with, in the linear protocol too
    const id = backboneIdentity(cfg, cfg.backbones.scratch!);
    const lc = { protocol: 'linear', backbone: 'scratch', ratio: 1, seed: 0 };
    const h0 = cellConfigHash(cfg, lc, id);
    expect(cellConfigHash({ ...cfg, finetune: { ...cfg.finetune!, baseSteps: 99 } }, lc, id)).not.toBe(h0);
    expect(cellConfigHash({ ...cfg, linear: { ...cfg.linear!, baseSteps: 99 } }, lc, id)).toBe(h0);
    expect(backboneIdentity(cfg, cfg.backbones.rand!)).not.toEqual(id);
    const noFt = FewshotConfigSchema.parse({ ...cfg, finetune: undefined, protocols: ['linear'] });
    await expect(runFewshot(noFt, { out: tmp(), quiet: true })).rejects.toThrow(/needs a 'finetune' section/);
  });
});
