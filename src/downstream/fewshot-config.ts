import * as path from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors.ts';
import { HRNetSchema } from '../train/config.ts';
import { validateBackboneSpec, type BackboneSpec as ModelSpec } from '../models/backbones.ts';
import { describeIssues, type IssueWhere } from '../util/config-issues.ts';
import { resolveConfig, type ConfigKind, type ResolvedConfig } from '../config/load.ts';
import { findPreset, PRESETS } from '../config/presets.ts';
import { DataSchema, OptimSchema, RqSchema } from '../config/schemas.ts';

/**
 * A few-shot experiment grid: backbones x protocols x ratios x seeds on one dataset. Validated (unknown keys
 * are errors). Backbones are random init (`scratch`), an existing pretraining checkpoint, or a pretraining
 * config that the runner pretrains first (resumable), so one config file reproduces a whole table.
 */
const Hyper = OptimSchema.extend({
  /** Steps at ratio 1; a cell trains max(minSteps, round(baseSteps * ratio * multiplier(ratio))) steps. */
  baseSteps: z.number().int().positive(),
  minSteps: z.number().int().positive(),
  /** Reference multipliers m per ratio (e.g. {"0.01": 4}); ratios not listed use 1. */
  multipliers: z.record(z.string(), z.number().positive()),
  decayAt: z.array(z.number().min(0).max(1)),
  backboneLrScale: z.number().min(0),
  /**
   * Ratios below this train the head only, a pretrained backbone's batch norms still updating their
   * statistics (reference: 0.1 for classification fine-tuning, none for segmentation).
   */
  headOnlyBelow: z.number().min(0).max(1),
  /**
   * Fine-tuning: the new classifier starts from a linear probe (the config's 'linear' recipe on the
   * training subset's features) instead of random weights ("LP-FT"); default 'random' (the reference).
   */
  headInit: z.enum(['random', 'linear-probe']).optional(),
});

const Protocol = z.enum(['linear', 'finetune', '2fc']);
/** A backbone runs only these of the grid's protocols (default: all of them). */
const BackboneProtocols = z.array(Protocol).min(1);

/**
 * The claim a grid tests, written before it runs (DESIGN.md "Experiments"): the report applies the rule to
 * whatever cells exist and writes the verdict whichever way it goes.
 * - holds when, in every one of `protocols` and at every one of `ratios`, the treatment's mean over the
 *   downstream seeds is above the control's;
 * - with several pretraining seeds (`treatment` and `control` lists, paired by position: one pair per
 *   pretraining seed) it holds when that is true for every pair and the pairs' mean difference is larger than
 *   the spread between the pretraining seeds (the larger range of either arm's mean across them);
 * - no-go when a pretrained arm fails a go figure: its last epoch's mean shape-instance accuracy below
 *   `go.instanceOverChance` x chance, its kNN monitor not rising (last epoch below the random init +
 *   `go.knnRise`, or below its value at a quarter of the epochs), or its linear accuracy with all labels
 *   below `go.linearFull`.
 */
const Claim = z
  .object({
    statement: z.string(),
    /** The treated arm's backbone, or one per pretraining seed (paired by position with `control`'s). */
    treatment: z.union([z.string(), z.array(z.string()).min(2)]),
    control: z.union([z.string(), z.array(z.string()).min(2)]),
    protocols: z.array(Protocol).min(1),
    ratios: z.array(z.number().gt(0).max(1)).min(1),
    go: z
      .object({
        instanceOverChance: z.number().positive(),
        knnRise: z.number(),
        linearFull: z.number().min(0).max(1),
      })
      .strict(),
  })
  .strict();

const Backbone = z.union([
  /**
   * 'scratch': the whole network trained from random initialization with the fine-tune recipe (the
   * section 'finetune' / 'segment') at the full rate, in every protocol (the paper's Scratch row).
   * 'random': a frozen random-init network whose batch-norm statistics are first computed on the training
   * shapes, probed like a pretrained one (linear protocol only; reported as "random frozen (BN stats on train)").
   */
  z.object({ from: z.enum(['scratch', 'random']) }).strict(),
  z
    .object({
      checkpoint: z.string(),
      /**
       * A checkpoint kept during a pretraining (`keepEpochs`): the arm it belongs to and its epoch, so the
       * report draws accuracy against pretraining epochs per arm (`epochs.svg`).
       */
      arm: z.string().optional(),
      epoch: z.number().int().positive().optional(),
      protocols: BackboneProtocols.optional(),
    })
    .strict(),
  z
    .object({
      pretrain: z.string(),
      protocols: BackboneProtocols.optional(),
      rq: z.union([z.literal(false), RqSchema]).optional(),
      epochs: z.number().int().positive().optional(),
      /** The pretraining's seed (default: its config's): a second pretraining seed of an arm. */
      seed: z.number().int().optional(),
      maxSteps: z.number().int().positive().optional(),
      data: z.string().optional(),
      /** Run folder of the pretraining (relative to the config file); default <results>/pretrain-<name>. */
      out: z.string().optional(),
    })
    .strict(),
]);

