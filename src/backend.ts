/**
 * Picks and initialises the TensorFlow.js backend rq3d runs on.
 *
 * An explicit choice (the `backend` option, then `RQ3D_BACKEND`) is used or is an error naming why it
 * cannot start (a UserError: one line). `auto` (or nothing) tries, in order: `@tensorflow/tfjs-node-gpu`
 * or `@tensorflow/tfjs-node` when one is installed (they are never dependencies: their install downloads
 * libtensorflow); webgpu when the machine has a hardware GPU adapter (never a software one such as
 * SwiftShader: ./gpu-adapter.ts); wasm with SIMD and `threads` XNNPACK threads (default 2, `RQ3D_THREADS`),
 * falling back to single-threaded wasm and then to cpu. Every step is recorded in `reason`.
 *
 * Multithreaded wasm is disabled by tfjs under Node; `enableWasmThreads` below works around the four
 * obstacles measured in shared/reference/tfjs-eval.md §1 (flag, blob: worker URL, Blob main script,
 * cores/2 cap). It relies on tfjs-backend-wasm 4.22 internals, hence the fallbacks. It works under vitest
 * (forks pool) too; test/backend/wasm.test.ts runs it with 2 threads.
 */
import * as tf from '@tensorflow/tfjs';
import { installRowHelper } from '../octree/ops/kernels/wasm/helper-thread.ts';
import { shareIdentityOnWasm } from '../octree/ops/kernels/identity.ts';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adapterLine, mayHaveGpu, probeAdapter, type GpuAdapterReport } from './gpu-adapter.ts';
import { UserError } from './util/errors.ts';

export interface BackendInfo {
  /** tfjs backend name actually in use: 'wasm', 'cpu', 'tensorflow', ... */
  name: string;
  /** XNNPACK threads for wasm; 0 when the backend does not report it (cpu: 1). */
  threads: number;
  simd: boolean;
  /** Why this backend was chosen, including any fallback and its cause. */
  reason: string;
  versions: { tfjs: string; node: string };
  /** The GPU adapter, on webgpu. */
  adapter?: GpuAdapterReport;
}

export interface InitBackendOptions {
  /** 'auto' | 'wasm' | 'cpu' | 'webgpu' | 'tensorflow' (tfjs-node[-gpu]) | any other registered tfjs backend name. */
  backend?: string;
  /** XNNPACK thread count for wasm (default: RQ3D_THREADS, else 2). */
  threads?: number;
}

let pending: Promise<BackendInfo> | undefined;
let current: BackendInfo | undefined;

/**
 * Initialises the backend once per process. Later calls return the first call's info, whatever
 * their options: tfjs kernels, variables and wasm threads cannot be switched cleanly mid-run.
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const t = opts.threads;
  if (t !== undefined && (!Number.isInteger(t) || t < 1)) {
    return Promise.reject(new RangeError(`threads must be a positive integer, got ${t}`));
  }
  if (!pending) {
    pending = choose(opts).then(
      (info) => {
        current = info;
        return info;
      },
      (e: unknown) => {
        pending = undefined; // let a later call retry
        throw e;
      },
    );
  }
  return pending;
}

/** What a run's config and log record about the backend it really used. */
export function backendRecord(b: BackendInfo): { name: string; threads: number; reason: string; adapter?: string } {
  return { name: b.name, threads: b.threads, reason: b.reason, ...(b.adapter ? { adapter: adapterLine(b.adapter) } : {}) };
}

