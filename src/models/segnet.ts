import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { octreeInterp, octreeMaxPoolWithIndices, octreeMaxUnpool } from '../../octree/ops/index.ts';
import { Params, type ForwardContext } from './params.ts';
import { Conv1x1Bn, Linear, convBnRelu, dropout, type OctreeConvBn } from './layers.ts';

/**
 * ocnn-pytorch's SegNet for part segmentation (the supervised segmentation baseline): an encoder of
 * conv(3x3)+BN+ReLU / max-pool stages from the finest depth down, a decoder of max-unpool (to the winning
 * sibling) / conv(3x3)+BN+ReLU stages back up, then the node features are interpolated at the input points
 * and a 1x1 conv + BN + ReLU, dropout and a dense layer give per-point part logits.
 * Channels: encoder 2^(i+5) capped at 256 from the finest stage; decoder mirrors them.
 */
export class OctreeSegNet {
  readonly params: Params;
  private readonly enc: OctreeConvBn[];
  private readonly dec: OctreeConvBn[];
  private readonly head: Conv1x1Bn;
  private readonly out: Linear;
  readonly channels: number[];

  constructor(
    readonly inChannels: number,
    readonly parts: number,
    readonly depth: number,
    readonly stages = 3,
    opts: { seed?: number | string; interp?: 'linear' | 'nearest' } = {},
  ) {
    this.params = new Params(opts.seed ?? 0);
    this.interp = opts.interp ?? 'linear';
    const root = this.params.scope('');
    this.channels = Array.from({ length: stages }, (_, i) => Math.min(256, 2 ** (i + 5)));
    this.enc = this.channels.map((c, i) => convBnRelu(root.scope(`enc${i}`), i === 0 ? inChannels : this.channels[i - 1]!, c));
    // decoder stage i works at depth (depth - stages + i + 1) and maps channels[stages-1-i] -> channels[stages-2-i]
    this.dec = Array.from({ length: stages }, (_, i) => {
      const cin = this.channels[stages - 1 - i]!;
      const cout = this.channels[Math.max(0, stages - 2 - i)]!;
      return convBnRelu(root.scope(`dec${i}`), cin, cout);
    });
    this.head = new Conv1x1Bn(root.scope('header/conv'), this.channels[0]!, 64, true);
    this.out = new Linear(root.scope('header/fc'), 64, parts);
  }

  private readonly interp: 'linear' | 'nearest';

  /** Per-point logits at `pts` = (x, y, z, shape) in [-1, 1] from the all-node input signal at `depth`. */
  forward(input: tf.Tensor2D, octree: Octree, pts: Float32Array, ctx: ForwardContext): tf.Tensor2D {
    if (this.depth - this.stages < 1) throw new RangeError(`SegNet needs depth - stages >= 1, got ${this.depth} - ${this.stages}`);
    return tf.tidy(() => {
      let h = input;
      const indices: tf.Tensor2D[] = [];
      for (let i = 0; i < this.stages; i++) {
        const d = this.depth - i;
        const pooled = octreeMaxPoolWithIndices(this.enc[i]!.apply(h, octree, d, ctx), octree, d, false);
        indices.push(pooled.indices!);
        h = pooled.value;
      }
      for (let i = 0; i < this.stages; i++) {
        const d = this.depth - this.stages + i + 1;
        h = this.dec[i]!.apply(octreeMaxUnpool(h, indices[this.stages - 1 - i]!, octree, d, false), octree, d, ctx);
      }
      const f = octreeInterp(h, octree, this.depth, pts, { method: this.interp, nempty: false });
      return this.out.apply(dropout(this.head.apply(f, ctx), 0.5, ctx, 7));
    });
  }
}
