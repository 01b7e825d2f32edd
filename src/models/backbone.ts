import type * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/octree.ts';
import { UserError } from '../util/errors.ts';
import type { Linear } from './layers.ts';
import type { Params } from './params.ts';

/**
 * What every backbone is to the training code: pretraining, the kNN monitor, classification and segmentation
 * heads talk to a network only through this interface, so a new backbone is one file and one
 * `registerBackbone` call (docs/add-a-backbone.md). The registry is Pointcept's Registry / build_from_cfg
 * idea: a config names its `type`, the registry finds the factory. Only types are imported here (no tfjs at
 * run time), so configs and CLIs can use the registry without loading network code.
 */

/**
 * The fields every backbone config has, whatever its type: the octree it reads (depth, fullDepth; the input
 * signal of the depth-D nodes has `inChannels` columns) and the widths of the two pretraining projections
 * (instance discrimination compares `projection`-wide shape embeddings and `pointOut`-wide point embeddings).
 */
export interface BackboneSpec {
  /** The registered type; absent means 'mid-hrnet' (configs written before the registry). */
  type?: string;
  depth: number;
  fullDepth: number;
  inChannels: number;
  projection: number;
  pointOut: number;
}

/** Both features of one forward pass. */
export interface BackboneFeatures {
  /** One row per shape of the batch [B, globalChannels]: the linear-probe / classification feature. */
  global: tf.Tensor2D;
  /** One row per non-empty depth-D node, in octree order [nnumNempty[D], pointChannels]. */
  point: tf.Tensor2D;
}

export interface Backbone<C extends BackboneSpec = BackboneSpec> {
  /** The registered type this backbone was built as. */
  readonly type: string;
  /** Its config (saved in checkpoints as `meta.model`, read back by `buildBackbone`). */
  readonly config: C;
  /** All variables by name (trainable weights and batch-norm statistics): checkpoints and optimizers use it. */
  readonly params: Params;
  /** Batch norm (and dropout) in training mode; set by the caller before a forward pass. */
  training: boolean;
  readonly globalChannels: number;
  readonly pointChannels: number;
  /**
   * The pretraining projections: shape `global -> projection`, point `point -> pointOut`. They live in the
   * backbone's `params` (MID-Net's reference model owns them too), under `shape_head/fc2` and `point_head/fc2`
   * by convention; downstream heads do not use them. `projectionHeads` builds them for a new backbone.
   */
  readonly projections: { shape: Linear; point: Linear };
  /** Both features (pretraining); `input` is the signal of all depth-D nodes [nnum[D], inChannels]. */
  forward(input: tf.Tensor2D, octree: Octree): BackboneFeatures;
  /** Only the global feature (classification, probes, the kNN monitor): the point branch does not run. */
  globalFeature(input: tf.Tensor2D, octree: Octree): tf.Tensor2D;
  /**
   * Point features: at the non-empty depth-D nodes, or, given `pts` ((x, y, z, shape index) rows with x, y, z
   * in [-1, 1]), at those points [pts.length / 4, pointChannels] (segmentation). The shape branch does not run.
   */
  pointFeature(input: tf.Tensor2D, octree: Octree, pts?: Float32Array): tf.Tensor2D;
  dispose(): void;
}

/** The downstream tasks whose heads wrap a backbone: classification (`Classifier`) and segmentation (`Segmenter`). */
export type DownstreamTask = 'classify' | 'segment';

/**
 * How the reference fine-tune structure (O-CNN run_cls_finetune.py, run_seg_shapenet_finetune.py) splits a
 * backbone's own variables for one downstream task. The task's new layer (`cls/fc`, `seg/fc`) is always head
 * and always at the full rate; these say which of the backbone's variables join it. Head-only mode (a
 * pretrained backbone below 10 % labels, segmentation's '2fc') trains the head alone; otherwise everything
 * that is not `unused` trains, the pretrained backbone at `backboneLrScale` x the head's rate except `fullRate`.
 */
export interface DownstreamParts {
  /** Variables the task never trains: the pretraining projections, the other task's branch. */
  unused(name: string): boolean;
  /** Backbone variables that train beside the new layer in head-only mode (the reference's cls_header / seg_header). */
  head(name: string): boolean;
  /** Backbone variables at the new layer's full rate when the backbone is pretrained (the rest of it: backboneLrScale). */
  fullRate(name: string): boolean;
}

