import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { identitySharesOnWasm } from '../../octree/ops/kernels/identity.ts';

// tfjs clones every tensor it saves for backward (Identity); on wasm rq3d makes that a shared reference.
beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

describe('wasm Identity', () => {
  it('shares the data with a reference count: a clone outlives its source and frees the buffer last', () => {
    expect(identitySharesOnWasm()).toBe(true);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    expect(backend.numDataIds()).toBe(before + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(backend.numDataIds()).toBe(before);
  });

  it('keeps gradients right where the tape saves (clones) inputs that are disposed or reassigned', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, v)))(tf.tensor1d([4, 5, 6]));
    expect(Array.from(g1.dataSync())).toEqual([1, 2, 3]);
    v.assign(tf.tensor1d([7, 8, 9]));
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.square(t), v)))(tf.tensor1d([1, 1, 1]));
    expect(Array.from(g2.dataSync())).toEqual([14, 16, 18]);
    tf.dispose([v, g1, g2]);
  });
});
