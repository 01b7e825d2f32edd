import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kmeans } from '../../src/ssl/kmeans.ts';
import { MemoryBank } from '../../src/ssl/memory-bank.ts';
import { accuracy, midLosses, updateBanks, type MidBatchTargets } from '../../src/ssl/mid-loss.ts';
import { SgdMomentum } from '../../src/train/sgd.ts';
import { Rng } from '../../src/util/rng.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('k-means', () => {
  it('finds well-separated clusters exactly and is deterministic', () => {
    const rng = new Rng(1);
    const centers = [
      [0, 0, 0],
      [5, 0, 0],
      [0, 5, 0],
      [0, 0, 5],
    ];
    const pts = new Float32Array(3 * 400);
    for (let i = 0; i < 400; i++) for (let a = 0; a < 3; a++) pts[3 * i + a] = centers[i % 4]![a]! + 0.1 * rng.normal();
    const r = kmeans(pts, 4, { seed: 3 });
    expect(r.k).toBe(4);
    for (let i = 4; i < 400; i++) expect(r.labels[i]).toBe(r.labels[i % 4]);
    expect(new Set(Array.from(r.labels)).size).toBe(4);
    expect(Array.from(kmeans(pts, 4, { seed: 3 }).labels)).toEqual(Array.from(r.labels));
    expect(kmeans(pts.subarray(0, 6), 10).k).toBe(2);
  });
});

describe('memory bank', () => {
  it('momentum update normalizes; a missing observation only renormalizes', () => {
    const bank = new MemoryBank(3, 4, 0);
    bank.update(1, [1, 0, 0, 0], 0.5);
    const row = Array.from(bank.gather([1]));
    expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    const before = Array.from(bank.gather([2]));
    bank.update(2, null, 0.5);
    const after = Array.from(bank.gather([2]));
    const n = Math.hypot(...before);
    after.forEach((v, i) => expect(v).toBeCloseTo(before[i]! / n, 5));
    expect(bank.transposed()[1 * 3 + 2]).toBeCloseTo(bank.data[2 * 4 + 1]!, 6);
  });
});

describe('MID losses', () => {
  it('learn to discriminate instances and clusters when the features can (a linear model on fixed inputs)', () => {
    // 24 "shapes", each a fixed random input; 30 "nodes" per shape with 5 cluster ids and inputs per cluster
    const rng = new Rng(5);
    const N = 24;
    const K = 5;
    const dIn = 16;
    const shapeIn = Array.from({ length: N }, () => Array.from({ length: dIn }, () => rng.normal()));
    const clusterIn = Array.from({ length: N * K }, () => Array.from({ length: dIn }, () => rng.normal()));
    const ws = tf.variable(tf.randomNormal([dIn, 8], 0, 0.3, 'float32', 1));
    const wp = tf.variable(tf.randomNormal([dIn, 6], 0, 0.3, 'float32', 2));
    const vars = new Map([
      ['ws', ws],
      ['wp', wp],
    ]);
    const opt = new SgdMomentum(0.9, 0);
    const shapeBank = new MemoryBank(N, 8, 1);
    const pointBank = new MemoryBank(N * K, 6, 2);
    let lastShapeAcc = 0;
    let lastPointAcc = 0;
    for (let step = 0; step < 150; step++) {
      const ids = Int32Array.from(new Rng(step).permutation(N).subarray(0, 8));
      const nodeLabels: number[] = [];
      const nodeShape: number[] = [];
      const nodeIn: number[][] = [];
      ids.forEach((id, b) => {
        for (let j = 0; j < 30; j++) {
          const k = j % K;
          nodeLabels.push(j % 7 === 6 ? -1 : k);
          nodeShape.push(b);
          nodeIn.push(clusterIn[id * K + k]!.map((v) => v + 0.05 * rng.normal()));
        }
      });
      const targets: MidBatchTargets = { ids, nodeLabels: Int32Array.from(nodeLabels), nodeShape: Int32Array.from(nodeShape), clusters: K };
      const xs = tf.tensor2d(Array.from(ids).map((i) => shapeIn[i]!));
      const xp = tf.tensor2d(nodeIn);
      let keep: tf.Tensor[] = [];
      let labelled: Int32Array = new Int32Array(0);
      const { value, grads } = tf.variableGrads(() => {
        const l = midLosses(tf.matMul(xs, ws) as tf.Tensor2D, tf.matMul(xp, wp) as tf.Tensor2D, targets, shapeBank, pointBank, 0.1);
        keep = [l.f, l.g, l.shapeLogits, l.pointLogits].map((t) => tf.keep(t));
        labelled = l.labelled;
        return l.loss;
      }, [ws, wp]);
      opt.apply(vars, grads, 0.05);
      const [f, g, sl, pl] = keep as tf.Tensor2D[];
      const pt = Int32Array.from(Array.from(labelled).map((r) => nodeLabels[r]!));
      lastShapeAcc = accuracy(sl!, ids);
      lastPointAcc = accuracy(pl!, pt);
      updateBanks(f!.dataSync() as Float32Array, g!.dataSync() as Float32Array, labelled, targets, shapeBank, pointBank, 0.5);
      tf.dispose([value, xs, xp, ...keep, ...Object.values(grads)]);
    }
    expect(lastShapeAcc).toBeGreaterThan(0.8);
    expect(lastPointAcc).toBeGreaterThan(0.8);
    tf.dispose([ws, wp]);
    opt.dispose();
  });
});

