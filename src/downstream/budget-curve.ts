import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend.ts';
import { lineChart, type Series } from '../train/plot.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { readCell, type CellResult } from './cells.ts';
import { backboneProtocols, type FewshotConfig } from './fewshot-config.ts';
import { backboneIdentity, cellConfigHash } from './cell-id.ts';
import {
  PARTIAL_EVERY,
  finetuneCell,
  loadGridShapes,
  ratioSubset,
  subsetDraw,
  resolveBackbone,
  segmentationCategories,
  segmentationCell,
  selectGrid,
  splitIndices,
  type ResolvedBackbone,
} from './fewshot.ts';
import { backboneLabel } from './report.ts';

/**
 * The fine-tune budget probe: test accuracy (classification) or C.mIoU (segmentation) against the number of
 * training steps, one run per step count (its lr decays placed at the same fractions of that run), for chosen
 * (backbone, ratio, seed) cells of a grid, so that a grid's budgets can be set where the curve has flattened
 * rather than mid-climb. The runs are the grid's own cells (finetuneCell, segmentationCell) at another step
 * count. Segmentation probes every protocol of the grid (2fc, finetune) for a pretrained backbone and scratch
 * once (the same whole-network recipe in both protocols); its step counts are per category, the unit of
 * `segment.baseSteps`. Every point is a JSON file under `<out>/curve/`, so an interrupted probe resumes; the
 * results are `curve.json`, `curve.md` and `curve.svg` (the metric vs steps, log x, one line per cell).
 */
export interface BudgetCurveOptions {
  out: string;
  quiet?: boolean;
  only?: { backbones?: string[]; protocols?: string[]; ratios?: number[]; seeds?: number[] };
}

export interface CurvePoint extends CellResult {
  /** The step budget of this run (segmentation: per category; `steps` is then the total over categories). */
  budget: number;
}

/** A point's file: classification `<backbone>/r..-s..-n...json`, segmentation `<backbone>/<protocol>-r..-s..-n...json`. */
function pointFile(out: string, backbone: string, protocol: string | null, ratio: number, seed: number, steps: number): string {
  return path.join(out, 'curve', backbone, `${protocol ? `${protocol}-` : ''}r${ratio.toFixed(2)}-s${seed}-n${steps}.json`);
}

/** Where a point's unfinished run keeps its checkpoint (PartialRun); removed once the point's file is written. */
function pointPartialDir(out: string, backbone: string, protocol: string | null, ratio: number, seed: number, steps: number): string {
  return path.join(out, 'partial', backbone, `${protocol ? `${protocol}-` : ''}r${ratio.toFixed(2)}-s${seed}-n${steps}`);
}

/** One curve cell: a backbone in one protocol (segmentation) at one (ratio, seed). */
interface CurveCell {
  name: string;
  bb: ResolvedBackbone;
  protocol: string;
  ratio: number;
  seed: number;
}

