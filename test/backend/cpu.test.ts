import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';

describe('initBackend cpu', () => {
  it('honours RQ3D_BACKEND and records why', async () => {
    process.env.RQ3D_BACKEND = 'cpu';
    try {
      const info = await initBackend();
      expect(info).toMatchObject({ name: 'cpu', threads: 1, simd: false });
      expect(info.reason).toBe('cpu requested (RQ3D_BACKEND)');
      expect(tf.getBackend()).toBe('cpu');
      expect(await initBackend({ backend: 'wasm' })).toBe(info);
    } finally {
      delete process.env.RQ3D_BACKEND;
    }
  });
});
