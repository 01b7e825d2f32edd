import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgress } from '../../src/util/progress.ts';
import { progressHook } from '../../src/train/hooks/progress.ts';
import type { TrainContext } from '../../src/train/trainer.ts';

/** A non-TTY stream that keeps what the plain-line progress writes. */
function sink(): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => (lines.push(s.trimEnd()), true) } as unknown as NodeJS.WriteStream;
  return { stream, lines };
}

describe('createProgress, plain lines', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }));
  afterEach(() => vi.useRealTimers());

  it('reports the rate and ETA of a fresh run from step 0', () => {
    const { stream, lines } = sink();
    const p = createProgress('run', 100, { stream, every: 10 });
    vi.advanceTimersByTime(10_000);
    p.update(20);
    expect(lines).toEqual(['run 20/100 steps 2.00/s eta 40s']);
  });

  it('counts only the steps of this process when a run resumes part way', () => {
    const { stream, lines } = sink();
    const p = createProgress('run', 8000, { stream, every: 400, start: 6250 });
    p.update(6250); // the resumed run's first line, before any step of this process
    vi.advanceTimersByTime(100_000);
    p.update(6750, { loss: 0.5 });
    // 500 steps in 100 s: 5 steps/s, 1,250 left -> 250 s (without `start`: 67.5/s and an ETA of 19 s)
    expect(lines).toEqual(['run 6250/8000 steps 0.00/s eta ?', 'run 6750/8000 steps 5.00/s eta 250s loss=0.5000']);
  });
});

describe('progressHook', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }));
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('starts its rate at the step the resume hook restored', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s).trimEnd()), true));
    const tty = process.stderr.isTTY;
    process.stderr.isTTY = false;
    try {
      const state = { step: 6000, startStep: 0, totalSteps: 8000, epoch: 0, epochEnd: false, resumed: true, lr: 0.1 };
      const ctx = { state } as unknown as TrainContext;
      const hook = progressHook<unknown, { loss: number }>('ft', { total: 8000 });
      hook.beforeTrain?.(ctx);
      vi.advanceTimersByTime(50_000);
      state.step = 6400; // the plain-line default prints every 400 steps of 8,000
      hook.afterStep?.(ctx, undefined, { row: { loss: 0 }, ms: 1, tensors: 0 });
      hook.close?.();
    } finally {
      process.stderr.isTTY = tty;
    }
    expect(lines).toEqual(['ft 6400/8000 steps 8.00/s eta 200s']);
  });
});
