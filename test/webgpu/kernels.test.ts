import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.ts';
import {
  fusedBatchNorm,
  gatherMatMul,
  matMulNN,
  octGather,
  octGatherT,
  octScatterAdd,
  siblingArgMax,
  siblingMax,
  weightedGather,
  kernelRegistered,
  OCT_GATHER,
  BATCH_NORM,
  WEIGHTED_GATHER,
} from '../../octree/ops/index.ts';
import { randomIndex, randomRows } from '../kernels/helpers.ts';
import { both, bitEqual, countReadSync, initWebGpu, relErr } from '../helpers/webgpu.ts';

// Every rq3d kernel and its gradient on webgpu (WGSL through SwiftShader on a CPU-only machine) against
// the cpu backend on the same inputs. Data movement (gathers, sibling max) must be bit-exact; sums in a
// different order (matMul, batch-norm reductions, the atomic scatter-add) agree to a stated tolerance.
beforeAll(async () => {
  await initWebGpu();
});

const rng = new Rng('webgpu-kernels');
const R = 40,
  C = 5,
  K = 27,
  N = 24,
  COUT = 7;
const xv = randomRows(rng, R, C);
const idxv = randomIndex(rng, N * K, R);
const wv = randomRows(rng, K * C, COUT);
const probeN = randomRows(rng, N, COUT);
const yv = randomRows(rng, N * K, C);

