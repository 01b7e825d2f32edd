import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.ts';
import {
  addRelu,
  concatColumns,
  l2Normalize,
  segmentSoftmaxCrossEntropy,
  kernelRegistered,
  ADD_RELU,
  CONCAT_COLS,
  L2_NORMALIZE,
  L2_NORMALIZE_GRAD,
  RELU_GRAD,
  SEGMENT_SOFTMAX_CE,
  SEGMENT_SOFTMAX_CE_GRAD,
  SLICE_COLS,
} from '../../octree/ops/index.ts';
import { randomRows } from '../kernels/helpers.ts';
import { both, bitEqual, countReadSync, initWebGpu, on, relErr } from '../helpers/webgpu.ts';

// The fused row ops of MID-Net's losses and heads (octree/ops/rows.ts) on webgpu (WGSL through SwiftShader
// on a CPU-only machine) against the cpu backend's kernels on the same inputs, values and gradients.
// Copies and masks are bit-exact; norms, dot products and exponentials agree to a stated tolerance.
beforeAll(async () => {
  await initWebGpu();
});

const rng = new Rng('webgpu-rows');
const N = 23,
  D = 6,
  K = 5,
  SEGMENTS = 3;
const xv = randomRows(rng, N, D);
const protov = randomRows(rng, SEGMENTS * K, D);
const probeND = randomRows(rng, N, D);
const probeNK = randomRows(rng, N, K);
const seg = Int32Array.from({ length: N }, (_, i) => (i * 7) % SEGMENTS);
const label = Int32Array.from({ length: N }, (_, i) => (i * 3) % K);

/** x with row 2 all zeros: l2Normalize's clamped branch (dy / eps). */
function xWithZeroRow(): tf.Tensor2D {
  const v = xv.slice();
  v.fill(0, 2 * D, 3 * D);
  return tf.tensor2d(v, [N, D]);
}

const KERNELS = [L2_NORMALIZE, L2_NORMALIZE_GRAD, SEGMENT_SOFTMAX_CE, SEGMENT_SOFTMAX_CE_GRAD, CONCAT_COLS, SLICE_COLS, ADD_RELU, RELU_GRAD];

