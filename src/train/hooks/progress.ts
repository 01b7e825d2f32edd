import { createProgress, type Progress } from '../../util/progress.ts';
import type { StepOutput, TrainContext, TrainerHook } from '../trainer.ts';

/** The progress bar (or plain lines off a TTY, src/util/progress.ts), started in beforeTrain, updated per step. */
export function progressHook<B, R>(
  label: string,
  o: { quiet?: boolean; total?: number; fields?: (ctx: TrainContext, out: StepOutput<R>) => Record<string, string | number>; showStart?: boolean },
): TrainerHook<B, R> {
  let bar: Progress | null = null;
  return {
    name: 'progress',
    beforeTrain(ctx) {
      bar = createProgress(label, o.total ?? ctx.state.totalSteps, { quiet: o.quiet, start: ctx.state.step });
      // a resumed run's bar starts where it stands
      if (o.showStart) bar.update(ctx.state.step);
    },
    afterStep(ctx, _batch, out) {
      bar?.update(ctx.state.step, o.fields?.(ctx, out));
    },
    close() {
      bar?.stop();
    },
  };
}
