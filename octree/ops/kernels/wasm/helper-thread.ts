/**
 * The helper thread of ./split.ts in Node: a worker_threads Worker that instantiates the kernels module on
 * tfjs-backend-wasm's shared memory and runs one job at a time, handed over through a small
 * SharedArrayBuffer with Atomics (no message passing: the main thread is inside a synchronous kernel).
 *
 *   ctrl[SEQ]    job number, bumped by the main thread to start a job
 *   ctrl[DONE]   the job number the helper finished last
 *   ctrl[OP]     index into HELPER_OPS
 *   ctrl[FAIL]   1 if the last job threw (e.g. a wasm trap)
 *   ctrl[ARGS..] i32 arguments
 *
 * The worker is unref'd (it never keeps a process alive) and idles in Atomics.wait (no CPU).
 * `RQ3D_ROW_THREADS=1` turns the helper off.
 */
import { Worker } from 'node:worker_threads';
import { setRowHelperFactory, type RowHelperFactory } from './index.ts';
import { HELPER_OPS, type HelperOp, type RowHelper } from './split.ts';

const SEQ = 0,
  DONE = 1,
  OP = 2,
  FAIL = 3,
  ARGS = 4,
  MAX_ARGS = 12;
/** A helper that has not answered in this long is given up (its half is then never trusted again). */
const ANSWER_TIMEOUT_MS = 120_000;

// Plain JS (CommonJS, run with eval) so the worker starts the same under tsx, vitest and compiled code.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, ctrl, ops } = workerData;
const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const fns = ops.map((name) => k[name]);
const c = new Int32Array(ctrl);
let seen = 0;
for (;;) {
  Atomics.wait(c, ${SEQ}, seen);
  seen = Atomics.load(c, ${SEQ});
  const op = c[${OP}];
  if (op < 0) break;
  let failed = 0;
  try {
    fns[op](...c.subarray(${ARGS}, ${ARGS + MAX_ARGS}));
  } catch (e) {
    failed = 1;
  }
  c[${FAIL}] = failed;
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
`;

class WorkerRowHelper implements RowHelper {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(4 * (ARGS + MAX_ARGS)));
  private readonly worker: Worker;
  private seq = 0;
  private op: HelperOp = 'gather';
  private alive = true;

  constructor(memory: WebAssembly.Memory, bytes: Uint8Array<ArrayBuffer>) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory, bytes, ctrl: this.ctrl.buffer, ops: [...HELPER_OPS] } });
    this.worker.unref();
    const down = (): void => {
      this.alive = false;
    };
    this.worker.on('error', down);
    this.worker.on('exit', down);
  }

  available(): boolean {
    return this.alive;
  }

  start(op: HelperOp, args: number[]): void {
    if (args.length > MAX_ARGS) throw new RangeError(`helper thread: ${op} has ${args.length} arguments, at most ${MAX_ARGS}`);
    const c = this.ctrl;
    c.fill(0, ARGS);
    c.set(args, ARGS);
    c[OP] = HELPER_OPS.indexOf(op);
    this.op = op;
    this.seq = (this.seq + 1) | 0;
    Atomics.store(c, SEQ, this.seq);
    Atomics.notify(c, SEQ);
  }

  finish(): void {
    const c = this.ctrl;
    const t0 = Date.now();
    // The two halves take about as long: spin briefly before sleeping.
    for (let i = 0; i < 4000 && Atomics.load(c, DONE) !== this.seq; i++);
    while (Atomics.load(c, DONE) !== this.seq) {
      Atomics.wait(c, DONE, Atomics.load(c, DONE), 50);
      if (Date.now() - t0 > ANSWER_TIMEOUT_MS) {
        this.alive = false;
        throw new Error(`rq3d helper thread: no answer to ${this.op} after ${ANSWER_TIMEOUT_MS / 1000} s; the row loops now run on one thread`);
      }
    }
    if (c[FAIL]) throw new Error(`rq3d helper thread: ${this.op} failed (out-of-range pointer or size)`);
  }
}

/** One helper per shared memory, or null where worker threads are unavailable or switched off. */
export const nodeRowHelper: RowHelperFactory = (memory, bytes) => {
  if (process.env.RQ3D_ROW_THREADS === '1') return null;
  try {
    return new WorkerRowHelper(memory, bytes);
  } catch {
    return null;
  }
};

/** Called by src/backend.ts when it starts the threaded wasm backend. */
export function installRowHelper(): void {
  setRowHelperFactory(nodeRowHelper);
}
