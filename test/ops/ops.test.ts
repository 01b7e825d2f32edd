import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getNeighbors, kernelSize, KERNELS, neighborTable, searchKey, buildOctree, inputFeature, type Kernel, type Octree } from '../../octree/index.ts';
import {
  octreeAvgPool,
  octreeConv,
  octreeConvReference,
  octreeDeconv,
  octreeDepad,
  octreeGlobalPool,
  octreeGroupNorm,
  octreeInterp,
  octreeMaxPool,
  octreeMaxPoolWithIndices,
  octreeMaxUnpool,
  octreePad,
  octreeUpsample,
  octreeInstanceNorm,
  leafPointsWithBatch,
} from '../../octree/ops/index.ts';
import { MIRROR_MIN_CIN } from '../../octree/ops/conv.ts';
import { Rng } from '../../src/util/rng.ts';
import { hasGolden, loadGolden } from '../helpers/golden.ts';
import { checkGradient, maxAbsDiff, randn, smallBatch } from './helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const rowsOf = (o: Octree, d: number, nempty: boolean): number => (nempty ? o.nnumNempty[d]! : o.nnum[d]!);

describe('octree conv', () => {
  it.skipIf(!hasGolden)('matches a brute-force evaluation keyed by cell coordinates at depth 5 of a golden octree', () => {
    const g = loadGolden('test_001.json');
    const oct = buildOctree({ points: Float32Array.from(g.points!.data), normals: Float32Array.from(g.normals!.data) }, { depth: 6, fullDepth: 3 });
    const d = 5;
    const rng = new Rng(2);
    const cin = 3;
    const cout = 2;
    const n = oct.nnum[d]!;
    const x = randn(rng, [n, cin]);
    const w = randn(rng, [27 * cin, cout]);
    const out = tf.tidy(() => octreeConv(x, oct, d, w).arraySync());
    // brute force: a map from cell coordinates to rows, no neighbour table involved
    const cells = oct.cellCoords(d);
    const byCell = new Map<string, number>();
    for (let r = 0; r < n; r++) byCell.set(`${cells[3 * r]},${cells[3 * r + 1]},${cells[3 * r + 2]}`, r);
    const xv = x.arraySync();
    const wv = w.arraySync();
    let worst = 0;
    for (let r = 0; r < n; r++) {
      const acc = new Array(cout).fill(0);
      for (let k = 0; k < 27; k++) {
        const dx = Math.floor(k / 9) - 1;
        const dy = (Math.floor(k / 3) % 3) - 1;
        const dz = (k % 3) - 1;
        const q = byCell.get(`${cells[3 * r]! + dx},${cells[3 * r + 1]! + dy},${cells[3 * r + 2]! + dz}`);
        if (q === undefined) continue;
        for (let o = 0; o < cout; o++) for (let c = 0; c < cin; c++) acc[o] += xv[q]![c]! * wv[k * cin + c]![o]!;
      }
      for (let o = 0; o < cout; o++) worst = Math.max(worst, Math.abs(acc[o] - out[r]![o]!));
    }
    expect(worst).toBeLessThan(1e-4);
  });

  const combos: Array<[Kernel, 1 | 2, boolean]> = [];
  for (const k of KERNELS) for (const s of [1, 2] as const) for (const ne of [false, true]) combos.push([k, s, ne]);

  it('fused (blocked, recomputing) conv equals the plain gather+matMul reference, values and gradients, for every kernel/stride/nempty', () => {
    const oct = smallBatch();
    const rng = new Rng(3);
    const d = 4;
    // 16 input channels: stride-1 convs take dX through the mirrored table (MIRROR_MIN_CIN); 3: through dCol
    for (const [kernel, stride, nempty] of combos)
      for (const cin of [3, MIRROR_MIN_CIN]) {
        const K = kernelSize(kernel);
        const x = randn(rng, [rowsOf(oct, d, nempty), cin]);
        const w = randn(rng, [K * cin, 5]);
        // tiny blocks force several row blocks
        const opts = { kernel, stride, nempty, maxColumnElements: 64 * K * cin };
        const f1 = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Scalar => tf.sum(tf.square(octreeConv(a, oct, d, b, opts)));
        const f2 = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Scalar => tf.sum(tf.square(octreeConvReference(a, oct, d, b, opts)));
        const y1 = octreeConv(x, oct, d, w, opts);
        const y2 = octreeConvReference(x, oct, d, w, opts);
        expect(y1.shape).toEqual([rowsOf(oct, stride === 2 ? d - 1 : d, nempty), 5]);
        expect(maxAbsDiff(y1, y2)).toBeLessThan(1e-4);
        const [gx1, gw1] = tf.grads(f1 as (...a: tf.Tensor[]) => tf.Tensor)([x, w]);
        const [gx2, gw2] = tf.grads(f2 as (...a: tf.Tensor[]) => tf.Tensor)([x, w]);
        // relative to the largest entry: gradients reach ~10^4 here, summed in a different order per block
        const rel = (a: tf.Tensor, b: tf.Tensor): number =>
          maxAbsDiff(a, b) /
          Math.max(
            1,
            tf.tidy(() => tf.max(tf.abs(b)).dataSync()[0]!),
          );
        expect(rel(gx1!, gx2!)).toBeLessThan(1e-6);
        expect(rel(gw1!, gw2!)).toBeLessThan(1e-6);
        tf.dispose([x, w, y1, y2, gx1!, gx2!, gw1!, gw2!]);
      }
  });

  it('has gradients that agree with finite differences', () => {
    const oct = smallBatch(4, 2, 5);
    const rng = new Rng(4);
    const x = randn(rng, [oct.nnum[4]!, 2]);
    const w = randn(rng, [27 * 2, 3]);
    expect(checkGradient((t) => octreeConv(t, oct, 4, w), x, rng)).toBeLessThan(2e-2);
    expect(checkGradient((t) => octreeConv(x, oct, 4, t), w, rng)).toBeLessThan(2e-2);
    expect(checkGradient((t) => octreeConv(t, oct, 4, randn(new Rng(1), [8 * 2, 3]), { kernel: '222', stride: 2 }), x, rng)).toBeLessThan(2e-2);
  });

  it('deconv is the adjoint of conv (<conv x, y> = <x, deconv y>), stride 1 and 2, nempty or not', () => {
    const oct = smallBatch(4, 2, 6);
    const rng = new Rng(6);
    for (const [kernel, stride, nempty] of [
      ['333', 1, false],
      ['333', 1, true],
      ['222', 2, true],
      ['222', 2, false],
      ['333', 2, true],
    ] as Array<[Kernel, 1 | 2, boolean]>) {
      const K = kernelSize(kernel);
      const cin = 3;
      const cout = 4;
      const d = 4;
      const outDepth = stride === 2 ? d - 1 : d;
      const x = randn(rng, [rowsOf(oct, d, nempty), cin]);
      const y = randn(rng, [rowsOf(oct, outDepth, nempty), cout]);
      const w = randn(rng, [K * cin, cout]);
      // deconv weights (Cout, K·Cin) with block k = W_kᵀ
      const wd = tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(w, [K, cin, cout]), [2, 0, 1]), [cout, K * cin]) as tf.Tensor2D);
      const lhs = tf.tidy(() => tf.sum(tf.mul(octreeConv(x, oct, d, w, { kernel, stride, nempty }), y)).dataSync()[0]!);
      const dec = octreeDeconv(y, oct, outDepth, wd, { kernel, stride, nempty });
      expect(dec.shape).toEqual(x.shape);
      const rhs = tf.tidy(() => tf.sum(tf.mul(x, dec)).dataSync()[0]!);
      // without nempty the stride-2 conv zero-pads empty parents, whose deconv rows are depadded away
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * Math.max(1, Math.abs(lhs)));
      tf.dispose([x, y, w, wd, dec]);
    }
  });
});

