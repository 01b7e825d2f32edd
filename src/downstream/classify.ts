import * as tf from '@tensorflow/tfjs';
import type { PointCloud } from '../data/pointcloud.ts';
import type { HRNetConfig } from '../models/mid-hrnet.ts';
import { BatchPipeline, WorkerPool, type SampleSpec } from '../pipeline/index.ts';
import { SgdMomentum, stepLr } from '../train/sgd.ts';
import { trainDownstream, type TrainingHyper } from './train-loop.ts';
import { createProgress } from '../train/progress.ts';
import { chunks, trainingBatches } from './batches.ts';
import { meanClassAccuracy, overallAccuracy } from './metrics.ts';
import { loadPretrained, MidClassifier } from './models.ts';

/**
 * Classification downstream (anchor-spec §3.5): fc1 features of a frozen backbone for the linear probe, and
 * whole-network fine-tuning (backbone at 0.1x the head's learning rate; head only for small ratios) or the
 * same recipe from random initialization (the scratch baseline).
 */
export interface ClassifyData {
  clouds: readonly PointCloud[];
  labels: ArrayLike<number>;
  classes: number;
}

function evalSpec(cfg: HRNetConfig): SampleSpec {
  return { depth: cfg.depth, fullDepth: cfg.fullDepth, transform: 'none', rq: null, features: 'ND', nempty: false };
}

/** fc1 features (inference mode, no augmentation) of the shapes `indices`: [indices.length x fc1]. */
export async function extractFc1(model: MidClassifier, data: ClassifyData, indices: readonly number[], opts: { batchSize?: number; workers?: number; quiet?: boolean; label?: string } = {}): Promise<Float32Array> {
  const cfg = model.net.cfg;
  const pool = new WorkerPool({ workers: opts.workers ?? 1 });
  const out = new Float32Array(indices.length * cfg.fc1);
  const batches = chunks(indices, opts.batchSize ?? 16);
  const progress = createProgress(opts.label ?? 'features', indices.length, { quiet: opts.quiet, unit: 'shapes' });
  let done = 0;
  try {
    const pipe = new BatchPipeline({ load: (i) => data.clouds[i]!, batches, spec: evalSpec(cfg), pool, seed: 0 });
    for await (const b of pipe) {
      const x = tf.tensor2d(b.features.data, [b.octree.nnum[cfg.depth]!, b.features.channels]);
      const f = model.fc1(x, b.octree, { training: false });
      out.set(await f.data(), done * cfg.fc1);
      tf.dispose([x, f]);
      done += b.indices.length;
      progress.update(done);
    }
  } finally {
    progress.stop();
    await pool.close();
  }
  return out;
}

export interface LinearProbeOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
  batchSize: number;
  steps: number;
  /** Fractions of `steps` at which the lr is multiplied by 0.1 (reference: 2/3 and 1). */
  decayAt: number[];
  seed: number;
}

/** A dense layer + bias fitted on fixed features (the reference linear classifier: SGD with momentum). */
export async function fitLinearProbe(train: { x: Float32Array; y: ArrayLike<number> }, dim: number, classes: number, o: LinearProbeOptions): Promise<{ weights: Float32Array; bias: Float32Array }> {
  const n = train.y.length;
  const w = tf.variable(tf.zeros([dim, classes]));
  const b = tf.variable(tf.zeros([classes]));
  const vars = new Map<string, tf.Variable>([['w', w], ['b', b]]);
  const opt = new SgdMomentum(o.momentum, o.weightDecay);
  const xAll = tf.tensor2d(train.x, [n, dim]);
  const yAll = tf.tensor1d(Int32Array.from(train.y), 'int32');
  const milestones = o.decayAt.map((f) => Math.round(f * o.steps));
  const batches = trainingBatches(Array.from({ length: n }, (_, i) => i), o.batchSize, o.steps, o.seed);
  for (let s = 0; s < batches.length; s++) {
    const idx = tf.tensor1d(Int32Array.from(batches[s]!), 'int32');
    const { value, grads } = tf.variableGrads(() => {
      const x = tf.gather(xAll, idx);
      const y = tf.oneHot(tf.gather(yAll, idx), classes);
      return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar;
    }, [w, b]);
    opt.apply(vars, grads, stepLr(o.lr, milestones, s));
    tf.dispose([idx, value, ...Object.values(grads)]);
  }
  const [weights, bias] = (await Promise.all([w.data(), b.data()])) as [Float32Array, Float32Array];
  const out = { weights, bias };
  tf.dispose([w, b, xAll, yAll]);
  opt.dispose();
  return out;
}

