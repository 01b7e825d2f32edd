import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { lineChart, type Series } from '../train/plot.ts';
import type { FewshotConfig } from './fewshot-config.ts';
import { readCells, summarizeCells, type CellResult } from './cells.ts';

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
  await writeFileAtomic(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

  const main = (seg ? summary.cmiou : summary.oa) as ReturnType<typeof summarizeCells>;
  const second = seg ? (summary.imiou as ReturnType<typeof summarizeCells>) : null;
  const pct = (v: { mean: number; std: number; seeds: number } | undefined): string =>
    v ? `${(100 * v.mean).toFixed(1)}${v.seeds > 1 ? ` ± ${(100 * v.std).toFixed(1)}` : ''}` : '–';
  const lines: string[] = [`# ${cfg.name}`, '', `${seg ? 'C.mIoU / I.mIoU' : 'Overall accuracy'} (%) on the test split of \`${cfg.data.source}\`, mean ± std over the seeds run.`, ''];
  if (cfg.notes) lines.push(cfg.notes, '');
  for (const protocol of Object.keys(main)) {
    const seeds = [...new Set(cells.filter((c) => c.protocol === protocol).map((c) => c.seed))].sort((a, b) => a - b);
    lines.push(`## ${protocol}`, '', `Seeds: ${seeds.join(', ')}.`, '', `| backbone | ${cfg.ratios.map((r) => `${(100 * r).toFixed(0)} %`).join(' | ')} |`, `|---|${cfg.ratios.map(() => '---').join('|')}|`);
    for (const backbone of Object.keys(main[protocol]!)) {
      const row = cfg.ratios.map((r) => {
        const a = main[protocol]![backbone]![r.toFixed(2)];
        const b = second?.[protocol]?.[backbone]?.[r.toFixed(2)];
        return b ? `${pct(a)} / ${pct(b)}` : pct(a);
      });
      lines.push(`| ${backboneLabel(cfg, backbone)} | ${row.join(' | ')} |`);
    }
    lines.push('');
    const series: Series[] = Object.entries(main[protocol]!).map(([backbone, byRatio]) => ({
      name: backboneLabel(cfg, backbone),
      points: Object.entries(byRatio).map(([r, v]) => ({ x: 100 * Number(r), y: 100 * v.mean, err: 100 * v.std })),
    }));
    await writeFileAtomic(
      path.join(out, `${protocol}.svg`),
      lineChart(series, { title: `${cfg.name}: ${protocol}`, xLabel: 'training data (%)', yLabel: seg ? 'C.mIoU (%)' : 'overall accuracy (%)', logX: true }),
    );
  }
  if (failed.length > 0) {
    lines.push('## Failed cells', '', 'No result after all attempts; they are missing from the means above.', '');
    for (const f of failed) lines.push(`- \`${f.cell}\` (${f.attempts} attempts): ${f.error}`);
    lines.push('');
  }
  await writeFileAtomic(path.join(out, 'table.md'), `${lines.join('\n')}\n`);
}
