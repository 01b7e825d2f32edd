import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { Rng } from '../../src/util/rng.ts';
import {
  gatherMatMul,
  matMulNN,
  matMulReference,
  octGather,
  octGatherReference,
  octGatherT,
  octScatterAdd,
  octScatterAddReference,
  registerOctKernels,
} from '../../octree/ops/kernels/index.ts';
import { sphereShellTable } from '../../src/bench/sphere-shell.ts';
import { gatherJs, matMulJs, maxAbsDiff, randomIndex, randomRows, scatterAddJs } from './helpers.ts';

const BACKENDS = ['cpu', 'wasm'] as const;

beforeAll(async () => {
  // Threaded wasm when the shim works here; the kernels must also handle its SharedArrayBuffer heap.
  const info = await initBackend({ backend: 'wasm', threads: 2 });
  expect(info.name).toBe('wasm');
});

async function on<T>(backend: string, f: () => T): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

function f32(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

describe.each(BACKENDS)('kernels on %s', (backend) => {
  it.each([3, 16, 40])('octGather and octScatterAdd match a plain JS reference (C=%i)', async (c) => {
    await on(backend, () => {
      const rng = new Rng(`fwd-${c}`);
      const rows = 37,
        m = 200;
      const xv = randomRows(rng, rows, c),
        idxv = randomIndex(rng, m, rows);
      const yv = randomRows(rng, m, c);
      tf.tidy(() => {
        const x = tf.tensor2d(xv, [rows, c]),
          idx = tf.tensor1d(idxv, 'int32'),
          y = tf.tensor2d(yv, [m, c]);
        const g = octGather(x, idx);
        expect(g.shape).toEqual([m, c]);
        expect(maxAbsDiff(f32(g), gatherJs(xv, c, idxv))).toBe(0);
        const s = octScatterAdd(y, idx, rows);
        expect(s.shape).toEqual([rows, c]);
        expect(maxAbsDiff(f32(s), scatterAddJs(yv, c, idxv, rows))).toBeLessThan(1e-5);
        // The built-in-ops reference path agrees with the kernels.
        expect(maxAbsDiff(f32(octGatherReference(x, idx)), f32(g))).toBe(0);
        expect(maxAbsDiff(f32(octScatterAddReference(y, idx, rows)), f32(s))).toBeLessThan(1e-5);
      });
    });
  });

  it('handles -1 (zero rows / skipped rows) and all-empty tables', async () => {
    await on(backend, () =>
      tf.tidy(() => {
        const x = tf.tensor2d([
          [1, 2],
          [3, 4],
        ]);
        const idx = tf.tensor1d([-1, 1, -1, 0, 1], 'int32');
        expect(octGather(x, idx).arraySync()).toEqual([
          [0, 0],
          [3, 4],
          [0, 0],
          [1, 2],
          [3, 4],
        ]);
        const y = tf.tensor2d([
          [1, 1],
          [2, 2],
          [4, 4],
          [8, 8],
          [16, 16],
        ]);
        expect(octScatterAdd(y, idx, 3).arraySync()).toEqual([
          [8, 8],
          [18, 18],
          [0, 0],
        ]);
        const none = tf.tensor1d([-1, -1, -1], 'int32');
        expect(octGather(x, none).arraySync()).toEqual([
          [0, 0],
          [0, 0],
          [0, 0],
        ]);
        expect(octScatterAdd(tf.ones([3, 2]) as tf.Tensor2D, none, 2).arraySync()).toEqual([
          [0, 0],
          [0, 0],
        ]);
      }),
    );
  });

  it('handles empty inputs (M=0, R=0, C=0)', async () => {
    await on(backend, () =>
      tf.tidy(() => {
        const empty = tf.tensor1d([], 'int32');
        const x = tf.tensor2d([
          [1, 2],
          [3, 4],
        ]);
        expect(octGather(x, empty).shape).toEqual([0, 2]);
        expect(octGather(tf.zeros([0, 5]) as tf.Tensor2D, empty).shape).toEqual([0, 5]);
        expect(octGather(tf.zeros([4, 0]) as tf.Tensor2D, tf.tensor1d([0, -1, 3], 'int32')).shape).toEqual([3, 0]);
        const s = octScatterAdd(tf.zeros([0, 2]) as tf.Tensor2D, empty, 3);
        expect(s.arraySync()).toEqual([
          [0, 0],
          [0, 0],
          [0, 0],
        ]);
        expect(octScatterAdd(tf.zeros([0, 2]) as tf.Tensor2D, empty, 0).shape).toEqual([0, 2]);
        // Gradients through empty gathers are zeros of the right shape.
        const g = tf.grad((t: tf.Tensor) => tf.sum(octGather(t as tf.Tensor2D, empty)))(x);
        expect(g.arraySync()).toEqual([
          [0, 0],
          [0, 0],
        ]);
      }),
    );
  });

  it('rejects out-of-range indices and wrong dtypes before allocating', async () => {
    await on(backend, () =>
      tf.tidy(() => {
        const x = tf.tensor2d([
          [1, 2],
          [3, 4],
        ]);
        const before = tf.memory().numTensors;
        expect(() => octGather(x, tf.tensor1d([0, 2], 'int32'))).toThrow(RangeError);
        expect(() => octGather(x, tf.tensor1d([-2], 'int32'))).toThrow(RangeError);
        expect(() => octScatterAdd(x, tf.tensor1d([0, 5], 'int32'), 3)).toThrow(RangeError);
        expect(() => octScatterAdd(x, tf.tensor1d([0], 'int32'), 3)).toThrow(RangeError);
        expect(() => octGather(x, tf.tensor1d([0, 1], 'float32'))).toThrow(TypeError);
        expect(() => matMulNN(x, tf.zeros([3, 1]) as tf.Tensor2D)).toThrow(RangeError);
        expect(tf.memory().numTensors).toBe(before + 6); // only the 6 index/weight tensors made above
      }),
    );
  });

  it('gradients of gather -> matMulNN -> tanh match float64 finite differences', async () => {
    await on(backend, () => {
      const rng = new Rng('fd-gather');
      const rows = 7,
        c = 3,
        n = 5,
        k = 4,
        cout = 2;
      const xv = randomRows(rng, rows, c),
        wv = randomRows(rng, k * c, cout),
        rv = randomRows(rng, n, cout);
      const idxv = randomIndex(rng, n * k, rows, 0.3);
      const loss64 = (x: Float64Array, w: Float64Array): number => {
        const col = gatherJs(x, c, idxv);
        const o = matMulJs(col, w, n, k * c, cout);
        let s = 0;
        for (let i = 0; i < o.length; i++) s += Math.tanh(o[i]!) * rv[i]!;
        return s;
      };
      const [gx, gw, fx, fw] = tf.tidy(() => {
        const idx = tf.tensor1d(idxv, 'int32'),
          r = tf.tensor2d(rv, [n, cout]);
        const f = (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
          tf.sum(tf.mul(tf.tanh(matMulNN(tf.reshape(octGather(x as tf.Tensor2D, idx), [n, k * c]) as tf.Tensor2D, w as tf.Tensor2D)), r));
        const fused = (x: tf.Tensor, w: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.tanh(gatherMatMul(x as tf.Tensor2D, idx, w as tf.Tensor2D)), r));
        const xw = [tf.tensor2d(xv, [rows, c]), tf.tensor2d(wv, [k * c, cout])];
        return [...tf.grads(f)(xw), ...tf.grads(fused)(xw)].map((t) => f32(t));
      });
      const x64 = Float64Array.from(xv),
        w64 = Float64Array.from(wv);
      const fdx = finiteDiff((v) => loss64(v, w64), x64),
        fdw = finiteDiff((v) => loss64(x64, v), w64);
      expect(maxAbsDiff(gx!, fdx)).toBeLessThan(2e-4);
      expect(maxAbsDiff(gw!, fdw)).toBeLessThan(2e-4);
      expect(maxAbsDiff(fx!, fdx)).toBeLessThan(2e-4);
      expect(maxAbsDiff(fw!, fdw)).toBeLessThan(2e-4);
      // The -1 entries and unreferenced rows get exactly zero gradient.
      const used = new Set(idxv);
      for (let r = 0; r < rows; r++) if (!used.has(r)) for (let j = 0; j < c; j++) expect(gx![r * c + j]).toBe(0);
    });
  });

  it('gradient of scatter-add -> square matches float64 finite differences', async () => {
    await on(backend, () => {
      const rng = new Rng('fd-scatter');
      const m = 30,
        c = 4,
        rows = 6;
      const yv = randomRows(rng, m, c),
        sv = randomRows(rng, rows, c),
        idxv = randomIndex(rng, m, rows, 0.3);
      const loss64 = (y: Float64Array): number => {
        const o = scatterAddJs(y, c, idxv, rows);
        let s = 0;
        for (let i = 0; i < o.length; i++) s += o[i]! * o[i]! * sv[i]!;
        return s;
      };
      const gy = tf.tidy(() => {
        const idx = tf.tensor1d(idxv, 'int32'),
          s = tf.tensor2d(sv, [rows, c]);
        return f32(tf.grad((y: tf.Tensor) => tf.sum(tf.mul(tf.square(octScatterAdd(y as tf.Tensor2D, idx, rows)), s)))(tf.tensor2d(yv, [m, c])));
      });
      expect(maxAbsDiff(gy, finiteDiff(loss64, Float64Array.from(yv)))).toBeLessThan(2e-4);
      for (let i = 0; i < m; i++) if (idxv[i]! < 0) for (let j = 0; j < c; j++) expect(gy[i * c + j]).toBe(0);
    });
  });

  it('matMulNN equals tf.matMul in value and in both gradients', async () => {
    await on(backend, () =>
      tf.tidy(() => {
        const rng = new Rng('mm');
        const a = tf.tensor2d(randomRows(rng, 9, 5), [9, 5]),
          b = tf.tensor2d(randomRows(rng, 5, 4), [5, 4]);
        const r = tf.tensor2d(randomRows(rng, 9, 4), [9, 4]);
        expect(maxAbsDiff(f32(matMulNN(a, b)), f32(matMulReference(a, b)))).toBeLessThan(1e-6);
        const mine = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMulNN(x as tf.Tensor2D, y as tf.Tensor2D), r)))([a, b]);
        const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), r)))([a, b]);
        expect(maxAbsDiff(f32(mine[0]!), f32(ref[0]!))).toBeLessThan(1e-5);
        expect(maxAbsDiff(f32(mine[1]!), f32(ref[1]!))).toBeLessThan(1e-5);
        // A gradient for b alone (a is data) works too.
        const onlyB = tf.grad((y: tf.Tensor) => tf.sum(tf.mul(matMulNN(a, y as tf.Tensor2D), r)))(b);
        expect(maxAbsDiff(f32(onlyB), f32(ref[1]!))).toBeLessThan(1e-5);
      }),
    );
  });

  // n = 600 spans several of the loop's 256-row blocks, the last one partial
  it.each([
    [3, 4, 17],
    [40, 27, 17],
    [5, 27, 600],
  ])('octGatherT is the transposed im2col matrix (C=%i, K=%i, N=%i)', async (c, k, n) => {
    await on(backend, () =>
      tf.tidy(() => {
        const rng = new Rng(`gt-${c}-${k}-${n}`);
        const rows = 23;
        const xv = randomRows(rng, rows, c),
          idxv = randomIndex(rng, n * k, rows);
        const t = octGatherT(tf.tensor2d(xv, [rows, c]), tf.tensor1d(idxv, 'int32'), k);
        expect(t.shape).toEqual([k * c, n]);
        const col = gatherJs(xv, c, idxv); // [n, k*c]
        const tv = f32(t);
        let d = 0;
        for (let i = 0; i < n; i++) for (let j = 0; j < k * c; j++) d = Math.max(d, Math.abs(tv[j * n + i]! - col[i * k * c + j]!));
        expect(d).toBe(0);
        // Its gradient wrt x is the scatter of the transposed upstream gradient.
        const r = tf.tensor2d(randomRows(rng, k * c, n), [k * c, n]);
        const idx = tf.tensor1d(idxv, 'int32');
        const x = tf.tensor2d(xv, [rows, c]);
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(octGatherT(a as tf.Tensor2D, idx, k), r)))(x);
        const gRef = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.transpose(tf.reshape(octGather(a as tf.Tensor2D, idx), [n, k * c])), r)))(x);
        expect(maxAbsDiff(f32(g), f32(gRef))).toBeLessThan(1e-5);
      }),
    );
  });

  it('gatherMatMul equals the gather/reshape/matMulNN composition in value and gradients', async () => {
    await on(backend, () =>
      tf.tidy(() => {
        const rng = new Rng('fused');
        const rows = 41,
          c = 5,
          k = 27,
          n = 30,
          cout = 7;
        const idx = tf.tensor1d(randomIndex(rng, n * k, rows), 'int32');
        const x = tf.tensor2d(randomRows(rng, rows, c), [rows, c]);
        const w = tf.tensor2d(randomRows(rng, k * c, cout), [k * c, cout]);
        const r = tf.tensor2d(randomRows(rng, n, cout), [n, cout]);
        const composed = (a: tf.Tensor, b: tf.Tensor): tf.Tensor2D => matMulNN(tf.reshape(octGather(a as tf.Tensor2D, idx), [n, k * c]), b as tf.Tensor2D);
        const fused = (a: tf.Tensor, b: tf.Tensor): tf.Tensor2D => gatherMatMul(a as tf.Tensor2D, idx, b as tf.Tensor2D);
        expect(fused(x, w).shape).toEqual([n, cout]);
        expect(maxAbsDiff(f32(fused(x, w)), f32(composed(x, w)))).toBeLessThan(1e-5);
        const loss =
          (layer: typeof fused) =>
          (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
            tf.sum(tf.mul(tf.sin(layer(a, b)), r));
        const gf = tf.grads(loss(fused))([x, w]),
          gc = tf.grads(loss(composed))([x, w]);
        expect(maxAbsDiff(f32(gf[0]!), f32(gc[0]!))).toBeLessThan(1e-5);
        expect(maxAbsDiff(f32(gf[1]!), f32(gc[1]!))).toBeLessThan(1e-5);
        // One gradient at a time (the other input is data).
        expect(maxAbsDiff(f32(tf.grad((b: tf.Tensor) => loss(fused)(x, b))(w)), f32(gc[1]!))).toBeLessThan(1e-5);
        expect(maxAbsDiff(f32(tf.grad((a: tf.Tensor) => loss(fused)(a, w))(x)), f32(gc[0]!))).toBeLessThan(1e-5);
        // Empty tables.
        expect(gatherMatMul(x, tf.tensor1d([], 'int32'), w).shape).toEqual([0, cout]);
        expect(() => gatherMatMul(x, idx, tf.zeros([k * c + 1, cout]) as tf.Tensor2D)).toThrow(RangeError);
      }),
    );
  });

  it('gatherMatMul in row blocks (several, last one short) and with mirrored dX equals the composition', async () => {
    await on(backend, () =>
      tf.tidy(() => {
        // A symmetric table: the 27-neighbourhoods of the voxels of a sphere shell (as a stride-1 conv sees them).
        const table = sphereShellTable(150);
        const n = table.n,
          k = 27,
          c = 6,
          cout = 5;
        const idx = tf.tensor1d(table.idx, 'int32');
        const rng = new Rng('blocked');
        const x = tf.tensor2d(randomRows(rng, n, c), [n, c]);
        const w = tf.tensor2d(randomRows(rng, k * c, cout), [k * c, cout]);
        const composed = (a: tf.Tensor, b: tf.Tensor): tf.Tensor2D => matMulNN(tf.reshape(octGather(a as tf.Tensor2D, idx), [n, k * c]), b as tf.Tensor2D);
        // 40 rows per block: 150 = 3·40 + 30
        for (const opts of [{ blockElements: 40 * k * c }, { blockElements: 40 * k * c, mirror: true }, { mirror: true }]) {
          const fused = (a: tf.Tensor, b: tf.Tensor): tf.Tensor2D => gatherMatMul(a as tf.Tensor2D, idx, b as tf.Tensor2D, opts);
          expect(maxAbsDiff(f32(fused(x, w)), f32(composed(x, w)))).toBeLessThan(1e-5);
          // Two different upstream gradients in a row: a product must not reuse the first one's packed operand.
          for (const seed of ['r1', 'r2']) {
            const r = tf.tensor2d(randomRows(new Rng(seed), n, cout), [n, cout]);
            const loss =
              (layer: typeof fused) =>
              (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
                tf.sum(tf.mul(tf.sin(layer(a, b)), r));
            const gf = tf.grads(loss(fused))([x, w]),
              gc = tf.grads(loss(composed))([x, w]);
            expect(maxAbsDiff(f32(gf[0]!), f32(gc[0]!))).toBeLessThan(1e-4);
            expect(maxAbsDiff(f32(gf[1]!), f32(gc[1]!))).toBeLessThan(1e-4);
          }
        }
        expect(() => gatherMatMul(x, tf.slice(idx, 0, 27 * 10), w, { mirror: true })).toThrow(/square table/);
        expect(() => gatherMatMul(x, idx, w, { blockElements: -1 })).toThrow(RangeError);
      }),
    );
  });

  it('gatherMatMul frees its temporary column matrix on the backend', async () => {
    await on(backend, () => {
      const rng = new Rng('fused-free');
      const idx = tf.tensor1d(randomIndex(rng, 20 * 27, 20), 'int32');
      const x = tf.tensor2d(randomRows(rng, 20, 3), [20, 3]),
        w = tf.tensor2d(randomRows(rng, 81, 4), [81, 4]);
      const ids = (): number => tf.backend().numDataIds();
      const before = ids();
      tf.tidy(() => {
        gatherMatMul(x, idx, w).dataSync();
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(gatherMatMul(a as tf.Tensor2D, idx, b as tf.Tensor2D)))([x, w]);
      });
      expect(ids()).toBe(before);
      tf.dispose([idx, x, w]);
    });
  });

  it('trains inside tf.variableGrads / optimizer.minimize without leaking tensors', async () => {
    await on(backend, () => {
      const rng = new Rng(`train-${backend}`);
      const rows = 50,
        c = 8,
        k = 27,
        cout = 6,
        parents = 10;
      const idx = tf.tensor1d(randomIndex(rng, rows * k, rows), 'int32');
      const parentIdx = tf.tensor1d(
        Int32Array.from({ length: rows }, (_, i) => i % parents),
        'int32',
      );
      const x = tf.variable(tf.tensor2d(randomRows(rng, rows, c), [rows, c]), true, `x-${backend}`);
      const w = tf.variable(tf.tensor2d(randomRows(rng, k * c, cout), [k * c, cout]).mul(0.1) as tf.Tensor2D, true, `w-${backend}`);
      const target = tf.tensor2d(randomRows(rng, parents, cout), [parents, cout]);
      const lossFn = (): tf.Scalar => {
        const h0 = tf.relu(matMulNN(tf.reshape(octGather(x, idx), [rows, k * c]) as tf.Tensor2D, w));
        const h = tf.add(h0, tf.relu(gatherMatMul(x, idx, w)));
        return tf.losses.meanSquaredError(target, octScatterAdd(h as tf.Tensor2D, parentIdx, parents));
      };
      // variableGrads returns a gradient for both variables.
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(lossFn);
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        expect(grads[x.name]!.shape).toEqual([rows, c]);
        expect(grads[w.name]!.shape).toEqual([k * c, cout]);
      });
      const opt = tf.train.adam(0.01);
      const step = (): number => tf.tidy(() => opt.minimize(lossFn, true)!.dataSync()[0]!);
      const first = step(); // creates the optimizer's slot variables
      const tensorsAfterFirst = tf.memory().numTensors;
      let last = first;
      for (let i = 0; i < 20; i++) last = step();
      expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
      expect(last).toBeLessThan(first);
      opt.dispose();
      tf.dispose([idx, parentIdx, x, w, target]);
    });
  });
});

