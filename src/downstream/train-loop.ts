import * as tf from '@tensorflow/tfjs';
import type { PointCloud } from '../data/pointcloud.ts';
import type { MidHRNet } from '../models/mid-hrnet.ts';
import { BatchPipeline, WorkerPool, type PipelineBatch, type SampleSpec } from '../pipeline/index.ts';
import { SgdMomentum, stepLr } from '../train/sgd.ts';
import { createProgress } from '../train/progress.ts';
import { trainingEpochs } from './batches.ts';

/**
 * The training loop shared by fine-tuning and segmentation: which variables train (a head-only mode
 * freezes the backbone), the pretrained backbone at `backboneLrScale` x the head's rate (scratch: all
 * alike), SGD with momentum and weight decay, step decays at fractions of the run, batches with MID-Net's
 * downstream augmentation built ahead in worker threads.
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
  /** Head variables (full learning rate). */
  isHead: (name: string) => boolean;
  /** Variables that take part at all (e.g. not the unused pretraining heads). */
  include: (name: string) => boolean;
  headOnly: boolean;
}

export async function trainDownstream(
  net: MidHRNet,
  sel: TrainSelection,
  clouds: readonly PointCloud[],
  trainIdx: readonly number[],
  r: DownstreamRecipe,
  stepLoss: (b: PipelineBatch, x: tf.Tensor2D) => tf.Scalar,
): Promise<{ pool: WorkerPool; steps: number; finalLoss: number }> {
  const cfg = net.cfg;
  const names = [...net.params.trainable].filter((n) => sel.include(n) && (!sel.headOnly || sel.isHead(n)));
  const vars = new Map(names.map((n) => [n, net.params.variables.get(n)!]));
  const scale = (n: string): number => (r.pretrained && !sel.isHead(n) ? r.backboneLrScale : 1);
  const opt = new SgdMomentum(r.momentum, r.weightDecay);
  const spec: SampleSpec = { depth: cfg.depth, fullDepth: cfg.fullDepth, transform: 'finetune', rq: null, features: 'ND', nempty: false };
  const pool = new WorkerPool({ workers: r.workers ?? 1 });
  const milestones = r.decayAt.map((f) => Math.round(f * r.steps));
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
        opt.apply(vars, grads, stepLr(r.lr, milestones, s), scale);
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