describe('fused row ops on webgpu', () => {
  it('are registered for webgpu, so the ops take the fused kernels, not the composed reference path', async () => {
    await tf.setBackend('webgpu');
    for (const k of KERNELS) expect(kernelRegistered(k), k).toBe(true);
  });

  it('l2Normalize (a zero row included) and its gradient within 1e-6', async () => {
    const { cpu, gpu } = await both(() => {
      const x = xWithZeroRow(),
        probe = tf.tensor2d(probeND, [N, D]);
      return {
        y: l2Normalize(x),
        dx: tf.grad((a: tf.Tensor) => tf.sum(tf.mul(l2Normalize(a as tf.Tensor2D), probe)))(x),
      };
    });
    expect(relErr(gpu.y!, cpu.y!)).toBeLessThan(1e-6);
    // the zero row's gradient is dy / 1e-12: relErr is relative to that scale, so check the other rows too
    const rows = (a: ArrayLike<number>): number[] => Array.from(a).filter((_, i) => Math.floor(i / D) !== 2);
    expect(relErr(gpu.dx!, cpu.dx!)).toBeLessThan(1e-6);
    expect(relErr(rows(gpu.dx!), rows(cpu.dx!))).toBeLessThan(1e-6);
  });

  it('segment softmax cross-entropy: loss, logits and dx (loss and a use of the logits) within 1e-6', async () => {
    const { cpu, gpu } = await both(() => {
      const x = tf.tensor2d(xv, [N, D]),
        protos = tf.tensor2d(protov, [SEGMENTS * K, D]),
        probe = tf.tensor2d(probeNK, [N, K]);
      const { loss, logits } = segmentSoftmaxCrossEntropy(x, protos, seg, label, K, 2.5);
      const dx = tf.grad((a: tf.Tensor) => {
        const r = segmentSoftmaxCrossEntropy(a as tf.Tensor2D, protos, seg, label, K, 2.5);
        return tf.add(tf.mul(r.loss, 3), tf.sum(tf.mul(r.logits, probe)));
      })(x);
      return { loss, logits, dx };
    });
    expect(relErr(gpu.loss!, cpu.loss!)).toBeLessThan(1e-6);
    expect(relErr(gpu.logits!, cpu.logits!)).toBeLessThan(1e-6);
    expect(relErr(gpu.dx!, cpu.dx!)).toBeLessThan(1e-6);
  });

  it('segment softmax cross-entropy over no rows: loss 0, empty logits and dx', async () => {
    const gpu = await on('webgpu', () => {
      const x = tf.zeros([0, D]) as tf.Tensor2D,
        protos = tf.tensor2d(protov, [SEGMENTS * K, D]);
      const { loss, logits } = segmentSoftmaxCrossEntropy(x, protos, new Int32Array(0), new Int32Array(0), K, 1);
      const dx = tf.grad((a: tf.Tensor) => segmentSoftmaxCrossEntropy(a as tf.Tensor2D, protos, new Int32Array(0), new Int32Array(0), K, 1).loss)(x);
      return { loss, logits, dx };
    });
    expect(Array.from(gpu.loss!)).toEqual([0]);
    expect(gpu.logits!.length).toBe(0);
    expect(gpu.dx!.length).toBe(0);
  });

  it('concatColumns and its gradient (column slices): bit-exact', async () => {
    const widths = [3, 1, 4];
    const { cpu, gpu } = await both(() => {
      const parts = widths.map((w, i) => tf.tensor2d(randomRows(new Rng(`part${i}`), N, w), [N, w]));
      const probe = tf.tensor2d(randomRows(new Rng('probe'), N, 8), [N, 8]);
      const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(concatColumns(xs as tf.Tensor2D[]), probe)))(parts);
      return { y: concatColumns(parts), d0: grads[0]!, d1: grads[1]!, d2: grads[2]! };
    });
    for (const k of ['y', 'd0', 'd1', 'd2']) expect(bitEqual(gpu[k]!, cpu[k]!), k).toBe(true);
  });

  it('addRelu and its gradients (the ReLU mask on dy): bit-exact', async () => {
    const { cpu, gpu } = await both(() => {
      const a = tf.tensor2d(xv, [N, D]),
        b = tf.tensor2d(probeND, [N, D]),
        probe = tf.tensor2d(randomRows(new Rng('p'), N, D), [N, D]);
      const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(addRelu(p as tf.Tensor2D, q as tf.Tensor2D), probe)))([a, b]);
      return { y: addRelu(a, b), da: da!, db: db! };
    });
    for (const k of ['y', 'da', 'db']) expect(bitEqual(gpu[k]!, cpu[k]!), k).toBe(true);
  });

  it('a forward and backward through every row kernel reads nothing back synchronously and leaks nothing', async () => {
    await tf.setBackend('webgpu');
    const w = tf.variable(tf.tensor2d(randomRows(new Rng('w'), D, D), [D, D]), true);
    const before = tf.memory().numTensors;
    const reads = await countReadSync(async () => {
      const { value, grads } = tf.variableGrads(() => {
        const x = tf.tensor2d(xv, [N, D]),
          protos = tf.tensor2d(protov, [SEGMENTS * K, D]);
        const h = addRelu(tf.matMul(x, w), x);
        const z = l2Normalize(concatColumns([tf.slice(h, [0, 0], [N, 2]) as tf.Tensor2D, tf.slice(h, [0, 2], [N, D - 2]) as tf.Tensor2D]));
        return segmentSoftmaxCrossEntropy(z, protos, seg, label, K, 2).loss;
      }, [w]);
      await value.data();
      await Promise.all(Object.values(grads).map((g) => g.data()));
      tf.dispose([value, ...Object.values(grads)]);
    });
    expect(reads).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    w.dispose();
  });
});
