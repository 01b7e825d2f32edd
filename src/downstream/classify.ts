import * as tf from '@tensorflow/tfjs';
import type { PointCloud } from '../data/pointcloud.ts';
import { BatchPipeline, WorkerPool, type SampleSpec } from '../pipeline/index.ts';
import { SgdMomentum, stepLr } from '../train/sgd.ts';
import { trainDownstream, type TrainingHyper, type TrainSelection } from './train-loop.ts';
import { evalSampleSpec, fc1Features } from '../train/knn-monitor.ts';
import { buildBackbone, downstreamParts, type Backbone, type BackboneSpec } from '../models/backbones.ts';
import { createProgress } from '../util/progress.ts';
import { chunks, trainingBatches } from './batches.ts';
import { meanClassAccuracy, overallAccuracy, confusionMatrix } from './metrics.ts';
import { Classifier } from './heads.ts';
import { loadPretrained } from './pretrained.ts';
import { saveCheckpoint } from '../train/checkpoint.ts';

/**
 * Classification downstream (anchor-spec §3.5; O-CNN run_cls_finetune.py / run_cls_cmd.py): fc1 features of
 * a frozen backbone for the linear probe; fine-tuning with the reference's structure: below 10 % labels only
 * `cls_header` trains (the fc1 1x1 conv with its BN, and the new classifier; the backbone's weights stay,
 * its batch norms run in training mode and update their statistics), from 10 % everything trains with the
 * backbone, the fc1 conv included, at 0.1x the classifier's rate; the scratch baseline is the whole network
 * trained from random initialization with the same recipe at the full rate (the paper's Scratch row).
 */
export interface ClassifyData {
  clouds: readonly PointCloud[];
  labels: ArrayLike<number>;
  classes: number;
}

function evalSpec(cfg: { depth: number; fullDepth: number }): SampleSpec {
  return evalSampleSpec(cfg);
}

/** fc1 features (inference mode, no augmentation) of the shapes `indices`: [indices.length x fc1]. */
export async function extractFc1(
  model: Classifier,
  data: ClassifyData,
  indices: readonly number[],
  opts: { batchSize?: number; workers?: number; quiet?: boolean; label?: string } = {},
): Promise<Float32Array> {
  const pool = new WorkerPool({ workers: opts.workers ?? 1 });
  const progress = createProgress(opts.label ?? 'features', indices.length, { quiet: opts.quiet, unit: 'shapes' });
  try {
    return await fc1Features(model.net, data.clouds, indices, pool, { batchSize: opts.batchSize, onProgress: (d) => progress.update(d) });
  } finally {
    progress.stop();
    await pool.close();
  }
}

/**
 * Batch-norm statistics of a network computed on the given (training) shapes, as PyTorch's cumulative
 * average (momentum=None) would: one pass over the shapes in batches, network in training mode, no
 * augmentation, no weight update; every running mean / variance becomes the plain average of that BN's
 * per-batch statistics, whatever it held before. This is what a frozen random-features probe needs: in
 * inference mode a never-trained network's running statistics are 0 / 1, which scales its fc1 features down
 * ~20x and starves the probe. The BN layers update running = (1 - m)·running + m·batch; m is measured on the
 * first batch (running set to 1, then to 0), so the batch statistic is read back as running / m after a
 * batch run from 0. Statistics of layers the fc1 path does not use (the point head) are left as they were.
 * Returns the number of batches averaged.
 */
