import { z } from 'zod';
import type { HRNetConfig } from '../models/presets.ts';
import { validateBackboneSpec, type BackboneSpec } from '../models/backbone.ts';
import { UserError } from '../util/errors.ts';
import { describeIssues, type IssueWhere } from '../util/config-issues.ts';
import { resolveConfig, type ConfigKind } from '../config/load.ts';
import { findPreset, presetList, presetRecord } from '../config/presets.ts';
import { DataSchema, OptimSchema, RqSchema, UpAxisField } from '../config/schemas.ts';

/**
 * Pretraining configurations, validated (unknown keys are errors) and saved with each run. A config file
 * may `extends` a preset or another file and override any field (src/config/load.ts, docs/configs.md).
 */
/** MID HRNet's config fields (also a few-shot grid's `model` in its object form). */
export const HRNetSchema = z
  .object({
    depth: z.number().int().min(4).max(8),
    fullDepth: z.number().int().min(0).max(5),
    inChannels: z.number().int().positive(),
    frontChannels: z.number().int().positive(),
    channels: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    resblocks: z.number().int().min(1),
    fc1: z.number().int().positive(),
    projection: z.number().int().positive(),
    pointHidden: z.number().int().positive(),
    pointOut: z.number().int().positive(),
    signalAbs: z.boolean(),
    /** `model: { type: 'mid-hrnet', ... }`; configs without a type mean the same. */
    type: z.literal('mid-hrnet').optional(),
  })
  .strict();

/**
 * The model of a config whose `type` is another registered backbone (src/models/backbones.ts): the fields
 * every backbone has are checked here, the type's own fields by its registry entry when it is built.
 */
const OtherBackbone = z
  .object({
    type: z.string().min(1),
    depth: z.number().int().min(2).max(8),
    fullDepth: z.number().int().min(0).max(5),
    inChannels: z.number().int().positive(),
    projection: z.number().int().positive(),
    pointOut: z.number().int().positive(),
  })
  .passthrough();

/** A config's model: MID HRNet (typed or not), or another registered backbone type. */
export type ModelSpec = (HRNetConfig & { type?: 'mid-hrnet' }) | (BackboneSpec & { type: string } & Record<string, unknown>);

/** Whether a config's model is MID HRNet (the only type with HRNet-specific memory estimates and presets). */
export function isMidHrnetSpec(m: ModelSpec): m is HRNetConfig & { type?: 'mid-hrnet' } {
  return m.type === undefined || m.type === 'mid-hrnet';
}

/** `data.upAxis` (re-exported from the shared schemas, where every config kind takes it). */
export { UpAxisField };

export const PretrainConfigSchema = z
  .object({
    name: z.string(),
    model: HRNetSchema,
    data: DataSchema.extend({ normalize: z.enum(['sphere', 'bbox']) }),
    /** Randomized quantization, or null for plain MID-Net. */
    rq: RqSchema.nullable(),
    clusters: z.number().int().min(1),
    temperature: z.number().positive(),
    bankMomentum: z.number().min(0).max(1),
    lossWeights: z.tuple([z.number(), z.number()]),
    optim: OptimSchema.extend({
      epochs: z.number().int().positive(),
      /**
       * Fractions of the run (optim.epochs) after which the lr is multiplied by 0.1; the reference decays at
       * 50 % and 75 % (iterations 400k and 600k of 800k; the RQ paper's epochs 200 and 300 of 400). Fractions,
       * not epochs, so that changing `epochs` (--epochs, a grid's backbone spec) keeps the schedule's shape.
       */
      decayAt: z.array(z.number().gt(0).max(1)),
    }),
    seed: z.number().int(),
    checkpointEvery: z.number().int().positive(),
    /**
     * Epochs whose end state is also kept as its own checkpoint folder `checkpoint-e<N>/` (model weights and
     * batch-norm statistics, loadable by the downstream commands), besides the rolling resumable `checkpoint/`.
     */
    keepEpochs: z.array(z.number().int().positive()).default([]),
    /**
     * Per-epoch monitor (labels used only here, never for training): top-1 of a cosine kNN classifier on fc1
     * features, a seeded `holdout` fraction of the training shapes as queries, the rest as the memory.
     * `false` turns it off; datasets without class labels skip it.
     */
    monitor: z
      .object({ knn: z.union([z.literal(false), z.object({ k: z.number().int().min(1), holdout: z.number().gt(0).lt(1) }).strict()]) })
      .strict()
      .default({ knn: { k: 20, holdout: 0.1 } }),
    workers: z.number().int().min(0),
  })
  .strict();

