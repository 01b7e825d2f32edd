import * as tf from '@tensorflow/tfjs';

/**
 * Fused CPU-side ops for the elementwise-heavy parts of an octree network. On wasm, tfjs runs a batch norm as
 * ~10 separate passes (several with slow broadcasting), and the gradient of a max over siblings as an `Equal`
 * broadcast that alone cost more than the convolutions (profiled: 86 ms per call for 500k elements). These ops
 * do one or two passes over plain arrays instead, through tf.customGrad, so they work on every backend
 * (reading data back is cheap on cpu and wasm, where training runs).
 */

/** Max over each group of 8 consecutive rows (sibling octants): [8P, C] -> [P, C], with argmax. */
export function siblingMax(x: tf.Tensor2D): tf.Tensor2D {
  const [rows, c] = x.shape;
  if (rows % 8 !== 0) throw new RangeError(`siblingMax: rows (${rows}) must be a multiple of 8`);
  const p = rows / 8;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xv = (args[0] as tf.Tensor2D).dataSync() as Float32Array;
    const out = new Float32Array(p * c);
    const arg = new Int32Array(p * c);
    for (let i = 0; i < p; i++) {
      const base = 8 * i * c;
      for (let k = 0; k < c; k++) {
        let best = xv[base + k]!;
        let bi = 0;
        for (let s = 1; s < 8; s++) {
          const v = xv[base + s * c + k]!;
          if (v > best) {
            best = v;
            bi = s;
          }
        }
        out[i * c + k] = best;
        arg[i * c + k] = bi;
      }
    }
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      const g = dy.dataSync() as Float32Array;
      const dx = new Float32Array(rows * c);
      for (let i = 0; i < p; i++) for (let k = 0; k < c; k++) dx[(8 * i + arg[i * c + k]!) * c + k] = g[i * c + k]!;
      return [tf.tensor2d(dx, [rows, c])];
    };
    return { value: tf.tensor2d(out, [p, c]), gradFunc };
  });
  return f(x) as tf.Tensor2D;
}

/** Argmax slot (0..7) of each group of 8 rows, per channel: [P, C] int32 (for max unpooling). */
export function siblingArgMax(x: tf.Tensor2D): tf.Tensor2D {
  const [rows, c] = x.shape;
  const p = rows / 8;
  const xv = x.dataSync() as Float32Array;
  const arg = new Int32Array(p * c);
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < c; k++) {
      let best = xv[8 * i * c + k]!;
      let bi = 0;
      for (let s = 1; s < 8; s++) {
        const v = xv[(8 * i + s) * c + k]!;
        if (v > best) {
          best = v;
          bi = s;
        }
      }
      arg[i * c + k] = bi;
    }
  }
  return tf.tensor2d(arg, [p, c], 'int32');
}

export interface BatchNormStats {
  mean: Float32Array;
  /** Biased batch variance (what normalizes); the caller derives the unbiased one for running stats. */
  variance: Float32Array;
}

/**
 * Training-mode batch norm over rows, optionally followed by ReLU, as one op with an analytic gradient:
 * y = relu?((x - mean) / sqrt(var + eps) · gamma + beta). `onStats` receives the batch statistics (for the
 * running averages).
 */
