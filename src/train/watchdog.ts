import { Worker } from 'node:worker_threads';

/**
 * A watchdog for long runs: if no `beat()` arrives for `timeoutMs`, a helper thread prints `message` and
 * kills the process, so a run that stops advancing (seen once with threaded wasm: the main thread spinning
 * inside a kernel, where no JS timer can fire) ends with a clear message instead of burning CPU forever.
 * It runs in its own thread for that reason; heartbeats go through shared memory. The resumable checkpoint
 * of the run is intact.
 */
export interface Watchdog {
  beat(): void;
  stop(): Promise<void>;
}

// Dynamic imports inside an async function: valid whether the eval'd worker is run as CommonJS or as an ES
// module (it inherits --input-type from the parent).
const WORKER = `
(async () => {
  const { workerData } = await import('node:worker_threads');
  const fs = await import('node:fs');
  const beats = new Int32Array(workerData.sab);
  let last = Atomics.load(beats, 0), since = Date.now();
  setInterval(() => {
    const now = Atomics.load(beats, 0);
    if (now !== last) { last = now; since = Date.now(); return; }
    if (Date.now() - since > workerData.timeoutMs) {
      fs.writeSync(2, workerData.message + '\\n');
      process.kill(process.pid, 'SIGKILL');
    }
  }, Math.min(10000, Math.max(100, workerData.timeoutMs / 10)));
})();
`;

export function startWatchdog(timeoutMs: number, message: string): Watchdog {
  const sab = new SharedArrayBuffer(4);
  const beats = new Int32Array(sab);
  const worker = new Worker(WORKER, { eval: true, workerData: { sab, timeoutMs, message } });
  worker.unref();
  return {
    beat: () => void Atomics.add(beats, 0, 1),
    stop: async () => {
      await worker.terminate();
    },
  };
}
