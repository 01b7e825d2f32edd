import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { kernelSize, type Kernel } from '../../octree/neighbors.ts';
import { addRelu, fusedBatchNorm, octreeConv, octreeMaxPool, octreeUpsample, matMulNN } from '../../octree/ops/index.ts';
import type { ForwardContext, Scope } from './params.ts';

/**
 * Building blocks of the octree networks, each a small class that creates its variables in the
 * constructor (under a name scope) and applies them in `apply`. They mirror ocnn-pytorch's modules:
 * OctreeConvBnRelu, Conv1x1BnRelu, FcBnRelu, the bottleneck resblock.
 */

/** Batch norm over rows with running statistics (PyTorch semantics: momentum 0.1, unbiased running var). */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  constructor(
    scope: Scope,
    readonly channels: number,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    const p = scope.params;
    this.gamma = p.constant(scope.name('gamma'), [channels], 1, true);
    this.beta = p.constant(scope.name('beta'), [channels], 0, true);
    this.runningMean = p.constant(scope.name('running_mean'), [channels], 0, false);
    this.runningVar = p.constant(scope.name('running_var'), [channels], 1, false);
  }

  /** Batch norm (+ ReLU) in one fused op when training; inference uses the running statistics. */
  apply(x: tf.Tensor2D, ctx: ForwardContext, relu = false): tf.Tensor2D {
    if (!ctx.training) {
      return tf.tidy(() => {
        const scale = tf.div(this.gamma, tf.sqrt(tf.add(this.runningVar, this.eps)));
        const y = tf.add(tf.mul(x, scale), tf.sub(this.beta, tf.mul(this.runningMean, scale))) as tf.Tensor2D;
        return relu ? tf.relu(y) : y;
      });
    }
    return this.applyTrain(x, relu);
  }

  private applyTrain(x: tf.Tensor2D, relu: boolean): tf.Tensor2D {
    return fusedBatchNorm(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, {
      eps: this.eps,
      relu,
      // running statistics are state, not part of the gradient (PyTorch: unbiased running variance),
      // updated on the backend in one kernel: no read-back inside a training step
      running: { mean: this.runningMean, variance: this.runningVar, momentum: this.momentum },
    });
  }
}

/** Octree conv (no bias, as in O-CNN) with Xavier init over fan_in = K·Cin, fan_out = K·Cout. */
export class OctreeConv {
  readonly weights: tf.Variable;
  readonly K: number;
  constructor(
    scope: Scope,
    readonly cin: number,
    readonly cout: number,
    readonly kernel: Kernel = '333',
    readonly stride: 1 | 2 = 1,
    readonly nempty = false,
  ) {
    this.K = kernelSize(kernel);
    this.weights = scope.params.xavier(scope.name('weights'), [this.K * cin, cout], this.K * cin, this.K * cout);
  }
  apply(x: tf.Tensor2D, octree: Octree, depth: number): tf.Tensor2D {
    if (this.K === 1 && this.stride === 1) return matMulNN(x, this.weights as tf.Tensor2D);
    return octreeConv(x, octree, depth, this.weights as tf.Tensor2D, { kernel: this.kernel, stride: this.stride, nempty: this.nempty });
  }
}

export class OctreeConvBn {
  readonly conv: OctreeConv;
  readonly bn: BatchNorm;
  constructor(
    scope: Scope,
    cin: number,
    cout: number,
    kernel: Kernel = '333',
    stride: 1 | 2 = 1,
    nempty = false,
    readonly relu = false,
  ) {
    this.conv = new OctreeConv(scope.scope('conv'), cin, cout, kernel, stride, nempty);
    this.bn = new BatchNorm(scope.scope('bn'), cout);
  }
  apply(x: tf.Tensor2D, octree: Octree, depth: number, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      return this.bn.apply(this.conv.apply(x, octree, depth), ctx, this.relu);
    });
  }
}

export function convBnRelu(scope: Scope, cin: number, cout: number, kernel: Kernel = '333', stride: 1 | 2 = 1, nempty = false): OctreeConvBn {
  return new OctreeConvBn(scope, cin, cout, kernel, stride, nempty, true);
}

/** 1x1 conv + BN (+ ReLU): a per-row dense layer, no octree needed. */
export class Conv1x1Bn {
  readonly weights: tf.Variable;
  readonly bn: BatchNorm;
  constructor(
    scope: Scope,
    cin: number,
    cout: number,
    readonly relu: boolean,
  ) {
    this.weights = scope.params.xavier(scope.scope('conv').name('weights'), [cin, cout], cin, cout);
    this.bn = new BatchNorm(scope.scope('bn'), cout);
  }
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      return this.bn.apply(matMulNN(x, this.weights as tf.Tensor2D), ctx, this.relu);
    });
  }
}

