import * as tf from '@tensorflow/tfjs';
import { buildOctree, mergeOctrees, type Octree } from '../../octree/index.ts';
import { Rng } from '../../src/util/rng.ts';

/** A small merged batch of two surface-like clouds: enough structure for every op, fast on cpu. */
export function smallBatch(depth = 4, fullDepth = 2, seed = 1): Octree {
  const rng = new Rng(seed);
  const shape = (n: number, r: number): Float32Array => {
    const p = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const v = [rng.normal(), rng.normal(), rng.normal()];
      const len = Math.hypot(v[0]!, v[1]!, v[2]!);
      for (let a = 0; a < 3; a++) p[3 * i + a] = (r * v[a]!) / len;
    }
    return p;
  };
  const normalsOf = (p: Float32Array): Float32Array => {
    const out = new Float32Array(p.length);
    for (let i = 0; i < p.length; i += 3) {
      const len = Math.hypot(p[i]!, p[i + 1]!, p[i + 2]!);
      for (let a = 0; a < 3; a++) out[i + a] = p[i + a]! / len;
    }
    return out;
  };
  const a = shape(300, 0.7);
  const b = shape(200, 0.4);
  return mergeOctrees([
    buildOctree({ points: a, normals: normalsOf(a) }, { depth, fullDepth }),
    buildOctree({ points: b, normals: normalsOf(b) }, { depth, fullDepth }),
  ]);
}

export function randn(rng: Rng, shape: [number, number]): tf.Tensor2D {
  const v = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  return tf.tensor2d(v, shape);
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/**
 * Central finite differences of sum(f(x) * probe) with respect to a few random coordinates of x,
 * compared with the analytic gradient. Float32 forward passes, so eps is moderately large.
 */
export function checkGradient(f: (x: tf.Tensor2D) => tf.Tensor, x: tf.Tensor2D, rng: Rng, samples = 12, eps = 1e-2): number {
  const probe = tf.tidy(() => {
    const y = f(x);
    const v = new Float32Array(y.size);
    for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    return tf.tensor(v, y.shape);
  });
  const loss = (t: tf.Tensor2D): tf.Scalar => tf.sum(tf.mul(f(t), probe));
  const analytic = tf.tidy(() =>
    tf
      .grad(loss as (t: tf.Tensor) => tf.Tensor)(x)
      .dataSync(),
  );
  const base = x.dataSync();
  let worst = 0;
  for (let s = 0; s < samples; s++) {
    const i = rng.int(0, base.length - 1);
    const plus = base.slice();
    const minus = base.slice();
    plus[i] += eps;
    minus[i] -= eps;
    const fp = tf.tidy(() => loss(tf.tensor2d(plus, x.shape)).dataSync()[0]!);
    const fm = tf.tidy(() => loss(tf.tensor2d(minus, x.shape)).dataSync()[0]!);
    const numeric = (fp - fm) / (2 * eps);
    const err = Math.abs(numeric - analytic[i]!) / Math.max(1, Math.abs(numeric));
    worst = Math.max(worst, err);
  }
  probe.dispose();
  return worst;
}
