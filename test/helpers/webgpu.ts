/**
 * The webgpu backend for tests: Dawn (the `webgpu` package) on whatever Vulkan driver the machine has; on a
 * CPU-only machine SwiftShader, which vitest.config.ts and .ci/run name in VK_ICD_FILENAMES when Debian's
 * chromium is installed. These tests never skip: without an adapter they fail with the reason.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '../../src/backend.ts';

export async function initWebGpu(): Promise<BackendInfo> {
  const info = await initBackend({ backend: 'webgpu' });
  if (info.name !== 'webgpu') throw new Error(`webgpu tests need the webgpu backend, got ${info.name}`);
  return info;
}

export type Arrays = Record<string, Float32Array | Int32Array>;

/** Runs `f` on `backend` and reads every result back asynchronously (then disposes them). */
export async function on(backend: string, f: () => Record<string, tf.Tensor>): Promise<Arrays> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(f);
  const names = Object.keys(out);
  const values = await Promise.all(names.map((n) => out[n]!.data()));
  tf.dispose(Object.values(out));
  if (tf.memory().numTensors !== before) throw new Error(`${backend}: ${tf.memory().numTensors - before} tensors leaked`);
  return Object.fromEntries(names.map((n, i) => [n, values[i] as Float32Array | Int32Array]));
}

/** The same computation on cpu (the oracle) and on webgpu, read back. */
export async function both(f: () => Record<string, tf.Tensor>): Promise<{ cpu: Arrays; gpu: Arrays }> {
  const cpu = await on('cpu', f);
  const gpu = await on('webgpu', f);
  return { cpu, gpu };
}

export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** max |a − b| / max(1, max |b|): the error relative to the result's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 1;
  for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]!));
  return maxAbs(a, b) / s;
}

export function bitEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * Counts synchronous read-backs (the backend's readSync, which dataSync / arraySync call) while `f` runs.
 * tfjs-backend-webgpu's readSync needs OffscreenCanvas, which Node lacks: one such call in a step fails.
 */
export async function countReadSync(f: () => Promise<void> | void): Promise<number> {
  const b = tf.backend() as unknown as { readSync(id: object): unknown };
  const orig = b.readSync;
  let n = 0;
  b.readSync = function (this: unknown, id: object) {
    n++;
    return orig.call(this, id);
  };
  try {
    await f();
  } finally {
    b.readSync = orig;
  }
  return n;
}

/**
 * Counts the kernels named in `names` that tfjs's engine runs (ops and gradients both go through
 * engine.runKernel) while `f` runs: which path an op took (rq3d's fused kernel or a composition).
 */
export async function countKernels<T>(names: readonly string[], f: () => Promise<T>): Promise<{ result: T; counts: Record<string, number> }> {
  const engine = tf.engine() as unknown as { runKernel(name: string, ...rest: unknown[]): unknown };
  const orig = engine.runKernel;
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    if (name in counts) counts[name]!++;
    return orig.call(this, name, ...rest);
  };
  try {
    return { result: await f(), counts };
  } finally {
    engine.runKernel = orig;
  }
}
