import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { UserError } from '../../src/util/errors.ts';

describe('initBackend fallback', () => {
  // (issue 15: an explicitly requested backend that cannot start is an error naming why, no longer a
  // silent fallback to wasm; `auto` still falls back, with every step in the reason)
  it('rejects a requested backend that is not available with one line naming it, then auto falls back to wasm', async () => {
    await expect(initBackend({ backend: 'no-such-backend', threads: 1 })).rejects.toThrow(UserError);
    await expect(initBackend({ backend: 'no-such-backend', threads: 1 })).rejects.toThrow(
      /^--backend no-such-backend: backend cannot start: .*'no-such-backend'/,
    );
    const info = await initBackend({ backend: 'auto', threads: 1 });
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/not installed/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('rejects a bad thread count even after initialisation', async () => {
    await expect(initBackend({ threads: 0 })).rejects.toThrow(RangeError);
    await expect(initBackend({ threads: 1.5 })).rejects.toThrow(RangeError);
  });
});
