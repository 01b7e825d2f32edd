import * as fs from 'node:fs';
import * as path from 'node:path';
import { subsetByRatio } from '../data/datasets/ratio.ts';
import { buildBackbone, type BackboneSpec as ModelConfig } from '../models/backbones.ts';
import { initBackend } from '../backend.ts';
import { pretrain } from '../train/pretrain.ts';
import { checkpointExists, readCheckpointMeta } from '../train/checkpoint.ts';
import { loadShapes, type ShapeCollection } from '../data/sources.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { calibrateBatchNorm, extractFc1, finetuneClassifier, trainLinearProbe, type LinearProbeOptions } from './classify.ts';
import { backboneProtocols, fewshotModel, stepsFor, type BackboneSpec, type FewshotConfig, type HyperParams } from './fewshot-config.ts';
import { aggregateIoU } from './metrics.ts';
import { cellFile, partialDir, readCell, removePartials, type CellResult } from './cells.ts';
import { GridTally } from './grid-tally.ts';
import { backboneIdentity, backbonePretrainConfig, cellConfigHash, pretrainDir, type CellCoords } from './cell-id.ts';
import { Classifier } from './heads.ts';
import { checkpointModelConfig, loadPretrained } from './pretrained.ts';
import { segmentCategory, type SegResult } from './segment.ts';
import { writeFewshotReport } from './report.ts';
import type { PartialRun, TrainingHyper } from './train-loop.ts';
import { updateHeadline } from './headline.ts';

/**
 * Runs a few-shot grid cell by cell. Each finished cell is a JSON file under `<out>/cells/`, so an
 * interrupted grid resumes where it stopped and a finished one is only re-summarized. Backbones given as
 * pretraining configs are pretrained first into `<out>/pretrain-<name>/` (resumable too).
 */
export interface FewshotOptions {
  out: string;
  quiet?: boolean;
  /**
   * Only these backbones / protocols / ratios / seeds (CLI filters): a part of the grid is computed, the
   * config and the report stay the whole grid's (cells not run yet show as '–').
   */
  only?: { backbones?: string[]; protocols?: string[]; ratios?: number[]; seeds?: number[] };
  /**
   * The resolved-config hash of a cell, when the caller knows it better than this config does (a queue
   * worker gets the backbone as a shipped checkpoint; the hash the submitter computed names the cell).
   */
  configHash?: (cell: CellCoords) => string;
  /** tfjs backend (see src/backend.ts); default RQ3D_BACKEND or automatic. */
  backend?: string;
}
/**
 * A backbone as the cells see it: 'pretrained' (a checkpoint), 'scratch' (trained end to end from random
 * init with the fine-tune recipe in every protocol) or 'random' (frozen random init, BN stats on train).
 */
export interface ResolvedBackbone {
  kind: 'pretrained' | 'scratch' | 'random';
  checkpoint: string | null;
  /** The backbone's config: any registered type (a checkpoint's `meta.model`, a pretraining config's `model`). */
  model: ModelConfig;
}

/** What each kind of cell trains, in words (stored in the cell, shown in reports). */
export const RECIPES = {
  linear: 'linear probe on frozen fc1 (inference mode)',
  random: 'linear probe on frozen random-init fc1, BN statistics computed on the training shapes',
  scratch: 'whole network from random init, fine-tune recipe at the full rate',
  head: 'head only (fc1 conv + classifier); backbone frozen, its BN statistics updating',
  full: 'whole network, pretrained backbone (fc1 conv included) at backboneLrScale',
  seg2fc: 'two-FC head only; backbone frozen, its BN statistics updating',
  segFinetune: 'whole network, pretrained backbone at backboneLrScale',
} as const;

