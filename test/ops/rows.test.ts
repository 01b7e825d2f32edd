import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import {
  addRelu,
  concatColumns,
  l2Normalize,
  l2NormalizeReference,
  segmentSoftmaxCrossEntropy,
  segmentSoftmaxCrossEntropyReference,
} from '../../octree/ops/index.ts';
import { Rng } from '../../src/util/rng.ts';
import { maxAbsDiff, randn } from './helpers.ts';

// The fused row ops of the MID losses and heads (octree/ops/rows.ts) against the composition of built-in
// tfjs ops they replace: values and gradients, on cpu (JS loops) and wasm (rq3d's wasm kernels on the heap).
beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

/** Segments of n rows over s shapes (not sorted: the op must not assume it), labels in [0, k). */
function segments(rng: Rng, n: number, s: number, k: number): { seg: Int32Array; label: Int32Array } {
  return {
    seg: Int32Array.from({ length: n }, () => rng.int(0, s - 1)),
    label: Int32Array.from({ length: n }, () => rng.int(0, k - 1)),
  };
}

describe.each(['cpu', 'wasm'])('fused row ops on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('l2Normalize equals x / max(‖x‖, eps), values and gradient, including an all-zero row', () => {
    const rng = new Rng(1);
    const xv = randn(rng, [40, 7]).dataSync() as Float32Array;
    xv.fill(0, 7 * 5, 7 * 6);
    const x = tf.tensor2d(xv, [40, 7]);
    const probe = randn(rng, [40, 7]);
    expect(maxAbsDiff(l2Normalize(x), l2NormalizeReference(x))).toBeLessThan(1e-6);
    const y = l2Normalize(x).dataSync();
    for (let r = 0; r < 40; r++) {
      let s = 0;
      for (let c = 0; c < 7; c++) s += y[r * 7 + c]! ** 2;
      expect(s).toBeCloseTo(r === 5 ? 0 : 1, 5);
    }
    const g1 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(l2Normalize(a as tf.Tensor2D), probe)))(x);
    const g2 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(l2NormalizeReference(a as tf.Tensor2D), probe)))(x);
    // the zero row: y = x / eps is linear there, so dx = dy / eps (the composed ops give NaN: the norm's
    // gradient at 0 is 0 / 0)
    const a = g1.dataSync(),
      b = g2.dataSync(),
      pv = probe.dataSync();
    for (let i = 0; i < a.length; i++) {
      if (Math.floor(i / 7) === 5) expect(a[i]! / (pv[i]! / 1e-12)).toBeCloseTo(1, 5);
      else expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    }
    tf.dispose([x, probe, g1, g2]);
  });

  it.each([
    [64, 50],
    [6, 5],
    [13, 2],
  ])('segmentSoftmaxCrossEntropy equals per-row gathered products + softmaxCrossEntropy (d=%i, k=%i)', (d, k) => {
    const rng = new Rng(`seg-${d}-${k}`);
    const n = 157,
      s = 5;
    const x = randn(rng, [n, d]);
    const protos = randn(rng, [s * k, d]);
    const { seg, label } = segments(rng, n, s, k);
    const probe = randn(rng, [n, k]);
    const a = segmentSoftmaxCrossEntropy(x, protos, seg, label, k, 2.5);
    const b = segmentSoftmaxCrossEntropyReference(x, protos, seg, label, k, 2.5);
    expect(a.logits.shape).toEqual([n, k]);
    expect(a.loss.shape).toEqual([]);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-4);
    expect(Math.abs(a.loss.dataSync()[0]! - b.loss.dataSync()[0]!)).toBeLessThan(1e-5);
    // the gradient through the loss alone, and through the loss and a use of the logits
    for (const useLogits of [false, true]) {
      const f =
        (ce: typeof segmentSoftmaxCrossEntropy) =>
        (t: tf.Tensor): tf.Tensor => {
          const r = ce(t as tf.Tensor2D, protos, seg, label, k, 2.5);
          return useLogits ? tf.add(r.loss, tf.sum(tf.mul(r.logits, probe))) : tf.mul(r.loss, 3);
        };
      const g1 = tf.grad(f(segmentSoftmaxCrossEntropy))(x);
      const g2 = tf.grad(f(segmentSoftmaxCrossEntropyReference))(x);
      expect(maxAbsDiff(g1, g2)).toBeLessThan(1e-4);
      tf.dispose([g1, g2]);
    }
    tf.dispose([x, protos, probe, a.loss, a.logits, b.loss, b.logits]);
  });

  it('segmentSoftmaxCrossEntropy of no rows is a zero loss; bad segments and labels are RangeErrors', () => {
    const protos = tf.ones([6, 4]) as tf.Tensor2D;
    const r = segmentSoftmaxCrossEntropy(tf.zeros([0, 4]) as tf.Tensor2D, protos, new Int32Array(0), new Int32Array(0), 3, 1);
    expect(r.loss.dataSync()[0]).toBe(0);
    expect(r.logits.shape).toEqual([0, 3]);
    const x = tf.ones([2, 4]) as tf.Tensor2D;
    expect(() => segmentSoftmaxCrossEntropy(x, protos, Int32Array.from([0, 2]), Int32Array.from([0, 0]), 3, 1)).toThrow(/seg\[1\] = 2 is outside \[0, 2\)/);
    expect(() => segmentSoftmaxCrossEntropy(x, protos, Int32Array.from([0, 1]), Int32Array.from([3, 0]), 3, 1)).toThrow(/label\[0\] = 3/);
    expect(() => segmentSoftmaxCrossEntropy(x, protos, Int32Array.from([0, 1]), Int32Array.from([0, 0]), 4, 1)).toThrow(/not a multiple/);
    tf.dispose([protos, r.loss, r.logits, x]);
  });

  it('concatColumns equals tf.concat on axis 1, and its gradient is the column slices', () => {
    const rng = new Rng(2);
    const parts = [randn(rng, [33, 3]), randn(rng, [33, 8]), randn(rng, [33, 1])];
    const probe = randn(rng, [33, 12]);
    expect(concatColumns(parts).dataSync()).toEqual(tf.concat(parts, 1).dataSync());
    const f =
      (cat: (xs: tf.Tensor2D[]) => tf.Tensor) =>
      (...xs: tf.Tensor[]): tf.Tensor =>
        tf.sum(tf.mul(cat(xs as tf.Tensor2D[]), probe));
    const g1 = tf.grads(f(concatColumns))(parts);
    const g2 = tf.grads(f((xs) => tf.concat(xs, 1)))(parts);
    for (let i = 0; i < 3; i++) expect(g1[i]!.dataSync()).toEqual(g2[i]!.dataSync());
    expect(concatColumns([parts[0]!])).toBe(parts[0]);
    expect(() => concatColumns([parts[0]!, randn(rng, [2, 3])])).toThrow(/rows/);
  });

  it('addRelu equals relu(a + b), values and both gradients (also with a = b)', () => {
    const rng = new Rng(5);
    // equal values; a masked gradient is +0 where tfjs's dy · 0 gives -0
    const same = (x: tf.Tensor, y: tf.Tensor): void => expect(Array.from(x.dataSync(), (v) => v + 0)).toEqual(Array.from(y.dataSync(), (v) => v + 0));
    const a = randn(rng, [37, 5]),
      b = randn(rng, [37, 5]),
      probe = randn(rng, [37, 5]);
    expect(addRelu(a, b).dataSync()).toEqual(tf.relu(tf.add(a, b)).dataSync());
    const f =
      (op: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor) =>
      (x: tf.Tensor, y: tf.Tensor): tf.Tensor =>
        tf.sum(tf.mul(op(x as tf.Tensor2D, y as tf.Tensor2D), probe));
    const g1 = tf.grads(f(addRelu))([a, b]);
    const g2 = tf.grads(f((x, y) => tf.relu(tf.add(x, y))))([a, b]);
    for (let i = 0; i < 2; i++) same(g1[i]!, g2[i]!);
    const s1 = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(addRelu(x as tf.Tensor2D, x as tf.Tensor2D), probe)))(a);
    const s2 = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.add(x, x)), probe)))(a);
    same(s1, s2);
    // only the second input on the tape
    const c1 = tf.grad((y: tf.Tensor) => tf.sum(tf.mul(addRelu(a, y as tf.Tensor2D), probe)))(b);
    same(c1, g2[1]!);
    expect(() => addRelu(a, randn(rng, [37, 4]))).toThrow(/differ/);
  });

  it('keep no tensors after a forward and backward pass', () => {
    const rng = new Rng(3);
    const x = randn(rng, [50, 8]),
      protos = randn(rng, [20, 8]);
    const { seg, label } = segments(rng, 50, 4, 5);
    const before = tf.memory().numTensors;
    for (let step = 0; step < 2; step++) {
      const g = tf.grad((t: tf.Tensor) => {
        const n = l2Normalize(concatColumns([addRelu(t as tf.Tensor2D, t as tf.Tensor2D), t as tf.Tensor2D]));
        return segmentSoftmaxCrossEntropy(n, tf.concat([protos, protos], 1) as tf.Tensor2D, seg, label, 5, 10).loss;
      })(x);
      g.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});

describe('fused row ops on wasm: rq3d wasm kernels vs the JS loops on the same heap', () => {
  it('give bit-identical values and gradients', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(4);
    const x = randn(rng, [301, 66]),
      protos = randn(rng, [7 * 11, 66]),
      probe = randn(rng, [301, 11]),
      a = randn(rng, [301, 5]);
    const { seg, label } = segments(rng, 301, 7, 11);
    const run = (): Float32Array[] => {
      const f = (t: tf.Tensor, u: tf.Tensor): tf.Tensor => {
        const cat = concatColumns([t as tf.Tensor2D, u as tf.Tensor2D]);
        const r = segmentSoftmaxCrossEntropy(l2Normalize(cat.slice([0, 0], [301, 66]) as tf.Tensor2D), protos, seg, label, 11, 10);
        return tf.add(r.loss, tf.sum(tf.mul(r.logits, probe)));
      };
      const r = segmentSoftmaxCrossEntropy(x, protos, seg, label, 11, 10);
      return [r.loss, r.logits, concatColumns([x, a]), ...tf.grads(f)([x, a])].map((t) => t.dataSync() as Float32Array);
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
