import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { octreeMaxPool, octreeToDense } from '../../octree/ops/index.ts';
import { Params, type ForwardContext } from './params.ts';
import { FcBnRelu, Linear, convBnRelu, dropout, type OctreeConvBn } from './layers.ts';

/**
 * ocnn-pytorch's LeNet classifier: `stages` = depth-2 conv(3x3)+BN+ReLU / max-pool pairs from the finest
 * depth down to depth 2, the dense depth-2 grid flattened (64 cells x 64 channels = 4096), then
 * dropout, FC 4096 -> 128 + BN + ReLU, dropout, FC -> classes. Channels: 2^max(i+7-stages, 2).
 */
export class OctreeLeNet {
  readonly params: Params;
  private readonly convs: OctreeConvBn[];
  private readonly fc1: FcBnRelu;
  private readonly fc2: Linear;
  readonly stages: number;

  constructor(
    readonly inChannels: number,
    readonly classes: number,
    readonly depth: number,
    seed: number | string = 0,
  ) {
    this.params = new Params(seed);
    this.stages = depth - 2;
    const ch = [inChannels, ...Array.from({ length: this.stages }, (_, i) => 2 ** Math.max(i + 7 - this.stages, 2))];
    const root = this.params.scope('');
    this.convs = Array.from({ length: this.stages }, (_, i) => convBnRelu(root.scope(`conv${i}`), ch[i]!, ch[i + 1]!));
    this.fc1 = new FcBnRelu(root.scope('header/fc1'), 64 * ch[this.stages]!, 128);
    this.fc2 = new Linear(root.scope('header/fc2'), 128, classes);
  }

  forward(input: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D {
    if (octree.fullDepth < 2) throw new RangeError('OctreeLeNet needs fullDepth >= 2 (it flattens the dense depth-2 grid)');
    return tf.tidy(() => {
      let h = input;
      for (let i = 0; i < this.stages; i++) {
        const d = this.depth - i;
        h = octreeMaxPool(this.convs[i]!.apply(h, octree, d, ctx), octree, d);
      }
      let f = octreeToDense(h, octree, 2);
      f = dropout(f, 0.5, ctx, 1);
      f = dropout(this.fc1.apply(f, ctx), 0.5, ctx, 2);
      return this.fc2.apply(f);
    });
  }
}
