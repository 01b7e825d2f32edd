import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { Linear } from '../models/layers.ts';
import { MidHRNet, type HRNetConfig } from '../models/mid-hrnet.ts';
import type { ForwardContext } from '../models/params.ts';
import type { Backbone } from '../models/backbone.ts';

/**
 * Downstream heads on any registered backbone (src/models/backbones.ts), through the Backbone interface
 * (anchor-spec §3.5 for MID HRNet):
 * - Classifier: backbone -> global feature (MID HRNet: `fc1`) -> a new dense layer to the classes (`cls/fc`),
 *   which takes the place of the shape projection;
 * - Segmenter: backbone -> point features at the input points (MID HRNet: the point head's first FC,
 *   restored from pretraining) -> a new dense layer to the parts (`seg/fc`).
 * The heads live in the backbone's Params, so variable names match the pretraining checkpoint and
 * `loadPretrained` (./pretrained.ts) restores everything but the new head. MidClassifier / MidSegmenter build MID
 * HRNet. Nothing here reads files: the viewer builds its predictors from this module.
 */
export class Classifier<B extends Backbone = Backbone> {
  readonly head: Linear;
  constructor(
    readonly net: B,
    classes: number,
  ) {
    this.head = new Linear(net.params.scope('cls/fc'), net.globalChannels, classes);
  }
  fc1(x: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D {
    this.net.training = ctx.training;
    return this.net.globalFeature(x, octree);
  }
  logits(x: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => this.head.apply(this.fc1(x, octree, ctx)));
  }
  dispose(): void {
    this.net.dispose();
  }
}

export class MidClassifier extends Classifier<MidHRNet> {
  constructor(cfg: HRNetConfig, classes: number, seed: number | string) {
    super(new MidHRNet(cfg, seed), classes);
  }
}

export class Segmenter<B extends Backbone = Backbone> {
  readonly head: Linear;
  constructor(
    readonly net: B,
    parts: number,
  ) {
    this.head = new Linear(net.params.scope('seg/fc'), net.pointChannels, parts);
  }
  /** Logits at the given points ((x, y, z, shape) in [-1, 1]). */
  logits(x: tf.Tensor2D, octree: Octree, pts: Float32Array, ctx: ForwardContext): tf.Tensor2D {
    this.net.training = ctx.training;
    return tf.tidy(() => this.head.apply(this.net.pointFeature(x, octree, pts)));
  }
  dispose(): void {
    this.net.dispose();
  }
}

export class MidSegmenter extends Segmenter<MidHRNet> {
  constructor(cfg: HRNetConfig, parts: number, seed: number | string) {
    super(new MidHRNet(cfg, seed), parts);
  }
}
