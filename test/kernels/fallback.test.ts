import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { Rng } from '../../src/util/rng.ts';
import { gatherMatMul, matMulNN, octGather, octGatherT, octScatterAdd } from '../../octree/ops/kernels/index.ts';
import { maxAbsDiff, randomIndex, randomRows } from './helpers.ts';

// A backend rq3d has no JS kernels for (standing in for webgl / webgpu / tfjs-node): a second cpu
// backend under another name, with tfjs's cpu kernels copied to it but none of rq3d's.
const OTHER = 'rq3d-test-other';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  const CpuBackend = tf.backend().constructor as new () => tf.KernelBackend;
  tf.registerBackend(OTHER, () => new CpuBackend());
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (!k.kernelName.startsWith('Rq3d')) tf.registerKernel({ ...k, backendName: OTHER });
  }
});

function results(): Float32Array[] {
  const rng = new Rng('other-backend');
  const rows = 30,
    c = 4,
    k = 27,
    n = 12,
    cout = 5;
  const idxv = randomIndex(rng, n * k, rows);
  const xv = randomRows(rng, rows, c),
    wv = randomRows(rng, k * c, cout),
    rv = randomRows(rng, n, cout);
  return tf.tidy(() => {
    const idx = tf.tensor1d(idxv, 'int32'),
      x = tf.tensor2d(xv, [rows, c]),
      w = tf.tensor2d(wv, [k * c, cout]);
    const r = tf.tensor2d(rv, [n, cout]);
    const composed = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      tf.sum(tf.mul(tf.tanh(matMulNN(tf.reshape(octGather(a as tf.Tensor2D, idx), [n, k * c]), b as tf.Tensor2D)), r));
    const fused = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.tanh(gatherMatMul(a as tf.Tensor2D, idx, b as tf.Tensor2D)), r));
    const scatter = (y: tf.Tensor): tf.Tensor => tf.sum(tf.square(octScatterAdd(y as tf.Tensor2D, idx, rows)));
    const y = tf.tensor2d(randomRows(rng, n * k, c), [n * k, c]);
    return [
      octGather(x, idx),
      octScatterAdd(y, idx, rows),
      octGatherT(x, idx, k),
      gatherMatMul(x, idx, w),
      ...tf.grads(composed)([x, w]),
      ...tf.grads(fused)([x, w]),
      tf.grad(scatter)(y),
    ].map((t) => t.dataSync() as Float32Array);
  });
}

describe('ops on a backend without rq3d kernels', () => {
  it('use the built-in-ops reference path and agree with the cpu kernels', async () => {
    await tf.setBackend('cpu');
    const cpu = results();
    await tf.setBackend(OTHER);
    expect(tf.getBackend()).toBe(OTHER);
    expect(tf.getKernel('Rq3dOctGather', OTHER)).toBeUndefined();
    const other = results();
    expect(tf.getKernel('Rq3dMatMulNN', OTHER)).toBeDefined(); // registered on first use
    expect(other).toHaveLength(cpu.length);
    for (let i = 0; i < cpu.length; i++) expect(maxAbsDiff(other[i]!, cpu[i]!)).toBeLessThan(1e-5);
  });
});
