import * as tf from '@tensorflow/tfjs';
import type { Params } from '../models/params.ts';
import type { PointCloud } from '../data/pointcloud.ts';
import { BatchPipeline, WorkerPool, type PipelineBatch, type SampleSpec, type WorkerPoolOptions } from '../pipeline/index.ts';
import { SgdMomentum } from './sgd.ts';
import { variableGrads } from './tape-grads.ts';

/**
 * The one training loop of rq3d (pretraining, the supervised baseline, fine-tuning / segmentation and the
 * model bench all run through it). A loop supplies its step loss (a `StepTask`) and a list of hooks; the
 * trainer owns the step loop, the epochs, the optimizer, the worker pool and the hooks' lifetime:
 *
 *   beforeTrain (resume here: a hook may set `state.step`)
 *   for each epoch from the one holding `state.step`:
 *     beforeEpoch
 *     for each batch: beforeStep, the step (loss, gradient, update, the step's one read-back), afterStep
 *     afterEpoch (only when the epoch's last batch ran, not when the run stops inside it)
 *   afterTrain (only when the run got to its end; `close` of every hook runs in any case, last hook first)
 *
 * Hooks run in list order in every phase, so a loop says "the epoch row before the checkpoint" by listing
 * the metrics hook before the checkpoint hook (src/train/hooks/, docs/trainer.md). The idea is Pointcept's
 * TrainerBase with its hooks (pointcept/engines), written here for tfjs: there is no synchronous read-back
 * in a step, the read-back is one asynchronous `data()` after the update, and every tensor a step makes is
 * disposed before `afterStep` sees the live tensor count.
 */

/** Where a run stands; hooks read it and the resume hook sets `step` in beforeTrain. */
export interface TrainState {
  /** Optimizer steps done (a resumed run starts at its checkpoint's). */
  step: number;
  /** Steps done when the loop started (after resume): `step - startStep` steps ran in this call. */
  startStep: number;
  /** The step count the run stops at. */
  totalSteps: number;
  /** The 0-based epoch of the current (or last) step. */
  epoch: number;
  /** In afterStep: whether this step was its epoch's last batch (afterEpoch follows). */
  epochEnd: boolean;
  /** True when a checkpoint was restored in beforeTrain. */
  resumed: boolean;
  /** The lr of the current (or last) step. */
  lr: number;
}

/** What afterStep receives besides the batch. */
export interface StepOutput<R> {
  /** The task's row of the step (`StepTask.read`; default `{ loss }`). */
  row: R;
  /** Milliseconds from the batch's arrival to the step's end (its tensors disposed). */
  ms: number;
  /** Live tfjs tensors after the step: flat from the second step on when nothing leaks. */
  tensors: number;
}

/** Everything a hook can reach. */
export interface TrainContext {
  readonly state: TrainState;
  /** The pool that builds the batches; evaluation hooks build theirs with it. Null for a source without one. */
  readonly pool: WorkerPool | null;
  /** The optimizer (its velocities are what a checkpoint saves beside the model). */
  readonly optimizer: SgdMomentum;
  /** The variables that train, by parameter name. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
}

export interface TrainerHook<B = PipelineBatch, R = LossRow> {
  /** A name for errors and docs. */
  readonly name: string;
  beforeTrain?(ctx: TrainContext): void | Promise<void>;
  beforeEpoch?(ctx: TrainContext): void | Promise<void>;
  beforeStep?(ctx: TrainContext, batch: B): void | Promise<void>;
  afterStep?(ctx: TrainContext, batch: B, out: StepOutput<R>): void | Promise<void>;
  afterEpoch?(ctx: TrainContext): void | Promise<void>;
  afterTrain?(ctx: TrainContext): void | Promise<void>;
  /** Release what the hook holds (a progress bar, a watchdog thread); runs on success and on failure. */
  close?(): void | Promise<void>;
}

export interface LossRow {
  loss: number;
}

