import { z } from 'zod';
import { RQ_VARIANT_NAMES, type RqVariant } from '../augment/randomized-quantization.ts';
import { UP_AXES } from '../data/up-axis.ts';

/**
 * The schema pieces every config kind shares (pretraining, few-shot grids and probes, the supervised
 * baseline, the main job), written once: a kind builds its schema from these and adds its own fields.
 * No Node imports, so the viewer could validate with them too.
 */

/**
 * `data.upAxis` of every config with a data section: the axis that points up in the source's files, overriding
 * the one its reader declares (ModelNet trees z, everything else y). The loader turns shapes y-up once.
 */
export const UpAxisField = z.enum(UP_AXES);

/** A data source: synth | synth:<perClass> | modelnet10 | a folder (src/data/sources.ts reads it). */
export const DataSourceField = z.string().min(1);

/** Go on without the shapes a dataset lists but whose files are absent (default: an error listing them). */
export const SkipMissingField = z.boolean();

/** The data section of the configs that read a dataset (a kind may extend it, e.g. pretraining's `normalize`). */
export const DataSchema = z
  .object({
    source: DataSourceField,
    points: z.number().int().positive().optional(),
    synthPerClass: z.number().int().positive().optional(),
    upAxis: UpAxisField.optional(),
    skipMissing: SkipMissingField.optional(),
  })
  .strict();

/** The RQ variants (the bins-values ablations of the paper's Table 1), from the augmentation itself. */
export const RqVariantField = z.enum(RQ_VARIANT_NAMES as [RqVariant, ...RqVariant[]]);

/** Randomized quantization of a pretraining: n bins per axis, the variant, the probability per shape. */
export const RqSchema = z
  .object({
    bins: z.number().int().min(1).max(4096),
    variant: RqVariantField,
    p: z.number().min(0).max(1),
  })
  .strict();
export type RqConfig = z.infer<typeof RqSchema>;

/** The paper's RQ (n = 30, random cuts, values inside the bins, every shape). */
export const PAPER_RQ: RqConfig = { bins: 30, variant: 'random-random', p: 1 };

/**
 * SGD with momentum, the optimizer of every training here: the fields each kind's optimizer section starts
 * from (pretraining's `optim`, a grid's `linear` / `finetune` / `segment`; the supervised baseline's flat
 * recipe takes the same fields). Schedules differ by kind and are added by each.
 */
export const OptimSchema = z
  .object({
    lr: z.number().positive(),
    momentum: z.number().min(0).max(1),
    weightDecay: z.number().min(0),
    batchSize: z.number().int().positive(),
  })
  .strict();
