import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { addRelu, concatColumns, octreeDepad, octreeGlobalPool, octreeInterp, octreeMaxPool, octreeUpsample } from '../../octree/ops/index.ts';
import { Params, type ForwardContext, type Scope } from './params.ts';
import { BatchNorm, Conv1x1Bn, Linear, ResBlocks, convBnRelu, poolLevels, upsampleLevels, type OctreeConvBn } from './layers.ts';

/**
 * MID-Net's HRNet backbone and heads (anchor-spec §3.3), for any octree depth D >= 4:
 * front 3x3 conv at D (kept as `front`), max-pool, 3x3 conv at D-1; three stages of bottleneck resblocks on
 * branches at D-1, D-2, D-3 with C, 2C, 4C channels; transitions after stages 1 and 2 add a coarser branch and
 * fuse all branches (same depth: identity; finer -> coarser: max-pool then 1x1+BN; coarser -> finer: 1x1+BN
 * then nearest upsample; ReLU of the sum).
 * Shape head: every branch pooled to D-3, concatenated, 1x1 conv -> fc1 width (BN, ReLU), per-shape mean ->
 * `fc1`; dense -> `fc2` (the 128-d projection). Point head: branches upsampled to D-1, concatenated,
 * trilinear to the non-empty depth-D nodes, + front -> 1x1 conv -> hidden (BN, ReLU) -> dense -> point feature.
 */
export { HRNET_PRESETS, type HRNetConfig } from './presets.ts';
import type { HRNetConfig } from './presets.ts';
import type { Backbone, BackboneFeatures } from './backbone.ts';

/** Bottleneck factor of a branch (MID-Net: 4 below 256 channels, else 8). */
export function bottleneckFactor(channels: number): number {
  return channels < 256 ? 4 : 8;
}

interface FuseEdge {
  from: number;
  to: number;
  conv: Conv1x1Bn | null;
}

class Transition {
  readonly edges: FuseEdge[] = [];
  constructor(
    scope: Scope,
    readonly nIn: number,
    channels: readonly number[],
  ) {
    for (let to = 0; to <= nIn; to++) {
      for (let from = 0; from < nIn; from++) {
        const conv = from === to ? null : new Conv1x1Bn(scope.scope(`from${from}_to${to}`), channels[from]!, channels[to]!, false);
        this.edges.push({ from, to, conv });
      }
    }
  }

  apply(xs: tf.Tensor2D[], octree: Octree, depths: readonly number[], ctx: ForwardContext): tf.Tensor2D[] {
    const outs: tf.Tensor2D[] = [];
    for (let to = 0; to <= this.nIn; to++) {
      outs.push(
        tf.tidy(() => {
          const terms = this.edges
            .filter((e) => e.to === to)
            .map((e) => {
              const x = xs[e.from]!;
              if (e.from === to) return x;
              if (e.from < to) return e.conv!.apply(poolLevels(x, octree, depths[e.from]!, to - e.from), ctx);
              return upsampleLevels(e.conv!.apply(x, ctx), octree, depths[e.from]!, e.from - to);
            });
          // pairwise adds, not addN (its gradient is a copy of dy per term), the last one fused with the ReLU
          if (terms.length === 1) return tf.relu(terms[0]!) as tf.Tensor2D;
          const head = terms.slice(0, -1).reduce((a, b) => tf.add(a, b) as tf.Tensor2D);
          return addRelu(head, terms[terms.length - 1]!);
        }),
      );
    }
    return outs;
  }
}

export interface BackboneOutput {
  /** Branch features, finest first, at depths D-1, D-2, D-3 (all nodes). */
  branches: tf.Tensor2D[];
  /** Front conv output at depth D (all nodes). */
  front: tf.Tensor2D;
}

/**
 * MID HRNet as a registered `Backbone` (type 'mid-hrnet', ./backbones.ts): global feature = `fc1`, point
 * feature = the point head's hidden layer (`point_head/fc1`), projections = `fc2` and `point_head/fc2`. The
 * interface methods run the same ops as the named parts below (test/models/backbone.test.ts checks values,
 * gradients and batch-norm statistics bit for bit), so pretraining through the interface is unchanged.
 */
