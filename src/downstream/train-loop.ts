import * as tf from '@tensorflow/tfjs';
import type { PointCloud } from '../data/pointcloud.ts';
import type { Backbone } from '../models/backbone.ts';
import { BatchPipeline, WorkerPool, type PipelineBatch, type SampleSpec } from '../pipeline/index.ts';
import { SgdMomentum, stepLr } from '../train/sgd.ts';
import { createProgress } from '../train/progress.ts';
import { trainingEpochs } from './batches.ts';

/**
 * The training loop shared by fine-tuning and segmentation: which variables train (a head-only mode
 * freezes the backbone's weights, while its batch norms still run in training mode and update their
 * running statistics, as the reference's UPDATE_OPS do), the pretrained backbone at `backboneLrScale` x the
 * head's rate (scratch: all alike), SGD with momentum and weight decay, step decays at fractions of the run,
 * batches with MID-Net's downstream augmentation built ahead in worker threads.
 */
/** Hyper-parameters of a downstream training run (the fields every protocol shares). */
export interface TrainingHyper {
  steps: number;
  lr: number;
  backboneLrScale: number;
  momentum: number;
  weightDecay: number;
  batchSize: number;
  decayAt: number[];
  seed: number;
  workers?: number;
  quiet?: boolean;
}

export interface DownstreamRecipe extends TrainingHyper {
  pretrained: boolean;
  label: string;
}

export interface TrainSelection {
  /** Variables that take part at all (e.g. not the unused pretraining heads). */
  include: (name: string) => boolean;
  /** The variables that train in head-only mode (reference: `cls_header`, `seg_header`). */
  head: (name: string) => boolean;
  /** The variables at the full rate when the backbone is pretrained; the others get `backboneLrScale`. */
  fullRate: (name: string) => boolean;
  headOnly: boolean;
}

/**
 * The learning-rate factor of every variable that trains (relative to the schedule's lr); variables not in
 * the map get no update. One place decides it, so tests can check the structure of every protocol.
 */
export function lrFactors(trainable: Iterable<string>, sel: TrainSelection, r: { pretrained: boolean; backboneLrScale: number }): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of trainable) {
    if (!sel.include(n) || (sel.headOnly && !sel.head(n))) continue;
    // head-only: the head trains at the full rate (the reference's FC2Optimizer, mul 1.0)
    out.set(n, r.pretrained && !sel.headOnly && !sel.fullRate(n) ? r.backboneLrScale : 1);
  }
  return out;
}

/** The lr of (0-based) step `step` of a downstream run: x0.1 after each `decayAt` fraction of `steps`. */
export function downstreamLr(r: { lr: number; steps: number; decayAt: readonly number[] }, step: number): number {
  return stepLr(r.lr, r.decayAt.map((f) => Math.round(f * r.steps)), step);
}

export async function trainDownstream(
  net: Backbone,
  sel: TrainSelection,
  clouds: readonly PointCloud[],
  trainIdx: readonly number[],
  r: DownstreamRecipe,
  stepLoss: (b: PipelineBatch, x: tf.Tensor2D) => tf.Scalar,
): Promise<{ pool: WorkerPool; steps: number; finalLoss: number }> {
  const cfg = net.config;
  const factors = lrFactors(net.params.trainable, sel, r);
  const vars = new Map([...factors.keys()].map((n) => [n, net.params.variables.get(n)!]));
  const scale = (n: string): number => factors.get(n)!;
  const opt = new SgdMomentum(r.momentum, r.weightDecay);
  const spec: SampleSpec = { depth: cfg.depth, fullDepth: cfg.fullDepth, transform: 'finetune', rq: null, features: 'ND', nempty: false };
  const pool = new WorkerPool({ workers: r.workers ?? 1 });
  const epochs = trainingEpochs(trainIdx, r.batchSize, r.steps, r.seed);
  const progress = createProgress(r.label, epochs.reduce((n, e) => n + e.length, 0), { quiet: r.quiet });
  let finalLoss = NaN;
  let s = 0;
  try {
    // one pipeline per epoch: its epoch number seeds the augmentation, so every pass augments afresh
    for (const [epoch, batches] of epochs.entries()) {
      const pipe = new BatchPipeline({ load: (i) => clouds[i]!, batches, spec, pool, epoch, seed: r.seed });
      for await (const b of pipe) {
        const x = tf.tensor2d(b.features.data, [b.octree.nnum[cfg.depth]!, b.features.channels]);
        const { value, grads } = tf.variableGrads(() => stepLoss(b, x), [...vars.values()]);
        opt.apply(vars, grads, downstreamLr(r, s), scale);
        finalLoss = (await value.data())[0]!;
        tf.dispose([x, value, ...Object.values(grads)]);
        s++;
        progress.update(s, { loss: finalLoss });
      }
    }
  } catch (e) {
    await pool.close();
    throw e;
  } finally {
    progress.stop();
    opt.dispose();
  }
  return { pool, steps: s, finalLoss };
}