/** Resolves one backbone of a grid; a `pretrain` backbone is pretrained first (or resumed) into its folder. */
export async function resolveBackbone(name: string, spec: BackboneSpec, cfg: FewshotConfig, out: string, quiet: boolean): Promise<ResolvedBackbone> {
  if ('from' in spec) return { kind: spec.from, checkpoint: null, model: fewshotModel(cfg.model) };
  if ('checkpoint' in spec) {
    // readCheckpointMeta names what is wrong (no model.json, a missing or cut weights file)
    if (!(await checkpointExists(spec.checkpoint))) await readCheckpointMeta(spec.checkpoint);
    if (!(await checkpointExists(spec.checkpoint))) throw new UserError(`backbone ${name}: no checkpoint at ${spec.checkpoint}`);
    return { kind: 'pretrained', checkpoint: spec.checkpoint, model: await checkpointModelConfig(spec.checkpoint) };
  }
  const pc = backbonePretrainConfig(spec);
  const dir = pretrainDir(name, spec, out);
  const ck = path.join(dir, 'checkpoint');
  // a finished run is used as it is; an unfinished one is resumed (pretrain returns at once when complete)
  const meta = (await checkpointExists(ck)) ? ((await readCheckpointMeta(ck)) as { step: number; stepsPerEpoch: number }) : null;
  const done = meta !== null && (meta.step >= (spec.maxSteps ?? Infinity) || meta.step >= pc.optim.epochs * meta.stepsPerEpoch);
  if (!done) {
    if (!quiet) process.stderr.write(`pretraining backbone ${name} into ${dir}\n`);
    await pretrain(pc, { out: dir, resume: true, maxSteps: spec.maxSteps, quiet });
  }
  return { kind: 'pretrained', checkpoint: ck, model: pc.model };
}

/** The part of a grid the filters select (checked before anything is written; unknown names are errors). */
export function selectGrid(
  cfg: FewshotConfig,
  only: FewshotOptions['only'],
): { part: FewshotConfig; backbones: Array<[string, BackboneSpec]>; protocols: string[] } {
  const part = gridPart(cfg, only);
  for (const b of only?.backbones ?? [])
    if (!(b in cfg.backbones)) throw new UserError(`backbone '${b}' is not in the config (${Object.keys(cfg.backbones).join(', ')})`);
  for (const p of only?.protocols ?? [])
    if (!(cfg.protocols as string[]).includes(p)) throw new UserError(`protocol '${p}' is not in the config (${cfg.protocols.join(', ')})`);
  const scratch = Object.entries(cfg.backbones).find(([, b]) => 'from' in b && b.from === 'scratch');
  if (scratch && cfg.task === 'classification' && !cfg.finetune) {
    throw new UserError(
      `backbone '${scratch[0]}' (scratch) is the whole network trained from random init with the fine-tune recipe: the config needs a 'finetune' section`,
    );
  }
  const random = Object.entries(cfg.backbones).find(([, b]) => 'from' in b && b.from === 'random');
  if (random && cfg.task === 'segmentation')
    throw new UserError(`backbone '${random[0]}' (random frozen) is a classification linear probe; segmentation has no such protocol here`);
  const backbones = Object.entries(cfg.backbones).filter(([n]) => !only?.backbones || only.backbones.includes(n));
  const protocols = cfg.protocols.filter((p) => !only?.protocols || only.protocols.includes(p));
  return { part, backbones, protocols };
}

/** Every cell of the selected part of a grid with its resolved-config hash and its result file, if current. */
export function listGridCells(
  cfg: FewshotConfig,
  out: string,
  only: FewshotOptions['only'],
): Array<{ cell: CellCoords; hash: string; result: CellResult | null }> {
  const { part, backbones, protocols } = selectGrid(cfg, only);
  const list: Array<{ cell: CellCoords; hash: string; result: CellResult | null }> = [];
  for (const [backbone, spec] of backbones) {
    const identity = backboneIdentity(cfg, spec);
    for (const protocol of backboneProtocols(spec, protocols)) {
      for (const ratio of part.ratios) {
        for (const seed of part.seeds) {
          const cell = { protocol, backbone, ratio, seed };
          const hash = cellConfigHash(cfg, cell, identity);
          list.push({ cell, hash, result: currentCell(cellFile(path.resolve(out), cell), hash) });
        }
      }
    }
  }
  return list;
}

/**
 * A cell file's result when it was computed under `hash`. A file without a hash (written before hashes were
 * kept) is never current: such cells came from the pipeline issue 13 found biased, and a grid re-run in their
 * folder must recompute them rather than mix them into new tables.
 */