/** The step's loss, returned from inside `tf.variableGrads`; `keep` survives the tape for `read`. */
export type StepLoss = tf.Scalar | { loss: tf.Scalar; keep: tf.Tensor[] };

export interface StepTask<B = PipelineBatch, R = LossRow> {
  /**
   * The batch's input tensors (the octree's signal, one-hot labels), made before the tape and disposed by
   * the trainer after the step, as the loops did before the trainer: the tape's tidy then frees only what
   * the forward and backward passes made.
   */
  inputs?(batch: B, state: TrainState): tf.Tensor[];
  /**
   * The scalar loss of one batch (with `inputs`' tensors), run inside `tf.variableGrads` (every tensor made
   * here is disposed with the tape, except `keep`). No read-back here.
   */
  loss(batch: B, state: TrainState, inputs: readonly tf.Tensor[]): StepLoss;
  /**
   * After the optimizer update: the step's one asynchronous read-back of the loss (and of `kept`), and any
   * host-side update that has to happen before the next step (memory banks). The trainer disposes `value`
   * and `kept` afterwards. Default: `{ loss }`.
   */
  read?(value: tf.Scalar, kept: readonly tf.Tensor[], batch: B, state: TrainState): Promise<R>;
}

/** Where the batches come from: epoch by epoch, resumable at any step. */
export interface BatchSource<B> {
  /** The number of batches of epoch `epoch` (0-based); 0 when the data has no such epoch. */
  epochLength(epoch: number): number;
  /** `count` batches of `epoch` from its batch `from` on (the pool is the trainer's, when it has one). */
  batches(epoch: number, from: number, count: number, pool: WorkerPool | null): AsyncIterable<B>;
}

export interface TrainerOptions<B, R> {
  /** The model's variables; those in `params.trainable` (and `include`, when given) train. */
  params: Params;
  include?: (name: string) => boolean;
  task: StepTask<B, R>;
  source: BatchSource<B>;
  /** Steps to run in all (a resumed run counts the restored ones). */
  totalSteps: number;
  /** The lr of (0-based) step `step`. */
  lr: (step: number) => number;
  /** Per-variable lr factor (fine-tuning's backbone at 0.1x); default 1. */
  lrScale?: (name: string) => number;
  momentum: number;
  weightDecay: number;
  /** The worker pool the batches are built in; the trainer closes it. Omit for a source that needs none. */
  pool?: WorkerPoolOptions;
  hooks?: ReadonlyArray<TrainerHook<B, R>>;
}

export interface TrainerResult {
  /** Steps done in all (restored ones included). */
  steps: number;
  startStep: number;
  resumed: boolean;
}

/**
 * The variables that train, by parameter name (the optimizer and checkpoints key by it): those of
 * `params.trainableVariables(include)` (weights, not batch-norm statistics), in the model's order. Every
 * loop gets its variables here.
 */
export function trainableVariables(params: Params, include?: (name: string) => boolean): Map<string, tf.Variable> {
  const train = new Set(params.trainableVariables(include));
  return new Map([...params.variables].filter(([, v]) => train.has(v)));
}

