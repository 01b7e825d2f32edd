import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { lineChart, type Series } from '../train/plot.ts';
import type { FewshotConfig } from './fewshot-config.ts';
import { readCells, summarizeCells, type CellResult } from './cells.ts';
import { claimVerdict, type ClaimResult } from './verdict.ts';
import { backbonePretrainConfig } from './cell-id.ts';

import { confusionSvg, confusionTable } from './confusion.ts';
import { perClassAccuracy, sumConfusions } from './metrics.ts';

/** A cell that ended as failed on the queue (after all its attempts), listed in the report. */
export interface FailedCell {
  cell: string;
  error: string;
  attempts: number;
}

/** A backbone's row label: what a scratch / random row measures is said in the label itself. */
export function backboneLabel(cfg: FewshotConfig, name: string): string {
  const spec = cfg.backbones[name];
  if (spec && 'from' in spec) return spec.from === 'scratch' ? `${name} (end to end from random init)` : `${name}: random frozen (BN stats on train)`;
  return name;
}

/**
 * The tables and plots of a few-shot grid, from its cell files: `summary.json` (mean/std over seeds per
 * protocol, backbone and ratio), `table.md` (a Table 6/7-style Markdown table) and one SVG per protocol
 * (metric vs ratio, one line per backbone, std as error bars); cells that failed on the queue are listed.
 */