function currentCell(file: string, hash: string): CellResult | null {
  const r = readCell(file);
  return r?.configHash === hash ? r : null;
}

export async function runFewshot(cfg: FewshotConfig, opts: FewshotOptions): Promise<CellResult[]> {
  const results = await computeGridCells(cfg, opts);
  await writeFewshotReport(cfg, path.resolve(opts.out));
  await updateHeadline(cfg, path.resolve(opts.out));
  return results;
}

/**
 * Computes the selected cells that have no current result file, writing each as it finishes, and returns
 * all selected cells' results (no report). The local runner and the queue worker (one cell per job) share it.
 */
export async function computeGridCells(cfg: FewshotConfig, opts: FewshotOptions): Promise<CellResult[]> {
  await initBackend({ backend: opts.backend });
  const out = path.resolve(opts.out);
  const quiet = opts.quiet ?? false;
  const { part, backbones, protocols } = selectGrid(cfg, opts.only);
  await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  const seg = cfg.task === 'segmentation';
  const shapes = await loadGridShapes(cfg, quiet);
  checkSplits(shapes, cfg);
  const results: CellResult[] = [];
  const total = backbones.reduce((n, [, spec]) => n + backboneProtocols(spec, protocols).length, 0) * part.ratios.length * part.seeds.length;
  const tally = new GridTally(cfg.name, total, quiet);
  for (const [name, spec] of backbones) {
    const identity = opts.configHash ? null : backboneIdentity(cfg, spec);
    const hashOf = (cell: CellCoords): string => opts.configHash?.(cell) ?? cellConfigHash(cfg, cell, identity);
    const bb = await resolveBackbone(name, spec, cfg, out, quiet);
    // a frozen random network fine-tuned would be the scratch baseline: 'random' is a probe only
    for (const protocol of backboneProtocols(spec, protocols)) {
      if (seg) results.push(...(await runSegmentation(part, shapes, name, bb, protocol as '2fc' | 'finetune', out, quiet, hashOf, tally)));
      else results.push(...(await runClassification(part, shapes, name, bb, protocol as 'linear' | 'finetune', out, quiet, hashOf, tally)));
    }
  }
  return results;
}

/** The shapes of a grid's dataset as its cells train and test on them (segmentation: with part labels). */
export async function loadGridShapes(cfg: FewshotConfig, quiet: boolean): Promise<ShapeCollection> {
  const seg = cfg.task === 'segmentation';
  const shapes = await loadShapes(cfg.data.source, {
    split: 'all',
    points: cfg.data.points,
    synthPerClass: cfg.data.synthPerClass,
    upAxis: cfg.data.upAxis,
    skipMissing: cfg.data.skipMissing,
    normalize: 'sphere',
    // segmentation is evaluated on every input point: keep the canonical shape clear of the box edge
    scale: seg ? 0.95 : 1,
    quiet,
  });
  if (seg && !shapes.hasPartLabels) throw new UserError(`${cfg.data.source}: segmentation needs per-point part labels`);
  return shapes;
}

/**
 * A grid needs training and test shapes and, for classification, two classes: an empty test split used to
 * be scored as "OA 0.00 %" and a single class crashed inside tfjs (oneHot of depth 1).
 */
function checkSplits(shapes: ShapeCollection, cfg: FewshotConfig): void {
  const { train, test } = splitIndices(shapes);
  const src = cfg.data.source;
  if (test.length === 0) {
    const hint = /^synth(:\d+)?$/.test(src)
      ? ' (synth puts every 5th shape of a category in the test split: use synth:5 or more)'
      : ' (a dataset needs its test split: test/ folders or a test list)';
    throw new UserError(`${src}: the test split is empty (0 of ${shapes.items.length} shapes)${hint}`);
  }
  if (train.length === 0) throw new UserError(`${src}: the training split is empty (0 of ${shapes.items.length} shapes); the few-shot protocols train on it`);
  if (cfg.task === 'classification') {
    const present = new Set(train.map((i) => shapes.items[i]!.label));
    if (shapes.classes.length < 2 || present.size < 2) {
      throw new UserError(
        `${src}: classification needs at least 2 classes with training shapes, found ${present.size} (${[...present].map((c) => shapes.classes[c]).join(', ')})`,
      );
    }
  }
}

