import type { TrainContext, TrainerHook } from '../trainer.ts';

/**
 * Evaluation as a hook: `run` after every epoch (`epochs`) and / or in afterTrain (`end`: 'always', or
 * 'if-none' when no evaluation ran in this call, e.g. a resumed run that was already finished, so its
 * report still has a figure). The latest result is `last`; hooks listed after this one (the metrics row,
 * the checkpoint's meta) read it.
 */
export interface EvaluationHook<T> extends TrainerHook<unknown, unknown> {
  readonly last: T | null;
  /** Evaluations run in this call. */
  readonly runs: number;
}

export function evaluationHook<T>(o: { epochs: boolean; end: 'always' | 'if-none' | 'never' }, run: (ctx: TrainContext) => Promise<T>): EvaluationHook<T> {
  let last: T | null = null;
  let runs = 0;
  const evaluate = async (ctx: TrainContext): Promise<void> => {
    last = await run(ctx);
    runs++;
  };
  return {
    name: 'evaluation',
    get last() {
      return last;
    },
    get runs() {
      return runs;
    },
    async afterEpoch(ctx) {
      if (o.epochs) await evaluate(ctx);
    },
    async afterTrain(ctx) {
      if (o.end === 'always' || (o.end === 'if-none' && runs === 0)) await evaluate(ctx);
    },
  };
}
