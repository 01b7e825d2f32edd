import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { Linear } from '../models/layers.ts';
import { MidHRNet, type HRNetConfig } from '../models/mid-hrnet.ts';
import type { ForwardContext } from '../models/params.ts';
import { assignVariables, loadCheckpoint, disposeLoaded, readCheckpointMeta } from '../train/checkpoint.ts';
import { UserError } from '../util/errors.ts';

/**
 * Downstream networks on the MID HRNet backbone (anchor-spec §3.5):
 * - MidClassifier: backbone -> shape head up to `fc1` -> a new dense layer to the classes (`cls/fc`), which
 *   takes the place of the 128-d projection `fc2`;
 * - MidSegmenter: backbone -> point features at the input points -> the point head's first FC (restored from
 *   pretraining) -> a new dense layer to the parts (`seg/fc`).
 * Variable names match the pretraining checkpoint, so `loadPretrained` restores everything but the new head.
 */
export class MidClassifier {
  readonly net: MidHRNet;
  readonly head: Linear;
  constructor(cfg: HRNetConfig, classes: number, seed: number | string) {
    this.net = new MidHRNet(cfg, seed);
    this.head = new Linear(this.net.params.scope('cls/fc'), cfg.fc1, classes);
  }
  fc1(x: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => this.net.shapeHead(this.net.backbone(x, octree, ctx), octree, ctx).fc1);
  }
  logits(x: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => this.head.apply(this.fc1(x, octree, ctx)));
  }
  dispose(): void {
    this.net.dispose();
  }
}

export class MidSegmenter {
  readonly net: MidHRNet;
  readonly head: Linear;
  constructor(cfg: HRNetConfig, parts: number, seed: number | string) {
    this.net = new MidHRNet(cfg, seed);
    this.head = new Linear(this.net.params.scope('seg/fc'), cfg.pointHidden, parts);
  }
  /** Logits at the given points ((x, y, z, shape) in [-1, 1]). */
  logits(x: tf.Tensor2D, octree: Octree, pts: Float32Array, ctx: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      const bb = this.net.backbone(x, octree, ctx);
      return this.head.apply(this.net.pointFc1.apply(this.net.pointFeaturesAt(bb, octree, pts), ctx));
    });
  }
  dispose(): void {
    this.net.dispose();
  }
}

/** The HRNet config stored in a pretraining checkpoint. */
export async function checkpointModelConfig(dir: string): Promise<HRNetConfig> {
  const m = (await readCheckpointMeta(dir)).model as HRNetConfig | undefined;
  if (!m || typeof m.depth !== 'number') throw new UserError(`${dir}: checkpoint has no model config (is it a pretraining checkpoint?)`);
  return m;
}

/** Restore a pretraining checkpoint into `net`, leaving the variables under the given prefixes as they are. */
export async function loadPretrained(net: MidHRNet, dir: string, newHeads: readonly string[]): Promise<number> {
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