/** The info of the backend initialised by initBackend, or undefined before it finished. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

const WASM_INIT_TIMEOUT_MS = 60_000;

async function choose(opts: InitBackendOptions): Promise<BackendInfo> {
  const notes: string[] = [];
  const envBackend = process.env.RQ3D_BACKEND?.trim();
  const asked = opts.backend ?? (envBackend ? envBackend : undefined);
  const requested = asked === 'auto' ? undefined : asked;
  const source = opts.backend ? 'option' : 'RQ3D_BACKEND';
  const threads = resolveThreads(opts.threads, notes);
  const cannot = (why: string): UserError =>
    new UserError(
      `${source === 'option' ? `--backend ${requested}` : `RQ3D_BACKEND=${requested}`}: backend cannot start: ${why}; choose another (cpu, wasm, webgpu, auto)`,
    );

  if (requested === 'cpu') return useCpu(`cpu requested (${source})`);
  if (requested === 'wasm') {
    const w = await useWasm(threads, [`wasm requested (${source})`, ...notes]);
    if (w.name !== 'wasm') throw cannot(w.reason);
    return w;
  }
  if (requested === 'webgpu') {
    try {
      return await useWebGpu(`webgpu requested (${source})`);
    } catch (e) {
      throw cannot(message(e));
    }
  }
  if (requested === 'tensorflow' || requested === undefined) {
    const native = await tryTfjsNode();
    if (native.ok) {
      const why = requested ? `tensorflow requested (${source})` : 'tfjs-node found';
      return info(native.name, 0, false, `${why}: ${native.pkg}`);
    }
    if (requested) throw cannot(native.why);
    notes.push(native.why);
    const gpu = await hardwareWebGpu();
    if (gpu.ok) return gpu.info;
    notes.push(gpu.why);
    return useWasm(threads, notes);
  }
  // Any other registered backend (webgl, ...) as a plain tfjs backend.
  try {
    if (await tf.setBackend(requested)) {
      await tf.ready();
      return info(tf.getBackend(), 0, false, `${requested} requested (${source})`);
    }
  } catch (e) {
    throw cannot(message(e));
  }
  throw cannot(`tf.setBackend('${requested}') failed (no such tfjs backend is registered, or it failed to initialise)`);
}

/** webgpu on Dawn (Node) or the browser's navigator.gpu, through tfjs-backend-webgpu. */
async function useWebGpu(why: string): Promise<BackendInfo> {
  const adapter = await probeAdapter();
  // registers the 'webgpu' backend only if navigator.gpu exists, which probeAdapter made sure of
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error(`tfjs-backend-webgpu failed to initialise on ${adapterLine(adapter)}`);
  await tf.ready();
  return { ...info('webgpu', 0, false, `${why}: ${adapterLine(adapter)}`), adapter };
}

/** For `auto`: webgpu only on a hardware adapter (a software one is correct but slower than wasm). */
async function hardwareWebGpu(): Promise<{ ok: true; info: BackendInfo } | { ok: false; why: string }> {
  if (!mayHaveGpu()) return { ok: false, why: 'webgpu: no GPU device node' };
  try {
    const adapter = await probeAdapter();
    if (adapter.software)
      return { ok: false, why: `webgpu: ${adapterLine(adapter)} is a software adapter, not used automatically (ask for it with --backend webgpu)` };
    return { ok: true, info: await useWebGpu('hardware GPU found') };
  } catch (e) {
    return { ok: false, why: `webgpu: ${message(e)}` };
  }
}

function resolveThreads(optThreads: number | undefined, notes: string[]): number {
  if (optThreads !== undefined) return optThreads;
  const env = process.env.RQ3D_THREADS?.trim();
  if (env) {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1) return n;
    notes.push(`ignored RQ3D_THREADS=${JSON.stringify(env)} (not a positive integer)`);
  }
  return 2;
}

type NativeProbe = { ok: true; name: string; pkg: string } | { ok: false; why: string };

/** Imports tfjs-node(-gpu) if installed; the specifier is a variable so bundlers and tsc leave it alone. */
async function tryTfjsNode(): Promise<NativeProbe> {
  const tried: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const spec: string = pkg;
      await import(spec);
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return { ok: true, name: tf.getBackend(), pkg };
      }
      tried.push(`${pkg} loaded but backend 'tensorflow' failed to initialise`);
    } catch (e) {
      tried.push(isNotFound(e) ? `${pkg} not installed` : `${pkg} failed: ${message(e)}`);
    }
  }
  return { ok: false, why: tried.join('; ') };
}

async function useWasm(threads: number, notes: string[]): Promise<BackendInfo> {
  if (threads > 1) {
    try {
      const n = await withTimeout(enableWasmThreads(threads), WASM_INIT_TIMEOUT_MS, 'threaded wasm init timed out');
      // rq3d's own row loops (gathers, pooling) split over two threads on the shared heap as well
      if (n > 1) installRowHelper();
      return info('wasm', n, simdOn(), [...notes, `wasm threaded-SIMD with ${n} threads`].join('; '));
    } catch (e) {
      notes.push(`threaded wasm failed (${message(e)}), using 1 thread`);
      if (e instanceof TimeoutError) return useCpu([...notes, 'wasm state unknown after timeout'].join('; '));
    }
  }
  try {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tfwasm.setThreadsCount(1);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    return info('wasm', tfwasm.getThreadsCount(), simdOn(), [...notes, `wasm${simdOn() ? ' SIMD' : ''}, 1 thread`].join('; '));
  } catch (e) {
    notes.push(`wasm failed (${message(e)})`);
  }
  return useCpu([...notes, 'falling back to cpu'].join('; '));
}

