/**
 * The viewer's browser-side checkpoint loader (viewer/src/predict/), run in Node against a checkpoint on disk
 * through a fetch shim: the network it builds must give the same logits as the node pipeline (loadCheckpoint
 * + assignVariables + prepareSample with transform 'none') for the same cloud.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputFeature } from '../../octree/features.ts';
import { normalizeCloud } from '../../src/data/normalize.ts';
import { synthDataset } from '../../src/data/synth/index.ts';
import { MidSegmenter } from '../../src/downstream/heads.ts';
import { segmentCategory } from '../../src/downstream/segment.ts';
import { HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { prepareSample } from '../../src/pipeline/sample.ts';
import { assignVariables, disposeLoaded, loadCheckpoint } from '../../src/train/checkpoint.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { listCheckpointModels } from '../../src/viewer-server/checkpoint-models.ts';
import { segmentMeta } from '../../viewer/src/predict/checkpoint-format.ts';
import { chooseFeatureModel, chooseModel, localGroundTruth, modelLabel } from '../../viewer/src/predict/model-choice.ts';
import { loadBackbone, pointFeatures } from '../../viewer/src/predict/feature-model.ts';
import { loadSegmenter, predictParts, segmenterLogits } from '../../viewer/src/predict/segment-model.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };

/** fetch for files under `root`, like the viewer's /checkpoint/ endpoint. */
const diskFetch =
  (root: string) =>
  async (file: string): Promise<ArrayBuffer> => {
    const b = fs.readFileSync(path.join(root, ...file.split('/')));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };

describe('browser checkpoint loader', () => {
  let root: string;
  const ckDir = 'models/finetune/scratch/chair';

  beforeAll(async () => {
    await tf.setBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-predict-'));
    const shapes = await loadShapes('synth:3', { points: 512, scale: 0.95, quiet: true });
    const c = shapes.classes.indexOf('chair');
    const idx = shapes.items.map((it, i) => (it.label === c ? i : -1)).filter((i) => i >= 0);
    await segmentCategory(tiny, shapes.clouds, shapes.parts!.chair!.length, idx.slice(0, 2), idx.slice(2), {
      init: 'scratch',
      mode: 'finetune',
      steps: 3,
      lr: 0.05,
      backboneLrScale: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      batchSize: 2,
      decayAt: [],
      seed: 0,
      workers: 0,
      quiet: true,
      saveDir: path.join(root, ckDir),
      category: 'chair',
      partNames: shapes.parts!.chair,
    });
  }, 120_000);

  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('gives the logits of the node pipeline for the same cloud', async () => {
    const ds = synthDataset({ perClass: 3, seed: 0, points: 512 });
    const item = ds.items.find((it) => it.category === 'chair')!;
    const raw = ds.loadSync(item);

    const before = tf.memory().numTensors;
    const s = await loadSegmenter(ckDir, diskFetch(root));
    expect(s.meta).toMatchObject({ category: 'chair', normalize: 'sphere', scale: 0.95, features: 'ND' });
    const browserLogits = segmenterLogits(s, raw);

    // The node side: the trainer's own reader and the pipeline's sample preparation (test time: no transform, no RQ).
    const ck = await loadCheckpoint(path.join(root, ckDir));
    const net = new MidSegmenter(tiny, s.meta.parts, 123);
    assignVariables(net.net.params.variables, ck.groups.get('model')!);
    disposeLoaded(ck);
    const cloud = normalizeCloud(raw, 'sphere', 0.95);
    const sample = prepareSample(cloud, { depth: 5, fullDepth: 2, transform: 'none', rq: null, features: 'ND', nempty: false }, 0);
    const f = inputFeature(sample.octree, { letters: 'ND', nempty: false });
    const n = sample.points.points.length / 3;
    expect(n).toBe(512);
    const pts = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) pts[4 * i + k] = sample.points.points[3 * i + k]!;
    const nodeLogits = tf.tidy(() => net.logits(tf.tensor2d(f.data, [sample.octree.nnum[5]!, f.channels]), sample.octree, pts, { training: false }));

    expect(browserLogits.shape).toEqual([512, s.meta.parts]);
    const a = browserLogits.dataSync(),
      b = nodeLogits.dataSync();
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // Not a trivially constant network: the logits vary over the points.
    expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(1e-3);
    const labels = await predictParts(s, raw);
    const nodeArg = tf.tidy(() => tf.argMax(nodeLogits, 1).dataSync());
    expect([...labels]).toEqual([...nodeArg]);
    tf.dispose([browserLogits, nodeLogits]);
    net.dispose();
    s.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the point features the segmentation head reads (the node network, same inputs), without leaking tensors', async () => {
    const ds = synthDataset({ perClass: 3, seed: 0, points: 512 });
    const raw = ds.loadSync(ds.items.find((it) => it.category === 'chair')!);
    const before = tf.memory().numTensors;
    const b = await loadBackbone(ckDir, diskFetch(root));
    expect(b).toMatchObject({ kind: 'segment', normalize: 'sphere', scale: 0.95, features: 'ND' });
    const got = await pointFeatures(b, raw);
    expect(got.channels).toBe(tiny.pointHidden);
    expect(got.data.length).toBe(512 * tiny.pointHidden);

    const ck = await loadCheckpoint(path.join(root, ckDir));
    const net = new MidSegmenter(tiny, 4, 7);
    assignVariables(net.net.params.variables, ck.groups.get('model')!);
    disposeLoaded(ck);
    const sample = prepareSample(
      normalizeCloud(raw, 'sphere', 0.95),
      { depth: 5, fullDepth: 2, transform: 'none', rq: null, features: 'ND', nempty: false },
      0,
    );
    const f = inputFeature(sample.octree, { letters: 'ND', nempty: false });
    const pts = new Float32Array(4 * 512);
    for (let i = 0; i < 512; i++) for (let k = 0; k < 3; k++) pts[4 * i + k] = sample.points.points[3 * i + k]!;
    const want = tf.tidy(() => {
      const bb = net.net.backbone(tf.tensor2d(f.data, [sample.octree.nnum[5]!, f.channels]), sample.octree, { training: false });
      return net.net.pointFc1.apply(net.net.pointFeaturesAt(bb, sample.octree, pts), { training: false }).dataSync();
    });
    let maxDiff = 0;
    for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i]! - got.data[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    expect(Math.max(...got.data) - Math.min(...got.data)).toBeGreaterThan(1e-3);
    net.dispose();
    b.net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses what is not a usable segmentation checkpoint, naming the file', async () => {
    const json = JSON.parse(fs.readFileSync(path.join(root, ckDir, 'model.json'), 'utf8')) as {
      meta: Record<string, unknown>;
      weightsManifest: Array<{ weights: Array<{ name: string }> }>;
    };
    expect(() => segmentMeta({ ...json.meta, kind: 'pretrain' }, 'x/model.json')).toThrow(/x\/model.json: a 'pretrain' checkpoint/);
    const bad = path.join(root, 'bad');
    fs.mkdirSync(bad);
    json.weightsManifest[0]!.weights = json.weightsManifest[0]!.weights.filter((w) => w.name !== 'seg/fc/weights');
    fs.writeFileSync(path.join(bad, 'model.json'), JSON.stringify(json));
    fs.copyFileSync(path.join(root, ckDir, 'weights.bin'), path.join(bad, 'weights.bin'));
    const before = tf.memory().numTensors;
    await expect(loadSegmenter('bad', diskFetch(root))).rejects.toThrow(/bad\/model.json: no tensor for variable seg\/fc\/weights/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the server lists one model folder, or the models/<protocol>/<backbone>/<category> folders of a results folder', async () => {
    const one = await listCheckpointModels(path.join(root, ckDir));
    expect(one).toEqual([
      { dir: '', category: 'chair', protocol: '', backbone: '', parts: 4, partNames: expect.any(Array), error: null, kind: 'segment', features: true },
    ]);
    fs.mkdirSync(path.join(root, 'pre'), { recursive: true });
    fs.writeFileSync(path.join(root, 'pre', 'model.json'), JSON.stringify({ format: 'rq3d-checkpoint', meta: { kind: 'pretrain' }, weightsManifest: [] }));
    const all = await listCheckpointModels(root);
    expect(all.find((m) => m.dir === ckDir)).toMatchObject({ category: 'chair', protocol: 'finetune', backbone: 'scratch', error: null });
    expect(all.find((m) => m.dir === 'pre')?.error).toMatch(/pretrain checkpoint, not a segmentation model/);
    // Without an HRNet config there are no features to show; with one, a pretraining checkpoint has them.
    expect(all.find((m) => m.dir === 'pre')).toMatchObject({ kind: 'pretrain', features: false });
    fs.mkdirSync(path.join(root, 'pre2'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'pre2', 'model.json'),
      JSON.stringify({ format: 'rq3d-checkpoint', meta: { kind: 'pretrain', model: HRNET_PRESETS.tiny }, weightsManifest: [] }),
    );
    expect((await listCheckpointModels(root)).find((m) => m.dir === 'pre2')).toMatchObject({
      kind: 'pretrain',
      features: true,
      error: expect.stringMatching(/not a segmentation model/),
    });
  });

  it('chooses the model to take features from: the chosen one, the class, else the first with a backbone', () => {
    const m = (dir: string, category: string | null, features: boolean) => ({
      dir,
      category,
      protocol: '',
      backbone: '',
      parts: 0,
      partNames: null,
      error: features ? 'not a segmentation model' : 'x',
      features,
    });
    const models = [m('a', null, false), m('pre', null, true), m('seg/Lamp', 'Lamp', true)];
    expect(chooseFeatureModel(models, 'lamp', null)?.dir).toBe('seg/Lamp');
    expect(chooseFeatureModel(models, 'car', null)?.dir).toBe('pre');
    expect(chooseFeatureModel(models, 'lamp', 'pre')?.dir).toBe('pre');
    expect(chooseFeatureModel(models, 'lamp', 'a')?.dir).toBe('seg/Lamp');
    expect(chooseFeatureModel([models[0]!], null, null)).toBeNull();
  });

  it('picks the model of the shape class and maps ground truth to local part ids', () => {
    const models = [
      { dir: 'models/2fc/mid/Chair', category: 'Chair', protocol: '2fc', backbone: 'mid', parts: 4, partNames: null, error: null },
      { dir: 'models/finetune/mid/Chair', category: 'Chair', protocol: 'finetune', backbone: 'mid', parts: 4, partNames: null, error: null },
      { dir: 'models/finetune/mid/Lamp', category: 'Lamp', protocol: 'finetune', backbone: 'mid', parts: 4, partNames: null, error: null },
      { dir: 'pretrain', category: null, protocol: '', backbone: '', parts: 0, partNames: null, error: 'not a segmentation model' },
    ];
    expect(chooseModel(models, 'chair', null)?.dir).toBe('models/finetune/mid/Chair');
    expect(chooseModel(models, 'lamp', null)?.dir).toBe('models/finetune/mid/Lamp');
    expect(chooseModel(models, 'chair', 'models/2fc/mid/Chair')?.dir).toBe('models/2fc/mid/Chair');
    expect(chooseModel(models, 'car', null)).toBeNull();
    expect(chooseModel(models.slice(2), null, null)?.dir).toBe('models/finetune/mid/Lamp'); // the only usable one
    expect(modelLabel(models[0]!)).toBe('Chair · 2fc · mid');
    // ShapeNet Part: .seg sidecars are 1-based; 7-column txt files hold global ids (Chair starts at 12).
    expect([...localGroundTruth(Int32Array.from([1, 2, 4]), { category: 'Chair', parts: 4, sidecar: true })]).toEqual([0, 1, 3]);
    expect([...localGroundTruth(Int32Array.from([12, 15, 13]), { category: 'Chair', parts: 4, sidecar: false })]).toEqual([0, 3, 1]);
    expect([...localGroundTruth(Int32Array.from([0, 3, 2]), { category: 'chair', parts: 4, sidecar: false })]).toEqual([0, 3, 2]);
  });
});
