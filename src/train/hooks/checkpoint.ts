import * as tf from '@tensorflow/tfjs';
import { assignVariables, checkpointExists, disposeLoaded, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../checkpoint.ts';
import type { TrainContext, TrainerHook, TrainState } from '../trainer.ts';

/**
 * Checkpoint and resume, written once for every loop, as two hooks (the resume one first in a loop's list,
 * the saving one last; a loop lists the resume hook only when asked to resume). Resume (beforeTrain, when a
 * checkpoint is there): the loop's `restore` checks the checkpoint is its own and restores its extra state
 * (memory banks, best accuracy), then the model's variables and the optimizer's velocities are assigned and
 * `state.step` is the checkpoint's `meta.step`; the run continues exactly where the saved one stood, so an interrupted and
 * resumed run ends bit-identical to an uninterrupted one (test/train/pretrain.test.ts,
 * test/downstream/supervised.test.ts).
 *
 * Save: the model (group `model`), the velocities (group `optimizer`) and `arrays`, after the step's last
 * hook phase: in afterEpoch at an epoch's end (so rows and evaluations listed before this hook are in the
 * checkpoint's run), else in afterStep. List it after the hooks whose work a checkpoint has to follow.
 */
export interface CheckpointHookOptions {
  dir: string;
  /** Save every `every` steps and after the last step, or at the end of every epoch. */
  every: number | 'epoch';
  /** The model's variables (group `model`). */
  model: ReadonlyMap<string, tf.Variable>;
  /** The checkpoint's meta for the state it saves; it holds `step`, which a resume continues from. */
  meta: (state: TrainState) => Record<string, unknown> & { step: number };
  /** Plain arrays saved beside the tensors (memory banks). */
  arrays?: () => Record<string, Float32Array>;
  /** Save once in afterTrain when no step ran in this call (a resumed run that was already finished). */
  saveWhenIdle?: boolean;
  /** Extra model-only checkpoints at the end of these epochs (1-based count of epochs done). */
  keep?: { epochs: readonly number[]; dir: (epochsDone: number) => string; meta: (state: TrainState) => Record<string, unknown> };
}

export interface ResumeHookOptions {
  dir: string;
  /** The model's variables, assigned from the checkpoint's group `model`. */
  model: ReadonlyMap<string, tf.Variable>;
  /** Check the loaded checkpoint (throw a UserError naming what differs) and restore the loop's own state. */
  restore?: (ck: LoadedCheckpoint) => void;
  /** After a resume (a message). */
  onResumed?: (state: TrainState) => void;
}

/** Restores a run from `dir` in beforeTrain when it holds a checkpoint; list it first. */
export function resumeHook(o: ResumeHookOptions): TrainerHook<unknown, unknown> {
  return {
    name: 'resume',
    async beforeTrain(ctx) {
      if (!(await checkpointExists(o.dir))) return;
      const ck = await loadCheckpoint(o.dir);
      try {
        o.restore?.(ck);
        assignVariables(o.model, ck.groups.get('model') ?? new Map(), { source: o.dir });
        // a variable shares the loaded tensor's data, so the loaded tensors can be disposed afterwards
        for (const [name, t] of ck.groups.get('optimizer') ?? new Map<string, tf.Tensor>()) ctx.optimizer.velocity.set(name, tf.variable(t, false));
        ctx.state.step = Number(ck.meta.step ?? 0);
        ctx.state.resumed = true;
      } finally {
        disposeLoaded(ck);
      }
      o.onResumed?.(ctx.state);
    },
  };
}

/** Saves the run's checkpoint (see the module comment for when); list it last. */
export function checkpointHook(o: CheckpointHookOptions): TrainerHook<unknown, unknown> {
  const save = async (ctx: TrainContext): Promise<void> => {
    await saveCheckpoint(o.dir, {
      meta: o.meta(ctx.state),
      groups: { model: o.model, optimizer: ctx.optimizer.velocity },
      ...(o.arrays ? { arrays: o.arrays() } : {}),
    });
  };
  const due = (s: TrainState): boolean => o.every === 'epoch' || s.step % o.every === 0 || s.step === s.totalSteps;
  return {
    name: 'checkpoint',
    async afterStep(ctx) {
      if (!ctx.state.epochEnd && o.every !== 'epoch' && due(ctx.state)) await save(ctx);
    },
    async afterEpoch(ctx) {
      const done = ctx.state.epoch + 1;
      if (o.keep?.epochs.includes(done)) await saveCheckpoint(o.keep.dir(done), { meta: o.keep.meta(ctx.state), groups: { model: o.model } });
      if (due(ctx.state)) await save(ctx);
    },
    async afterTrain(ctx) {
      if (o.saveWhenIdle && ctx.state.step === ctx.state.startStep) await save(ctx);
    },
  };
}
