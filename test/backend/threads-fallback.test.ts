import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';

describe('initBackend when the threaded shim fails', () => {
  it('falls back to single-threaded wasm and says why', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent-rq3d-dir/for-this-test'; // the pthread worker script cannot be written
    try {
      const info = await initBackend({ backend: 'wasm', threads: 2 });
      expect(info.name).toBe('wasm');
      expect(info.threads).toBe(1);
      expect(info.reason).toMatch(/threaded wasm failed \(.*ENOENT.*\), using 1 thread/);
      expect(tf.getBackend()).toBe('wasm');
      expect(tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]).toBe(6);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});
