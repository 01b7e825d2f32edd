import * as fs from 'node:fs';
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
import { assignVariables, checkpointExists, disposeLoaded, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.ts';
import { UserError } from '../util/errors.ts';
import { backendInfo, backendRecord } from '../backend.ts';
import { lineChart } from '../train/plot.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { ShapeCollection } from '../train/shapes.ts';
import { chunks, trainingEpochs } from './batches.ts';
import { confusionMatrix, meanClassAccuracy, overallAccuracy, perClassAccuracy } from './metrics.ts';
import { confusionSvg, confusionTable } from './confusion.ts';

/**
 * Supervised baseline (ocnn-pytorch's classification recipe): an O-CNN ResNet or LeNet trained from
 * scratch on all labels with light augmentation (small y-rotation, scale, translation), SGD with momentum
 * 0.9, weight decay 5e-4 and a cosine learning-rate schedule; test accuracy and a resumable checkpoint
 * after every epoch.
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
  /** Continue from the run folder's checkpoint (saved after every epoch). */
  resume?: boolean;
  /** The resolved config to save as config.json (the CLI's, after presets, extends and --set); default these options. */
  config?: Record<string, unknown>;
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
  if (train.length === 0 || test.length === 0) throw new UserError(`${shapes.key}: the supervised baseline needs a train and a test split (found ${train.length} / ${test.length} shapes)`);
  const labels = shapes.items.map((it) => it.label);
  const stepsPerEpoch = Math.max(1, Math.floor(train.length / o.batchSize));
  const total = stepsPerEpoch * o.epochs;
  const epochs = trainingEpochs(train, o.batchSize, total, o.seed);
  const spec: SampleSpec = { depth: o.depth, fullDepth: o.fullDepth, transform: 'finetune', rq: null, features: 'ND', nempty: false };
  const evalSpec: SampleSpec = { ...spec, transform: 'none' };
  const ckptDir = path.join(o.out, 'checkpoint');
  const metrics = new MetricsLog(path.join(o.out, 'metrics.jsonl'));
  let last = { oa: 0, macc: 0 };
  let bestOa = 0;
  let startEpoch = 0;
  let priorSeconds = 0;
  if (o.resume && (await checkpointExists(ckptDir))) {
    const ck = await loadCheckpoint(ckptDir);
    try {
      if (ck.meta.kind !== 'supervised' || ck.meta.model !== o.model || ck.meta.depth !== o.depth || ck.meta.totalSteps !== total) {
        throw new UserError(`${ckptDir}: this checkpoint is from another supervised run (model, depth or length differ); use another --out or drop --resume`);
      }
      assignVariables(net.params.variables, ck.groups.get('model') ?? new Map(), { source: ckptDir });
      for (const [name, t] of ck.groups.get('optimizer') ?? new Map<string, tf.Tensor>()) opt.velocity.set(name, tf.variable(t, false));
      startEpoch = Number(ck.meta.epoch);
      bestOa = Number(ck.meta.bestOa);
      last = ck.meta.last as { oa: number; macc: number };
      priorSeconds = Number(ck.meta.seconds ?? 0);
    } finally {
      disposeLoaded(ck);
    }
    await metrics.truncateAfter(startEpoch * stepsPerEpoch);
    if (!o.quiet) process.stderr.write(`resuming ${o.out} after epoch ${startEpoch}\n`);
  } else {
    await metrics.truncateAfter(-1);
  }
  const { resume: _resume, quiet: _quiet, config, ...recorded } = o;
  const used = backendInfo();
  await writeFileAtomic(path.join(o.out, 'config.json'), `${JSON.stringify({ kind: 'supervised', ...(config ?? { data: shapes.key, ...recorded }), ...(used ? { backend: backendRecord(used) } : {}) }, null, 2)}\n`);
  const pool = new WorkerPool({ workers: o.workers });
  const progress = createProgress(`supervised ${o.model}`, total, { quiet: o.quiet });
  let confusion: number[][] | null = null;
  const evaluate = async (): Promise<{ oa: number; macc: number }> => {
    const pred: number[] = [];
    const pipe = new BatchPipeline({ load: (i) => shapes.clouds[i]!, batches: chunks(test, 32), spec: evalSpec, pool, seed: 0 });
    for await (const b of pipe) {
      const x = tf.tensor2d(b.features.data, [b.octree.nnum[o.depth]!, b.features.channels]);
      const p = tf.tidy(() => tf.argMax(net.forward(x, b.octree, { training: false }), 1));
      pred.push(...(await p.data()));
      tf.dispose([x, p]);
    }
    const truth = test.map((i) => labels[i]!);
    confusion = confusionMatrix(pred, truth, classes);
    return { oa: overallAccuracy(pred, truth), macc: meanClassAccuracy(pred, truth, classes) };
  };
  const seconds = (): number => priorSeconds + (performance.now() - t0) / 1000;
  try {
    let s = startEpoch * stepsPerEpoch;
    progress.update(s);
    for (let e = startEpoch; e < o.epochs; e++) {
      // the epoch number seeds each shape's augmentation, so every pass augments afresh
      const pipe = new BatchPipeline({ load: (i) => shapes.clouds[i]!, batches: epochs[e]!, spec, pool, epoch: e, seed: o.seed });
      let lossSum = 0;
      let n = 0;
      let lr = o.lr;
      for await (const b of pipe) {
        lr = 0.5 * o.lr * (1 + Math.cos((Math.PI * s) / total));
        const x = tf.tensor2d(b.features.data, [b.octree.nnum[o.depth]!, b.features.channels]);
        const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(b.indices, (i) => labels[i]!), 'int32'), classes));
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, net.forward(x, b.octree, { training: true, dropoutSeed: o.seed * 1000003 + s })) as tf.Scalar,
          [...vars.values()],
        );
        opt.apply(vars, grads, lr);
        lossSum += (await value.data())[0]!;
        n++;
        tf.dispose([x, y, value, ...Object.values(grads)]);
        s++;
        progress.update(s, { loss: lossSum / n, lr });
      }
      last = await evaluate();
      bestOa = Math.max(bestOa, last.oa);
      metrics.append({ step: s, epoch: e + 1, loss: lossSum / Math.max(1, n), lr, testOa: last.oa, testMacc: last.macc });
      if (!o.quiet) process.stderr.write(`epoch ${e + 1}: test OA ${(100 * last.oa).toFixed(2)} %, mAcc ${(100 * last.macc).toFixed(2)} %\n`);
      await writeFileAtomic(path.join(o.out, 'accuracy.svg'), accuracyChart(path.join(o.out, 'metrics.jsonl'), `supervised ${o.model} d${o.depth} on ${shapes.name}`));
      // every epoch: an interrupted run resumes here with --resume
      await saveCheckpoint(ckptDir, {
        meta: { kind: 'supervised', model: o.model, depth: o.depth, classes: shapes.classes, epoch: e + 1, step: s, totalSteps: total, oa: last.oa, last, bestOa, seconds: seconds() },
        groups: { model: net.params.variables, optimizer: opt.velocity },
      });
    }
    // a resumed run with nothing left to train evaluates once for its report
    if (confusion === null) last = await evaluate();
  } finally {
    progress.stop();
    await pool.close();
    net.params.dispose();
    opt.dispose();
  }
  const cm = confusion as number[][] | null;
  const perClass = cm ? Object.fromEntries(perClassAccuracy(cm).map((a, c) => [shapes.classes[c]!, a])) : null;
  const result = { oa: last.oa, macc: last.macc, bestOa, seconds: seconds(), epochs: o.epochs, model: o.model, depth: o.depth, perClass, confusion: cm, classes: shapes.classes };
  await writeFileAtomic(path.join(o.out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (cm) {
    await writeFileAtomic(path.join(o.out, 'confusion.svg'), confusionSvg(cm, shapes.classes, `supervised ${o.model} d${o.depth} on ${shapes.name}: test confusion`));
    await writeFileAtomic(path.join(o.out, 'confusion.md'), `${confusionTable(cm, shapes.classes).join('\n')}\n`);
  }
  return { ...last, bestOa, seconds: result.seconds, epochs: o.epochs };
}

/** Test OA and mAcc (%) per epoch from the run's metrics log. */
export function accuracyChart(metricsFile: string, title: string): string {
  const rows = fs.readFileSync(metricsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { epoch: number; testOa: number; testMacc: number });
  return lineChart(
    [
      { name: 'test OA', points: rows.map((r) => ({ x: r.epoch, y: 100 * r.testOa })) },
      { name: 'test mAcc', points: rows.map((r) => ({ x: r.epoch, y: 100 * r.testMacc })) },
    ],
    { title, xLabel: 'epoch', yLabel: 'accuracy (%)' },
  );
}
