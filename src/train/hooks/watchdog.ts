import { startWatchdog, type Watchdog } from '../watchdog.ts';
import type { TrainerHook, TrainState } from '../trainer.ts';

/**
 * Stops the process when no step finishes for a long time (../watchdog.ts): armed after the first step of
 * the call with 50 x that step's time (at least 15 min), beaten after every step and after every epoch's
 * hooks listed before it (an evaluation), stopped in close.
 */
export function watchdogHook(message: (limitMin: number, state: TrainState) => string): TrainerHook<unknown, unknown> {
  let dog: Watchdog | null = null;
  return {
    name: 'watchdog',
    afterStep(ctx, _batch, out) {
      if (!dog) {
        const limit = Math.max(15 * 60_000, 50 * out.ms);
        dog = startWatchdog(limit, message(Math.round(limit / 60000), ctx.state));
      }
      dog.beat();
    },
    afterEpoch() {
      dog?.beat();
    },
    async close() {
      await dog?.stop();
    },
  };
}