export async function calibrateBatchNorm(
  net: Backbone,
  clouds: readonly PointCloud[],
  indices: readonly number[],
  o: { batchSize?: number; workers?: number } = {},
): Promise<number> {
  const cfg = net.config;
  const size = Math.max(1, Math.min(o.batchSize ?? 16, indices.length));
  let batches = chunks(indices, size).filter((b) => b.length === size);
  if (batches.length === 0) batches = [[...indices]];
  const stats = [...net.params.variables].filter(([n]) => n.endsWith('/running_mean') || n.endsWith('/running_var')).map(([, v]) => v);
  const setAll = (value: number): void => {
    for (const v of stats) tf.tidy(() => v.assign(tf.fill(v.shape, value)));
  };
  const before = stats.map((v) => tf.clone(v));
  const sums: Array<tf.Tensor | null> = stats.map(() => null);
  let momentum: number[] = [];
  const pool = new WorkerPool({ workers: o.workers ?? 1 });
  const wasTraining = net.training;
  net.training = true;
  try {
    const pipe = new BatchPipeline({ load: (i) => clouds[i]!, batches, spec: evalSpec(cfg), pool, seed: 0 });
    for await (const b of pipe) {
      const forward = (): void =>
        tf.tidy(() => {
          const x = tf.tensor2d(b.features.data, [b.octree.nnum[cfg.depth]!, b.features.channels]);
          net.globalFeature(x, b.octree);
        });
      if (momentum.length === 0) {
        setAll(1);
        forward();
        const fromOne = stats.map((v) => tf.clone(v));
        setAll(0);
        forward();
        // 1 - m = running(from 1) - running(from 0); layers off the fc1 path keep 1 and 0: m = 0
        momentum = await Promise.all(
          stats.map(async (v, i) => {
            const d = tf.tidy(() => tf.mean(tf.sub(fromOne[i]!, v)));
            const one = (await d.data())[0]!;
            d.dispose();
            return 1 - one;
          }),
        );
        tf.dispose(fromOne);
      } else {
        setAll(0);
        forward();
      }
      stats.forEach((v, i) => {
        if (momentum[i]! < 1e-6) return;
        const batchStat = tf.tidy(() => tf.div(v, momentum[i]!));
        const prev = sums[i];
        sums[i] = prev ? tf.tidy(() => tf.add(prev, batchStat)) : batchStat;
        if (prev) {
          prev.dispose();
          batchStat.dispose();
        }
      });
    }
    stats.forEach((v, i) => {
      const sum = sums[i];
      if (sum) tf.tidy(() => v.assign(tf.div(sum, batches.length)));
      else v.assign(before[i]!);
    });
  } finally {
    net.training = wasTraining;
    tf.dispose(before);
    tf.dispose(sums.filter((t): t is tf.Tensor => t !== null));
    await pool.close();
  }
  return batches.length;
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
export async function fitLinearProbe(
  train: { x: Float32Array; y: ArrayLike<number> },
  dim: number,
  classes: number,
  o: LinearProbeOptions,
): Promise<{ weights: Float32Array; bias: Float32Array }> {
  const n = train.y.length;
  // in a tidy, so the zeros the variables start from are disposed (they stayed alive, 2 tensors per probe)
  const w = tf.tidy(() => tf.variable(tf.zeros([dim, classes])));
  const b = tf.tidy(() => tf.variable(tf.zeros([classes])));
  const vars = new Map<string, tf.Variable>([
    ['w', w],
    ['b', b],
  ]);
  const opt = new SgdMomentum(o.momentum, o.weightDecay);
  const xAll = tf.tensor2d(train.x, [n, dim]);
  const yAll = tf.tensor1d(Int32Array.from(train.y), 'int32');
  const milestones = o.decayAt.map((f) => Math.round(f * o.steps));
  const batches = trainingBatches(
    Array.from({ length: n }, (_, i) => i),
    o.batchSize,
    o.steps,
    o.seed,
  );
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
): Promise<{ oa: number; macc: number; confusion: number[][] }> {
  const { weights, bias } = await fitLinearProbe(train, dim, classes, o);
  const p = tf.tidy(() => tf.argMax(tf.add(tf.matMul(tf.tensor2d(test.x, [test.y.length, dim]), tf.tensor2d(weights, [dim, classes])), tf.tensor1d(bias)), 1));
  const pred = await p.data();
  p.dispose();
  return { oa: overallAccuracy(pred, test.y), macc: meanClassAccuracy(pred, test.y, classes), confusion: confusionMatrix(pred, test.y, classes) };
}

export interface FinetuneOptions extends TrainingHyper {
  init: 'scratch' | { checkpoint: string };
  /**
   * 'full': the whole network (a pretrained backbone, the fc1 conv included, at backboneLrScale x the
   * classifier's lr); 'head': only `cls_header` (the fc1 conv and the classifier), the backbone's batch
   * norms still updating their statistics.
   */
  mode: 'full' | 'head';
  /**
   * Start the new classifier from a linear probe fitted on the training subset's fc1 features (inference
   * mode, no augmentation) of the network as initialised, with these settings ("LP-FT"); default: random.
   */
  headInit?: LinearProbeOptions;
  label?: string;
  /** Save the trained network here (checkpoint layout; meta.kind 'classify'). */
  saveDir?: string;
}

export interface FinetuneResult {
  oa: number;
  macc: number;
  /** m[truth][pred] over the test shapes. */
  confusion: number[][];
  steps: number;
  seconds: number;
  finalLoss: number;
}

/**
 * Which variables of a Classifier train, and at which rate, for the backbone type `model` names (a config or a
 * built backbone; none: MID HRNet). The new classifier (`cls/`, the reference's `fc2`) is head and takes the
 * full rate when the backbone is pretrained; the backbone's registry entry says which of its own variables
 * join the head and which take no part (`downstream.classify`). MID HRNet: the reference's `cls_header` (fc1
 * 1x1 conv + BN, then the classifier) is the head-only set; the pretraining's projection and point head take
 * no part.
 */
export function classifierSelection(mode: 'full' | 'head', model: { type?: string } = {}): TrainSelection {
  const p = downstreamParts(model, 'classify');
  const isNew = (n: string): boolean => n.startsWith('cls/');
  return {
    include: (n) => isNew(n) || !p.unused(n),
    head: (n) => isNew(n) || p.head(n),
    fullRate: (n) => isNew(n) || p.fullRate(n),
    headOnly: mode === 'head',
  };
}

/** Fine-tune a Classifier on the backbone `cfg` names (any registered type; without `type`, MID HRNet). */
export async function finetuneClassifier(
  cfg: BackboneSpec,
  data: ClassifyData,
  trainIdx: readonly number[],
  testIdx: readonly number[],
  o: FinetuneOptions,
): Promise<FinetuneResult> {
  const t0 = performance.now();
  const model = new Classifier(buildBackbone(cfg, `${o.seed}/finetune`), data.classes);
  // disposed however the run ends: a failed cell must not leave its network's tensors behind
  try {
    if (o.init !== 'scratch') await loadPretrained(model.net, o.init.checkpoint, ['cls/']);
    if (o.headInit) {
      const dim = model.net.globalChannels;
      const x = await extractFc1(model, data, trainIdx, { quiet: true, workers: o.workers });
      const lp = await fitLinearProbe({ x, y: trainIdx.map((i) => data.labels[i]!) }, dim, data.classes, o.headInit);
      tf.tidy(() => {
        model.head.weights.assign(tf.tensor2d(lp.weights, [dim, data.classes]));
        model.head.bias!.assign(tf.tensor1d(lp.bias));
      });
    }
    const {
      steps,
      finalLoss,
      evaluation: pred,
      priorSeconds,
    } = await trainDownstream(
      model.net,
      classifierSelection(o.mode, model.net),
      data.clouds,
      trainIdx,
      { ...o, pretrained: o.init !== 'scratch', label: o.label ?? 'finetune' },
      (b, x) => {
        const y = tf.oneHot(
          tf.tensor1d(
            Int32Array.from(b.indices, (i) => data.labels[i]!),
            'int32',
          ),
          data.classes,
        );
        // training mode in both modes: in head-only mode the frozen backbone's batch norms still adapt their
        // running statistics (the reference's UPDATE_OPS), only its weights get no step
        return tf.losses.softmaxCrossEntropy(y, model.logits(x, b.octree, { training: true })) as tf.Scalar;
      },
      async (pool) => {
        let pred: number[] = [];
        const pipe = new BatchPipeline({ load: (i) => data.clouds[i]!, batches: chunks(testIdx, 16), spec: evalSpec(cfg), pool, seed: 0 });
        for await (const b of pipe) {
          const x = tf.tensor2d(b.features.data, [b.octree.nnum[cfg.depth]!, b.features.channels]);
          const p = tf.tidy(() => tf.argMax(model.logits(x, b.octree, { training: false }), 1));
          pred = pred.concat(Array.from(await p.data()));
          tf.dispose([x, p]);
        }
        return pred;
      },
    );
    const truth = testIdx.map((i) => data.labels[i]!);
    if (o.saveDir) {
      await saveCheckpoint(o.saveDir, {
        meta: { kind: 'classify', model: cfg, classes: data.classes, mode: o.mode, trainShapes: trainIdx.length, steps },
        groups: { model: model.net.params.variables },
      });
    }
    return {
      oa: overallAccuracy(pred, truth),
      macc: meanClassAccuracy(pred, truth, data.classes),
      confusion: confusionMatrix(pred, truth, data.classes),
      steps,
      seconds: priorSeconds + (performance.now() - t0) / 1000,
      finalLoss,
    };
  } finally {
    model.dispose();
  }
}