export class MidHRNet implements Backbone<HRNetConfig> {
  readonly type = 'mid-hrnet';
  training = false;
  readonly params: Params;
  readonly cfg: HRNetConfig;
  readonly branchDepths: number[];
  private readonly front: OctreeConvBn;
  private readonly front2: OctreeConvBn;
  private readonly stages: ResBlocks[][];
  private readonly transitions: Transition[];
  private readonly shapeConv: Conv1x1Bn;
  readonly fc2: Linear;
  readonly pointFc1: Conv1x1Bn;
  readonly pointFc2: Linear;

  constructor(cfg: HRNetConfig, seed: number | string = 0, params?: Params) {
    if (cfg.depth < 4) throw new RangeError(`MidHRNet needs depth >= 4 (three branches below the front), got ${cfg.depth}`);
    if (cfg.fullDepth > cfg.depth - 3) throw new RangeError(`MidHRNet needs fullDepth <= depth - 3, got ${cfg.fullDepth} for depth ${cfg.depth}`);
    this.cfg = cfg;
    this.params = params ?? new Params(seed);
    const root = this.params.scope('');
    const D = cfg.depth;
    const C = cfg.channels;
    this.branchDepths = [D - 1, D - 2, D - 3];
    this.front = convBnRelu(root.scope('front/conv_d'), cfg.inChannels, cfg.frontChannels);
    this.front2 = convBnRelu(root.scope('front/conv_d1'), cfg.frontChannels, C[0]);
    this.stages = [];
    this.transitions = [];
    for (let s = 0; s < 3; s++) {
      this.stages.push(
        Array.from({ length: s + 1 }, (_, b) => new ResBlocks(root.scope(`stage${s + 1}/branch${b}`), C[b]!, C[b]!, cfg.resblocks, bottleneckFactor(C[b]!))),
      );
      if (s < 2) this.transitions.push(new Transition(root.scope(`transition${s + 1}`), s + 1, C));
    }
    const concat = C[0] + C[1] + C[2];
    this.shapeConv = new Conv1x1Bn(root.scope('shape_head/conv'), concat, cfg.fc1, true);
    this.fc2 = new Linear(root.scope('shape_head/fc2'), cfg.fc1, cfg.projection);
    this.pointFc1 = new Conv1x1Bn(root.scope('point_head/fc1'), concat + cfg.frontChannels, cfg.pointHidden, true);
    this.pointFc2 = new Linear(root.scope('point_head/fc2'), cfg.pointHidden, cfg.pointOut);
  }

  /** The backbone on the input signal of all depth-D nodes (rows = nnum[D]). */
  backbone(input: tf.Tensor2D, octree: Octree, ctx: ForwardContext): BackboneOutput {
    const D = this.cfg.depth;
    return tf.tidy(() => {
      const x = this.cfg.signalAbs ? (tf.abs(input) as tf.Tensor2D) : input;
      const front = this.front.apply(x, octree, D, ctx);
      let xs = [this.front2.apply(octreeMaxPool(front, octree, D), octree, D - 1, ctx)];
      for (let s = 0; s < 3; s++) {
        xs = xs.map((h, b) => this.stages[s]![b]!.apply(h, octree, this.branchDepths[b]!, ctx));
        if (s < 2) xs = this.transitions[s]!.apply(xs, octree, this.branchDepths, ctx);
      }
      return { branches: xs, front };
    });
  }

  /** Shape head: `fc1` [B, fc1] (the linear-probe feature) and `fc2` [B, projection]. */
  shapeHead(bb: BackboneOutput, octree: Octree, ctx: ForwardContext): { fc1: tf.Tensor2D; fc2: tf.Tensor2D } {
    const target = this.cfg.depth - 3;
    return tf.tidy(() => {
      const fc1 = this.fc1Of(bb, octree, ctx, target);
      return { fc1, fc2: this.fc2.apply(fc1) };
    });
  }

