import cliProgress from 'cli-progress';

/**
 * Progress of long work: a bar with rate and ETA on a TTY, plain lines (every `every` steps and at the
 * end) otherwise, so logs of CI and nohup runs stay readable. Silent when `quiet`.
 */
export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(
  label: string,
  total: number,
  opts: { quiet?: boolean; every?: number; stream?: NodeJS.WriteStream; unit?: string } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { update: () => undefined, stop: () => undefined };
  const unit = opts.unit ?? 'steps';
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} {bar} {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted} | {info}`, stream, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    const t0 = Date.now();
    let started = false;
    return {
      update(done, fields = {}) {
        const rate = (done / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(2);
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
      const secs = (Date.now() - t0) / 1000;
      const rate = done / Math.max(1e-3, secs);
      const eta = rate > 0 ? (total - done) / rate : 0;
      const info = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`)
        .join(' ');
      stream.write(`${label} ${done}/${total} ${unit} ${rate.toFixed(2)}/s eta ${eta.toFixed(0)}s ${info}\n`);
    },
    stop: () => undefined,
  };
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 0.01 ? v.toFixed(4) : v.toExponential(2);
}