/** How a registered type is built: `build(config, seed)`, with named presets of its config, and its optional hooks. */
export interface BackboneEntry<C extends BackboneSpec = BackboneSpec> {
  build(config: C, seed: number | string): Backbone<C>;
  /** Checks a config of this type (a person wrote it): throws a UserError naming the field, else returns it. */
  validate?(config: BackboneSpec & Record<string, unknown>, where: string): C;
  presets?: Record<string, C>;
  /** What logs call it ('MID HRNet'); default `backbone <type>`. */
  label?: string;
  /** Its size in words for logs and messages ('channels 128/256/512'); default none. */
  describeSize?(config: C): string;
  /**
   * The fine-tune structure per task (see DownstreamParts). Default: the projections under `shape_head/fc2/`
   * and `point_head/fc2/` (projectionHeads' names) are unused, and the new layer alone is the head.
   */
  downstream?: Partial<Record<DownstreamTask, DownstreamParts>>;
  /**
   * Estimated peak wasm heap bytes of one pretraining step on a merged batch with these node counts per depth
   * (nnum: all nodes, nnumNempty: non-empty), so a batch that cannot fit the wasm32 heap fails in seconds
   * (src/train/step-memory.ts). Without it a wasm pretraining run is not checked, and says so in a log line.
   */
  stepHeapBytes?(config: C, nnum: ArrayLike<number>, nnumNempty: ArrayLike<number>): number;
}

const registry = new Map<string, BackboneEntry>();

/** The type a spec (or a built backbone) names ('mid-hrnet' when it names none). */
export function backboneType(spec: { type?: string }): string {
  return spec.type ?? 'mid-hrnet';
}

/** Register a backbone type; registering a taken name is an error (two modules would fight over it). */
export function registerBackbone<C extends BackboneSpec>(type: string, entry: BackboneEntry<C>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(type)) throw new Error(`registerBackbone: type '${type}' must be lower-case letters, digits and dashes`);
  if (registry.has(type)) throw new Error(`registerBackbone: '${type}' is already registered`);
  registry.set(type, entry as unknown as BackboneEntry);
}

/** Drop a registration (tests that register a toy type). */
export function unregisterBackbone(type: string): boolean {
  return registry.delete(type);
}

export function backboneTypes(): string[] {
  return [...registry.keys()].sort();
}

function entryOf(type: string, where: string): BackboneEntry {
  const e = registry.get(type);
  if (!e) throw new UserError(`${where}: model.type '${type}' is not a registered backbone (registered: ${backboneTypes().join(', ') || 'none'})`);
  return e;
}

/** The registry entry of the type a spec names (its hooks); an unregistered type is a UserError naming `where`. */
export function backboneEntry<C extends BackboneSpec>(spec: C, where = 'config'): BackboneEntry<C> {
  return entryOf(backboneType(spec), where) as unknown as BackboneEntry<C>;
}

/** "MID HRNet depth 6, channels 128/256/512", "backbone toy-conv depth 5": a backbone config in one phrase for logs. */
export function describeBackbone(spec: BackboneSpec, where = 'config'): string {
  const e = backboneEntry(spec, where);
  const size = e.describeSize?.(spec);
  return `${e.label ?? `backbone ${backboneType(spec)}`} depth ${spec.depth}${size ? `, ${size}` : ''}`;
}

/** The default split: the projections (projectionHeads' names) unused, no backbone variable in the head. */
const PROJECTIONS_ONLY: DownstreamParts = {
  unused: (n) => n.startsWith('shape_head/fc2/') || n.startsWith('point_head/fc2/'),
  head: () => false,
  fullRate: () => false,
};

/**
 * How the fine-tune structure splits backbones of the type a spec (or a built backbone) names for a task: its
 * entry's hook, else the default.
 */
export function downstreamParts(spec: { type?: string }, task: DownstreamTask, where = 'config'): DownstreamParts {
  return entryOf(backboneType(spec), where).downstream?.[task] ?? PROJECTIONS_ONLY;
}

/** A config of a registered type, checked by that type's `validate` (when it has one). */
export function validateBackboneSpec<C extends BackboneSpec>(spec: C, where = 'config'): C {
  const e = entryOf(backboneType(spec), where);
  return (e.validate ? e.validate(spec as BackboneSpec & Record<string, unknown>, where) : spec) as C;
}

/**
 * Build the backbone a config names: `buildBackbone({ type: 'mid-hrnet', ...HRNET_PRESETS.tiny }, seed)`.
 * The same config and seed give the same initial weights.
 */
export function buildBackbone<C extends BackboneSpec>(spec: C, seed: number | string, where = 'config'): Backbone<C> {
  const e = entryOf(backboneType(spec), where);
  return e.build(e.validate ? e.validate(spec as BackboneSpec & Record<string, unknown>, where) : spec, seed) as unknown as Backbone<C>;
}

/** A named preset of a registered type, with its `type` field set. */
export function backbonePreset(type: string, name: string): BackboneSpec {
  const p = entryOf(type, 'backbonePreset').presets?.[name];
  if (!p)
    throw new UserError(
      `backbone '${type}' has no preset '${name}' (presets: ${Object.keys(entryOf(type, 'backbonePreset').presets ?? {}).join(', ') || 'none'})`,
    );
  return { ...structuredClone(p), type };
}
