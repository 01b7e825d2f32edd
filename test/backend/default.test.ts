import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';

describe('initBackend default choice', () => {
  it('reports absent tfjs-node and falls to wasm; RQ3D_THREADS sets the thread count', async () => {
    delete process.env.RQ3D_BACKEND;
    process.env.RQ3D_THREADS = '1';
    try {
      const info = await initBackend();
      // tfjs-node cannot be installed on this machine; if it ever is, the first branch is the right one.
      if (info.name === 'tensorflow') {
        expect(info.reason).toMatch(/tfjs-node/);
        return;
      }
      expect(info.reason).toMatch(/@tensorflow\/tfjs-node-gpu not installed/);
      expect(info.reason).toMatch(/@tensorflow\/tfjs-node not installed/);
      expect(info.name).toBe('wasm');
      expect(info.threads).toBe(1);
      expect(tf.getBackend()).toBe('wasm');
    } finally {
      delete process.env.RQ3D_THREADS;
    }
  });
});