  private fc1Of(bb: BackboneOutput, octree: Octree, ctx: ForwardContext, target = this.cfg.depth - 3): tf.Tensor2D {
    return tf.tidy(() => {
      const pooled = bb.branches.map((h, b) => poolLevels(h, octree, this.branchDepths[b]!, this.branchDepths[b]! - target));
      const h = this.shapeConv.apply(concatColumns(pooled), ctx);
      return octreeGlobalPool(h, octree, target);
    });
  }

  /**
   * The point head's input: the concatenated branch features at D-1, trilinearly sampled at the non-empty
   * depth-D nodes, with the front features of those nodes: [nnumNempty[D], concat + front].
   */
  pointFeatures(bb: BackboneOutput, octree: Octree): tf.Tensor2D {
    const D = this.cfg.depth;
    return tf.tidy(() => {
      const ups = bb.branches.map((h, b) => upsampleLevels(h, octree, this.branchDepths[b]!, b));
      const cat = concatColumns(ups);
      // depad to the non-empty rows at D-1, then trilinear to the non-empty rows at D
      const fine = octreeUpsample(octreeDepad(cat, octree, D - 1), octree, D - 1, { method: 'linear', nempty: true });
      return concatColumns([fine, octreeDepad(bb.front, octree, D)]);
    });
  }

  /**
   * The point head's input at arbitrary points (MID-Net's seg_header_pts): the concatenated branch features at
   * D-1 sampled trilinearly at the points, with a nearest lookup of the front features at D. `pts` are
   * (x, y, z, shape index) with x, y, z in [-1, 1].
   */
  pointFeaturesAt(bb: BackboneOutput, octree: Octree, pts: Float32Array): tf.Tensor2D {
    const D = this.cfg.depth;
    return tf.tidy(() => {
      const ups = bb.branches.map((h, b) => upsampleLevels(h, octree, this.branchDepths[b]!, b));
      const cat = octreeDepad(concatColumns(ups), octree, D - 1);
      const coarse = octreeInterp(cat, octree, D - 1, pts, { method: 'linear', nempty: true });
      const fine = octreeInterp(octreeDepad(bb.front, octree, D), octree, D, pts, { method: 'nearest', nempty: true });
      return concatColumns([coarse, fine]);
    });
  }

  /** Point head on the non-empty depth-D nodes: hidden [n, pointHidden] and output [n, pointOut]. */
  pointHead(bb: BackboneOutput, octree: Octree, ctx: ForwardContext): { hidden: tf.Tensor2D; out: tf.Tensor2D } {
    return tf.tidy(() => {
      const hidden = this.pointFc1.apply(this.pointFeatures(bb, octree), ctx);
      return { hidden, out: this.pointFc2.apply(hidden) };
    });
  }

  get config(): HRNetConfig {
    return this.cfg;
  }
  get globalChannels(): number {
    return this.cfg.fc1;
  }
  get pointChannels(): number {
    return this.cfg.pointHidden;
  }
  get projections(): { shape: Linear; point: Linear } {
    return { shape: this.fc2, point: this.pointFc2 };
  }

  private get ctx(): ForwardContext {
    return { training: this.training };
  }

  forward(input: tf.Tensor2D, octree: Octree): BackboneFeatures {
    const ctx = this.ctx;
    return tf.tidy(() => {
      const bb = this.backbone(input, octree, ctx);
      const global = this.fc1Of(bb, octree, ctx);
      return { global, point: this.pointFc1.apply(this.pointFeatures(bb, octree), ctx) };
    });
  }

  globalFeature(input: tf.Tensor2D, octree: Octree): tf.Tensor2D {
    const ctx = this.ctx;
    return tf.tidy(() => this.fc1Of(this.backbone(input, octree, ctx), octree, ctx));
  }

  pointFeature(input: tf.Tensor2D, octree: Octree, pts?: Float32Array): tf.Tensor2D {
    const ctx = this.ctx;
    return tf.tidy(() => {
      const bb = this.backbone(input, octree, ctx);
      return this.pointFc1.apply(pts ? this.pointFeaturesAt(bb, octree, pts) : this.pointFeatures(bb, octree), ctx);
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** All batch norms of the model are reachable through Params; this is only used to type-check imports. */
export type { BatchNorm };