/**
 * The model presets' short names (aliases of hrnet-paper, hrnet-cpu, hrnet-tiny), which grids are written
 * with: the names a bad one's message lists. Every model preset name is accepted (src/config/presets.ts).
 */
const SHORT_NAMES = PRESETS.filter((p) => p.kind === 'model').flatMap((p) => p.aliases);
const PresetName = z.enum(SHORT_NAMES as [string, ...string[]]);
/**
 * A preset name or an HRNet config object. Checked by whichever form the value has, so a bad name still reads
 * "must be one of paper, cpu, tiny" (a zod union would only say that no form matched).
 */
const FewshotModel = z.custom<string | z.infer<typeof HRNetSchema> | (ModelSpec & Record<string, unknown>)>().superRefine((v, ctx) => {
  if (typeof v === 'string' && findPreset('model', v)) return;
  // another registered type is checked by its own registry entry (its fields, its one-line message)
  if (v !== null && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string' && (v as { type: string }).type !== 'mid-hrnet') {
    try {
      validateBackboneSpec(v as ModelSpec, 'model');
    } catch (e) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    }
    return;
  }
  const r = (v !== null && typeof v === 'object' ? HRNetSchema : PresetName).safeParse(v);
  if (!r.success) for (const issue of r.error.issues) ctx.addIssue(issue as z.IssueData);
});

/**
 * The backbone config a grid's `model` names, for its scratch and random backbones: a MID HRNet preset or
 * config (without its `type`, as before the registry, so cell hashes stay), or any other registered type as given.
 */
export function fewshotModel(model: FewshotConfig['model']): ModelSpec {
  if (typeof model === 'string') return structuredClone(findPreset('model', model)!.json) as unknown as ModelSpec;
  if (typeof model.type === 'string' && model.type !== 'mid-hrnet') return structuredClone(model) as ModelSpec;
  const { type: _type, ...cfg } = model;
  return cfg as ModelSpec;
}

export const FewshotConfigSchema = z
  .object({
    name: z.string(),
    /** Free text: how this protocol departs from the reference and why (shown in the report). */
    notes: z.string().optional(),
    task: z.enum(['classification', 'segmentation']),
    data: DataSchema,
    /**
     * The network of scratch and random backbones (pretrained ones use their checkpoint's config): a MID HRNet
     * preset name, its config `{ "type": "mid-hrnet", ...fields }`, or any registered type's config.
     */
    model: FewshotModel,
    backbones: z.record(z.string(), Backbone),
    protocols: z.array(Protocol).min(1),
    ratios: z.array(z.number().gt(0).max(1)).min(1),
    seeds: z.array(z.number().int()).min(1),
    linear: Hyper.optional(),
    finetune: Hyper.optional(),
    segment: Hyper.optional(),
    /**
     * A budget probe (`rq3d budget-curve`): the fine-tune cells of the grid at each of these step counts
     * (each its own run, its schedule scaled to it), to read off where accuracy stops climbing.
     */
    budgetCurve: z
      .object({ steps: z.array(z.number().int().positive()).min(1) })
      .strict()
      .optional(),
    /** The pre-registered claim and its decision rule (the report writes the verdict). */
    claim: Claim.optional(),
    /** This grid's key in `<results>/summary.json` (default: its name). */
    summaryKey: z.string().optional(),
    /**
     * The supervised baseline run beside this grid (a folder relative to the results folder, e.g.
     * "supervised-modelnet10"): its result.json's accuracy goes into the summary as `<summaryKey>.supervised`.
     */
    supervisedBaseline: z.string().min(1).optional(),
    /** Segmentation: only these categories (default all). */
    categories: z.array(z.string()).optional(),
    /**
     * Which training shapes a ratio labels: "reference" (the default) the reference's fixed subset, the same for
     * every seed (the first files per class in name order: cls_modelnet.py's lists; ShapeNet Part's list order);
     * "per-seed" a subset of the same size per class drawn for each downstream seed, so that the spread over
     * seeds includes which shapes were labelled (nested across ratios within a seed).
     */
    subsets: z.enum(['reference', 'per-seed']).optional(),
    workers: z.number().int().min(0).default(1),
  })
  .strict();

