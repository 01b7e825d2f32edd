import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { CONV_VARIANTS, makeConvLayer, runConvBench, sphereShellTable } from '../../src/bench/index.ts';
import { maxAbsDiff } from './helpers.ts';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

describe('sphere-shell neighbour tables', () => {
  it('are real, symmetric 27-neighbourhoods with about 40% empty entries', () => {
    const t = sphereShellTable(3000);
    expect(t.idx.length).toBe(3000 * 27);
    expect(t.emptyFraction).toBeGreaterThan(0.3);
    expect(t.emptyFraction).toBeLessThan(0.5);
    let badCentre = 0,
      asymmetric = 0;
    for (let i = 0; i < t.n; i++) {
      if (t.idx[i * 27 + 13] !== i) badCentre++; // the centre is the voxel itself
      for (let k = 0; k < 27; k++) {
        const j = t.idx[i * 27 + k]!;
        if (j >= 0 && t.idx[j * 27 + (26 - k)] !== i) asymmetric++; // the opposite offset leads back
      }
    }
    expect(badCentre).toBe(0);
    expect(asymmetric).toBe(0);
  });
});

describe('conv-layer benchmark', () => {
  it('its variants compute the same layer and gradients', () => {
    const t = sphereShellTable(400);
    const cin = 16,
      cout = 5; // 16: 'fused' takes dX through the mirrored table
    const x = tf.randomUniform([t.n, cin], -1, 1, 'float32', 1) as tf.Tensor2D;
    const w = tf.randomUniform([27 * cin, cout], -1, 1, 'float32', 2) as tf.Tensor2D;
    const outs = CONV_VARIANTS.map((v) => {
      const { layer, tensors } = makeConvLayer(t, cin, cout, v, 27 * cin * 4 * 64); // 64-row blocks
      const r = tf.tidy(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(layer(a as tf.Tensor2D, b as tf.Tensor2D))))([x, w]);
        return [layer(x, w), ...g].map((z) => z.dataSync() as Float32Array);
      });
      tf.dispose(tensors);
      return r;
    });
    for (const o of outs.slice(1)) for (let i = 0; i < 3; i++) expect(maxAbsDiff(o[i]!, outs[0]![i]!)).toBeLessThan(1e-3);
    tf.dispose([x, w]);
  });

  it('returns one well-formed result per case and variant', async () => {
    const res = await runConvBench({ cases: [{ n: 300, cin: 4, cout: 8 }], reps: 1 });
    expect(res.map((r) => r.variant)).toEqual([...CONV_VARIANTS]);
    expect(res.find((r) => r.variant === 'fused')).toMatchObject({ mirror: false, blockRows: 300 });
    for (const r of res) {
      expect(r).toMatchObject({ backend: 'wasm', n: 300, cin: 4, cout: 8, reps: 1 });
      expect(r.fwdMs).toBeGreaterThanOrEqual(0);
      expect(r.fwdBwdMs).toBeGreaterThanOrEqual(0);
    }
  });
});
