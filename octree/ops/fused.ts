import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM, BATCH_NORM_GRAD, JS_KERNEL_BACKENDS, SIBLING_MAX, SIBLING_MAX_GRAD } from './kernels/index.ts';
import { bnBackwardRows, bnForwardRows, siblingMaxGradRows, siblingMaxRows } from './kernels/norm-loops.ts';

/**
 * Fused ops for the elementwise-heavy parts of an octree network. On wasm, tfjs runs a batch norm as ~10
 * separate passes (several with slow broadcasting), and the gradient of a max over siblings as an `Equal`
 * broadcast that alone cost more than the convolutions (profiled: 86 ms per call for 500k elements). These
 * ops do one or two passes instead, through tf.customGrad: batch norm and sibling max as registered kernels
 * on cpu and wasm (./kernels/norm-kernels.ts; on wasm inside rq3d's wasm module), the same JS loops on
 * read-back data on other backends; weightedGather in JS on read-back data.
 */

function kernelsHere(): boolean {
  return JS_KERNEL_BACKENDS.includes(tf.getBackend());
}

/** [out, arg] of the sibling max: the registered kernel, or the JS loop on read-back data. */
function siblingMaxPair(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const [rows, c] = x.shape;
  if (rows % 8 !== 0) throw new RangeError(`siblingMax: rows (${rows}) must be a multiple of 8`);
  if (kernelsHere()) return tf.engine().runKernel(SIBLING_MAX, { x }, {}) as unknown as [tf.Tensor2D, tf.Tensor2D];
  const p = rows / 8;
  const out = new Float32Array(p * c), arg = new Int32Array(p * c);
  siblingMaxRows(x.dataSync() as Float32Array, 0, p, c, out, 0, arg, 0);
  return [tf.tensor2d(out, [p, c]), tf.tensor2d(arg, [p, c], 'int32')];
}

function siblingMaxGrad(dy: tf.Tensor2D, arg: tf.Tensor2D): tf.Tensor2D {
  if (kernelsHere()) return tf.engine().runKernel(SIBLING_MAX_GRAD, { dy, arg }, {}) as tf.Tensor2D;
  const [p, c] = dy.shape;
  const dx = new Float32Array(8 * p * c);
  siblingMaxGradRows(dy.dataSync() as Float32Array, 0, arg.dataSync() as Int32Array, 0, p, c, dx, 0);
  return tf.tensor2d(dx, [8 * p, c]);
}

/** Max over each group of 8 consecutive rows (sibling octants): [8P, C] -> [P, C]; gradient to the argmax. */
export function siblingMax(x: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[1] as tf.GradSaveFunc;
    const [out, arg] = siblingMaxPair(args[0] as tf.Tensor2D);
    save([arg]);
    return { value: out, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [siblingMaxGrad(dy as tf.Tensor2D, saved[0] as tf.Tensor2D)] };
  });
  return f(x) as tf.Tensor2D;
}

/** Argmax slot (0..7) of each group of 8 rows, per channel: [P, C] int32 (for max unpooling). */
export function siblingArgMax(x: tf.Tensor2D): tf.Tensor2D {
  const [out, arg] = siblingMaxPair(x);
  out.dispose();
  return arg;
}

export interface BatchNormStats {
  mean: Float32Array;
  /** Biased batch variance (what normalizes); the caller derives the unbiased one for running stats. */
  variance: Float32Array;
}

/** [y, stats [3, C]] of a training-mode batch norm: the registered kernel, or the JS loop on read-back data. */
function batchNormPair(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, relu: boolean): [tf.Tensor2D, tf.Tensor2D] {
  if (kernelsHere()) return tf.engine().runKernel(BATCH_NORM, { x, gamma, beta }, { eps, relu }) as unknown as [tf.Tensor2D, tf.Tensor2D];
  const [n, c] = x.shape;
  const y = new Float32Array(n * c), stats = new Float32Array(3 * c);
  const arr = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;
  bnForwardRows(arr(x), 0, n, c, arr(gamma), 0, arr(beta), 0, eps, relu, y, 0, stats, 0);
  return [tf.tensor2d(y, [n, c]), tf.tensor2d(stats, [3, c])];
}

function batchNormGrad(dy: tf.Tensor2D, x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, stats: tf.Tensor2D, relu: boolean): tf.Tensor[] {
  if (kernelsHere()) return tf.engine().runKernel(BATCH_NORM_GRAD, { dy, x, gamma, beta, stats }, { relu }) as unknown as tf.Tensor[];
  const [n, c] = x.shape;
  const dx = new Float32Array(n * c), dg = new Float32Array(c), db = new Float32Array(c);
  const arr = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;
  bnBackwardRows(arr(dy), 0, arr(x), 0, n, c, arr(gamma), 0, arr(beta), 0, arr(stats), 0, relu, dx, 0, dg, 0, db, 0);
  return [tf.tensor2d(dx, [n, c]), tf.tensor1d(dg), tf.tensor1d(db)];
}

/**
 * Training-mode batch norm over rows, optionally followed by ReLU, as one op with an analytic gradient:
 * y = relu?((x - mean) / sqrt(var + eps) · gamma + beta). `onStats` receives the batch statistics (for the
 * running averages). The backward recomputes the normalized input from x and the saved [3, C] statistics
 * instead of keeping an [N, C] copy.
 */
export function fusedBatchNorm(
  x: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  opts: { eps?: number; relu?: boolean; onStats?: (s: BatchNormStats) => void } = {},
): tf.Tensor2D {
  const c = x.shape[1];
  const eps = opts.eps ?? 1e-5;
  const relu = opts.relu ?? false;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, g, b] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    const [y, stats] = batchNormPair(xx, g, b, eps, relu);
    if (opts.onStats) {
      const s = stats.dataSync() as Float32Array;
      opts.onStats({ mean: s.slice(0, c), variance: s.slice(c, 2 * c) });
    }
    save([xx, g, b, stats]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sb, st] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor2D];
        return batchNormGrad(dy as tf.Tensor2D, sx, sg, sb, st, relu);
      },
    };
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