describe('cpu and wasm agree', () => {
  it.each([4, 32])('forward and gradients of a conv-like layer (C=%i)', async (c) => {
    const rng = new Rng(`xb-${c}`);
    const rows = 120,
      k = 27,
      cout = 16;
    const xv = randomRows(rng, rows, c),
      wv = randomRows(rng, k * c, cout),
      rv = randomRows(rng, rows, cout);
    const idxv = randomIndex(rng, rows * k, rows);
    const run = (): Float32Array[] =>
      tf.tidy(() => {
        const idx = tf.tensor1d(idxv, 'int32'),
          r = tf.tensor2d(rv, [rows, cout]);
        const layer = (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
          matMulNN(tf.reshape(octGather(x as tf.Tensor2D, idx), [rows, k * c]) as tf.Tensor2D, w as tf.Tensor2D);
        const x = tf.tensor2d(xv, [rows, c]),
          w = tf.tensor2d(wv, [k * c, cout]);
        const gathered = f32(octGather(x, idx));
        const scattered = f32(
          octScatterAdd(tf.tensor2d(rv.subarray(0, rows * Math.min(c, cout)).slice(), [rows, Math.min(c, cout)]), idx.slice(0, rows), rows),
        );
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.sin(layer(a, b)), r)))([x, w]);
        const fused = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.sin(gatherMatMul(a as tf.Tensor2D, idx, b as tf.Tensor2D)), r)))([x, w]);
        const gatheredT = f32(octGatherT(x, idx, k));
        return [gathered, scattered, gatheredT, f32(layer(x, w)), f32(grads[0]!), f32(grads[1]!), f32(fused[0]!), f32(fused[1]!)];
      });
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(maxAbsDiff(cpu[0]!, wasm[0]!)).toBe(0); // same loops: bit-identical
    expect(maxAbsDiff(cpu[1]!, wasm[1]!)).toBe(0);
    expect(maxAbsDiff(cpu[2]!, wasm[2]!)).toBe(0);
    for (let i = 3; i < cpu.length; i++) expect(maxAbsDiff(cpu[i]!, wasm[i]!)).toBeLessThan(1e-4);
  });
});

