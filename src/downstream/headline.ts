import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import type { FewshotConfig } from './fewshot-config.ts';
import { readCells, summarizeCells } from './cells.ts';
import { claimVerdict } from './verdict.ts';

/**
 * The headline figures of all grids in one results folder, as one object in `<results>/summary.json`:
 * `{ "<dataset>": { "linear"|"finetune": { "<backbone>": { "<ratio>": { mean, std, seeds } } } } }` for
 * classification (accuracies as fractions) and `{ "linear"|"finetune": { "<backbone>": { "<ratio>": { cmiou,
 * imiou } } } }` for segmentation (the 2-FC protocol is reported as "linear", the paper's "fixed" setting).
 * A grid that names its supervised baseline (`supervisedBaseline`, a run folder in the results folder) adds
 * that run's `<key>.supervised.oa`. The library names no experiment: keys and folders come from the configs.
 * Each grid rewrites its own key (`summaryKey`, default its name) from its cells and keeps the other keys; a
 * grid with a claim adds, per pretrained arm, `pretrainSeeds`, `pretrainEpochs` and the go / no-go figures,
 * and the `verdict` with the numbers behind it.
 */
export async function updateHeadline(cfg: FewshotConfig, gridOut: string): Promise<string> {
  const results = path.dirname(gridOut);
  const file = path.join(results, 'summary.json');
  let all: Record<string, Record<string, unknown>> = {};
  try {
    all = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof all;
  } catch {
    // first grid in this folder
  }
  const key = cfg.summaryKey ?? cfg.name;
  const cells = readCells(gridOut);
  // the grid's own protocols are rebuilt from its cells (a protocol without cells disappears)
  const entry: Record<string, unknown> = {};
  if (cfg.task === 'classification') {
    const oa = summarizeCells(cells, 'oa');
    for (const protocol of ['linear', 'finetune']) if (oa[protocol]) entry[protocol] = oa[protocol];
  } else {
    const c = summarizeCells(cells, 'cmiou');
    const i = summarizeCells(cells, 'imiou');
    for (const [protocol, name] of [
      ['2fc', 'linear'],
      ['finetune', 'finetune'],
    ] as const) {
      if (!c[protocol]) continue;
      const byBackbone: Record<string, Record<string, { cmiou: number; imiou: number; seeds: number }>> = {};
      for (const [b, byRatio] of Object.entries(c[protocol]!)) {
        byBackbone[b] = {};
        for (const [r, v] of Object.entries(byRatio)) byBackbone[b]![r] = { cmiou: v.mean, imiou: i[protocol]?.[b]?.[r]?.mean ?? NaN, seeds: v.seeds };
      }
      entry[name] = byBackbone;
    }
  }
  const sup = cfg.supervisedBaseline === undefined ? null : path.resolve(results, cfg.supervisedBaseline, 'result.json');
  if (sup && fs.existsSync(sup)) entry.supervised = { oa: (JSON.parse(fs.readFileSync(sup, 'utf8')) as { oa: number }).oa };
  const claim = claimVerdict(cfg, gridOut, cells);
  if (claim) {
    entry.arms = claim.arms;
    entry.claim = { statement: claim.statement, rule: claim.rule, differences: claim.differences };
    entry.verdict = claim.verdict;
    entry.verdictReason = claim.reason;
  }
  all[key] = entry;
  await writeFileAtomic(file, `${JSON.stringify(all, null, 2)}\n`);
  return file;
}
