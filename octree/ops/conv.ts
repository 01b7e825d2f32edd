import * as tf from '@tensorflow/tfjs';
import { gatherMatMul, matMulNN, octGather, octScatterAdd } from './kernels/index.ts';
import { getNeighbors, kernelSize, type Kernel } from '../neighbors.ts';
import type { Octree } from '../octree.ts';
import { octreeDepad, octreePad } from './pad.ts';
import { checkRowsAt, indexTensor, rowCount } from './tables.ts';

/**
 * Octree convolution (anchor-spec §2.6): out = im2col(data, neighbours) · W, with W laid out as
 * (K·Cin, Cout), i.e. ocnn's (K, Cin, Cout) flattened. Stride 2 reads the first-child window of each
 * non-empty parent and writes depth-1; without nempty its result is padded to all rows of depth-1.
 *
 * The im2col matrix is K times the input; it exists only inside the conv kernel, in row blocks of
 * bounded size (see im2colMatMul).
 */
export interface ConvOptions {
  kernel?: Kernel;
  stride?: 1 | 2;
  nempty?: boolean;
  /**
   * Floats of one im2col block (the conv works in row blocks so that its temporary memory is bounded);
   * 0 or unset = 2^24 (64 MB), at least 256 rows.
   */
  maxColumnElements?: number;
}

/** Input channels from which a stride-1 conv computes dX through its mirrored table (see octreeConv). */
export const MIRROR_MIN_CIN = 16;

/** The options with their defaults (333, stride 1, all nodes) and the kernel size. */
function resolve(opts: ConvOptions): { kernel: Kernel; stride: 1 | 2; nempty: boolean; K: number } {
  const kernel = opts.kernel ?? '333';
  return { kernel, stride: opts.stride ?? 1, nempty: opts.nempty ?? false, K: kernelSize(kernel) };
}

export function convOutputDepth(depth: number, stride: 1 | 2): number {
  return stride === 2 ? depth - 1 : depth;
}

export function octreeConv(data: tf.Tensor2D, octree: Octree, depth: number, weights: tf.Tensor2D, opts: ConvOptions = {}): tf.Tensor2D {
  const { kernel, stride, nempty, K } = resolve(opts);
  checkRowsAt(data, octree, depth, nempty, 'octreeConv');
  const cin = data.shape[1];
  if (weights.shape[0] !== K * cin) {
    throw new RangeError(`octreeConv: weights must have ${K}·${cin} = ${K * cin} rows for kernel ${kernel}, got [${weights.shape.join(', ')}]`);
  }
  const neigh = getNeighbors(octree, { depth, kernel, stride, nempty });
  // A stride-1 table of a symmetric kernel (all but 222) is symmetric: dX is a gather-product too. With
  // few input channels that product has too few output columns for XNNPACK (4->32: 1.5x slower).
  const mirror = stride === 1 && kernel !== '222' && cin >= MIRROR_MIN_CIN;
  const out = im2colMatMul(data, weights, neigh, { mirror, blockElements: opts.maxColumnElements ?? 0 });
  if (stride === 2 && !nempty) {
    return tf.tidy(() => octreePad(out, octree, depth - 1));
  }
  return out;
}

/**
 * out[i] = Σ_k data[neigh[i,k]] · W[k] as one `gatherMatMul` kernel (octree/ops/kernels): the column matrix
 * exists only inside the kernel, one row block at a time; the tape keeps data, index and
 * weights, and the backward computes dW and dX, each only when needed.
 */
export function im2colMatMul(data: tf.Tensor2D, weights: tf.Tensor2D, neigh: Int32Array, opts: { mirror?: boolean; blockElements?: number } = {}): tf.Tensor2D {
  const cout = weights.shape[1];
  return tf.tidy(() => {
    if (neigh.length === 0) return tf.zeros([0, cout]) as tf.Tensor2D;
    return gatherMatMul(data, indexTensor(neigh), weights, opts);
  });
}

/** The plain composition (gather, reshape, matMulNN) with autodiff: the reference the fused op is tested against. */
export function octreeConvReference(data: tf.Tensor2D, octree: Octree, depth: number, weights: tf.Tensor2D, opts: ConvOptions = {}): tf.Tensor2D {
  const { kernel, stride, nempty, K } = resolve(opts);
  const neigh = getNeighbors(octree, { depth, kernel, stride, nempty });
  return tf.tidy(() => {
    const col = tf.reshape(octGather(data, indexTensor(neigh)), [neigh.length / K, K * data.shape[1]]) as tf.Tensor2D;
    const out = matMulNN(col, weights);
    return stride === 2 && !nempty ? octreePad(out, octree, depth - 1) : out;
  });
}

/**
 * Transposed octree convolution (ocnn's OctreeDeconv): each input row spreads W-weighted copies to its
 * neighbours, i.e. the adjoint of the conv's im2col. W is laid out (Cin, K·Cout). Stride 2 goes from
 * `depth` to depth+1 through the first-child windows; without nempty the input is first depadded.
 */
export function octreeDeconv(data: tf.Tensor2D, octree: Octree, depth: number, weights: tf.Tensor2D, opts: ConvOptions = {}): tf.Tensor2D {
  const { kernel, stride, nempty, K } = resolve(opts);
  checkRowsAt(data, octree, depth, nempty, 'octreeDeconv');
  if (weights.shape[0] !== data.shape[1] || weights.shape[1] % K !== 0) {
    throw new RangeError(`octreeDeconv: weights must be [Cin=${data.shape[1]}, ${K}·Cout], got [${weights.shape.join(', ')}]`);
  }
  const cout = weights.shape[1] / K;
  const outDepth = stride === 2 ? depth + 1 : depth;
  const neigh = getNeighbors(octree, { depth: outDepth, kernel, stride, nempty });
  return tf.tidy(() => {
    const x = stride === 2 && !nempty ? octreeDepad(data, octree, depth) : data;
    const col = tf.reshape(matMulNN(x, weights), [neigh.length, cout]) as tf.Tensor2D;
    return octScatterAdd(col, indexTensor(neigh), rowCount(octree, outDepth, nempty));
  });
}
