import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HRNET_PRESETS, MidHRNet, type HRNetConfig } from '../../src/models/mid-hrnet.ts';
import { OctreeLeNet } from '../../src/models/lenet.ts';
import { OctreeResNet } from '../../src/models/resnet.ts';
import { inputFeature } from '../../octree/index.ts';
import { smallBatch } from '../ops/helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The parameter count of anchor-spec §3.3, written out independently of the model code. */
function specCount(c: HRNetConfig): number {
  const conv3 = (i: number, o: number): number => 27 * i * o + 2 * o; // conv (no bias) + BN gamma/beta
  const conv1 = (i: number, o: number): number => i * o + 2 * o;
  const bottleneck = (i: number, o: number): number => {
    const m = o / (o < 256 ? 4 : 8);
    return conv1(i, m) + conv3(m, m) + conv1(m, o) + (i !== o ? conv1(i, o) : 0);
  };
  const [c0, c1, c2] = c.channels;
  const C = [c0, c1, c2];
  let n = conv3(c.inChannels, c.frontChannels) + conv3(c.frontChannels, c0);
  for (let s = 1; s <= 3; s++) for (let b = 0; b < s; b++) n += c.resblocks * bottleneck(C[b]!, C[b]!);
  for (let t = 1; t <= 2; t++) for (let to = 0; to <= t; to++) for (let from = 0; from < t; from++) if (from !== to) n += conv1(C[from]!, C[to]!);
  n += conv1(c0 + c1 + c2, c.fc1) + c.fc1 * c.projection + c.projection;
  n += conv1(c0 + c1 + c2 + c.frontChannels, c.pointHidden) + c.pointHidden * c.pointOut + c.pointOut;
  return n;
}

describe('MID HRNet', () => {
  it('the paper preset has the parameter count of the reference architecture', () => {
    const net = new MidHRNet(HRNET_PRESETS.paper, 0);
    const count = net.params.count();
    expect(count).toBe(specCount(HRNET_PRESETS.paper));
    // printed for the record (README quotes it)
    console.log(`MID HRNet paper preset: ${count} trainable parameters`);
    net.dispose();
  });

  it('runs forward and backward on a merged batch; shapes of fc1, fc2 and the point head', () => {
    const cfg: HRNetConfig = { ...HRNET_PRESETS.tiny, depth: 4, fullDepth: 1 };
    const oct = smallBatch(4, 1, 3);
    const net = new MidHRNet(cfg, 1);
    expect(net.params.count()).toBe(specCount(cfg));
    const f = inputFeature(oct, { letters: 'ND', nempty: false });
    const x = tf.tensor2d(f.data, [oct.nnum[4]!, 4]);
    const vars = net.params.trainableVariables();
    const { value, grads } = tf.variableGrads(() => {
      const bb = net.backbone(x, oct, { training: true });
      const sh = net.shapeHead(bb, oct, { training: true });
      const pt = net.pointHead(bb, oct, { training: true });
      expect(sh.fc1.shape).toEqual([2, cfg.fc1]);
      expect(sh.fc2.shape).toEqual([2, cfg.projection]);
      expect(pt.out.shape).toEqual([oct.nnumNempty[4]!, cfg.pointOut]);
      return tf.add(tf.sum(tf.square(sh.fc2)), tf.sum(tf.square(pt.out))) as tf.Scalar;
    }, vars);
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    // every trainable variable gets a gradient
    expect(Object.keys(grads).length).toBe(vars.length);
    tf.dispose([value, x, ...Object.values(grads)]);
    net.dispose();
  });
});

describe('supervised baselines', () => {
  it('LeNet and ResNet classify a batch (logits shape) and train without leaking tensors', () => {
    const oct = smallBatch(5, 2, 4);
    const f = inputFeature(oct, { letters: 'ND', nempty: false });
    const x = tf.tensor2d(f.data, [oct.nnum[5]!, 4]);
    const labels = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 10);
    for (const net of [new OctreeLeNet(4, 10, 5, 0), new OctreeResNet(4, 10, 5, { resblocks: 1, widthScale: 0.125 })]) {
      const opt = tf.train.sgd(0.01);
      const step = (i: number): number => {
        const loss = opt.minimize(
          () => tf.losses.softmaxCrossEntropy(labels, net.forward(x, oct, { training: true, dropoutSeed: i })) as tf.Scalar,
          true,
          net.params.trainableVariables(),
        );
        const v = loss!.dataSync()[0]!;
        loss!.dispose();
        return v;
      };
      step(0);
      const before = tf.memory().numTensors;
      for (let i = 1; i < 4; i++) step(i);
      expect(tf.memory().numTensors).toBe(before);
      const logits = net.forward(x, oct, { training: false });
      expect(logits.shape).toEqual([2, 10]);
      logits.dispose();
      net.params.dispose();
    }
    tf.dispose([x, labels]);
  });
});

describe('SegNet', () => {
  it('gives per-point part logits for a merged batch and trains without leaking tensors', async () => {
    const { OctreeSegNet } = await import('../../src/models/segnet.ts');
    const { leafPointsWithBatch } = await import('../../octree/ops/index.ts');
    const oct = smallBatch(5, 2, 9);
    const f = inputFeature(oct, { letters: 'ND', nempty: false });
    const x = tf.tensor2d(f.data, [oct.nnum[5]!, 4]);
    const pts = leafPointsWithBatch(oct);
    const n = pts.length / 4;
    const net = new OctreeSegNet(4, 3, 5, 3, { seed: 1 });
    const y = tf.oneHot(
      tf.tensor1d(
        Int32Array.from({ length: n }, (_, i) => i % 3),
        'int32',
      ),
      3,
    );
    const opt = tf.train.sgd(0.01);
    const step = (i: number): void => {
      opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, net.forward(x, oct, pts, { training: true, dropoutSeed: i })) as tf.Scalar,
        false,
        net.params.trainableVariables(),
      );
    };
    step(0);
    const before = tf.memory().numTensors;
    step(1);
    step(2);
    expect(tf.memory().numTensors).toBe(before);
    const logits = net.forward(x, oct, pts, { training: false });
    expect(logits.shape).toEqual([n, 3]);
    tf.dispose([logits, x, y]);
    net.params.dispose();
  });
});