async function useCpu(reason: string): Promise<BackendInfo> {
  if (!(await tf.setBackend('cpu'))) throw new Error('tfjs cpu backend failed to initialise');
  await tf.ready();
  // The cpu backend's first-use banner recommends tfjs-node; `reason` already says why it is not used.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return info('cpu', 1, false, reason);
}

interface PThreadPool {
  unusedWorkers: Array<{ unref(): void; terminate(): Promise<number> }>;
  runningWorkers: Array<{ unref(): void }>;
  allocateUnusedWorker?: () => void;
}

/** Loads tfjs-backend-wasm's threaded-SIMD build under worker_threads and returns the thread count. */
async function enableWasmThreads(n: number): Promise<number> {
  const require = createRequire(import.meta.url);
  const outDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainJs = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  const workerModule = require(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // The worker normally receives the main script as a Blob; point its 'load' message at the file instead.
  const prologue =
    `const __wt=require('worker_threads');const __on=__wt.parentPort.on.bind(__wt.parentPort);` +
    `__wt.parentPort.on=(ev,fn)=>__on(ev,ev==='message'?(d)=>{if(d&&d.cmd==='load')d.urlOrBlob=${JSON.stringify(mainJs)};fn(d)}:fn);\n`;
  const workerFile = path.join(os.tmpdir(), `rq3d-tfjs-wasm-worker-${process.pid}.cjs`);
  const workerSource = workerModule.wasmWorkerContents.replace(/\n/g, '\\n');
  fs.writeFileSync(workerFile, prologue + workerSource);
  process.once('exit', () => fs.rmSync(workerFile, { force: true }));

  // Only the worker Blob tfjs builds (same type and size as its escaped worker source) is redirected.
  // The patch stays while the backend lives: pthread workers may be spawned, and their URL asked for, later.
  const workerBytes = Buffer.byteLength(workerSource);
  const origCreate = URL.createObjectURL;
  const origCpus = os.cpus;
  URL.createObjectURL = (obj: Blob | MediaSource): string =>
    obj instanceof Blob && obj.type === 'application/javascript' && obj.size === workerBytes ? workerFile : origCreate.call(URL, obj);
  // XNNPACK caps threads at logical cores / 2 (assumes hyperthreads).
  os.cpus = () => Array.from({ length: 2 * n }, () => origCpus()[0]!);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  tfwasm.setThreadsCount(n);
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
  } catch (e) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    URL.createObjectURL = origCreate;
    throw e;
  } finally {
    os.cpus = origCpus;
  }
  // Idle pthread workers would otherwise keep the process alive; later-created ones are unref'd too.
  const pool = (tf.backend() as unknown as { wasm: { PThread?: PThreadPool } }).wasm.PThread;
  if (pool) {
    for (const w of [...pool.unusedWorkers, ...pool.runningWorkers]) w.unref();
    // emscripten pre-spawns 8 pthread workers, each a V8 isolate of ~11 MiB resident; XNNPACK's pool took
    // n - 1 of them at init and nothing starts threads later, so the idle rest only cost memory (85 MiB of
    // peak RSS at n = 2). Emscripten spawns a worker on demand should a thread ever be asked for.
    for (const w of pool.unusedWorkers.splice(0)) void w.terminate();
    const allocate = pool.allocateUnusedWorker;
    if (allocate) {
      pool.allocateUnusedWorker = () => {
        allocate();
        pool.unusedWorkers[pool.unusedWorkers.length - 1]?.unref();
      };
    }
  }
  const got = tfwasm.getThreadsCount();
  if (got < 2) throw new Error(`threaded build reports ${got} thread(s)`);
  return got;
}

function simdOn(): boolean {
  return tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
}

function info(name: string, threads: number, simd: boolean, reason: string): BackendInfo {
  // (whichever of rq3d's kernels and tfjs-backend-wasm registered first, wasm's Identity shares data now)
  if (name === 'wasm') shareIdentityOnWasm();
  return { name, threads, simd, reason, versions: { tfjs: tf.version.tfjs, node: process.versions.node } };
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