/** The MID losses as they were composed before the fused ops: one matMul per shape, then concat + cross-entropy. */
function midLossesComposed(fc2: tf.Tensor2D, pointOut: tf.Tensor2D, t: MidBatchTargets, shapeBank: MemoryBank, pointBank: MemoryBank, tau: number): tf.Scalar {
  const B = t.ids.length,
    K = t.clusters,
    dim = pointOut.shape[1];
  const rows: number[] = [];
  const perShape = new Array<number>(B).fill(0);
  t.nodeLabels.forEach((l, i) => {
    if (l >= 0) {
      rows.push(i);
      perShape[t.nodeShape[i]!]!++;
    }
  });
  const norm = (x: tf.Tensor2D): tf.Tensor2D => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
  const f = norm(fc2);
  const shapeLogits = tf.div(tf.matMul(f, tf.tensor2d(shapeBank.transposed(), [shapeBank.dim, shapeBank.rows])), tau);
  const shapeLoss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(t.ids, 'int32'), shapeBank.rows), shapeLogits);
  const g = norm(tf.gather(pointOut, tf.tensor1d(rows, 'int32')));
  const parts: tf.Tensor[] = [];
  let start = 0;
  for (let b = 0; b < B; b++) {
    if (perShape[b] === 0) continue;
    const ids = Array.from({ length: K }, (_, k) => t.ids[b]! * K + k);
    const block = tf.tensor2d(pointBank.gather(ids), [K, dim]);
    parts.push(tf.matMul(tf.slice(g, [start, 0], [perShape[b]!, dim]), block, false, true));
    start += perShape[b]!;
  }
  const labels = rows.map((r) => t.nodeLabels[r]!);
  const pointLoss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), K), tf.div(tf.concat(parts, 0), tau));
  return tf.add(shapeLoss, pointLoss) as tf.Scalar;
}

describe.each(['cpu', 'wasm'])('MID losses as fused ops on %s', (backend) => {
  it('equal the per-shape composition of tfjs ops, loss and gradients', async () => {
    const { initBackend } = await import('../../src/backend.ts');
    await initBackend({ backend, threads: 1 });
    const rng = new Rng(11);
    const B = 4,
      K = 6,
      nodes = 90;
    const shapeBank = new MemoryBank(10, 8, 1);
    const pointBank = new MemoryBank(10 * K, 5, 2);
    const nodeShape = Int32Array.from({ length: nodes }, (_, i) => Math.min(B - 1, Math.floor(i / 25)));
    const nodeLabels = Int32Array.from({ length: nodes }, () => (rng.uniform() < 0.2 ? -1 : rng.int(0, K - 1)));
    const targets: MidBatchTargets = { ids: Int32Array.from([7, 2, 9, 0]), nodeLabels, nodeShape, clusters: K };
    const fc2 = tf.tensor2d(
      Array.from({ length: B * 8 }, () => rng.normal()),
      [B, 8],
    );
    const pointOut = tf.tensor2d(
      Array.from({ length: nodes * 5 }, () => rng.normal()),
      [nodes, 5],
    );
    const fused = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => midLosses(a as tf.Tensor2D, b as tf.Tensor2D, targets, shapeBank, pointBank, 0.1).loss;
    const composed = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => midLossesComposed(a as tf.Tensor2D, b as tf.Tensor2D, targets, shapeBank, pointBank, 0.1);
    const va = tf.valueAndGrads(fused)([fc2, pointOut]);
    const vb = tf.valueAndGrads(composed)([fc2, pointOut]);
    expect(Math.abs(va.value.dataSync()[0]! - vb.value.dataSync()[0]!)).toBeLessThan(1e-4);
    for (let i = 0; i < 2; i++) {
      const a = va.grads[i]!.dataSync(),
        b = vb.grads[i]!.dataSync();
      for (let j = 0; j < a.length; j++) expect(Math.abs(a[j]! - b[j]!)).toBeLessThan(1e-4);
    }
    tf.dispose([fc2, pointOut, va.value, vb.value, ...va.grads, ...vb.grads]);
    await tf.setBackend('cpu');
  });
});

describe('cluster cache', () => {
  it('computes the same cluster ids in worker threads as in the calling thread, and reuses the cache', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { shapeClusters } = await import('../../src/ssl/clusters.ts');
    const rng = new Rng(9);
    const clouds = Array.from({ length: 70 }, () => {
      const p = new Float32Array(3 * 200);
      for (let i = 0; i < p.length; i++) p[i] = rng.normal();
      return { points: p, normals: null, labels: null, features: null, featureChannels: 0 };
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-clusters-'));
    const a = await shapeClusters(clouds, 10, { key: 'x', cacheDir: dir, workers: 0 });
    fs.rmSync(dir, { recursive: true });
    let calls = 0;
    const b = await shapeClusters(clouds, 10, { key: 'x', cacheDir: dir, workers: 2, onProgress: () => calls++ });
    expect(b.map((l) => Array.from(l))).toEqual(a.map((l) => Array.from(l)));
    expect(calls).toBe(70);
    const c = await shapeClusters(clouds, 10, { key: 'x', cacheDir: dir, workers: 2 });
    expect(c.map((l) => Array.from(l))).toEqual(a.map((l) => Array.from(l)));
  });
});
