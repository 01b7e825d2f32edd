import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { Linear } from '../models/layers.ts';
import { MidHRNet, type HRNetConfig } from '../models/mid-hrnet.ts';
import type { ForwardContext } from '../models/params.ts';
import type { Backbone } from '../models/backbone.ts';
import { assignVariables, loadCheckpoint, disposeLoaded, readCheckpointMeta } from '../train/checkpoint.ts';
import { UserError } from '../util/errors.ts';

/**
 * Downstream heads on any registered backbone (src/models/backbones.ts), through the Backbone interface
 * (anchor-spec §3.5 for MID HRNet):
 * - Classifier: backbone -> global feature (MID HRNet: `fc1`) -> a new dense layer to the classes (`cls/fc`),
 *   which takes the place of the shape projection;
 * - Segmenter: backbone -> point features at the input points (MID HRNet: the point head's first FC,
 *   restored from pretraining) -> a new dense layer to the parts (`seg/fc`).
 * The heads live in the backbone's Params, so variable names match the pretraining checkpoint and
 * `loadPretrained` restores everything but the new head. MidClassifier / MidSegmenter build MID HRNet.
 */
export class Classifier<B extends Backbone = Backbone> {
  readonly head: Linear;
  constructor(readonly net: B, classes: number) {
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
  constructor(readonly net: B, parts: number) {
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

/** The HRNet config stored in a pretraining checkpoint. */
export async function checkpointModelConfig(dir: string): Promise<HRNetConfig> {
  const m = (await readCheckpointMeta(dir)).model as HRNetConfig | undefined;
  if (!m || typeof m.depth !== 'number') throw new UserError(`${dir}: checkpoint has no model config (is it a pretraining checkpoint?)`);
  // the downstream commands and grids build MID HRNet; another backbone type goes through Classifier / Segmenter
  const type = (m as { type?: unknown }).type;
  if (type !== undefined && type !== 'mid-hrnet') throw new UserError(`${dir}: the checkpoint's backbone is model.type '${String(type)}'; this command takes MID HRNet checkpoints (other types: new Classifier(buildBackbone(meta.model, seed), classes))`);
  return m;
}

/** Restore a pretraining checkpoint into `net`, leaving the variables under the given prefixes as they are. */
export async function loadPretrained(net: Pick<Backbone, 'params'>, dir: string, newHeads: readonly string[]): Promise<number> {
  const ck = await loadCheckpoint(dir, { arrays: false });
  try {
    return assignVariables(net.params.variables, ck.groups.get('model') ?? new Map(), {
      source: dir,
      skip: (name) => newHeads.some((p) => name.startsWith(p)),
    });
  } finally {
    disposeLoaded(ck);
  }
}