/** The grid restricted to the requested ratios and seeds; each must be one of the config's. */
function gridPart(cfg: FewshotConfig, only: FewshotOptions['only']): FewshotConfig {
  const pick = (all: number[], want: number[] | undefined, what: string): number[] => {
    if (!want) return all;
    for (const v of want) {
      if (!all.some((a) => Math.abs(a - v) < 1e-9)) throw new UserError(`${what} ${v} is not in the config's ${what}s (${all.join(', ')})`);
    }
    return all.filter((a) => want.some((v) => Math.abs(a - v) < 1e-9));
  };
  return { ...cfg, ratios: pick(cfg.ratios, only?.ratios, 'ratio'), seeds: pick(cfg.seeds, only?.seeds, 'seed') };
}

export function splitIndices(shapes: ShapeCollection): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  shapes.items.forEach((it, i) => (it.split === 'train' ? train : test).push(i));
  return { train, test };
}

/**
 * The labelled training shapes of a cell: the reference's fixed subset of the pool at this ratio, or with
 * `draw` (subsetDraw: the grid asked for per-seed subsets) one drawn for that seed (subsetByRatio).
 */
export function ratioSubset(shapes: ShapeCollection, pool: readonly number[], ratio: number, mode: 'per-class' | 'first', draw?: string): number[] {
  const items = pool.map((i) => ({ ...shapes.items[i]!, index: i }));
  return subsetByRatio(items, ratio, mode, draw).map((it) => it.index);
}

/** The subset draw of a cell's seed (and segmentation category), or none: the reference's fixed subsets. */
export function subsetDraw(cfg: FewshotConfig, seed: number, category?: string): string | undefined {
  if (cfg.subsets !== 'per-seed') return undefined;
  return category === undefined ? `seed ${seed}` : `seed ${seed}/${category}`;
}

async function runClassification(
  cfg: FewshotConfig,
  shapes: ShapeCollection,
  backbone: string,
  bb: ResolvedBackbone,
  protocol: 'linear' | 'finetune',
  out: string,
  quiet: boolean,
  hashOf: (cell: CellCoords) => string,
  tally: GridTally,
): Promise<CellResult[]> {
  const { train, test } = splitIndices(shapes);
  const labels = shapes.items.map((it) => it.label);
  const data = { clouds: shapes.clouds, labels, classes: shapes.classes.length };
  // scratch trains end to end with the fine-tune recipe whatever the protocol (the paper's Scratch row)
  const h = protocol === 'linear' && bb.kind !== 'scratch' ? cfg.linear! : cfg.finetune!;
  let feats: { train: Float32Array; test: Float32Array; dim: number } | null = null;
  return forEachCell(
    cfg,
    protocol,
    backbone,
    out,
    quiet,
    hashOf,
    tally,
    async (cell, hash) => {
      const { ratio, seed } = cell;
      const subset = ratioSubset(shapes, train, ratio, 'per-class', subsetDraw(cfg, seed));
      const t0 = performance.now();
      let r: CellResult;
      const shared = bb.kind === 'scratch' ? sharedScratchCell(cfg, out, cell, hashOf) : null;
      if (shared) return shared;
      if (protocol === 'linear' && bb.kind !== 'scratch') {
        feats ??= await linearFeatures(bb, data, train, test, backbone, out, quiet);
        const pos = new Map(train.map((i, k) => [i, k]));
        const dim = feats.dim;
        const x = new Float32Array(subset.length * dim);
        subset.forEach((i, k) => x.set(feats!.train.subarray(pos.get(i)! * dim, (pos.get(i)! + 1) * dim), k * dim));
        const steps = stepsFor(h, ratio);
        const m = await trainLinearProbe({ x, y: subset.map((i) => labels[i]!) }, { x: feats.test, y: test.map((i) => labels[i]!) }, dim, data.classes, {
          lr: h.lr,
          momentum: h.momentum,
          weightDecay: h.weightDecay,
          batchSize: h.batchSize,
          steps,
          decayAt: h.decayAt,
          seed,
        });
        r = {
          ...cell,
          trainShapes: subset.length,
          steps,
          seconds: (performance.now() - t0) / 1000,
          recipe: bb.kind === 'random' ? RECIPES.random : RECIPES.linear,
          oa: m.oa,
          macc: m.macc,
          confusion: m.confusion,
          classes: shapes.classes,
        };
      } else {
        r = {
          ...cell,
          ...(await finetuneCell(cfg, h, data, bb, subset, test, ratio, seed, stepsFor(h, ratio), `finetune ${backbone} r=${ratio} s=${seed}`, quiet, {
            dir: partialDir(out, cell, hash),
            every: PARTIAL_EVERY,
            id: hash,
          })),
          classes: shapes.classes,
        };
      }
      return r;
    },
    acceptFor(bb),
  );
}

