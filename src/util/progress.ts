import cliProgress from 'cli-progress';

/**
 * Progress of long work: a bar with rate and ETA on a TTY, plain lines (every `every` steps and at the
 * end) otherwise, so logs of CI and nohup runs stay readable. Silent when `quiet`. `start` is the work
 * already done when the bar is made (a resumed run): the rate and ETA count only what this process does,
 * otherwise a run resumed at step 6,250 of 8,000 reports thousands of steps per second and an ETA of 0.
 */
export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(
  label: string,
  total: number,
  opts: { quiet?: boolean; every?: number; stream?: NodeJS.WriteStream; unit?: string; start?: number } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { update: () => undefined, stop: () => undefined };
  const unit = opts.unit ?? 'steps';
  const start = opts.start ?? 0;
  const rateOf = (done: number, t0: number): number => Math.max(0, done - start) / Math.max(1e-3, (Date.now() - t0) / 1000);
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} {bar} {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted} | {info}`, stream, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    const t0 = Date.now();
    let started = false;
    return {
      update(done, fields = {}) {
        const rate = rateOf(done, t0).toFixed(2);
        const info = Object.entries(fields)
          .map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`)
          .join(' ');
        if (!started) {
          bar.start(total, done, { rate, info });
          started = true;
        } else bar.update(done, { rate, info });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  const every = opts.every ?? Math.max(1, Math.round(total / 20));
  const t0 = Date.now();
  let last = -1;
  return {
    update(done, fields = {}) {
      if (done !== total && done - last < every) return;
      last = done;
      const rate = rateOf(done, t0);
      // no step of this process yet (a resumed run's first line): the ETA is unknown, not 0
      const eta = done >= total ? '0s' : rate > 0 ? `${((total - done) / rate).toFixed(0)}s` : '?';
      const info = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`)
        .join(' ');
      stream.write(`${label} ${done}/${total} ${unit} ${rate.toFixed(2)}/s eta ${eta} ${info}\n`);
    },
    stop: () => undefined,
  };
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 0.01 ? v.toFixed(4) : v.toExponential(2);
}