/** Runs the loop; see the module comment for the order of hooks. The optimizer and the pool live only inside. */
export async function train<B, R = LossRow>(o: TrainerOptions<B, R>): Promise<TrainerResult> {
  const variables = trainableVariables(o.params, o.include);
  const varList = [...variables.values()];
  const optimizer = new SgdMomentum(o.momentum, o.weightDecay);
  const hooks = o.hooks ?? [];
  const state: TrainState = { step: 0, startStep: 0, totalSteps: o.totalSteps, epoch: 0, epochEnd: false, resumed: false, lr: o.lr(0) };
  let pool: WorkerPool | null = null;
  const read = o.task.read ?? (async (value: tf.Scalar): Promise<R> => ({ loss: (await value.data())[0]! }) as R);
  try {
    pool = o.pool ? new WorkerPool(o.pool) : null;
    const ctx: TrainContext = { state, pool, optimizer, variables };
    for (const h of hooks) await h.beforeTrain?.(ctx);
    // zero velocities for every variable the resume did not restore, before the first step: made inside it
    // they fragment the wasm heap for every later step (src/train/sgd.ts, init)
    optimizer.init(variables);
    state.startStep = state.step;
    // the epoch that holds the first step to run, and the offset of that step within it
    let epoch = 0;
    let epochStart = 0;
    while (state.step < o.totalSteps) {
      const len = o.source.epochLength(epoch);
      if (len === 0) break;
      if (epochStart + len > state.step) break;
      epochStart += len;
      epoch++;
    }
    for (; state.step < o.totalSteps; epoch++) {
      const len = o.source.epochLength(epoch);
      if (len === 0) break;
      const from = state.step - epochStart;
      const count = Math.min(len - from, o.totalSteps - state.step);
      state.epoch = epoch;
      for (const h of hooks) await h.beforeEpoch?.(ctx);
      let done = from;
      for await (const batch of o.source.batches(epoch, from, count, pool)) {
        const t0 = performance.now();
        state.lr = o.lr(state.step);
        for (const h of hooks) await h.beforeStep?.(ctx, batch);
        let kept: tf.Tensor[] = [];
        const inputs = o.task.inputs?.(batch, state) ?? [];
        // the tape's tensors are released as the backward pass goes (./tape-grads.ts): the step's peak memory
        const { value, grads } = variableGrads(() => {
          const l = o.task.loss(batch, state, inputs);
          if (l instanceof tf.Tensor) return l;
          kept = l.keep.map((t) => tf.keep(t));
          return l.loss;
        }, varList);
        optimizer.apply(variables, grads, state.lr, o.lrScale);
        let row: R;
        try {
          row = await read(value, kept, batch, state);
        } finally {
          tf.dispose([...inputs, value, ...Object.values(grads), ...kept]);
        }
        state.step++;
        done++;
        state.epochEnd = done === len;
        const out: StepOutput<R> = { row, ms: performance.now() - t0, tensors: tf.memory().numTensors };
        for (const h of hooks) await h.afterStep?.(ctx, batch, out);
        if (done === from + count) break;
      }
      if (done === len) for (const h of hooks) await h.afterEpoch?.(ctx);
      epochStart += len;
      state.epochEnd = false;
    }
    for (const h of hooks) await h.afterTrain?.(ctx);
    return { steps: state.step, startStep: state.startStep, resumed: state.resumed };
  } finally {
    // last hook first: a hook may depend on one listed before it
    for (const h of [...hooks].reverse()) await h.close?.();
    await pool?.close();
    optimizer.dispose();
  }
}

/** Batches of point clouds built by the trainer's worker pool (`BatchPipeline`), one pipeline per epoch. */
export function pipelineSource(o: {
  load: (index: number) => Promise<PointCloud> | PointCloud;
  /** The batches (dataset indices) of an epoch; [] when there is no such epoch. */
  epochBatches: (epoch: number) => ReadonlyArray<readonly number[]>;
  spec: SampleSpec;
  seed: number;
}): BatchSource<PipelineBatch> {
  let cached: { epoch: number; batches: ReadonlyArray<readonly number[]> } | null = null;
  const of = (epoch: number): ReadonlyArray<readonly number[]> => {
    if (cached?.epoch !== epoch) cached = { epoch, batches: o.epochBatches(epoch) };
    return cached.batches;
  };
  return {
    epochLength: (epoch) => of(epoch).length,
    batches: (epoch, from, count, pool) => {
      if (!pool) throw new Error('pipelineSource needs the trainer to hold a worker pool (TrainerOptions.pool)');
      // only the batches this call runs: a pipeline builds ahead, and a run stopped early should not load more
      // the epoch number seeds each shape's augmentation, so every pass augments afresh
      return new BatchPipeline({ load: o.load, batches: of(epoch).slice(from, from + count), spec: o.spec, pool, epoch, seed: o.seed });
    },
  };
}