/** Dense layer with bias (PyTorch nn.Linear init: U(-1/sqrt(in), 1/sqrt(in))). */
export class Linear {
  readonly weights: tf.Variable;
  readonly bias: tf.Variable | null;
  constructor(
    scope: Scope,
    readonly cin: number,
    readonly cout: number,
    useBias = true,
  ) {
    this.weights = scope.params.xavier(scope.name('weights'), [cin, cout], cin, cout);
    this.bias = useBias ? scope.params.constant(scope.name('bias'), [cout], 0, true) : null;
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const y = matMulNN(x, this.weights as tf.Tensor2D);
      return this.bias ? (tf.add(y, this.bias) as tf.Tensor2D) : y;
    });
  }
}

/** FC + BN + ReLU (ocnn's FcBnRelu). */
export class FcBnRelu {
  readonly fc: Linear;
  readonly bn: BatchNorm;
  constructor(scope: Scope, cin: number, cout: number) {
    this.fc = new Linear(scope.scope('fc'), cin, cout, false);
    this.bn = new BatchNorm(scope.scope('bn'), cout);
  }
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => this.bn.apply(this.fc.apply(x), ctx, true));
  }
}

export function dropout(x: tf.Tensor2D, rate: number, ctx: ForwardContext, salt: number): tf.Tensor2D {
  if (!ctx.training || rate <= 0) return x;
  return tf.dropout(x, rate, undefined, (ctx.dropoutSeed ?? 0) * 131 + salt) as tf.Tensor2D;
}

/**
 * Bottleneck residual block (ocnn OctreeResBlock / MID-Net's resblock): 1x1 -> C/b, 3x3 C/b, 1x1 -> C,
 * shortcut 1x1+BN when channels change, ReLU of the sum.
 */
export class BottleneckBlock {
  readonly conv1: Conv1x1Bn;
  readonly conv2: OctreeConvBn;
  readonly conv3: Conv1x1Bn;
  readonly shortcut: Conv1x1Bn | null;
  constructor(scope: Scope, cin: number, cout: number, bottleneck: number, nempty = false) {
    const mid = Math.max(1, Math.floor(cout / bottleneck));
    this.conv1 = new Conv1x1Bn(scope.scope('conv1'), cin, mid, true);
    this.conv2 = convBnRelu(scope.scope('conv2'), mid, mid, '333', 1, nempty);
    this.conv3 = new Conv1x1Bn(scope.scope('conv3'), mid, cout, false);
    this.shortcut = cin !== cout ? new Conv1x1Bn(scope.scope('shortcut'), cin, cout, false) : null;
  }
  apply(x: tf.Tensor2D, octree: Octree, depth: number, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.conv3.apply(this.conv2.apply(this.conv1.apply(x, ctx), octree, depth, ctx), ctx);
      const s = this.shortcut ? this.shortcut.apply(x, ctx) : x;
      return addRelu(h, s);
    });
  }
}

/** `n` bottleneck blocks in a row (ocnn OctreeResBlocks). */
export class ResBlocks {
  readonly blocks: BottleneckBlock[];
  constructor(scope: Scope, cin: number, cout: number, n: number, bottleneck: number, nempty = false) {
    this.blocks = Array.from({ length: n }, (_, i) => new BottleneckBlock(scope.scope(`block${i}`), i === 0 ? cin : cout, cout, bottleneck, nempty));
  }
  apply(x: tf.Tensor2D, octree: Octree, depth: number, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => this.blocks.reduce((h, b) => b.apply(h, octree, depth, ctx), x));
  }
}

/** Max-pool `levels` times (depth -> depth - levels), all nodes. */
export function poolLevels(x: tf.Tensor2D, octree: Octree, depth: number, levels: number, nempty = false): tf.Tensor2D {
  return tf.tidy(() => {
    let h = x;
    for (let l = 0; l < levels; l++) h = octreeMaxPool(h, octree, depth - l, nempty);
    return h;
  });
}

/** Nearest-upsample `levels` times (depth -> depth + levels). */
export function upsampleLevels(x: tf.Tensor2D, octree: Octree, depth: number, levels: number, nempty = false): tf.Tensor2D {
  return tf.tidy(() => {
    let h = x;
    for (let l = 0; l < levels; l++) h = octreeUpsample(h, octree, depth + l, { method: 'nearest', nempty });
    return h;
  });
}
