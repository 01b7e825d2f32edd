import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { octreeGlobalPool, octreeMaxPool } from '../../octree/ops/index.ts';
import { Params, type ForwardContext } from './params.ts';
import { FcBnRelu, Linear, ResBlocks, convBnRelu, dropout, type OctreeConvBn } from './layers.ts';

/**
 * ocnn-pytorch's ResNet classifier: conv 3x3 + BN + ReLU and max-pool at the finest depth, then
 * (stages-1) x [bottleneck resblocks, max-pool], per-shape global average pool, FC -> 512 + BN + ReLU,
 * dropout, FC -> classes. Channels 2^max(i+9-stages, 2); stages = depth - 2.
 */
export class OctreeResNet {
  readonly params: Params;
  private readonly conv1: OctreeConvBn;
  private readonly blocks: ResBlocks[];
  private readonly fc1: FcBnRelu;
  private readonly fc2: Linear;
  readonly stages: number;
  readonly channels: number[];

  constructor(
    readonly inChannels: number,
    readonly classes: number,
    readonly depth: number,
    opts: { resblocks?: number; seed?: number | string; widthScale?: number } = {},
  ) {
    this.params = new Params(opts.seed ?? 0);
    this.stages = depth - 2;
    const scale = opts.widthScale ?? 1;
    this.channels = Array.from({ length: this.stages }, (_, i) => Math.max(4, Math.round(2 ** Math.max(i + 9 - this.stages, 2) * scale)));
    const root = this.params.scope('');
    this.conv1 = convBnRelu(root.scope('conv1'), inChannels, this.channels[0]!);
    this.blocks = Array.from(
      { length: this.stages - 1 },
      (_, i) => new ResBlocks(root.scope(`resblocks${i}`), this.channels[i]!, this.channels[i + 1]!, opts.resblocks ?? 2, 4),
    );
    this.fc1 = new FcBnRelu(root.scope('header/fc1'), this.channels[this.stages - 1]!, 512);
    this.fc2 = new Linear(root.scope('header/fc2'), 512, classes);
  }

  /** Per-shape pooled feature before the header. */
  features(input: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      let h = octreeMaxPool(this.conv1.apply(input, octree, this.depth, ctx), octree, this.depth);
      for (let i = 0; i < this.stages - 1; i++) {
        const d = this.depth - i - 1;
        h = octreeMaxPool(this.blocks[i]!.apply(h, octree, d, ctx), octree, d);
      }
      return octreeGlobalPool(h, octree, this.depth - this.stages);
    });
  }

  forward(input: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => this.fc2.apply(dropout(this.fc1.apply(this.features(input, octree, ctx), ctx), 0.5, ctx, 1)));
  }
}