export async function writeFewshotReport(cfg: FewshotConfig, out: string, failed: readonly FailedCell[] = []): Promise<void> {
  const cells = readCells(out);
  const seg = cfg.task === 'segmentation';
  const metrics: Array<keyof CellResult> = seg ? ['cmiou', 'imiou', 'cmiouPointNet', 'imiouPointNet'] : ['oa', 'macc'];
  const summary: Record<string, unknown> = { name: cfg.name, task: cfg.task, data: cfg.data.source, ratios: cfg.ratios, seeds: cfg.seeds };
  for (const m of metrics) summary[m] = summarizeCells(cells, m);
  if (failed.length > 0) summary.failed = failed;
  const claim = claimVerdict(cfg, out, cells);
  if (claim) summary.claim = claim;
  await writeFileAtomic(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

  const main = (seg ? summary.cmiou : summary.oa) as ReturnType<typeof summarizeCells>;
  const second = seg ? (summary.imiou as ReturnType<typeof summarizeCells>) : null;
  // a cell run for fewer seeds than its protocol's others says so, so a lone value does not pass for a mean
  const pct = (v: { mean: number; std: number; seeds: number } | undefined, seedsRun: number): string =>
    v
      ? `${(100 * v.mean).toFixed(1)}${v.seeds > 1 ? ` ± ${(100 * v.std).toFixed(1)}` : ''}${v.seeds < seedsRun ? ` (${v.seeds} seed${v.seeds > 1 ? 's' : ''})` : ''}`
      : '–';
  const lines: string[] = [
    `# ${cfg.name}`,
    '',
    `${seg ? 'C.mIoU / I.mIoU' : 'Overall accuracy'} (%) on the test split of \`${cfg.data.source}\`, mean ± std over the seeds run.`,
    '',
    // what the ± spans: with the reference's fixed subsets the seeds change initialization and batch order only
    cfg.subsets === 'per-seed'
      ? 'Labelled shapes: each seed draws its own subset at each ratio (`subsets: "per-seed"`), so the ± includes which shapes were labelled.'
      : "Labelled shapes: the reference's fixed subset at each ratio, the same for every seed, so the ± covers initialization and batch order, not which shapes were labelled.",
    '',
  ];
  if (cfg.notes) lines.push(cfg.notes, '');
  for (const protocol of Object.keys(main)) {
    const seeds = [...new Set(cells.filter((c) => c.protocol === protocol).map((c) => c.seed))].sort((a, b) => a - b);
    lines.push(
      `## ${protocol}`,
      '',
      `Seeds: ${seeds.join(', ')}.`,
      '',
      `| backbone | ${cfg.ratios.map((r) => `${(100 * r).toFixed(0)} %`).join(' | ')} |`,
      `|---|${cfg.ratios.map(() => '---').join('|')}|`,
    );
    for (const backbone of Object.keys(main[protocol]!)) {
      const row = cfg.ratios.map((r) => {
        const a = main[protocol]![backbone]![r.toFixed(2)];
        const b = second?.[protocol]?.[backbone]?.[r.toFixed(2)];
        return b ? `${pct(a, seeds.length)} / ${pct(b, seeds.length)}` : pct(a, seeds.length);
      });
      lines.push(`| ${backboneLabel(cfg, backbone)} | ${row.join(' | ')} |`);
    }
    lines.push('');
    lines.push(...(seg ? perCategorySection(cfg, cells, protocol, summary) : await perClassSection(cfg, cells, protocol, out, summary)));
    const series: Series[] = Object.entries(main[protocol]!).map(([backbone, byRatio]) => ({
      name: backboneLabel(cfg, backbone),
      points: Object.entries(byRatio).map(([r, v]) => ({ x: 100 * Number(r), y: 100 * v.mean, err: 100 * v.std })),
    }));
    await writeFileAtomic(
      path.join(out, `${protocol}.svg`),
      lineChart(series, { title: `${cfg.name}: ${protocol}`, xLabel: 'training data (%)', yLabel: seg ? 'C.mIoU (%)' : 'overall accuracy (%)', logX: true }),
    );
  }
  await writeEpochCurves(cfg, out, summary, lines);
  if (claim) lines.push(...claimLines(claim));
  if (failed.length > 0) {
    lines.push('## Failed cells', '', 'No result after all attempts; they are missing from the means above.', '');
    for (const f of failed) lines.push(`- \`${f.cell}\` (${f.attempts} attempts): ${f.error}`);
    lines.push('');
  }
  await writeFileAtomic(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFileAtomic(path.join(out, 'table.md'), `${lines.join('\n')}\n`);
}

/** The claim section of table.md: the rule as pre-registered, the verdict, and the figures behind it. */
function claimLines(c: ClaimResult): string[] {
  const pct = (v: number | null, d = 1): string => (v === null ? '–' : `${(100 * v).toFixed(d)} %`);
  const mark = (b: boolean | null): string => (b === null ? 'pending' : b ? 'go' : 'NO-GO');
  const lines = [
    '## Claim',
    '',
    `${c.statement}`,
    '',
    `Decision rule (in the config before the grid ran): ${c.rule}.`,
    '',
    `**Verdict: ${c.verdict}** — ${c.reason}.`,
    '',
  ];
  const arms = Object.entries(c.arms);
  if (arms.length > 0) {
    lines.push(
      '| arm | pretraining seeds | epochs | shape-instance acc (chance) | kNN: random init → epochs | linear, all labels |',
      '|---|---|---|---|---|---|',
    );
    for (const [name, a] of arms) {
      const knn = a.knn.map((k) => `${k.epoch}: ${pct(k.top1)}`).join(', ');
      lines.push(
        `| ${name} | ${a.pretrainSeeds.join(', ')} | ${a.pretrainEpochs} / ${a.pretrainEpochsPlanned} | ${pct(a.instanceAcc, 2)} (${pct(a.instanceChance, 3)}) ${mark(a.go.instance)} | ${pct(a.knnInit)} → ${knn || '–'} ${mark(a.go.knnRising)} | ${pct(a.linearFull)} ${mark(a.go.linear)} |`,
      );
    }
    lines.push('');
  }
  return lines;
}

/**
 * Accuracy against pretraining epochs (`epochs.svg`) when the grid probes checkpoints kept during a
 * pretraining (backbones with `arm` and `epoch`): one line per arm and ratio, for each protocol.
 */
async function writeEpochCurves(cfg: FewshotConfig, out: string, summary: Record<string, unknown>, lines: string[]): Promise<void> {
  const seg = cfg.task === 'segmentation';
  const main = (seg ? summary.cmiou : summary.oa) as ReturnType<typeof summarizeCells>;
  const byArm = new Map<string, Array<{ backbone: string; epoch: number }>>();
  for (const [name, spec] of Object.entries(cfg.backbones)) {
    if ('checkpoint' in spec && spec.arm !== undefined && spec.epoch !== undefined)
      byArm.set(spec.arm, [...(byArm.get(spec.arm) ?? []), { backbone: name, epoch: spec.epoch }]);
  }
  if (byArm.size === 0) return;
  // the arm's own pretrain backbone is its last point (its final checkpoint)
  for (const [arm, points] of byArm) {
    const spec = cfg.backbones[arm];
    if (spec && 'pretrain' in spec) points.push({ backbone: arm, epoch: backbonePretrainConfig(spec).optim.epochs });
  }
  const series: Series[] = [];
  for (const protocol of Object.keys(main)) {
    for (const [arm, points] of byArm) {
      points.sort((a, b) => a.epoch - b.epoch);
      for (const r of cfg.ratios) {
        const pts = points.flatMap((p) => {
          const v = main[protocol]?.[p.backbone]?.[r.toFixed(2)];
          return v ? [{ x: p.epoch, y: 100 * v.mean, err: 100 * v.std }] : [];
        });
        if (pts.length > 0) series.push({ name: `${arm}, ${protocol}, ${+(100 * r).toFixed(2)} %`, points: pts });
      }
    }
  }
  if (series.length === 0) return;
  await writeFileAtomic(
    path.join(out, 'epochs.svg'),
    lineChart(series, {
      title: `${cfg.name}: accuracy vs pretraining epochs`,
      xLabel: 'pretraining epochs',
      yLabel: seg ? 'C.mIoU (%)' : 'overall accuracy (%)',
    }),
  );
  lines.push('Accuracy against pretraining epochs per arm: `epochs.svg`.', '');
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct1 = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? '–' : (100 * v).toFixed(1));

/**
 * Classification: per-class accuracy (mean over seeds) for every backbone and ratio, and the confusion matrix
 * (summed over seeds) of each backbone at the largest ratio run, as a table and `confusion-<protocol>-<backbone>.svg`.
 */
async function perClassSection(cfg: FewshotConfig, cells: CellResult[], protocol: string, out: string, summary: Record<string, unknown>): Promise<string[]> {
  const mine = cells.filter((c) => c.protocol === protocol && c.confusion && c.classes);
  if (mine.length === 0) return [];
  const classes = mine[0]!.classes!;
  const lines = [
    `### ${protocol}: per-class accuracy (%)`,
    '',
    `| backbone | ratio | ${classes.join(' | ')} |`,
    `|---|---|${classes.map(() => '---:').join('|')}|`,
  ];
  const perClass: Record<string, Record<string, Array<number | null>>> = {};
  const confusions: Record<string, { ratio: number; seeds: number; matrix: number[][] }> = {};
  const backbones = [...new Set(mine.map((c) => c.backbone))];
  for (const b of backbones) {
    for (const r of cfg.ratios) {
      const at = mine.filter((c) => c.backbone === b && Math.abs(c.ratio - r) < 1e-9);
      if (at.length === 0) continue;
      const accs = at.map((c) => perClassAccuracy(c.confusion!));
      const row = classes.map((_, k) => {
        const v = accs.map((a) => a[k]).filter((x): x is number => x !== null);
        return v.length ? mean(v) : null;
      });
      (perClass[b] ??= {})[r.toFixed(2)] = row;
      lines.push(`| ${b} | ${(100 * r).toFixed(0)} % | ${row.map(pct1).join(' | ')} |`);
    }
  }
  lines.push('');
  for (const b of backbones) {
    const ratio = Math.max(...mine.filter((c) => c.backbone === b).map((c) => c.ratio));
    const at = mine.filter((c) => c.backbone === b && c.ratio === ratio);
    const m = sumConfusions(at.map((c) => c.confusion!));
    confusions[b] = { ratio, seeds: at.length, matrix: m };
    const file = `confusion-${protocol}-${b}.svg`;
    await writeFileAtomic(
      path.join(out, file),
      confusionSvg(m, classes, `${cfg.name}: ${protocol} ${b}, ${(100 * ratio).toFixed(0)} % labels, ${at.length} seed${at.length === 1 ? '' : 's'}`),
    );
    lines.push(
      `### ${protocol}: confusion matrix of ${b} at ${(100 * ratio).toFixed(0)} % labels (test shapes, summed over ${at.length} seed${at.length === 1 ? '' : 's'}; [${file}](${file}))`,
      '',
      ...confusionTable(m, classes),
      '',
    );
  }
  ((summary.perClass ??= {}) as Record<string, unknown>)[protocol] = { classes, accuracy: perClass };
  ((summary.confusion ??= {}) as Record<string, unknown>)[protocol] = { classes, ...confusions };
  return lines;
}

/** Segmentation: per-category mean IoU (the ocnn convention, mean over seeds) for every backbone and ratio. */
function perCategorySection(cfg: FewshotConfig, cells: CellResult[], protocol: string, summary: Record<string, unknown>): string[] {
  const mine = cells.filter((c) => c.protocol === protocol && c.perCategory);
  if (mine.length === 0) return [];
  const cats = [...new Set(mine.flatMap((c) => Object.keys(c.perCategory!)))].sort();
  const lines = [`### ${protocol}: per-category IoU (%)`, '', `| backbone | ratio | ${cats.join(' | ')} |`, `|---|---|${cats.map(() => '---:').join('|')}|`];
  const table: Record<string, Record<string, Record<string, number>>> = {};
  for (const b of [...new Set(mine.map((c) => c.backbone))]) {
    for (const r of cfg.ratios) {
      const at = mine.filter((c) => c.backbone === b && Math.abs(c.ratio - r) < 1e-9);
      if (at.length === 0) continue;
      const row: Record<string, number> = {};
      for (const cat of cats) {
        const v = at.map((c) => c.perCategory![cat]).filter((x): x is number => typeof x === 'number');
        if (v.length) row[cat] = mean(v);
      }
      (table[b] ??= {})[r.toFixed(2)] = row;
      lines.push(`| ${b} | ${(100 * r).toFixed(0)} % | ${cats.map((c) => pct1(row[c])).join(' | ')} |`);
    }
  }
  lines.push('');
  ((summary.perCategory ??= {}) as Record<string, unknown>)[protocol] = table;
  return lines;
}