/** The schema for another backbone type's config: the same, with that type's model fields. */
const PretrainConfigSchemaOther = PretrainConfigSchema.extend({ model: OtherBackbone });

/** The schema a raw config is validated by: the one for its `model.type`. */
export function pretrainSchemaFor(obj: unknown): typeof PretrainConfigSchema | typeof PretrainConfigSchemaOther {
  const t = (obj as { model?: { type?: unknown } } | null)?.model?.type;
  return t === undefined || t === 'mid-hrnet' ? PretrainConfigSchema : PretrainConfigSchemaOther;
}

export type PretrainConfig = Omit<z.infer<typeof PretrainConfigSchema>, 'model'> & { model: ModelSpec };
/** A pretraining config on MID HRNet (every preset). */
export type MidPretrainConfig = Omit<PretrainConfig, 'model'> & { model: HRNetConfig & { type?: 'mid-hrnet' } };

/**
 * The pretraining config kind for the loader (src/config/load.ts): presets under experiments/presets/pretrain/;
 * a `model` written as a model preset's name (`"hrnet-cpu"`) is that preset's fields; a model of another
 * backbone type replaces the parent's HRNet instead of merging into it.
 */
export const PRETRAIN_KIND: ConfigKind = {
  label: 'pretraining config',
  presets: 'pretrain',
  prepare: (raw, _dir, where) => expandModelPreset(raw, where),
  replaces: (key, child) => key.length === 1 && key[0] === 'model' && child.type !== undefined && child.type !== 'mid-hrnet',
};

/** `model: "<model preset>"` as the preset's fields (in place; other values are left to the schema). */
export function expandModelPreset(raw: Record<string, unknown>, where: string): Record<string, unknown> {
  if (typeof raw.model !== 'string') return raw;
  const p = findPreset('model', raw.model);
  if (!p) throw new UserError(`${where}: model: '${raw.model}' is not a model preset (${presetList('model')})`);
  raw.model = structuredClone(p.json);
  return raw;
}

/**
 * The pretraining presets (experiments/presets/pretrain/*.json), resolved and validated: `PRETRAIN_PRESETS.cpu`
 * is `PRETRAIN_PRESETS['mid-modelnet10-cpu']` (an alias, not listed by Object.keys). Each keeps the `name` it
 * had before presets were files ('paper', 'cpu', 'quick', 'tiny'): the name is part of a pretraining recipe's
 * hash, so grid cells computed with the old names stay current.
 */
export const PRETRAIN_PRESETS: Record<string, MidPretrainConfig> = presetRecord(
  'pretrain',
  (p) => validatePretrainConfig(resolveConfig(p.name, PRETRAIN_KIND).raw, `preset ${p.name}`) as MidPretrainConfig,
);

/** A preset name, or a JSON file `{ "extends": "mid-modelnet10-cpu", ...overrides }` (or a complete config). */
export function resolvePretrainConfig(spec: string): PretrainConfig {
  const r = resolveConfig(spec, PRETRAIN_KIND);
  return validatePretrainConfig(r.raw, r.whereOf);
}

/**
 * The config a preset or file names, merged with its `extends` but not validated yet: the CLI applies its
 * flags and `--set` overrides to it first, then validates the result with the same schema.
 */
export function resolvePretrainConfigRaw(spec: string): Record<string, unknown> {
  return resolveConfig(spec, PRETRAIN_KIND).raw;
}

export function validatePretrainConfig(obj: unknown, whereIn: IssueWhere = 'config'): PretrainConfig {
  const where = typeof whereIn === 'string' ? whereIn : whereIn([]);
  const optim = (obj as { optim?: Record<string, unknown> } | null)?.optim;
  if (optim && typeof optim === 'object' && 'milestones' in optim) {
    throw new UserError(`${where}: optim.milestones (epochs) is now optim.decayAt, fractions of the run (the reference: [0.5, 0.75])`);
  }
  const r = pretrainSchemaFor(obj).safeParse(obj);
  if (!r.success) throw new UserError(describeIssues(r.error, obj, whereIn));
  const c = r.data as PretrainConfig;
  if (isMidHrnetSpec(c.model) && c.model.fullDepth > c.model.depth - 3) throw new UserError(`${where}: model.fullDepth must be <= model.depth - 3`);
  if (c.model.fullDepth > c.model.depth) throw new UserError(`${where}: model.fullDepth must be <= model.depth`);
  // another type: registered, and its own fields as its registry entry checks them
  if (!isMidHrnetSpec(c.model)) c.model = validateBackboneSpec(c.model, where);
  return c;
}
