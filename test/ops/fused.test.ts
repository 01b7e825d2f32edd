import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import {
  BATCH_NORM_RUNNING,
  batchNormRunningReference,
  fusedBatchNorm,
  kernelRegistered,
  siblingArgMax,
  siblingMax,
  updateBatchNormRunning,
} from '../../octree/ops/index.ts';
import { Rng } from '../../src/util/rng.ts';
import { maxAbsDiff, randn } from './helpers.ts';

// cpu runs the JS loops of octree/ops/kernels/fused-loops.ts; wasm runs rq3d's wasm kernels on the heap
beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

function referenceBn(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, relu: boolean): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, 0);
  const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b) as tf.Tensor2D;
  return relu ? tf.relu(y) : y;
}

describe.each(['cpu', 'wasm'])('fused ops on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('fusedBatchNorm (+ReLU) equals the composition of tfjs ops, values and all three gradients', () => {
    const rng = new Rng(1);
    for (const relu of [false, true]) {
      const x = randn(rng, [200, 6]);
      const g = tf.tensor1d([0.5, 1, 2, -1, 1.5, 0.7]);
      const b = tf.tensor1d([0, 0.1, -0.2, 0.3, 0, 1]);
      const probe = randn(rng, [200, 6]);
      let stats: { mean: Float32Array; variance: Float32Array } | null = null;
      const y1 = fusedBatchNorm(x, g, b, { relu, onStats: (s) => (stats = s) });
      const y2 = referenceBn(x, g, b, relu);
      expect(maxAbsDiff(y1, y2)).toBeLessThan(1e-5);
      const m = tf.moments(x, 0);
      expect(Math.max(...Array.from(stats!.mean).map((v, i) => Math.abs(v - m.mean.dataSync()[i]!)))).toBeLessThan(1e-5);
      const f1 = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Tensor =>
        tf.sum(tf.mul(fusedBatchNorm(a as tf.Tensor2D, c as tf.Tensor1D, d as tf.Tensor1D, { relu }), probe));
      const f2 = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Tensor =>
        tf.sum(tf.mul(referenceBn(a as tf.Tensor2D, c as tf.Tensor1D, d as tf.Tensor1D, relu), probe));
      const g1 = tf.grads(f1)([x, g, b]);
      const g2 = tf.grads(f2)([x, g, b]);
      for (let i = 0; i < 3; i++) expect(maxAbsDiff(g1[i]!, g2[i]!)).toBeLessThan(1e-4);
    }
  });

  it('the running statistics update in place, bit for bit as the composed ops, in a step with no tensor left', () => {
    // in place on wasm only (cpu data is the caller's own arrays): elsewhere the composed ops and assigns
    expect(kernelRegistered(BATCH_NORM_RUNNING)).toBe(backend === 'wasm');
    const rng = new Rng(4);
    const x = randn(rng, [77, 9]);
    const m0 = randn(rng, [1, 9]).dataSync() as Float32Array,
      v0 = Float32Array.from(randn(rng, [1, 9]).dataSync(), Math.abs);
    // (created in a tidy, as Params does: the variable alone holds its data)
    const [mean, variance] = tf.tidy(() => [tf.variable(tf.tensor1d(m0)), tf.variable(tf.tensor1d(v0))]);
    const g = tf.variable(tf.ones([9])) as tf.Variable<tf.Rank.R1>,
      b = tf.zeros([9]) as tf.Tensor1D;
    // the step's statistics as the batch norm kernel computes them
    let stats: tf.Tensor2D | null = null;
    fusedBatchNorm(x, g, b, { onStatsTensors: (s) => (stats = tf.keep(tf.stack([s.mean, s.variance, tf.zeros([9])]) as tf.Tensor2D)) }).dispose();
    const [rm, rv] = batchNormRunningReference(stats!, tf.tensor1d(m0), tf.tensor1d(v0), 0.1, 77 / 76);
    const ids = [mean.dataId, variance.dataId];
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(fusedBatchNorm(x, g, b, { relu: true, running: { mean, variance, momentum: 0.1 } })) as tf.Scalar,
      [g],
    );
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    expect(mean.dataSync()).toEqual(rm.dataSync());
    expect(variance.dataSync()).toEqual(rv.dataSync());
    if (backend === 'wasm') expect([mean.dataId, variance.dataId]).toEqual(ids); // written in place, not reassigned
    // shared data (a clone shares it) is not written: the clone keeps its values, the variable is assigned
    const keep = mean.clone();
    const kept = keep.dataSync().slice();
    updateBatchNormRunning(stats!, 77, { mean, variance, momentum: 0.1 });
    expect(keep.dataSync()).toEqual(kept);
    expect(mean.dataSync()).not.toEqual(kept);
    tf.dispose([x, mean, variance, g, b, stats!, rm, rv, keep]);
  });

  it('siblingMax equals max over reshape (8, C) with the argmax gradient; siblingArgMax gives the slots', () => {
    const rng = new Rng(2);
    const x = randn(rng, [64, 5]);
    const ref = (t: tf.Tensor): tf.Tensor => tf.max(tf.reshape(t, [8, 8, 5]), 1);
    expect(maxAbsDiff(siblingMax(x), ref(x) as tf.Tensor2D)).toBe(0);
    const probe = randn(rng, [8, 5]);
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(siblingMax(t as tf.Tensor2D), probe)))(x);
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t), probe)))(x);
    expect(maxAbsDiff(g1, g2)).toBeLessThan(1e-6);
    const arg = siblingArgMax(x).arraySync();
    const ta = tf.argMax(tf.reshape(x, [8, 8, 5]), 1).arraySync() as number[][];
    expect(arg).toEqual(ta);
  });

  it('keeps no tensors after a forward and backward pass', () => {
    const rng = new Rng(3);
    const x = randn(rng, [64, 8]),
      g = tf.variable(tf.ones([8])) as tf.Variable<tf.Rank.R1>,
      b = tf.zeros([8]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    for (let step = 0; step < 3; step++) {
      const { value, grads } = tf.variableGrads(() => tf.sum(siblingMax(fusedBatchNorm(x, g, b, { relu: true }))) as tf.Scalar, [g]);
      expect(grads[g.name]!.shape).toEqual([8]);
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});

describe('fused ops on wasm: rq3d wasm kernels vs the JS loops on the same heap', () => {
  it('give bit-identical values and gradients (batch norm with ReLU, sibling max)', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(4);
    const x = randn(rng, [1000, 13]),
      probe = randn(rng, [125, 13]);
    const g = tf.tensor1d(Array.from({ length: 13 }, (_, i) => 0.5 + i / 10)),
      b = tf.tensor1d(Array.from({ length: 13 }, (_, i) => (i - 6) / 10));
    const run = (): Float32Array[] => {
      const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Tensor =>
        tf.sum(tf.mul(siblingMax(fusedBatchNorm(a as tf.Tensor2D, c as tf.Tensor1D, d as tf.Tensor1D, { relu: true })), probe));
      const y = siblingMax(fusedBatchNorm(x, g, b, { relu: true }));
      return [y, ...tf.grads(f)([x, g, b])].map((t) => t.dataSync() as Float32Array);
    };
    const withKernels = run();
    process.env.RQ3D_WASM_KERNELS = '0';
    try {
      const withJs = run();
      for (let i = 0; i < withKernels.length; i++) expect(withKernels[i]).toEqual(withJs[i]);
    } finally {
      delete process.env.RQ3D_WASM_KERNELS;
    }
  });
});

describe.each(['cpu', 'wasm'])('weightedGather on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('equals gather + weighted sum, with -1 skipped, and its gradient is the weighted scatter-add', async () => {
    const { weightedGather, octGather } = await import('../../octree/ops/index.ts');
    const rng = new Rng(3);
    const x = randn(rng, [20, 4]);
    const m = 15;
    const width = 8;
    const index = new Int32Array(m * width);
    const weight = new Float32Array(m * width);
    for (let i = 0; i < index.length; i++) {
      index[i] = rng.uniform() < 0.2 ? -1 : rng.int(0, 19);
      weight[i] = rng.uniform();
    }
    const ref = (t: tf.Tensor2D): tf.Tensor2D =>
      tf.sum(tf.mul(tf.reshape(octGather(t, tf.tensor1d(index, 'int32')), [m, width, 4]), tf.tensor3d(weight, [m, width, 1])), 1) as tf.Tensor2D;
    expect(maxAbsDiff(weightedGather(x, index, weight, width), ref(x))).toBeLessThan(1e-5);
    const probe = randn(rng, [m, 4]);
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(weightedGather(t as tf.Tensor2D, index, weight, width), probe)))(x);
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t as tf.Tensor2D), probe)))(x);
    expect(maxAbsDiff(g1, g2)).toBeLessThan(1e-5);
  });
});