export async function runBudgetCurve(cfg: FewshotConfig, opts: BudgetCurveOptions): Promise<CurvePoint[]> {
  if (!cfg.budgetCurve) throw new UserError(`${cfg.name}: the config has no 'budgetCurve' section ({ "steps": [...] })`);
  const seg = cfg.task === 'segmentation';
  if (seg ? !cfg.segment : !cfg.finetune)
    throw new UserError(`${cfg.name}: the budget curve probes fine-tuning: task '${cfg.task}' needs a '${seg ? 'segment' : 'finetune'}' section`);
  for (const b of opts.only?.backbones ?? [])
    if (!(b in cfg.backbones)) throw new UserError(`backbone '${b}' is not in the config (${Object.keys(cfg.backbones).join(', ')})`);
  for (const r of opts.only?.ratios ?? [])
    if (!cfg.ratios.some((x) => Math.abs(x - r) < 1e-9)) throw new UserError(`ratio ${r} is not in the config's ratios (${cfg.ratios.join(', ')})`);
  for (const sd of opts.only?.seeds ?? [])
    if (!cfg.seeds.includes(sd)) throw new UserError(`seed ${sd} is not in the config's seeds (${cfg.seeds.join(', ')})`);
  // a classification curve probes the finetune protocol only (the linear protocol has no step budget)
  const probed = seg ? cfg.protocols : ['finetune'];
  for (const p of opts.only?.protocols ?? [])
    if (!probed.includes(p)) throw new UserError(`--protocols: '${p}' is not a protocol this budget curve probes (${probed.join(', ')})`);
  const wanted = (p: string): boolean => !opts.only?.protocols || opts.only.protocols.includes(p);
  // the grid's own checks (a random frozen backbone has no segmentation protocol, scratch needs its section)
  selectGrid(cfg, { backbones: opts.only?.backbones });
  await initBackend();
  const out = path.resolve(opts.out);
  const quiet = opts.quiet ?? false;
  await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  const shapes = await loadGridShapes(cfg, quiet);
  const { train, test } = splitIndices(shapes);
  const data = { clouds: shapes.clouds, labels: shapes.items.map((it) => it.label), classes: shapes.classes.length };
  const cats = seg ? segmentationCategories(cfg, shapes) : [];
  const h = (seg ? cfg.segment : cfg.finetune)!;
  const ratios = cfg.ratios.filter((r) => !opts.only?.ratios || opts.only.ratios.some((x) => Math.abs(x - r) < 1e-9));
  const seeds = cfg.seeds.filter((s) => !opts.only?.seeds || opts.only.seeds.includes(s));
  // every backbone first (a `pretrain` one is pretrained or resumed), so that the cheap end of every curve comes first
  const cells: CurveCell[] = [];
  for (const [name, spec] of Object.entries(cfg.backbones)) {
    if (opts.only?.backbones && !opts.only.backbones.includes(name)) continue;
    const bb = await resolveBackbone(name, spec, cfg, out, quiet);
    if (bb.kind === 'random') continue;
    // classification probes the finetune protocol; segmentation every protocol, scratch once (the same recipe in each)
    const protocols = seg ? backboneProtocols(spec, cfg.protocols) : ['finetune'];
    // scratch's points stay filed under its first protocol whichever of its protocols was asked for, so that a
    // filtered probe and a whole one share them
    const chosen = bb.kind === 'scratch' ? (protocols.some(wanted) ? protocols.slice(0, 1) : []) : protocols.filter(wanted);
    for (const protocol of chosen) for (const ratio of ratios) for (const seed of seeds) cells.push({ name, bb, protocol, ratio, seed });
  }
  const identities: Record<string, unknown> = {};
  // small budgets of every cell first: an interrupted probe has the cheap end of every curve
  for (const steps of [...cfg.budgetCurve.steps].sort((x, y) => x - y)) {
    for (const { name, bb, protocol, ratio, seed } of cells) {
      const file = pointFile(out, name, seg ? protocol : null, ratio, seed, steps);
      if (readCell(file)) continue;
      // scratch runs once whatever the protocol (its points are filed under the first): no protocol in its label
      const shown = seg && bb.kind !== 'scratch' ? ` ${protocol}` : '';
      const label = `budget ${name}${shown} r=${ratio} s=${seed} n=${steps}`;
      // a long point checkpoints as it trains; its id is the grid cell's config hash and the step count
      const partialAt = pointPartialDir(out, name, seg ? protocol : null, ratio, seed, steps);
      const identity = (identities[name] ??= backboneIdentity(cfg, cfg.backbones[name]!));
      const partial = { dir: partialAt, every: PARTIAL_EVERY, id: `${cellConfigHash(cfg, { protocol, backbone: name, ratio, seed }, identity)}-n${steps}` };
      const r = seg
        ? await segmentationCell(
            cfg,
            h,
            shapes,
            cats,
            bb,
            protocol as '2fc' | 'finetune',
            ratio,
            seed,
            steps,
            (cat) => `${label} ${cat}`,
            quiet,
            undefined,
            partial,
          )
        : await finetuneCell(
            cfg,
            h,
            data,
            bb,
            ratioSubset(shapes, train, ratio, 'per-class', subsetDraw(cfg, seed)),
            test,
            ratio,
            seed,
            steps,
            label,
            quiet,
            partial,
          );
      const p: CurvePoint = { protocol, backbone: name, ratio, seed, budget: steps, ...r };
      await writeFileAtomic(file, `${JSON.stringify(p, null, 2)}\n`);
      fs.rmSync(partialAt, { recursive: true, force: true });
      if (!quiet) {
        const v = seg ? `C.mIoU ${(100 * p.cmiou!).toFixed(1)} I.mIoU ${(100 * p.imiou!).toFixed(1)}` : `OA ${(100 * p.oa!).toFixed(2)} %`;
        process.stderr.write(
          `budget ${name}${shown} ratio ${ratio} seed ${seed} ${steps} steps${seg ? ' per category' : ''}: ${v} (${r.trainShapes} shapes, ${r.seconds.toFixed(0)} s)\n`,
        );
      }
    }
  }
  return writeBudgetCurveReport(cfg, out);
}