/**
 * Steps between the checkpoints of a cell's training run (PartialRun): an interrupted cell loses at most this
 * many steps (~1 min of the cpu HRNet at depth 5 here) instead of the whole cell (a 100 % ModelNet cell trains
 * for half an hour); a save takes well under a second.
 */
export const PARTIAL_EVERY = 250;

/** Stored cells a backbone may reuse: a scratch cell must hold the end-to-end result, not an old probe's. */
function acceptFor(bb: ResolvedBackbone): (r: CellResult) => boolean {
  return (r) => bb.kind !== 'scratch' || r.recipe === RECIPES.scratch;
}

/** One fine-tune cell (classification) with the reference structure for its ratio and `steps` steps. */
export async function finetuneCell(
  cfg: FewshotConfig,
  h: HyperParams,
  data: { clouds: ShapeCollection['clouds']; labels: number[]; classes: number },
  bb: ResolvedBackbone,
  subset: number[],
  test: number[],
  ratio: number,
  seed: number,
  steps: number,
  label: string,
  quiet: boolean,
  partial?: PartialRun,
): Promise<Pick<CellResult, 'trainShapes' | 'steps' | 'seconds' | 'recipe' | 'oa' | 'macc' | 'confusion'>> {
  const mode = finetuneMode(bb, ratio, h);
  const m = await finetuneClassifier(bb.model, data, subset, test, {
    ...trainingHyper(cfg, h, bb, steps, seed, quiet, partial),
    mode,
    headInit: h.headInit === 'linear-probe' ? linearRecipe(cfg.linear!, ratio, seed) : undefined,
    label,
  });
  return {
    trainShapes: subset.length,
    steps: m.steps,
    seconds: m.seconds,
    recipe: bb.kind === 'scratch' ? RECIPES.scratch : RECIPES[mode],
    oa: m.oa,
    macc: m.macc,
    confusion: m.confusion,
  };
}

/** A downstream run's hyper-parameters from its grid section, as every cell (classification, segmentation) passes them. */
function trainingHyper(
  cfg: FewshotConfig,
  h: HyperParams,
  bb: ResolvedBackbone,
  steps: number,
  seed: number,
  quiet: boolean,
  partial: PartialRun | undefined,
): TrainingHyper & { init: 'scratch' | { checkpoint: string } } {
  return {
    init: bb.checkpoint ? { checkpoint: bb.checkpoint } : 'scratch',
    steps,
    lr: h.lr,
    backboneLrScale: h.backboneLrScale,
    momentum: h.momentum,
    weightDecay: h.weightDecay,
    batchSize: h.batchSize,
    decayAt: h.decayAt,
    seed,
    workers: cfg.workers,
    quiet,
    partial,
  };
}

/**
 * The reference's fine-tune structure for a ratio: a pretrained backbone below `headOnlyBelow` trains the
 * head only ('head'), otherwise everything ('full'); scratch always trains everything.
 */
export function finetuneMode(bb: { kind: ResolvedBackbone['kind'] }, ratio: number, h: HyperParams): 'head' | 'full' {
  return bb.kind === 'pretrained' && ratio < h.headOnlyBelow ? 'head' : 'full';
}

