import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { octGather, octGatherT, octScatterAdd } from '../../octree/ops/kernels/index.ts';
import { addRelu, weightedGather } from '../../octree/ops/index.ts';
import { addReluRows, reluGradRows } from '../../octree/ops/kernels/row-loops.ts';
import { gatherRows, gatherRowsTransposed, scatterAddRows } from '../../octree/ops/kernels/loops.ts';
import { heapKernels, heapKernelsStatus, type WasmModuleLike } from '../../octree/ops/kernels/wasm/index.ts';
import { compileKernels } from '../../octree/ops/kernels/wasm/compile.ts';
import { KERNELS_SHARED_BASE64, KERNELS_UNSHARED_BASE64 } from '../../octree/ops/kernels/wasm/binary.ts';
import { Rng } from '../../src/util/rng.ts';

// rq3d's wasm row kernels (octree/ops/kernels/wasm) against the JS loops they replace on the wasm
// backend: bit-identical outputs for every row width (SIMD body and scalar tail) and block boundary.

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 2 });
});

function table(rng: Rng, m: number, rows: number): Int32Array {
  return Int32Array.from({ length: m }, () => (rng.uniform() < 0.25 ? -1 : Math.floor(rng.uniform() * rows)));
}

describe('wasm heap kernels', () => {
  it('the committed binaries are the compiled kernels.wat (run `npm run build:wasm` after editing it)', async () => {
    const { shared, unshared } = await compileKernels();
    expect(Buffer.from(shared).toString('base64')).toBe(KERNELS_SHARED_BASE64);
    expect(Buffer.from(unshared).toString('base64')).toBe(KERNELS_UNSHARED_BASE64);
  });

  it("load on the threaded backend's shared memory and on a plain memory", () => {
    octGather(tf.zeros([2, 3]) as tf.Tensor2D, tf.tensor1d([1, -1], 'int32')).dispose();
    expect(heapKernelsStatus()).toBe('on (shared memory, row loops on 2 threads)');
    expect(heapKernels({ asm: { memory: new WebAssembly.Memory({ initial: 1 }) } })).not.toBeNull();
    expect(heapKernels({})).toBeNull();
    expect(heapKernelsStatus()).toMatch(/no memory/);
  });

  // N = 603: 256-row blocks of the transposed gather, the last with a partial group of 4 rows
  it.each([1, 3, 4, 5, 16, 33])('gather, transposed gather and scatter-add equal the JS loops bit for bit (C=%i)', (c) => {
    const rng = new Rng(`heap-${c}`);
    const rows = 70,
      n = 603,
      k = 7,
      m = n * k;
    const xv = Float32Array.from({ length: rows * c }, () => rng.uniform() * 2 - 1);
    const yv = Float32Array.from({ length: m * c }, () => rng.uniform() * 2 - 1);
    const idxv = table(rng, m, rows);
    tf.tidy(() => {
      const x = tf.tensor2d(xv, [rows, c]),
        y = tf.tensor2d(yv, [m, c]),
        idx = tf.tensor1d(idxv, 'int32');
      const g = new Float32Array(m * c);
      gatherRows(xv, 0, idxv, 0, m, g, 0, c);
      expect(octGather(x, idx).dataSync()).toEqual(g);
      const gt = new Float32Array(m * c);
      gatherRowsTransposed(xv, 0, idxv, 0, n, k, gt, 0, c);
      expect(octGatherT(x, idx, k).dataSync()).toEqual(gt);
      const s = new Float32Array(rows * c);
      scatterAddRows(yv, 0, idxv, 0, m, s, 0, c, rows);
      expect(octScatterAdd(y, idx, rows).dataSync()).toEqual(s);
    });
    // the kernels that ran were the wasm ones, not the JS fallback
    expect(heapKernels((tf.backend() as unknown as { wasm: WasmModuleLike }).wasm)).not.toBeNull();
  });

  // rows past MIN_SPLIT_FLOATS / C also run the two-thread split (the helper takes the second half)
  it.each([1, 3, 4, 5, 16, 33, 224])('weighted gather and its gradient, ReLU sum and ReLU gradient equal the JS loops bit for bit (C=%i)', (c) => {
    const rng = new Rng(`heap-w-${c}`);
    const rows = 300,
      m = Math.max(500, Math.ceil(70_000 / c)),
      width = 8;
    const xv = Float32Array.from({ length: rows * c }, () => rng.uniform() * 2 - 1);
    const pv = Float32Array.from({ length: m * c }, () => rng.uniform() * 2 - 1);
    const index = Int32Array.from({ length: m * width }, () => (rng.uniform() < 0.2 ? -1 : Math.floor(rng.uniform() * rows)));
    const weight = Float32Array.from({ length: m * width }, () => (rng.uniform() < 0.1 ? 0 : rng.uniform()));
    // the documented arithmetic (fused-loops.ts weightedRowsLoop): float32 product, float32 sum, (i, j) order
    const out = new Float32Array(m * c),
      dx = new Float32Array(rows * c);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < width; j++) {
        const r = index[i * width + j]!,
          w = weight[i * width + j]!;
        if (r < 0 || w === 0) continue;
        for (let k = 0; k < c; k++) {
          out[i * c + k] = Math.fround(out[i * c + k]! + Math.fround(w * xv[r * c + k]!));
          dx[r * c + k] = Math.fround(dx[r * c + k]! + Math.fround(w * pv[i * c + k]!));
        }
      }
    }
    const a = Float32Array.from({ length: m * c }, () => rng.uniform() * 2 - 1);
    a[1] = NaN;
    a[2] = -0;
    const y = new Float32Array(m * c),
      dRelu = new Float32Array(m * c);
    addReluRows(a, 0, pv, 0, m * c, y, 0);
    reluGradRows(pv, 0, y, 0, m * c, dRelu, 0);
    tf.tidy(() => {
      const x = tf.tensor2d(xv, [rows, c]),
        probe = tf.tensor2d(pv, [m, c]),
        at = tf.tensor2d(a, [m, c]);
      expect(weightedGather(x, index, weight, width).dataSync()).toEqual(out);
      expect(
        tf
          .grad((t: tf.Tensor) => tf.sum(tf.mul(weightedGather(t as tf.Tensor2D, index, weight, width), probe)))(x)
          .dataSync(),
      ).toEqual(dx);
      expect(Buffer.from(addRelu(at, probe).dataSync().buffer).equals(Buffer.from(y.buffer))).toBe(true);
      expect(
        tf
          .grad((t: tf.Tensor) => tf.sum(tf.mul(addRelu(t as tf.Tensor2D, probe), probe)))(at)
          .dataSync(),
      ).toEqual(dRelu);
    });
  });

  it('reject bad indices with the position, before allocating the output', () => {
    const x = tf.zeros([3, 4]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    expect(() => octGather(x, tf.tensor1d([0, 1, 3], 'int32'))).toThrow(/index 3 at position 2/);
    expect(() => octGatherT(x, tf.tensor1d([0, -2], 'int32'), 2)).toThrow(/index -2 at position 1/);
    expect(() => octScatterAdd(x, tf.tensor1d([0, 9, 1], 'int32'), 3)).toThrow(/index 9 at position 1/);
    expect(tf.memory().numTensors).toBe(before + 3); // only the three index tensors
    x.dispose();
  });
});