export function fusedBatchNorm(
  x: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  opts: { eps?: number; relu?: boolean; onStats?: (s: BatchNormStats) => void } = {},
): tf.Tensor2D {
  const [n, c] = x.shape;
  const eps = opts.eps ?? 1e-5;
  const relu = opts.relu ?? false;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xv = (args[0] as tf.Tensor2D).dataSync() as Float32Array;
    const gv = (args[1] as tf.Tensor1D).dataSync() as Float32Array;
    const bv = (args[2] as tf.Tensor1D).dataSync() as Float32Array;
    const mean = new Float64Array(c);
    const sq = new Float64Array(c);
    for (let i = 0; i < n; i++) {
      const o = i * c;
      for (let k = 0; k < c; k++) mean[k] += xv[o + k]!;
    }
    for (let k = 0; k < c; k++) mean[k] /= Math.max(1, n);
    for (let i = 0; i < n; i++) {
      const o = i * c;
      for (let k = 0; k < c; k++) {
        const d = xv[o + k]! - mean[k]!;
        sq[k] += d * d;
      }
    }
    const invStd = new Float32Array(c);
    const variance = new Float32Array(c);
    for (let k = 0; k < c; k++) {
      variance[k] = sq[k]! / Math.max(1, n);
      invStd[k] = 1 / Math.sqrt(variance[k]! + eps);
    }
    opts.onStats?.({ mean: Float32Array.from(mean), variance });
    const xhat = new Float32Array(n * c);
    const y = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      const o = i * c;
      for (let k = 0; k < c; k++) {
        const h = (xv[o + k]! - mean[k]!) * invStd[k]!;
        xhat[o + k] = h;
        const v = h * gv[k]! + bv[k]!;
        y[o + k] = relu && v < 0 ? 0 : v;
      }
    }
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      const d = dy.dataSync() as Float32Array;
      const dyEff = relu ? new Float32Array(n * c) : d;
      if (relu) for (let i = 0; i < n * c; i++) dyEff[i] = y[i]! > 0 ? d[i]! : 0;
      const sumDy = new Float64Array(c);
      const sumDyXhat = new Float64Array(c);
      for (let i = 0; i < n; i++) {
        const o = i * c;
        for (let k = 0; k < c; k++) {
          const g = dyEff[o + k]!;
          sumDy[k] += g;
          sumDyXhat[k] += g * xhat[o + k]!;
        }
      }
      const dx = new Float32Array(n * c);
      for (let i = 0; i < n; i++) {
        const o = i * c;
        for (let k = 0; k < c; k++) {
          dx[o + k] = (gv[k]! * invStd[k]! / n) * (n * dyEff[o + k]! - sumDy[k]! - xhat[o + k]! * sumDyXhat[k]!);
        }
      }
      return [tf.tensor2d(dx, [n, c]), tf.tensor1d(Float32Array.from(sumDyXhat)), tf.tensor1d(Float32Array.from(sumDy))];
    };
    return { value: tf.tensor2d(y, [n, c]), gradFunc };
  });
  return f(x, gamma, beta) as tf.Tensor2D;
}

/**
 * out[i] = Σ_j weight[i·W + j] · x[index[i·W + j]] (index -1 contributes nothing): interpolation from node
 * data, in one pass, with the weighted scatter-add as its gradient. Composed from a gather, a multiply and a
 * sum it would hold two [M·W, C] temporaries (and their gradients) — for trilinear upsampling of a batch of
 * dense shapes that is hundreds of MB.
 */
export function weightedGather(x: tf.Tensor2D, index: Int32Array, weight: Float32Array, width: number): tf.Tensor2D {
  const [rows, c] = x.shape;
  const m = index.length / width;
  if (!Number.isInteger(m) || weight.length !== index.length) throw new RangeError(`weightedGather: index (${index.length}) and weight (${weight.length}) must hold ${width} entries per output row`);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xv = (args[0] as tf.Tensor2D).dataSync() as Float32Array;
    const out = new Float32Array(m * c);
    for (let i = 0; i < m; i++) {
      const o = i * c;
      for (let j = 0; j < width; j++) {
        const r = index[i * width + j]!;
        if (r < 0) continue;
        if (r >= rows) throw new RangeError(`weightedGather: index ${r} out of range [0, ${rows})`);
        const w = weight[i * width + j]!;
        if (w === 0) continue;
        const src = r * c;
        for (let k = 0; k < c; k++) out[o + k] += w * xv[src + k]!;
      }
    }
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      const g = dy.dataSync() as Float32Array;
      const dx = new Float32Array(rows * c);
      for (let i = 0; i < m; i++) {
        const o = i * c;
        for (let j = 0; j < width; j++) {
          const r = index[i * width + j]!;
          const w = weight[i * width + j]!;
          if (r < 0 || w === 0) continue;
          const dst = r * c;
          for (let k = 0; k < c; k++) dx[dst + k] += w * g[o + k]!;
        }
      }
      return [tf.tensor2d(dx, [rows, c])];
    };
    return { value: tf.tensor2d(out, [m, c]), gradFunc };
  });
  return f(x) as tf.Tensor2D;
}