describe('pooling, padding, upsampling', () => {
  it('pad/depad round-trip and pad fills empty rows', () => {
    const oct = smallBatch();
    const rng = new Rng(7);
    const x = randn(rng, [oct.nnumNempty[4]!, 2]);
    const p = octreePad(x, oct, 4, 9);
    expect(p.shape[0]).toBe(oct.nnum[4]);
    const ch = oct.children[4]!;
    const pv = p.arraySync();
    for (let r = 0; r < ch.length; r++) if (ch[r]! < 0) expect(pv[r]).toEqual([9, 9]);
    expect(maxAbsDiff(octreeDepad(p, oct, 4), x)).toBe(0);
  });

  it("max pool equals the max over each parent's 8 children (brute force), and unpool puts values back at the argmax", () => {
    const oct = smallBatch();
    const rng = new Rng(8);
    for (const nempty of [false, true]) {
      const x = randn(rng, [rowsOf(oct, 4, nempty), 3]);
      const xAll = nempty ? octreePad(x, oct, 4, -Infinity).arraySync() : x.arraySync();
      const { value } = octreeMaxPoolWithIndices(x, oct, 4, nempty, false);
      expect(value.shape[0]).toBe(rowsOf(oct, 3, nempty));
      const v = value.arraySync();
      const ch3 = oct.children[3]!;
      for (let r = 0; r < oct.nnum[3]!; r++) {
        const c = ch3[r]!;
        const row = nempty ? c : r;
        if (c < 0) {
          if (!nempty) expect(v[r]).toEqual([0, 0, 0]);
          continue;
        }
        for (let k = 0; k < 3; k++) {
          const m = Math.max(...[0, 1, 2, 3, 4, 5, 6, 7].map((s) => xAll[8 * c + s]![k]!));
          expect(v[row]![k]).toBeCloseTo(m, 6);
        }
      }
      // on positive data, pooling the unpooled result gives the pooled data back, and unpool keeps
      // exactly one non-zero sibling per channel
      const pos = tf.add(tf.abs(x), 1) as tf.Tensor2D;
      const pp = octreeMaxPoolWithIndices(pos, oct, 4, nempty);
      const up = octreeMaxUnpool(pp.value, pp.indices!, oct, 4, nempty);
      expect(up.shape).toEqual(x.shape);
      expect(maxAbsDiff(octreeMaxPool(up, oct, 4, nempty), pp.value)).toBeLessThan(1e-6);
      const nonZero = tf.tidy(() => tf.sum(tf.cast(tf.greater(up, 0), 'float32')).dataSync()[0]!);
      expect(nonZero).toBe(3 * oct.nnumNempty[3]!);
      // max is piecewise linear: a small step keeps (almost surely) the same winners
      expect(checkGradient((t) => octreeMaxPool(t, oct, 4, nempty), x, rng, 12, 1e-3)).toBeLessThan(2e-2);
    }
  });

  it('avg pool 222/stride 2 is the mean of the 8 children; global pool is the per-shape mean', () => {
    const oct = smallBatch();
    const rng = new Rng(9);
    const x = randn(rng, [oct.nnum[4]!, 2]);
    const avg = octreeAvgPool(x, oct, 4).arraySync();
    const xv = x.arraySync();
    const ch3 = oct.children[3]!;
    for (let r = 0; r < oct.nnum[3]!; r++) {
      const c = ch3[r]!;
      for (let k = 0; k < 2; k++) {
        const m = c < 0 ? 0 : [0, 1, 2, 3, 4, 5, 6, 7].reduce((s, i) => s + xv[8 * c + i]![k]!, 0) / 8;
        expect(avg[r]![k]).toBeCloseTo(m, 5);
      }
    }
    const gp = octreeGlobalPool(x, oct, 4).arraySync();
    const bid = oct.batchId(4);
    for (let b = 0; b < 2; b++) {
      const rows = xv.filter((_, r) => bid[r] === b);
      expect(gp[b]![0]).toBeCloseTo(rows.reduce((s, row) => s + row[0]!, 0) / rows.length, 5);
    }
    expect(checkGradient((t) => octreeGlobalPool(t, oct, 4, false), x, rng)).toBeLessThan(2e-2);
    expect(checkGradient((t) => octreeAvgPool(t, oct, 4, { kernel: '333', stride: 1 }), x, rng)).toBeLessThan(2e-2);
  });

  it('nearest upsample copies each parent to its children; linear upsample reproduces a linear field', () => {
    const oct = smallBatch(5, 2, 10);
    const rng = new Rng(10);
    const x = randn(rng, [oct.nnum[4]!, 2]);
    const up = octreeUpsample(x, oct, 4).arraySync();
    const xv = x.arraySync();
    const ne4 = oct.nemptyIndex(4);
    for (let r = 0; r < oct.nnum[5]!; r++) expect(up[r]).toEqual(xv[ne4[r >> 3]!]);
    // a field linear in the cell centre, f = x + 2y - z, is reproduced exactly where all 8 corners exist
    const cells = oct.cellCoords(4);
    const lin = new Float32Array(oct.nnum[4]!);
    for (let r = 0; r < lin.length; r++) lin[r] = cells[3 * r]! + 0.5 + 2 * (cells[3 * r + 1]! + 0.5) - (cells[3 * r + 2]! + 0.5);
    const fine = octreeUpsample(tf.tensor2d(lin, [lin.length, 1]), oct, 4, { method: 'linear' }).dataSync();
    const c5 = oct.cellCoords(5);
    const bid5 = oct.batchId(5);
    let checked = 0;
    for (let r = 0; r < oct.nnum[5]!; r++) {
      const px = (c5[3 * r]! + 0.5) / 2;
      const py = (c5[3 * r + 1]! + 0.5) / 2;
      const pz = (c5[3 * r + 2]! + 0.5) / 2;
      const bx = Math.floor(px - 0.5);
      const by = Math.floor(py - 0.5);
      const bz = Math.floor(pz - 0.5);
      let all = true;
      for (let c = 0; c < 8; c++) if (searchKey(oct, 4, bx + ((c >> 2) & 1), by + ((c >> 1) & 1), bz + (c & 1), bid5[r]!) < 0) all = false;
      if (!all) continue;
      expect(fine[r]).toBeCloseTo(px + 2 * py - pz, 4);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    expect(checkGradient((t) => octreeUpsample(t, oct, 4, { method: 'linear', nempty: false }), x, rng)).toBeLessThan(2e-2);
  });

  it('interpolates features at the input points (nearest = the leaf of each point)', () => {
    const oct = smallBatch(5, 2, 12);
    const rng = new Rng(12);
    const x = randn(rng, [oct.nnumNempty[5]!, 3]);
    const pts = leafPointsWithBatch(oct);
    const near = octreeInterp(x, oct, 5, pts, { method: 'nearest', nempty: true });
    expect(maxAbsDiff(near, x)).toBe(0);
    expect(checkGradient((t) => octreeInterp(t, oct, 5, pts, { method: 'linear', nempty: true }), x, rng)).toBeLessThan(2e-2);
  });
});

describe('normalization', () => {
  it('group/instance norm normalizes each shape of a merged batch on its own', () => {
    const oct = smallBatch();
    const rng = new Rng(13);
    const x = randn(rng, [oct.nnum[4]!, 4]);
    const y = octreeInstanceNorm(x, oct, 4, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D).arraySync();
    const bid = oct.batchId(4);
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 4; c++) {
        const col = y.filter((_, r) => bid[r] === b).map((row) => row[c]!);
        const mean = col.reduce((s, v) => s + v, 0) / col.length;
        const variance = col.reduce((s, v) => s + (v - mean) ** 2, 0) / col.length;
        expect(mean).toBeCloseTo(0, 4);
        expect(variance).toBeCloseTo(1, 2);
      }
    }
    const g = tf.ones([4]) as tf.Tensor1D;
    const be = tf.zeros([4]) as tf.Tensor1D;
    expect(checkGradient((t) => octreeGroupNorm(t, oct, 4, g, be, { groups: 2 }), x, rng, 12, 1e-2)).toBeLessThan(3e-2);
  });
});