export type FewshotConfig = z.infer<typeof FewshotConfigSchema>;

/** A claim's treatment or control as a list: one backbone per pretraining seed. */
export function armList(v: string | readonly string[]): string[] {
  return typeof v === 'string' ? [v] : [...v];
}
export type HyperParams = z.infer<typeof Hyper>;
export type BackboneSpec = z.infer<typeof Backbone>;
export type ClaimSpec = z.infer<typeof Claim>;

/** The protocols of the grid that a backbone runs: its own list, and a frozen random network is a probe only. */
export function backboneProtocols(spec: BackboneSpec, protocols: readonly string[]): string[] {
  const own = 'from' in spec ? (spec.from === 'random' ? ['linear'] : null) : (spec.protocols ?? null);
  return own ? protocols.filter((p) => own.includes(p as 'linear')) : [...protocols];
}

export function stepsFor(h: HyperParams, ratio: number): number {
  const m = h.multipliers[ratio.toFixed(2)] ?? h.multipliers[String(ratio)] ?? 1;
  return Math.max(h.minSteps, Math.round(h.baseSteps * ratio * m));
}

/**
 * The experiment config kind (few-shot grids, budget probes, the main job) for the loader: no presets, so
 * `extends` names another grid file; each file's relative checkpoint / pretraining paths are made absolute
 * against its own folder before merging, so a child in another folder inherits paths that still point right.
 */
export const FEWSHOT_KIND: ConfigKind = {
  label: 'experiment config',
  prepare: (raw, dir) => {
    const backbones = raw.backbones;
    if (dir === null || backbones === null || typeof backbones !== 'object' || Array.isArray(backbones)) return raw;
    for (const b of Object.values(backbones as Record<string, unknown>)) {
      if (b === null || typeof b !== 'object') continue;
      const spec = b as Record<string, unknown>;
      for (const k of ['checkpoint', 'out', 'pretrain'] as const) {
        const v = spec[k];
        if (typeof v !== 'string' || path.isAbsolute(v) || (k === 'pretrain' && !v.endsWith('.json'))) continue;
        spec[k] = path.resolve(dir, v);
      }
    }
    return raw;
  },
};

export function loadFewshotConfig(file: string): FewshotConfig {
  const r = readFewshotConfig(file);
  return checkFewshotConfig(validateFewshotSchema(r.raw, r.whereOf), file, file);
}

/** An experiment config file with its `extends` chain merged, not validated yet (the CLI applies `--set` first). */
export function readFewshotConfig(file: string): ResolvedConfig {
  return resolveConfig(file, FEWSHOT_KIND);
}

/** An experiment config file as JSON (its `extends` merged), not validated yet. */
export function readFewshotConfigRaw(file: string): Record<string, unknown> {
  return readFewshotConfig(file).raw;
}

function validateFewshotSchema(raw: unknown, where: IssueWhere): FewshotConfig {
  const r = FewshotConfigSchema.safeParse(raw);
  if (!r.success) throw new UserError(describeIssues(r.error, raw, where));
  return r.data;
}

/**
 * The checks beyond the schema (a protocol needs its section, protocols fit the task), and relative
 * checkpoint / config paths made relative to the config file (`file`; none for a config built in code).
 */
