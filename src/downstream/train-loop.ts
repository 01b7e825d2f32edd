import * as tf from '@tensorflow/tfjs';
import type { PointCloud } from '../data/pointcloud.ts';
import type { Backbone } from '../models/backbone.ts';
import type { PipelineBatch, SampleSpec, WorkerPool } from '../pipeline/index.ts';
import { stepLr } from '../train/sgd.ts';
import { pipelineSource, train } from '../train/trainer.ts';
import { evaluationHook } from '../train/hooks/evaluation.ts';
import { progressHook } from '../train/hooks/progress.ts';
import { checkpointHook, resumeHook } from '../train/hooks/checkpoint.ts';
import { UserError } from '../util/errors.ts';
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
  /** Checkpoint the run while it trains and resume from there (see PartialRun). */
  partial?: PartialRun;
}

export interface DownstreamRecipe extends TrainingHyper {
  pretrained: boolean;
  label: string;
}

/**
 * A downstream run that survives an interruption: every `every` steps its variables (batch-norm statistics
 * included) and velocities are saved in `dir` (the shared checkpoint hooks), and a run that finds a checkpoint
 * there continues from its step. Batches and augmentations are functions of (seed, epoch, batch), so the
 * resumed run ends bit-identical to an uninterrupted one. `id` names the run the checkpoint belongs to (a
 * grid cell's config hash): a checkpoint of another run is refused, not continued. The caller removes `dir`
 * once the run's result is stored.
 */
export interface PartialRun {
  dir: string;
  every: number;
  id: string;
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
  return stepLr(
    r.lr,
    r.decayAt.map((f) => Math.round(f * r.steps)),
    step,
  );
}

/**
 * Trains `net` on `trainIdx` with `stepLoss` through the trainer (src/train/trainer.ts), then runs `evaluate`
 * with the worker pool the batches were built in (the test pass reuses its warm workers); the pool is the
 * trainer's and is closed before this returns, whether training or the evaluation failed or not.
 */
export async function trainDownstream<T>(
  net: Backbone,
  sel: TrainSelection,
  clouds: readonly PointCloud[],
  trainIdx: readonly number[],
  r: DownstreamRecipe,
  stepLoss: (b: PipelineBatch, x: tf.Tensor2D) => tf.Scalar,
  evaluate: (pool: WorkerPool) => Promise<T>,
): Promise<{ steps: number; finalLoss: number; evaluation: T; priorSeconds: number }> {
  const cfg = net.config;
  const factors = lrFactors(net.params.trainable, sel, r);
  const spec: SampleSpec = { depth: cfg.depth, fullDepth: cfg.fullDepth, transform: 'finetune', rq: null, features: 'ND', nempty: false };
  const epochs = trainingEpochs(trainIdx, r.batchSize, r.steps, r.seed);
  let finalLoss = NaN;
  // seconds the earlier pieces of a resumed run trained
  let priorSeconds = 0;
  const t0 = performance.now();
  const evaluation = evaluationHook({ epochs: false, end: 'always' }, ({ pool }) => evaluate(pool!));
  const p = r.partial;
  const { steps } = await train<PipelineBatch>({
    params: net.params,
    include: (n) => factors.has(n),
    task: {
      inputs: (b) => [tf.tensor2d(b.features.data, [b.octree.nnum[cfg.depth]!, b.features.channels])],
      loss: (b, _s, [x]) => stepLoss(b, x as tf.Tensor2D),
    },
    source: pipelineSource({ load: (i) => clouds[i]!, epochBatches: (e) => epochs[e] ?? [], spec, seed: r.seed }),
    totalSteps: r.steps,
    lr: (s) => downstreamLr(r, s),
    lrScale: (n) => factors.get(n)!,
    momentum: r.momentum,
    weightDecay: r.weightDecay,
    pool: { workers: r.workers ?? 1 },
    hooks: [
      ...(p
        ? [
            resumeHook({
              dir: p.dir,
              model: net.params.variables,
              restore: (ck) => {
                if (ck.meta.kind !== 'downstream-partial' || ck.meta.id !== p.id || ck.meta.totalSteps !== r.steps)
                  throw new UserError(
                    `${p.dir}: this partial checkpoint belongs to another run (its config changed); remove the folder to start the run afresh`,
                  );
                priorSeconds = Number(ck.meta.seconds);
                finalLoss = Number(ck.meta.finalLoss);
              },
              onResumed: (state) => {
                if (!r.quiet) process.stderr.write(`${r.label}: resuming at step ${state.step} of ${r.steps} (${p.dir})\n`);
              },
            }),
          ]
        : []),
      progressHook(r.label, { quiet: r.quiet, total: epochs.reduce((n, e) => n + e.length, 0), fields: (_ctx, out) => ({ loss: out.row.loss }) }),
      { name: 'final-loss', afterStep: (_ctx, _b, out) => void (finalLoss = out.row.loss) },
      ...(p
        ? [
            checkpointHook({
              dir: p.dir,
              every: p.every,
              model: net.params.variables,
              meta: (state) => ({
                kind: 'downstream-partial',
                id: p.id,
                step: state.step,
                totalSteps: r.steps,
                seconds: priorSeconds + (performance.now() - t0) / 1000,
                finalLoss,
              }),
            }),
          ]
        : []),
      evaluation,
    ],
  });
  return { steps, finalLoss, evaluation: evaluation.last as T, priorSeconds };
}
