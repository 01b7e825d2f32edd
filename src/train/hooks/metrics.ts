import { MetricsLog } from '../metrics.ts';
import type { StepOutput, TrainContext, TrainerHook } from '../trainer.ts';

/**
 * `metrics.jsonl`: a row per step and / or per epoch, as the loop words them. In beforeTrain (after the
 * checkpoint hook restored a run) the rows past the restored step are dropped, so a resumed run's file reads
 * like an uninterrupted run's; a fresh run starts an empty file.
 */
export function metricsHook<B, R>(
  log: MetricsLog,
  rows: {
    step?: (ctx: TrainContext, batch: B, out: StepOutput<R>) => Record<string, unknown> | null;
    epoch?: (ctx: TrainContext) => Record<string, unknown> | null | Promise<Record<string, unknown> | null>;
  },
): TrainerHook<B, R> {
  return {
    name: 'metrics',
    async beforeTrain(ctx) {
      await log.truncateAfter(ctx.state.resumed ? ctx.state.step : -1);
    },
    afterStep(ctx, batch, out) {
      const row = rows.step?.(ctx, batch, out);
      if (row) log.append(row);
    },
    async afterEpoch(ctx) {
      const row = await rows.epoch?.(ctx);
      if (row) log.append(row);
    },
  };
}
