import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend.ts';
import { lineChart, type Series } from '../train/plot.ts';
import { loadShapes } from '../data/sources.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { readCell, type CellResult } from './cells.ts';
import type { FewshotConfig } from './fewshot-config.ts';
import { finetuneCell, ratioSubset, resolveBackbone, splitIndices } from './fewshot.ts';
import { backboneLabel } from './report.ts';

/**
 * The fine-tune budget probe: test accuracy against the number of training steps, one run per step count
 * (its lr decays placed at the same fractions of that run), for chosen (backbone, ratio, seed) cells of a
 * classification grid, so that a grid's budgets can be set where the curve has flattened rather than
 * mid-climb. Every point is a JSON file under `<out>/curve/`, so an interrupted probe resumes; the results
 * are `curve.json`, `curve.md` and `curve.svg` (overall accuracy vs steps, log x, one line per cell).
 */
export interface BudgetCurveOptions {
  out: string;
  quiet?: boolean;
  only?: { backbones?: string[]; ratios?: number[]; seeds?: number[] };
}

export interface CurvePoint extends CellResult {
  /** The step budget of this run. */
  budget: number;
}

function pointFile(out: string, backbone: string, ratio: number, seed: number, steps: number): string {
  return path.join(out, 'curve', backbone, `r${ratio.toFixed(2)}-s${seed}-n${steps}.json`);
}

export async function runBudgetCurve(cfg: FewshotConfig, opts: BudgetCurveOptions): Promise<CurvePoint[]> {
  if (!cfg.budgetCurve) throw new UserError(`${cfg.name}: the config has no 'budgetCurve' section ({ "steps": [...] })`);
  if (cfg.task !== 'classification' || !cfg.finetune)
    throw new UserError(`${cfg.name}: the budget curve probes classification fine-tuning: it needs task 'classification' and a 'finetune' section`);
  for (const b of opts.only?.backbones ?? [])
    if (!(b in cfg.backbones)) throw new UserError(`backbone '${b}' is not in the config (${Object.keys(cfg.backbones).join(', ')})`);
  for (const r of opts.only?.ratios ?? [])
    if (!cfg.ratios.some((x) => Math.abs(x - r) < 1e-9)) throw new UserError(`ratio ${r} is not in the config's ratios (${cfg.ratios.join(', ')})`);
  for (const sd of opts.only?.seeds ?? [])
    if (!cfg.seeds.includes(sd)) throw new UserError(`seed ${sd} is not in the config's seeds (${cfg.seeds.join(', ')})`);
  await initBackend();
  const out = path.resolve(opts.out);
  const quiet = opts.quiet ?? false;
  await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  const shapes = await loadShapes(cfg.data.source, {
    split: 'all',
    points: cfg.data.points,
    synthPerClass: cfg.data.synthPerClass,
    upAxis: cfg.data.upAxis,
    normalize: 'sphere',
    quiet,
  });
  const { train, test } = splitIndices(shapes);
  const data = { clouds: shapes.clouds, labels: shapes.items.map((it) => it.label), classes: shapes.classes.length };
  const h = cfg.finetune;
  const ratios = cfg.ratios.filter((r) => !opts.only?.ratios || opts.only.ratios.some((x) => Math.abs(x - r) < 1e-9));
  const seeds = cfg.seeds.filter((s) => !opts.only?.seeds || opts.only.seeds.includes(s));
  for (const [name, spec] of Object.entries(cfg.backbones)) {
    if (opts.only?.backbones && !opts.only.backbones.includes(name)) continue;
    const bb = await resolveBackbone(name, spec, cfg, out, quiet);
    if (bb.kind === 'random') continue;
    // small budgets of every cell first: an interrupted probe has the cheap end of every curve
    for (const steps of [...cfg.budgetCurve.steps].sort((x, y) => x - y)) {
      for (const ratio of ratios) {
        const subset = ratioSubset(shapes, train, ratio, 'per-class');
        for (const seed of seeds) {
          const file = pointFile(out, name, ratio, seed, steps);
          if (readCell(file)) continue;
          const r = await finetuneCell(cfg, h, data, bb, subset, test, ratio, seed, steps, `budget ${name} r=${ratio} s=${seed} n=${steps}`, quiet);
          const p: CurvePoint = { protocol: 'finetune', backbone: name, ratio, seed, budget: steps, ...r };
          await writeFileAtomic(file, `${JSON.stringify(p, null, 2)}\n`);
          if (!quiet)
            process.stderr.write(
              `budget ${name} ratio ${ratio} seed ${seed} ${steps} steps: OA ${(100 * r.oa!).toFixed(2)} % (${r.trainShapes} shapes, ${r.seconds.toFixed(0)} s)\n`,
            );
        }
      }
    }
  }
  return writeBudgetCurveReport(cfg, out);
}

/** curve.json / curve.md / curve.svg from the points found under `<out>/curve/` (all of them, any run). */
export async function writeBudgetCurveReport(cfg: FewshotConfig, out: string): Promise<CurvePoint[]> {
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
  points.sort((a, b) => a.backbone.localeCompare(b.backbone) || a.ratio - b.ratio || a.seed - b.seed || a.budget - b.budget);
  const key = (p: CurvePoint): string => `${p.backbone}|${p.ratio}|${p.seed}`;
  const groups = new Map<string, CurvePoint[]>();
  for (const p of points) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
  const budgets = [...new Set(points.map((p) => p.budget))].sort((a, b) => a - b);
  const lines = [
    `# ${cfg.name}: fine-tune accuracy vs step budget`,
    '',
    'Overall test accuracy (%) of one fine-tune run per step budget (lr decays at the same fractions of each run); seconds in brackets.',
    '',
    ...(cfg.notes ? [cfg.notes, ''] : []),
    `| cell | ${budgets.map((b) => `${b} steps`).join(' | ')} |`,
    `|---|${budgets.map(() => '---').join('|')}|`,
  ];
  const series: Series[] = [];
  for (const [k, ps] of groups) {
    const [b, r, sd] = k.split('|') as [string, string, string];
    const name = `${backboneLabel(cfg, b)}, ${(100 * Number(r)).toFixed(0)} %, seed ${sd}`;
    lines.push(
      `| ${name} | ${budgets
        .map((n) => {
          const p = ps.find((x) => x.budget === n);
          return p ? `${(100 * p.oa!).toFixed(1)} (${p.seconds.toFixed(0)} s)` : '–';
        })
        .join(' | ')} |`,
    );
    series.push({ name, points: ps.map((p) => ({ x: p.budget, y: 100 * p.oa! })) });
  }
  await writeFileAtomic(
    path.join(out, 'curve.json'),
    `${JSON.stringify({ name: cfg.name, data: cfg.data.source, finetune: cfg.finetune, points }, null, 2)}\n`,
  );
  await writeFileAtomic(path.join(out, 'curve.md'), `${lines.join('\n')}\n`);
  if (series.length)
    await writeFileAtomic(
      path.join(out, 'curve.svg'),
      lineChart(series, { title: `${cfg.name}: accuracy vs fine-tune steps`, xLabel: 'fine-tune steps (log)', yLabel: 'overall accuracy (%)', logX: true }),
    );
  return points;
}