/**
 * Scratch is one computation per (ratio, seed) whatever the protocol: a result already in another
 * protocol's cell is reused (copied under this protocol), so a grid with both protocols trains it once.
 */
function sharedScratchCell(cfg: FewshotConfig, out: string, cell: CellCoords, hashOf: (cell: CellCoords) => string): CellResult | null {
  for (const p of cfg.protocols) {
    if (p === cell.protocol) continue;
    const other = { ...cell, protocol: p };
    const c = currentCell(cellFile(out, other), hashOf(other));
    if (c?.recipe === RECIPES.scratch) return { ...c, protocol: cell.protocol };
  }
  return null;
}

function linearRecipe(l: HyperParams, ratio: number, seed: number): LinearProbeOptions {
  return { lr: l.lr, momentum: l.momentum, weightDecay: l.weightDecay, batchSize: l.batchSize, steps: stepsFor(l, ratio), decayAt: l.decayAt, seed };
}

/**
 * Global (fc1) features of all train and test shapes, cached in the grid folder (every ratio and seed reuses
 * them); `dim` is the backbone's global feature width.
 */
async function linearFeatures(
  bb: ResolvedBackbone,
  data: { clouds: ShapeCollection['clouds']; labels: number[]; classes: number },
  train: number[],
  test: number[],
  backbone: string,
  out: string,
  quiet: boolean,
): Promise<{ train: Float32Array; test: Float32Array; dim: number }> {
  const file = path.join(out, 'features', `${backbone}.bin`);
  // built first for its feature width (a cached file of another width is stale); building takes < 0.1 s
  const model = new Classifier(buildBackbone(bb.model, 'linear-probe'), data.classes);
  const dim = model.net.globalChannels;
  const n = train.length + test.length;
  if (fs.existsSync(file) && fs.statSync(file).size === n * dim * 4) {
    model.dispose();
    const buf = fs.readFileSync(file);
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    return { train: all.subarray(0, train.length * dim), test: all.subarray(train.length * dim), dim };
  }
  if (bb.checkpoint) await loadPretrained(model.net, bb.checkpoint, ['cls/']);
  if (bb.kind === 'random') {
    const batches = await calibrateBatchNorm(model.net, data.clouds, train);
    if (!quiet)
      process.stderr.write(
        `backbone ${backbone}: batch-norm statistics of the random network computed on ${train.length} training shapes (${batches} batches)\n`,
      );
  }
  const all = await extractFc1(model, data, [...train, ...test], { quiet, label: `features ${backbone}` });
  model.dispose();
  await writeFileAtomic(file, new Uint8Array(all.buffer));
  return { train: all.subarray(0, train.length * dim), test: all.subarray(train.length * dim), dim };
}

async function runSegmentation(
  cfg: FewshotConfig,
  shapes: ShapeCollection,
  backbone: string,
  bb: ResolvedBackbone,
  protocol: '2fc' | 'finetune',
  out: string,
  quiet: boolean,
  hashOf: (cell: CellCoords) => string,
  tally: GridTally,
): Promise<CellResult[]> {
  const h = cfg.segment as HyperParams;
  const cats = segmentationCategories(cfg, shapes);
  return forEachCell(
    cfg,
    protocol,
    backbone,
    out,
    quiet,
    hashOf,
    tally,
    async (cell, hash) => {
      const { ratio, seed } = cell;
      const shared = bb.kind === 'scratch' ? sharedScratchCell(cfg, out, cell, hashOf) : null;
      if (shared) return shared;
      // the models of the last cell of the grid are kept for the viewer (rq3d view --checkpoint <out>/models/...)
      const saveModels = ratio === cfg.ratios[cfg.ratios.length - 1] && seed === cfg.seeds[cfg.seeds.length - 1];
      return {
        ...cell,
        ...(await segmentationCell(
          cfg,
          h,
          shapes,
          cats,
          bb,
          protocol,
          ratio,
          seed,
          stepsFor(h, ratio),
          (cat) => `${protocol} ${backbone} ${cat} r=${ratio} s=${seed}`,
          quiet,
          saveModels ? path.join(out, 'models', protocol, backbone) : undefined,
          { dir: partialDir(out, cell, hash), every: PARTIAL_EVERY, id: hash },
        )),
      };
    },
    acceptFor(bb),
  );
}

