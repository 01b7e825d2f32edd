import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';

describe('initBackend fallback', () => {
  it('falls back to wasm with the reason when the requested backend is not available', async () => {
    const info = await initBackend({ backend: 'no-such-backend', threads: 1 });
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/no-such-backend requested \(option\) but/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects a bad thread count even after initialisation', async () => {
    await expect(initBackend({ threads: 0 })).rejects.toThrow(RangeError);
    await expect(initBackend({ threads: 1.5 })).rejects.toThrow(RangeError);
  });
});