describe('memory', () => {
  it('does not leak tensors across training steps', () => {
    const oct = smallBatch();
    const feat = inputFeature(oct, { letters: 'ND', nempty: false });
    const x = tf.tensor2d(feat.data, [oct.nnum[4]!, 4]);
    const w1 = tf.variable(tf.randomNormal([27 * 4, 8], 0, 0.1, 'float32', 1)) as tf.Variable<tf.Rank.R2>;
    const w2 = tf.variable(tf.randomNormal([8, 3], 0, 0.1, 'float32', 2)) as tf.Variable<tf.Rank.R2>;
    const opt = tf.train.momentum(0.01, 0.9);
    const step = (): void => {
      const cost = opt.minimize(() => {
        const h = tf.relu(octreeConv(x, oct, 4, w1));
        const p = octreeMaxPool(h, oct, 4);
        const g = octreeGlobalPool(p, oct, 3);
        return tf.mean(tf.square(tf.matMul(g, w2)));
      }, true);
      cost?.dispose();
    };
    step();
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    // sanity: the neighbour tables used are the cached ones
    expect(getNeighbors(oct, { depth: 4 })).toBe(getNeighbors(oct, { depth: 4 }));
    expect(neighborTable(oct, 4).length).toBe(27 * oct.nnum[4]!);
    tf.dispose([x, w1, w2]);
  });
});