/**
 * The categories a segmentation grid trains one model each for: the config's (matched without case: 'chair'
 * names ShapeNet Part's 'Chair'), else every class that has shapes in both splits (a ShapeNet Part folder may
 * hold only some of the 16 categories).
 */
export function segmentationCategories(cfg: FewshotConfig, shapes: ShapeCollection): string[] {
  const { train, test } = splitIndices(shapes);
  const inSplit = (c: number, idx: number[]): boolean => idx.some((i) => shapes.items[i]!.label === c);
  const cats = cfg.categories
    ? cfg.categories.map((cat) => {
        const c = shapes.classes.findIndex((n) => n.toLowerCase() === cat.toLowerCase());
        if (c < 0) throw new UserError(`category '${cat}' is not in ${shapes.name} (${shapes.classes.join(', ')})`);
        if (!inSplit(c, train) || !inSplit(c, test))
          throw new UserError(
            `category '${cat}' of ${shapes.name} needs training and test shapes (has ${train.filter((i) => shapes.items[i]!.label === c).length} / ${test.filter((i) => shapes.items[i]!.label === c).length})`,
          );
        return shapes.classes[c]!;
      })
    : shapes.classes.filter((_, c) => inSplit(c, train) && inSplit(c, test));
  if (cats.length === 0) throw new UserError(`${shapes.name}: no category has both training and test shapes`);
  return cats;
}

/**
 * One segmentation cell: a model per category of `cats`, each trained `steps` steps (per category) on the
 * ratio's first training shapes of its category, with the structure for the backbone, protocol and ratio;
 * the IoUs of all categories aggregated (C.mIoU, I.mIoU). `label(cat)` names a category's run in the
 * progress; with `saveDir` each category's model is kept in `<saveDir>/<cat>` (the viewer loads it).
 */
export async function segmentationCell(
  cfg: FewshotConfig,
  h: HyperParams,
  shapes: ShapeCollection,
  cats: readonly string[],
  bb: ResolvedBackbone,
  protocol: '2fc' | 'finetune',
  ratio: number,
  seed: number,
  steps: number,
  label: (cat: string) => string,
  quiet: boolean,
  saveDir?: string,
  /**
   * Keep the cell's progress here: each finished category as `<dir>/<cat>.json`, the running one's training
   * under `<dir>/<cat>/` (PartialRun); an interrupted cell continues with its unfinished categories.
   */
  partial?: PartialRun,
): Promise<Pick<CellResult, 'trainShapes' | 'steps' | 'seconds' | 'recipe' | 'cmiou' | 'imiou' | 'cmiouPointNet' | 'imiouPointNet' | 'perCategory'>> {
  const { train, test } = splitIndices(shapes);
  // scratch: the whole network from random init in either protocol; a pretrained backbone fine-tuned below
  // headOnlyBelow trains the head only (the reference has no such switch for segmentation: default 0)
  const mode: '2fc' | 'finetune' = bb.kind === 'scratch' ? 'finetune' : protocol === 'finetune' && ratio < h.headOnlyBelow ? '2fc' : protocol;
  const byCat: Record<string, number[]> = {};
  const byCatPn: Record<string, number[]> = {};
  let trainShapes = 0;
  let total = 0;
  let seconds = 0;
  for (const cat of cats) {
    const c = shapes.classes.indexOf(cat);
    const tr = ratioSubset(
      shapes,
      train.filter((i) => shapes.items[i]!.label === c),
      ratio,
      'first',
      subsetDraw(cfg, seed, cat),
    );
    const te = test.filter((i) => shapes.items[i]!.label === c);
    const parts = shapes.parts?.[cat]?.length ?? 1 + Math.max(...te.concat(tr).map((i) => Math.max(...shapes.clouds[i]!.labels!)));
    const doneFile = partial ? path.join(partial.dir, `${cat}.json`) : null;
    const stored = doneFile ? readCategoryResult(doneFile, `${partial!.id}/${cat}`) : null;
    const r =
      stored ??
      (await segmentCategory(bb.model, shapes.clouds, parts, tr, te, {
        ...trainingHyper(
          cfg,
          h,
          bb,
          steps,
          seed,
          quiet,
          partial ? { dir: path.join(partial.dir, cat), every: partial.every, id: `${partial.id}/${cat}` } : undefined,
        ),
        mode,
        label: label(cat),
        saveDir: saveDir ? path.join(saveDir, cat) : undefined,
        category: cat,
        partNames: shapes.parts?.[cat],
      }));
    if (doneFile && !stored) {
      const { ious, iousPointNet, steps: n, seconds: sec, finalLoss } = r;
      await writeFileAtomic(doneFile, `${JSON.stringify({ id: `${partial!.id}/${cat}`, ious, iousPointNet, steps: n, seconds: sec, finalLoss })}\n`);
      fs.rmSync(path.join(partial!.dir, cat), { recursive: true, force: true });
    }
    seconds += r.seconds;
    byCat[cat] = r.ious;
    byCatPn[cat] = r.iousPointNet;
    trainShapes += tr.length;
    total += r.steps;
  }
  const a = aggregateIoU(byCat);
  const b = aggregateIoU(byCatPn);
  return {
    trainShapes,
    steps: total,
    // the categories' training and test time (an interrupted cell's earlier pieces included)
    seconds,
    recipe: bb.kind === 'scratch' ? RECIPES.scratch : mode === '2fc' ? RECIPES.seg2fc : RECIPES.segFinetune,
    cmiou: a.cmiou,
    imiou: a.imiou,
    cmiouPointNet: b.cmiou,
    imiouPointNet: b.imiou,
    perCategory: a.perCategory,
  };
}