describe('rq3d kernels on webgpu', () => {
  it('are registered for webgpu (the ops dispatch through the registry)', async () => {
    await tf.setBackend('webgpu');
    for (const k of [OCT_GATHER, BATCH_NORM, WEIGHTED_GATHER]) expect(kernelRegistered(k)).toBe(true);
  });

  it('gather, transposed gather: bit-exact; their gradients (atomic scatter-add) within 1e-6', async () => {
    const { cpu, gpu } = await both(() => {
      const x = tf.tensor2d(xv, [R, C]),
        idx = tf.tensor1d(idxv, 'int32');
      const probe = tf.tensor2d(randomRows(new Rng(5), N * K, C), [N * K, C]);
      const probeT = tf.tensor2d(randomRows(new Rng(6), K * C, N), [K * C, N]);
      return {
        gather: octGather(x, idx),
        gatherT: octGatherT(x, idx, K),
        dGather: tf.grad((a: tf.Tensor) => tf.sum(tf.mul(octGather(a as tf.Tensor2D, idx), probe)))(x),
        dGatherT: tf.grad((a: tf.Tensor) => tf.sum(tf.mul(octGatherT(a as tf.Tensor2D, idx, K), probeT)))(x),
      };
    });
    expect(bitEqual(gpu.gather!, cpu.gather!)).toBe(true);
    expect(bitEqual(gpu.gatherT!, cpu.gatherT!)).toBe(true);
    expect(relErr(gpu.dGather!, cpu.dGather!)).toBeLessThan(1e-6);
    expect(relErr(gpu.dGatherT!, cpu.dGatherT!)).toBeLessThan(1e-6);
  });

  it('scatter-add and its gradient (a gather) agree; the gather side bit-exact', async () => {
    const { cpu, gpu } = await both(() => {
      const y = tf.tensor2d(yv, [N * K, C]),
        idx = tf.tensor1d(idxv, 'int32');
      const probe = tf.tensor2d(randomRows(new Rng(7), R, C), [R, C]);
      return {
        scatter: octScatterAdd(y, idx, R),
        dScatter: tf.grad((a: tf.Tensor) => tf.sum(tf.mul(octScatterAdd(a as tf.Tensor2D, idx, R), probe)))(y),
      };
    });
    expect(relErr(gpu.scatter!, cpu.scatter!)).toBeLessThan(1e-6);
    expect(bitEqual(gpu.dScatter!, cpu.dScatter!)).toBe(true);
  });

  for (const [label, opts] of [
    ['one block', {}],
    ['row blocks of 5 (several, the last one short)', { blockElements: 5 * K * C }],
    ['mirrored dX on a square table', { mirror: true }],
  ] as const) {
    it(`fused gather·matMul (${label}): values and both gradients within 1e-5`, async () => {
      const square = 'mirror' in opts;
      const rows = square ? N : R;
      const { cpu, gpu } = await both(() => {
        const x = tf.tensor2d(square ? xv.subarray(0, N * C) : xv, [rows, C]);
        const idx = tf.tensor1d(square ? symmetricTable(N, K, new Rng(9)) : idxv, 'int32');
        const w = tf.tensor2d(wv, [K * C, COUT]),
          probe = tf.tensor2d(probeN, [N, COUT]);
        const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(gatherMatMul(a as tf.Tensor2D, idx, b as tf.Tensor2D, opts), probe));
        const [dx, dw] = tf.grads(f)([x, w]);
        return { y: gatherMatMul(x, idx, w, opts), dx: dx!, dw: dw! };
      });
      for (const k of ['y', 'dx', 'dw']) expect(relErr(gpu[k]!, cpu[k]!), k).toBeLessThan(1e-5);
    });
  }

  it('matMulNN and its NN-only gradients within 1e-5', async () => {
    const { cpu, gpu } = await both(() => {
      const a = tf.tensor2d(randomRows(new Rng(10), 33, 17), [33, 17]),
        b = tf.tensor2d(randomRows(new Rng(11), 17, 9), [17, 9]);
      const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(matMulNN(p as tf.Tensor2D, q as tf.Tensor2D))))([a, b]);
      return { y: matMulNN(a, b), da: da!, db: db! };
    });
    for (const k of ['y', 'da', 'db']) expect(relErr(gpu[k]!, cpu[k]!), k).toBeLessThan(1e-5);
  });

  for (const relu of [false, true]) {
    it(`batch norm${relu ? ' + ReLU' : ''}: values, statistics and the three gradients within 1e-5`, async () => {
      const n = 300,
        c = 6;
      const xs = randomRows(new Rng(12), n, c).map((v, i) => 3 * v + (i % c));
      const { cpu, gpu } = await both(() => {
        const x = tf.tensor2d(xs, [n, c]),
          g = tf.tensor1d([0.5, 1, 2, -1, 1.5, 0.7]),
          b = tf.tensor1d([0, 0.1, -0.2, 0.3, 0, 1]);
        const probe = tf.tensor2d(randomRows(new Rng(13), n, c), [n, c]);
        let mean: tf.Tensor | null = null,
          variance: tf.Tensor | null = null;
        const y = fusedBatchNorm(x, g, b, { relu, onStatsTensors: (s) => ([mean, variance] = [tf.keep(s.mean.clone()), tf.keep(s.variance.clone())]) });
        const f = (p: tf.Tensor, q: tf.Tensor, r: tf.Tensor): tf.Tensor =>
          tf.sum(tf.mul(fusedBatchNorm(p as tf.Tensor2D, q as tf.Tensor1D, r as tf.Tensor1D, { relu }), probe));
        const [dx, dg, db] = tf.grads(f)([x, g, b]);
        return { y, mean: mean!, variance: variance!, dx: dx!, dg: dg!, db: db! };
      });
      for (const k of ['y', 'mean', 'variance', 'dx', 'dg', 'db']) expect(relErr(gpu[k]!, cpu[k]!), k).toBeLessThan(1e-5);
    });
  }

  it('sibling max, its slots and its gradient: bit-exact', async () => {
    const p = 20,
      c = 6;
    // ties (rounded values) check that both take the first maximum
    const xs = randomRows(new Rng(14), 8 * p, c).map((v) => Math.round(4 * v) / 4);
    const { cpu, gpu } = await both(() => {
      const x = tf.tensor2d(xs, [8 * p, c]);
      const probe = tf.tensor2d(randomRows(new Rng(15), p, c), [p, c]);
      return {
        y: siblingMax(x),
        arg: siblingArgMax(x),
        dx: tf.grad((a: tf.Tensor) => tf.sum(tf.mul(siblingMax(a as tf.Tensor2D), probe)))(x),
      };
    });
    for (const k of ['y', 'arg', 'dx']) expect(bitEqual(gpu[k]!, cpu[k]!), k).toBe(true);
  });

  it('weighted gather (interpolation) and its gradient (the transposed table, no atomics) within 1e-6', async () => {
    const rows = 30,
      c = 4,
      m = 25,
      width = 8;
    const r = new Rng(16);
    const index = new Int32Array(m * width),
      weight = new Float32Array(m * width);
    for (let i = 0; i < index.length; i++) {
      index[i] = r.uniform() < 0.2 ? -1 : r.int(0, rows - 1);
      weight[i] = r.uniform() < 0.1 ? 0 : r.uniform();
    }
    const xs = randomRows(r, rows, c),
      probe = randomRows(r, m, c);
    const { cpu, gpu } = await both(() => {
      const x = tf.tensor2d(xs, [rows, c]),
        pr = tf.tensor2d(probe, [m, c]);
      return {
        y: weightedGather(x, index, weight, width),
        dx: tf.grad((a: tf.Tensor) => tf.sum(tf.mul(weightedGather(a as tf.Tensor2D, index, weight, width), pr)))(x),
      };
    });
    for (const k of ['y', 'dx']) expect(relErr(gpu[k]!, cpu[k]!), k).toBeLessThan(1e-6);
  });

  it('a forward and backward through every kernel reads nothing back synchronously and leaks nothing', async () => {
    await tf.setBackend('webgpu');
    const w = tf.variable(tf.tensor2d(wv, [K * C, COUT]), true);
    const before = tf.memory().numTensors;
    const reads = await countReadSync(async () => {
      const { value, grads } = tf.variableGrads(() => {
        const x = tf.tensor2d(xv, [R, C]),
          idx = tf.tensor1d(idxv, 'int32');
        const h = gatherMatMul(x, idx, w as tf.Tensor2D);
        const bn = fusedBatchNorm(h as tf.Tensor2D, tf.ones([COUT]) as tf.Tensor1D, tf.zeros([COUT]) as tf.Tensor1D, { relu: true, onStatsTensors: () => {} });
        const pooled = siblingMax(bn);
        return tf.sum(octScatterAdd(pooled, tf.tensor1d([0, 1, -1], 'int32'), 2)) as tf.Scalar;
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

/** A symmetric [n, k] table: idx[i, j] = r  <=>  idx[r, k-1-j] = i (as a stride-1 conv's neighbour table). */
function symmetricTable(n: number, k: number, r: Rng): Int32Array {
  const t = new Int32Array(n * k).fill(-1);
  const mid = (k - 1) / 2;
  for (let i = 0; i < n; i++) t[i * k + mid] = i;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < mid; j++) {
      if (t[i * k + j] !== -1 || r.uniform() < 0.3) continue;
      const o = r.int(0, n - 1);
      if (t[o * k + (k - 1 - j)] !== -1) continue;
      t[i * k + j] = o;
      t[o * k + (k - 1 - j)] = i;
    }
  }
  return t;
}
