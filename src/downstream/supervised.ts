import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { OctreeLeNet } from '../models/lenet.ts';
import { OctreeResNet } from '../models/resnet.ts';
import type { Params, ForwardContext } from '../models/params.ts';
import type { Octree } from '../../octree/octree.ts';
import { BatchPipeline, WorkerPool, type SampleSpec } from '../pipeline/index.ts';
import { SgdMomentum } from '../train/sgd.ts';
import { createProgress } from '../train/progress.ts';
import { MetricsLog } from '../train/metrics.ts';
import { saveCheckpoint } from '../train/checkpoint.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { ShapeCollection } from '../train/shapes.ts';
import { chunks, trainingBatches } from './batches.ts';
import { meanClassAccuracy, overallAccuracy } from './metrics.ts';

/**
 * Supervised baseline (ocnn-pytorch's classification recipe): an O-CNN ResNet or LeNet trained from
 * scratch on all labels with light augmentation (small y-rotation, scale, translation), SGD with momentum
 * 0.9, weight decay 5e-4 and a cosine learning-rate schedule; test accuracy after every epoch.
 */
export interface SupervisedOptions {
  model: 'resnet' | 'lenet';
  depth: number;
  fullDepth: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  resblocks: number;
  widthScale: number;
  seed: number;
  workers: number;
  out: string;
  quiet?: boolean;
}

interface Net {
  params: Params;
  forward(x: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D;
}

export async function trainSupervised(shapes: ShapeCollection, o: SupervisedOptions): Promise<{ oa: number; macc: number; bestOa: number; seconds: number; epochs: number }> {
  const t0 = performance.now();
  const classes = shapes.classes.length;
  const net: Net = o.model === 'resnet'
    ? new OctreeResNet(4, classes, o.depth, { resblocks: o.resblocks, seed: o.seed, widthScale: o.widthScale })
    : new OctreeLeNet(4, classes, o.depth, o.seed);
  const vars = new Map([...net.params.variables].filter(([n]) => net.params.trainable.has(n)));
  const opt = new SgdMomentum(0.9, o.weightDecay);
  const train = shapes.items.flatMap((it, i) => (it.split === 'train' ? [i] : []));
  const test = shapes.items.flatMap((it, i) => (it.split === 'test' ? [i] : []));
  const labels = shapes.items.map((it) => it.label);
  const stepsPerEpoch = Math.ceil(train.length / o.batchSize);
  const total = stepsPerEpoch * o.epochs;
  const batches = trainingBatches(train, o.batchSize, total, o.seed);
  const spec: SampleSpec = { depth: o.depth, fullDepth: o.fullDepth, transform: 'finetune', rq: null, features: 'ND', nempty: false };
  const evalSpec: SampleSpec = { ...spec, transform: 'none' };
  const pool = new WorkerPool({ workers: o.workers });
  const metrics = new MetricsLog(path.join(o.out, 'metrics.jsonl'));
  await metrics.truncateAfter(-1);
  await writeFileAtomic(path.join(o.out, 'config.json'), `${JSON.stringify({ kind: 'supervised', data: shapes.key, ...o }, null, 2)}\n`);
  const progress = createProgress(`supervised ${o.model}`, total, { quiet: o.quiet });
  const evaluate = async (): Promise<{ oa: number; macc: number }> => {
    const pred: number[] = [];
    const pipe = new BatchPipeline({ load: (i) => shapes.clouds[i]!, batches: chunks(test, 32), spec: evalSpec, pool, seed: 0 });
    for await (const b of pipe) {
      const x = tf.tensor2d(b.features.data, [b.octree.nnum[o.depth]!, b.features.channels]);
      const p = tf.tidy(() => tf.argMax(net.forward(x, b.octree, { training: false }), 1));
      pred.push(...p.dataSync());
      tf.dispose([x, p]);
    }
    const truth = test.map((i) => labels[i]!);
    return { oa: overallAccuracy(pred, truth), macc: meanClassAccuracy(pred, truth, classes) };
  };
  let last = { oa: 0, macc: 0 };
  let bestOa = 0;
  try {
    const pipe = new BatchPipeline({ load: (i) => shapes.clouds[i]!, batches, spec, pool, seed: o.seed });
    let s = 0;
    let lossSum = 0;
    for await (const b of pipe) {
      const lr = 0.5 * o.lr * (1 + Math.cos((Math.PI * s) / total));
      const x = tf.tensor2d(b.features.data, [b.octree.nnum[o.depth]!, b.features.channels]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(b.indices, (i) => labels[i]!), 'int32'), classes));
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, net.forward(x, b.octree, { training: true, dropoutSeed: o.seed * 1000003 + s })) as tf.Scalar,
        [...vars.values()],
      );
      opt.apply(vars, grads, lr);
      lossSum += value.dataSync()[0]!;
      tf.dispose([x, y, value, ...Object.values(grads)]);
      s++;
      progress.update(s, { loss: lossSum / (((s - 1) % stepsPerEpoch) + 1), lr });
      if (s % stepsPerEpoch === 0 || s === total) {
        last = await evaluate();
        bestOa = Math.max(bestOa, last.oa);
        metrics.append({ step: s, epoch: Math.ceil(s / stepsPerEpoch), loss: lossSum / (((s - 1) % stepsPerEpoch) + 1), lr, testOa: last.oa, testMacc: last.macc });
        if (!o.quiet) process.stderr.write(`epoch ${Math.ceil(s / stepsPerEpoch)}: test OA ${(100 * last.oa).toFixed(2)} %, mAcc ${(100 * last.macc).toFixed(2)} %\n`);
        lossSum = 0;
      }
    }
  } finally {
    progress.stop();
    await pool.close();
  }
  await saveCheckpoint(path.join(o.out, 'checkpoint'), { meta: { kind: 'supervised', model: o.model, depth: o.depth, classes: shapes.classes, oa: last.oa }, groups: { model: net.params.variables } });
  net.params.dispose();
  opt.dispose();
  const seconds = (performance.now() - t0) / 1000;
  await writeFileAtomic(path.join(o.out, 'result.json'), `${JSON.stringify({ oa: last.oa, macc: last.macc, bestOa, seconds, epochs: o.epochs, model: o.model, depth: o.depth }, null, 2)}\n`);
  return { ...last, bestOa, seconds, epochs: o.epochs };
}
