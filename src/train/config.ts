import * as fs from 'node:fs';
import { z } from 'zod';
import { UP_AXES } from '../data/up-axis.ts';
import { HRNET_PRESETS, type HRNetConfig } from '../models/presets.ts';
import { validateBackboneSpec, type BackboneSpec } from '../models/backbone.ts';
import { UsageError, UserError } from '../util/errors.ts';
import { describeIssues } from '../util/config-issues.ts';

/**
 * Run configurations, validated (unknown keys are errors) and saved with each run. A config file may name
 * a preset in `extends` and override any field.
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

/**
 * `data.upAxis` of every config with a data section: the axis that points up in the source's files, overriding
 * the one its reader declares (ModelNet trees z, everything else y). The loader turns shapes y-up once.
 */
export const UpAxisField = z.enum(UP_AXES);

const Rq = z
  .object({
    bins: z.number().int().min(1).max(4096),
    variant: z.enum(['random-random', 'random-middle', 'uniform-random', 'uniform-middle']),
    p: z.number().min(0).max(1),
  })
  .strict();

export const PretrainConfigSchema = z
  .object({
    name: z.string(),
    model: HRNetSchema,
    data: z
      .object({
        source: z.string().min(1),
        points: z.number().int().positive().optional(),
        synthPerClass: z.number().int().positive().optional(),
        normalize: z.enum(['sphere', 'bbox']),
        upAxis: UpAxisField.optional(),
        /** Go on without the shapes a dataset lists but whose files are absent (default: an error listing them). */
        skipMissing: z.boolean().optional(),
      })
      .strict(),
    rq: Rq.nullable(),
    clusters: z.number().int().min(1),
    temperature: z.number().positive(),
    bankMomentum: z.number().min(0).max(1),
    lossWeights: z.tuple([z.number(), z.number()]),
    optim: z
      .object({
        lr: z.number().positive(),
        momentum: z.number().min(0).max(1),
        weightDecay: z.number().min(0),
        batchSize: z.number().int().positive(),
        epochs: z.number().int().positive(),
        /**
         * Fractions of the run (optim.epochs) after which the lr is multiplied by 0.1; the reference decays at
         * 50 % and 75 % (iterations 400k and 600k of 800k; the RQ paper's epochs 200 and 300 of 400). Fractions,
         * not epochs, so that changing `epochs` (--epochs, a grid's backbone spec) keeps the schedule's shape.
         */
        decayAt: z.array(z.number().gt(0).max(1)),
      })
      .strict(),
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

const MID_COMMON = {
  keepEpochs: [] as number[],
  monitor: { knn: { k: 20, holdout: 0.1 } },
  rq: { bins: 30, variant: 'random-random' as const, p: 1 },
  clusters: 100,
  temperature: 0.1,
  bankMomentum: 0.5,
  lossWeights: [1, 1] as [number, number],
  seed: 0,
  workers: 1,
};

export const PRETRAIN_PRESETS: Record<string, MidPretrainConfig> = {
  /** The paper's recipe: ShapeNet (57,449 shapes), depth 6, HRNet 128/256/512, 400 epochs. */
  paper: {
    ...MID_COMMON,
    name: 'paper',
    model: HRNET_PRESETS.paper,
    data: { source: 'shapenet', normalize: 'sphere' },
    optim: { lr: 0.03, momentum: 0.9, weightDecay: 5e-4, batchSize: 32, epochs: 400, decayAt: [0.5, 0.75] },
    checkpointEvery: 2000,
  },
  /** CPU-sized: the 3,991 ModelNet10 training shapes, depth 5, a narrow HRNet; under an hour on 2 cores. */
  cpu: {
    ...MID_COMMON,
    name: 'cpu',
    model: HRNET_PRESETS.cpu,
    data: { source: 'modelnet10', normalize: 'sphere' },
    clusters: 50,
    optim: { lr: 0.03, momentum: 0.9, weightDecay: 5e-4, batchSize: 32, epochs: 4, decayAt: [0.5, 0.75] },
    checkpointEvery: 100,
  },
  /** The main job of `npm start`: the bundled synthetic shapes, a few minutes. */
  quick: {
    ...MID_COMMON,
    name: 'quick',
    model: HRNET_PRESETS.cpu,
    data: { source: 'synth', synthPerClass: 40, points: 1024, normalize: 'sphere' },
    clusters: 50,
    optim: { lr: 0.03, momentum: 0.9, weightDecay: 5e-4, batchSize: 16, epochs: 6, decayAt: [0.5, 0.75] },
    checkpointEvery: 50,
  },
  /** Seconds-long runs for tests. */
  tiny: {
    ...MID_COMMON,
    name: 'tiny',
    model: HRNET_PRESETS.tiny,
    data: { source: 'synth', synthPerClass: 4, points: 512, normalize: 'sphere' },
    clusters: 16,
    optim: { lr: 0.03, momentum: 0.9, weightDecay: 5e-4, batchSize: 4, epochs: 2, decayAt: [0.5, 0.75] },
    checkpointEvery: 2,
    workers: 0,
  },
};


function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** A preset name, or a JSON file `{ "extends": "cpu", ...overrides }` (or a complete config). */
export function resolvePretrainConfig(spec: string): PretrainConfig {
  return validatePretrainConfig(resolvePretrainConfigRaw(spec), PRETRAIN_PRESETS[spec] ? `preset ${spec}` : spec);
}

/**
 * The config a preset or file names, merged with its `extends` but not validated yet: the CLI applies its
 * flags and `--set` overrides to it first, then validates the result with the same schema.
 */
export function resolvePretrainConfigRaw(spec: string): Record<string, unknown> {
  const preset = PRETRAIN_PRESETS[spec];
  if (preset) return structuredClone(preset) as unknown as Record<string, unknown>;
  if (!fs.existsSync(spec)) throw new UsageError(`--config: '${spec}' is neither a preset (${Object.keys(PRETRAIN_PRESETS).join(', ')}) nor a file`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(spec, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${spec}: invalid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${spec}: a pretraining config must be a JSON object`);
  const { extends: ext, ...rest } = raw;
  let merged: Record<string, unknown> = rest;
  if (ext !== undefined) {
    if (typeof ext !== 'string' || !PRETRAIN_PRESETS[ext]) throw new UserError(`${spec}: extends must name a preset (${Object.keys(PRETRAIN_PRESETS).join(', ')})`);
    merged = deepMerge(structuredClone(PRETRAIN_PRESETS[ext]!) as unknown as Record<string, unknown>, rest);
    // a model of another backbone type replaces the preset's HRNet instead of merging into it
    const type = (rest.model as { type?: unknown } | undefined)?.type;
    if (type !== undefined && type !== 'mid-hrnet') merged.model = rest.model;
  }
  return merged;
}

export function validatePretrainConfig(obj: unknown, where = 'config'): PretrainConfig {
  const optim = (obj as { optim?: Record<string, unknown> } | null)?.optim;
  if (optim && typeof optim === 'object' && 'milestones' in optim) {
    throw new UserError(`${where}: optim.milestones (epochs) is now optim.decayAt, fractions of the run (the reference: [0.5, 0.75])`);
  }
  const r = pretrainSchemaFor(obj).safeParse(obj);
  if (!r.success) throw new UserError(describeIssues(r.error, obj, where));
  const c = r.data as PretrainConfig;
  if (isMidHrnetSpec(c.model) && c.model.fullDepth > c.model.depth - 3) throw new UserError(`${where}: model.fullDepth must be <= model.depth - 3`);
  if (c.model.fullDepth > c.model.depth) throw new UserError(`${where}: model.fullDepth must be <= model.depth`);
  // another type: registered, and its own fields as its registry entry checks them
  if (!isMidHrnetSpec(c.model)) c.model = validateBackboneSpec(c.model, where);
  return c;
}