/** A category finished by an earlier piece of its cell (segmentationCell's partial); null if absent or another run's. */
function readCategoryResult(file: string, id: string): SegResult | null {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as SegResult & { id?: string };
    return r.id === id ? r : null;
  } catch {
    return null;
  }
}

/**
 * Runs `compute` for every (ratio, seed) cell of one backbone and protocol that has no current result file, and
 * writes each result as soon as it is known, so an interrupted grid loses at most the cell it was on.
 */
async function forEachCell(
  cfg: FewshotConfig,
  protocol: string,
  backbone: string,
  out: string,
  quiet: boolean,
  hashOf: (cell: CellCoords) => string,
  tally: GridTally,
  /** The cell's result; `hash` is its config hash (a long run checkpoints under partialDir(out, cell, hash)). */
  compute: (cell: { protocol: string; backbone: string; ratio: number; seed: number }, hash: string) => Promise<CellResult>,
  /** A stored result is reused only if this accepts it (scratch: only the end-to-end recipe, not an old probe). */
  accept: (r: CellResult) => boolean = () => true,
): Promise<CellResult[]> {
  const results: CellResult[] = [];
  for (const ratio of cfg.ratios) {
    for (const seed of cfg.seeds) {
      const cell = { protocol, backbone, ratio, seed };
      const file = cellFile(out, cell);
      const hash = hashOf(cell);
      const stored = currentCell(file, hash);
      const done = stored && accept(stored) ? stored : null;
      const r = done ?? { ...(await compute(cell, hash)), configHash: hash };
      if (!done) {
        await writeFileAtomic(file, `${JSON.stringify(r, null, 2)}\n`);
        removePartials(out, cell);
        if (!quiet) {
          const v = r.oa !== undefined ? `OA ${(100 * r.oa).toFixed(2)} %` : `C.mIoU ${(100 * r.cmiou!).toFixed(1)} I.mIoU ${(100 * r.imiou!).toFixed(1)}`;
          process.stderr.write(`${protocol} ${backbone} ratio ${ratio} seed ${seed}: ${v} (${r.trainShapes} shapes, ${r.seconds.toFixed(0)} s)\n`);
        }
      }
      tally.cell(!done);
      results.push(r);
    }
  }
  return results;
}