export function checkFewshotConfig(c: FewshotConfig, where: string, file?: string): FewshotConfig {
  // scratch trains the whole network with the fine-tune recipe in every protocol (the linear one included):
  // a grid of scratch backbones only needs no 'linear' section (its 'finetune' one is checked by selectGrid)
  const specs = Object.values(c.backbones);
  const onlyScratch = specs.length > 0 && specs.every((b) => 'from' in b && b.from === 'scratch');
  for (const p of c.protocols) {
    const need = p === 'linear' ? (onlyScratch ? null : 'linear') : c.task === 'segmentation' ? 'segment' : 'finetune';
    if (need && !c[need]) throw new UserError(`${where}: protocol '${p}' needs a '${need}' section`);
  }
  if (c.finetune?.headInit === 'linear-probe' && !c.linear)
    throw new UserError(`${where}: finetune.headInit 'linear-probe' needs a 'linear' section (its recipe fits the initial head)`);
  if (c.task === 'classification' && c.protocols.includes('2fc')) throw new UserError(`${where}: protocol '2fc' is for segmentation`);
  if (c.task === 'segmentation' && c.protocols.includes('linear')) throw new UserError(`${where}: protocol 'linear' is for classification (use '2fc')`);
  for (const [name, b] of Object.entries(c.backbones)) {
    for (const p of 'from' in b ? [] : (b.protocols ?? [])) {
      if (!c.protocols.includes(p))
        throw new UserError(`${where}: backbones.${name}.protocols: '${p}' is not one of the grid's protocols (${c.protocols.join(', ')})`);
    }
  }
  if (c.claim) {
    for (const k of ['treatment', 'control'] as const) {
      for (const name of armList(c.claim[k]))
        if (!(name in c.backbones))
          throw new UserError(`${where}: claim.${k}: '${name}' is not a backbone of the grid (${Object.keys(c.backbones).join(', ')})`);
    }
    const [t, k] = [armList(c.claim.treatment), armList(c.claim.control)];
    if (t.length !== k.length)
      throw new UserError(
        `${where}: claim.treatment has ${t.length} backbone${t.length > 1 ? 's' : ''} and claim.control ${k.length}: give one of each per pretraining seed, paired by position`,
      );
    const both = t.find((x) => k.includes(x)) ?? [...t, ...k].find((x, i, all) => all.indexOf(x) !== i);
    if (both !== undefined) throw new UserError(`${where}: claim: backbone '${both}' appears twice in treatment / control (one arm per pretraining seed)`);
    for (const p of c.claim.protocols)
      if (!c.protocols.includes(p)) throw new UserError(`${where}: claim.protocols: '${p}' is not one of the grid's protocols`);
    for (const r of c.claim.ratios)
      if (!c.ratios.some((x) => Math.abs(x - r) < 1e-9)) throw new UserError(`${where}: claim.ratios: ${r} is not one of the grid's ratios`);
  }
  if (file === undefined) return c;
  // relative checkpoint / config paths are relative to the config file
  const base = path.dirname(path.resolve(file));
  for (const b of Object.values(c.backbones)) {
    if ('checkpoint' in b && !path.isAbsolute(b.checkpoint)) b.checkpoint = path.resolve(base, b.checkpoint);
    if ('pretrain' in b && b.pretrain.endsWith('.json') && !path.isAbsolute(b.pretrain)) b.pretrain = path.resolve(base, b.pretrain);
    if ('pretrain' in b && b.out && !path.isAbsolute(b.out)) b.out = path.resolve(base, b.out);
  }
  return c;
}

/**
 * Default hyper-parameters of the single-protocol commands (rq3d linear / finetune / segment): the
 * reference recipes (anchor-spec §3.5) with step counts sized for a CPU. Experiment configs set their own.
 */
export const DEFAULT_HYPER: Record<'linear' | 'finetune' | 'segment', HyperParams> = {
  // reference: lr 1.0, momentum 0.9, wd 5e-7, batch 32, 300k·r·m iterations, decays at 2/3 and 1
  linear: {
    lr: 1.0,
    momentum: 0.9,
    weightDecay: 5e-7,
    batchSize: 32,
    baseSteps: 3000,
    minSteps: 300,
    multipliers: { '0.01': 4, '0.02': 4, '0.05': 2, '0.10': 2 },
    decayAt: [2 / 3],
    backboneLrScale: 1,
    headOnlyBelow: 0,
  },
  // reference: lr 0.1, backbone (fc1 conv included) x0.1, wd 5e-4, batch 32, 100k·r·m iterations, decays at
  // 0.4, 0.6 and 0.8 (step sizes 40k·r·m, 20k·r·m, the last repeated); cls_header only below 10 %
  finetune: {
    lr: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
    batchSize: 32,
    baseSteps: 300,
    minSteps: 40,
    multipliers: { '0.01': 4, '0.02': 4, '0.05': 2 },
    decayAt: [0.4, 0.6, 0.8],
    backboneLrScale: 0.1,
    headOnlyBelow: 0.1,
  },
  // reference: lr 0.1, backbone x0.1 (seg_header x1), wd 5e-4, batch 32, decays at 50 % and 75 %; x2 steps
  // below 10 %; no head-only switch (the paper's lin / ft are the protocols 2fc / finetune)
  segment: {
    lr: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
    batchSize: 16,
    baseSteps: 200,
    minSteps: 40,
    multipliers: { '0.01': 2, '0.02': 2, '0.05': 2 },
    decayAt: [0.5, 0.75],
    backboneLrScale: 0.1,
    headOnlyBelow: 0,
  },
};