/** The reference linear probe: fitLinearProbe on the train features, accuracy on the test features. */
export async function trainLinearProbe(
  train: { x: Float32Array; y: ArrayLike<number> },
  test: { x: Float32Array; y: ArrayLike<number> },
  dim: number,
  classes: number,
  o: LinearProbeOptions,
): Promise<{ oa: number; macc: number }> {
  const { weights, bias } = await fitLinearProbe(train, dim, classes, o);
  const p = tf.tidy(() => tf.argMax(tf.add(tf.matMul(tf.tensor2d(test.x, [test.y.length, dim]), tf.tensor2d(weights, [dim, classes])), tf.tensor1d(bias)), 1));
  const pred = await p.data();
  p.dispose();
  return { oa: overallAccuracy(pred, test.y), macc: meanClassAccuracy(pred, test.y, classes) };
}

export interface FinetuneOptions extends TrainingHyper {
  init: 'scratch' | { checkpoint: string };
  /** 'full': the whole network (backbone lr x backboneLrScale); 'head': only the shape head and classifier. */
  mode: 'full' | 'head';
  /**
   * Start the new classifier from a linear probe fitted on the training subset's fc1 features (inference
   * mode, no augmentation) of the network as initialised, with these settings ("LP-FT"); default: random.
   */
  headInit?: LinearProbeOptions;
  label?: string;
}

export interface FinetuneResult {
  oa: number;
  macc: number;
  steps: number;
  seconds: number;
  finalLoss: number;
}

const HEAD_PREFIXES = ['cls/', 'shape_head/'];

export async function finetuneClassifier(cfg: HRNetConfig, data: ClassifyData, trainIdx: readonly number[], testIdx: readonly number[], o: FinetuneOptions): Promise<FinetuneResult> {
  const t0 = performance.now();
  const model = new MidClassifier(cfg, data.classes, `${o.seed}/finetune`);
  if (o.init !== 'scratch') await loadPretrained(model.net, o.init.checkpoint, ['cls/']);
  if (o.headInit) {
    const x = await extractFc1(model, data, trainIdx, { quiet: true, workers: o.workers });
    const lp = await fitLinearProbe({ x, y: trainIdx.map((i) => data.labels[i]!) }, cfg.fc1, data.classes, o.headInit);
    tf.tidy(() => {
      model.head.weights.assign(tf.tensor2d(lp.weights, [cfg.fc1, data.classes]));
      model.head.bias!.assign(tf.tensor1d(lp.bias));
    });
  }
  const isHead = (n: string): boolean => HEAD_PREFIXES.some((p) => n.startsWith(p));
  const { pool, steps, finalLoss } = await trainDownstream(
    model.net,
    { isHead, include: (n) => !n.startsWith('shape_head/fc2') && !n.startsWith('point_head/'), headOnly: o.mode === 'head' },
    data.clouds,
    trainIdx,
    { ...o, pretrained: o.init !== 'scratch', label: o.label ?? 'finetune' },
    (b, x) => {
      const y = tf.oneHot(tf.tensor1d(Int32Array.from(b.indices, (i) => data.labels[i]!), 'int32'), data.classes);
      if (o.mode === 'head') {
        // head-only mode keeps the frozen backbone in inference mode (its statistics are not adapted)
        const bb = model.net.backbone(x, b.octree, { training: false });
        return tf.losses.softmaxCrossEntropy(y, model.head.apply(model.net.shapeHead(bb, b.octree, { training: true }).fc1)) as tf.Scalar;
      }
      return tf.losses.softmaxCrossEntropy(y, model.logits(x, b.octree, { training: true })) as tf.Scalar;
    },
  );
  let pred: number[] = [];
  try {
    const pipe = new BatchPipeline({ load: (i) => data.clouds[i]!, batches: chunks(testIdx, 16), spec: evalSpec(cfg), pool, seed: 0 });
    for await (const b of pipe) {
      const x = tf.tensor2d(b.features.data, [b.octree.nnum[cfg.depth]!, b.features.channels]);
      const p = tf.tidy(() => tf.argMax(model.logits(x, b.octree, { training: false }), 1));
      pred = pred.concat(Array.from(await p.data()));
      tf.dispose([x, p]);
    }
  } finally {
    await pool.close();
  }
  const truth = testIdx.map((i) => data.labels[i]!);
  model.dispose();
  return { oa: overallAccuracy(pred, truth), macc: meanClassAccuracy(pred, truth, data.classes), steps, seconds: (performance.now() - t0) / 1000, finalLoss };
}
