import * as tf from '@tensorflow/tfjs';
import { ADD_RELU, CONCAT_COLS, L2_NORMALIZE, SEGMENT_SOFTMAX_CE, kernelRegistered } from './kernels/index.ts';
import { checkRange } from './kernels/row-loops.ts';

/**
 * Row ops of MID-Net's losses and heads as single kernels with analytic gradients (./kernels/row-kernels.ts)
 * where the active backend has them (cpu, wasm, webgpu); elsewhere the composition of built-in tfjs ops that each
 * *Reference function spells out (also what the tests compare against).
 */

function checkRows(t: tf.Tensor, name: string, op: string): void {
  if (t.rank !== 2) throw new RangeError(`${op}: ${name} must be rank 2, got shape [${t.shape.join(', ')}]`);
  if (t.dtype !== 'float32') throw new TypeError(`${op}: ${name} must be float32, got ${t.dtype}`);
}

/** x / max(‖x‖, eps) per row, as built-in ops (norm, maximum, div: a Pow, a Sum and broadcasts). */
export function l2NormalizeReference(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), eps)) as tf.Tensor2D);
}

/** Each row divided by max(its l2 norm, eps), one pass forward and one backward. */
export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  checkRows(x, 'x', 'l2Normalize');
  if (!kernelRegistered(L2_NORMALIZE)) return l2NormalizeReference(x, eps);
  return tf.engine().runKernel(L2_NORMALIZE, { x }, { eps }) as tf.Tensor2D;
}

export interface SegmentSoftmaxCE {
  /** Mean over rows of the cross-entropy (0 for no rows). */
  loss: tf.Scalar;
  /** [n, k] scale · x · (the row's segment's prototypes)ᵀ. */
  logits: tf.Tensor2D;
}

function checkSegments(x: tf.Tensor2D, protos: tf.Tensor2D, seg: Int32Array, label: Int32Array, k: number, op: string): void {
  checkRows(x, 'x', op);
  checkRows(protos, 'protos', op);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${op}: k must be a positive integer, got ${k}`);
  if (protos.shape[1] !== x.shape[1]) throw new RangeError(`${op}: protos have ${protos.shape[1]} columns, x has ${x.shape[1]}`);
  if (protos.shape[0] % k !== 0) throw new RangeError(`${op}: protos rows (${protos.shape[0]}) are not a multiple of k = ${k}`);
  if (seg.length !== x.shape[0] || label.length !== x.shape[0]) throw new RangeError(`${op}: seg and label must hold one entry per row of x (${x.shape[0]})`);
}

/** The same as built-in ops: gather each row's k prototypes, multiply-sum, softmaxCrossEntropy on one-hots. */
export function segmentSoftmaxCrossEntropyReference(
  x: tf.Tensor2D,
  protos: tf.Tensor2D,
  seg: Int32Array,
  label: Int32Array,
  k: number,
  scale: number,
): SegmentSoftmaxCE {
  checkSegments(x, protos, seg, label, k, 'segmentSoftmaxCrossEntropy');
  const n = x.shape[0],
    d = x.shape[1];
  return tf.tidy(() => {
    if (n === 0) return { loss: tf.scalar(0), logits: tf.zeros([0, k]) as tf.Tensor2D };
    const idx = new Int32Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) idx[i * k + j] = seg[i]! * k + j;
    const p = tf.reshape(tf.gather(protos, tf.tensor1d(idx, 'int32')), [n, k, d]);
    const logits = tf.mul(tf.sum(tf.mul(tf.expandDims(x, 1), p), 2), scale) as tf.Tensor2D;
    const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(label, 'int32'), k), logits) as tf.Scalar;
    return { loss, logits };
  });
}

/**
 * Softmax cross-entropy of each row of x against the k prototypes of its own segment:
 * logits[i] = scale · x[i] · protos[seg[i]·k .. seg[i]·k + k)ᵀ, loss = mean_i −log softmax(logits[i])[label[i]].
 * MID-Net's point loss is this with segment = the node's shape (its cluster prototypes); the shape loss is
 * this with one segment holding the whole bank. The gradient flows to x (and from uses of the logits);
 * protos are treated as constants (memory banks are not trained by backprop).
 */
export function segmentSoftmaxCrossEntropy(
  x: tf.Tensor2D,
  protos: tf.Tensor2D,
  seg: Int32Array,
  label: Int32Array,
  k: number,
  scale: number,
): SegmentSoftmaxCE {
  if (!kernelRegistered(SEGMENT_SOFTMAX_CE)) return segmentSoftmaxCrossEntropyReference(x, protos, seg, label, k, scale);
  checkSegments(x, protos, seg, label, k, 'segmentSoftmaxCrossEntropy');
  // checked here on the host arrays: a device kernel (webgpu) cannot check them without a read-back
  checkRange(seg, 0, seg.length, protos.shape[0] / k, 'segmentSoftmaxCrossEntropy: seg');
  checkRange(label, 0, label.length, k, 'segmentSoftmaxCrossEntropy: label');
  return tf.tidy(() => {
    // the probabilities (third output) are kept by the tape for the backward only
    const [loss, logits] = tf
      .engine()
      .runKernel(SEGMENT_SOFTMAX_CE, { x, protos, seg: tf.tensor1d(seg, 'int32'), label: tf.tensor1d(label, 'int32') }, { k, scale }) as unknown as [
      tf.Scalar,
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    return { loss, logits };
  });
}

/**
 * Column concatenation of row blocks [n, c_i] -> [n, Σc_i], whose gradient is one strided row copy per
 * part (tfjs's own Concat gradient is a SplitV that slices column blocks with generic strided code).
 */
export function concatColumns(xs: tf.Tensor2D[]): tf.Tensor2D {
  if (xs.length === 0) throw new RangeError('concatColumns: no inputs');
  xs.forEach((x, i) => checkRows(x, `xs[${i}]`, 'concatColumns'));
  const n = xs[0]!.shape[0];
  for (const x of xs) if (x.shape[0] !== n) throw new RangeError(`concatColumns: inputs have ${n} and ${x.shape[0]} rows`);
  if (xs.length === 1) return xs[0]!;
  if (!kernelRegistered(CONCAT_COLS)) return tf.concat(xs, 1) as tf.Tensor2D;
  const inputs: tf.NamedTensorMap = {};
  xs.forEach((x, i) => (inputs[`x${i}`] = x));
  return tf.engine().runKernel(CONCAT_COLS, inputs, { widths: xs.map((x) => x.shape[1]) }) as tf.Tensor2D;
}

/**
 * relu(a + b) in one pass, with the ReLU's mask applied to dy in one pass as the gradient of both inputs
 * (composed, tfjs runs Add, Relu, then Step, Cast and Multiply in the backward). The residual sums of the
 * bottleneck blocks and the HRNet's branch fusion end in it.
 */
export function addRelu(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.shape.join() !== b.shape.join()) throw new RangeError(`addRelu: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new TypeError('addRelu: a and b must be float32');
  if (!kernelRegistered(ADD_RELU)) return tf.tidy(() => tf.relu(tf.add(a, b)) as tf.Tensor2D);
  return tf.engine().runKernel(ADD_RELU, { a, b }, {}) as tf.Tensor2D;
}
