import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { backendInfo, initBackend } from '../../src/backend.ts';

// The threaded shim is exercised here under vitest (forks pool: each test file is its own process).
describe('initBackend wasm', () => {
  it('starts threaded-SIMD wasm with 2 threads, idempotently', async () => {
    const info = await initBackend({ backend: 'wasm', threads: 2 });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(2);
    // XNNPACK's one worker runs; emscripten's idle pre-spawned pthread workers were ended (memory)
    const pool = (tf.backend() as unknown as { wasm: { PThread: { unusedWorkers: unknown[]; runningWorkers: unknown[] } } }).wasm.PThread;
    expect(pool.runningWorkers.length).toBe(1);
    expect(pool.unusedWorkers.length).toBe(0);
    expect(info.reason).toMatch(/wasm requested \(option\)/);
    expect(info.versions.tfjs).toBe(tf.version.tfjs);
    expect(info.versions.node).toBe(process.versions.node);
    const again = await initBackend({ backend: 'cpu' });
    expect(again).toBe(info);
    expect(backendInfo()).toBe(info);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('computes a multithreaded matMul equal to the cpu backend', async () => {
    await initBackend();
    const a = tf.randomUniform([300, 200], -1, 1, 'float32', 1),
      b = tf.randomUniform([200, 150], -1, 1, 'float32', 2);
    const wasm = tf.matMul(a, b).dataSync();
    await tf.setBackend('cpu');
    const cpu = tf.matMul(a, b).dataSync();
    await tf.setBackend('wasm');
    let d = 0;
    for (let i = 0; i < cpu.length; i++) d = Math.max(d, Math.abs(cpu[i]! - wasm[i]!));
    expect(d).toBeLessThan(1e-4);
    tf.dispose([a, b]);
  });
});