/**
 * curve.json / curve.md / curve.svg from the points found under `<out>/curve/` (all of them, any run): overall
 * accuracy for classification, C.mIoU for segmentation (one line per backbone, protocol, ratio and seed).
 */
export async function writeBudgetCurveReport(cfg: FewshotConfig, out: string): Promise<CurvePoint[]> {
  const seg = cfg.task === 'segmentation';
  const dir = path.join(out, 'curve');
  const points: CurvePoint[] = [];
  if (fs.existsSync(dir)) {
    for (const b of fs.readdirSync(dir)) {
      for (const f of fs.readdirSync(path.join(dir, b))) {
        const c = readCell(path.join(dir, b, f)) as CurvePoint | null;
        if (c && typeof c.budget === 'number') points.push(c);
      }
    }
  }
  points.sort(
    (a, b) =>
      a.backbone.localeCompare(b.backbone) || (seg ? a.protocol.localeCompare(b.protocol) : 0) || a.ratio - b.ratio || a.seed - b.seed || a.budget - b.budget,
  );
  // a classification curve is the finetune protocol's; a segmentation curve has a line per protocol
  const key = (p: CurvePoint): string => `${p.backbone}|${seg ? p.protocol : ''}|${p.ratio}|${p.seed}`;
  const groups = new Map<string, CurvePoint[]>();
  for (const p of points) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
  const budgets = [...new Set(points.map((p) => p.budget))].sort((a, b) => a - b);
  const value = (p: CurvePoint): number => 100 * (seg ? p.cmiou! : p.oa!);
  const lines = seg
    ? [
        `# ${cfg.name}: segmentation C.mIoU vs step budget`,
        '',
        'Test C.mIoU (%) of one run per step budget and protocol, the budget in steps per category (one model per category, as the grid trains; lr decays at the same fractions of each run); I.mIoU and seconds (all categories) in brackets. Scratch trains the whole network in either protocol, so it runs once.',
        '',
      ]
    : [
        `# ${cfg.name}: fine-tune accuracy vs step budget`,
        '',
        'Overall test accuracy (%) of one fine-tune run per step budget (lr decays at the same fractions of each run); seconds in brackets.',
        '',
      ];
  lines.push(
    ...(cfg.notes ? [cfg.notes, ''] : []),
    `| cell | ${budgets.map((b) => `${b} steps`).join(' | ')} |`,
    `|---|${budgets.map(() => '---').join('|')}|`,
  );
  const series: Series[] = [];
  for (const [k, ps] of groups) {
    const [b, protocol, r, sd] = k.split('|') as [string, string, string, string];
    const spec = cfg.backbones[b];
    const scratch = spec !== undefined && 'from' in spec;
    const name = `${backboneLabel(cfg, b)}${seg && !scratch ? `, ${protocol}` : ''}, ${(100 * Number(r)).toFixed(0)} %, seed ${sd}`;
    lines.push(
      `| ${name} | ${budgets
        .map((n) => {
          const p = ps.find((x) => x.budget === n);
          if (!p) return '–';
          return seg
            ? `${value(p).toFixed(1)} (${(100 * p.imiou!).toFixed(1)}, ${p.seconds.toFixed(0)} s)`
            : `${value(p).toFixed(1)} (${p.seconds.toFixed(0)} s)`;
        })
        .join(' | ')} |`,
    );
    series.push({ name, points: ps.map((p) => ({ x: p.budget, y: value(p) })) });
  }
  const json = seg
    ? {
        name: cfg.name,
        task: cfg.task,
        data: cfg.data.source,
        segment: cfg.segment,
        categories: cfg.categories ?? null,
        budgetUnit: 'steps per category',
        points,
      }
    : { name: cfg.name, data: cfg.data.source, finetune: cfg.finetune, points };
  await writeFileAtomic(path.join(out, 'curve.json'), `${JSON.stringify(json, null, 2)}\n`);
  await writeFileAtomic(path.join(out, 'curve.md'), `${lines.join('\n')}\n`);
  if (series.length)
    await writeFileAtomic(
      path.join(out, 'curve.svg'),
      seg
        ? lineChart(series, { title: `${cfg.name}: C.mIoU vs steps`, xLabel: 'steps per category (log)', yLabel: 'C.mIoU (%)', logX: true })
        : lineChart(series, { title: `${cfg.name}: accuracy vs fine-tune steps`, xLabel: 'fine-tune steps (log)', yLabel: 'overall accuracy (%)', logX: true }),
    );
  return points;
}
