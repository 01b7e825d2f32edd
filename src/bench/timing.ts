/** Small timing helpers for the benchmarks (never used by tests: tests do not time anything). */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Runs `f` `warmup` times untimed, then `reps` times; returns the per-run milliseconds. */
export async function timeRuns(f: () => void | Promise<void>, reps: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await f();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  return ms;
}

export function round(x: number, digits = 1): number {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
}