describe('registration', () => {
  it('is idempotent', async () => {
    await on('cpu', () => {
      const warnings: unknown[] = [];
      const orig = console.warn;
      console.warn = (...a: unknown[]) => {
        warnings.push(a);
      };
      try {
        registerOctKernels();
      } finally {
        console.warn = orig;
      }
      expect(warnings).toEqual([]);
    });
  });
});

/** Central differences of a float64 function. */
function finiteDiff(f: (v: Float64Array) => number, v: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i]!;
    v[i] = keep + h;
    const up = f(v);
    v[i] = keep - h;
    const down = f(v);
    v[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

describe("the wasm host's conv-block scratch buffer", () => {
  it('is one reused heap buffer (grown when a larger block is asked for); a nested use gets a tensor of its own', async () => {
    await initBackend({ backend: 'wasm', threads: 1 });
    await tf.setBackend('wasm');
    const { wasmHost } = await import('../../octree/ops/kernels/host-wasm.ts');
    const b = tf.backend() as unknown as { getMemoryOffset(id: object): number; numDataIds(): number };
    const h = wasmHost(b);
    const ids = b.numDataIds();
    const a = h.scratch(10, 40);
    const at = b.getMemoryOffset(a.dataId);
    const nested = h.scratch(10, 40);
    expect(b.getMemoryOffset(nested.dataId)).not.toBe(at);
    h.releaseScratch(nested);
    h.releaseScratch(a);
    expect(b.numDataIds()).toBe(ids);
    const again = h.scratch(5, 40);
    expect(b.getMemoryOffset(again.dataId)).toBe(at);
    expect(again.dataId).not.toBe(a.dataId); // a tensor id per use (XNNPACK caches by id)
    h.releaseScratch(again);
    const bigger = h.scratch(100, 400);
    const biggerAt = b.getMemoryOffset(bigger.dataId);
    h.releaseScratch(bigger);
    const same = h.scratch(100, 400);
    expect(b.getMemoryOffset(same.dataId)).toBe(biggerAt);
    h.releaseScratch(same);
    expect(b.numDataIds()).toBe(ids);
  });
});
