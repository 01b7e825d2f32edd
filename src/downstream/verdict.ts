import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitMetricRows } from '../train/pretrain.ts';
import { backbonePretrainConfig, pretrainDir } from './cell-id.ts';
import { summarizeCells, type CellResult } from './cells.ts';
import { armList, type ClaimSpec, type FewshotConfig } from './fewshot-config.ts';

/**
 * The pre-registered claim of a grid applied to its cells (DESIGN.md "Experiments": the decision rule is in
 * the config before the grid runs, and the verdict is reported whichever way it goes). Nothing here is tuned
 * to the outcome: the thresholds are the config's `claim.go`, the comparison the config's `claim` ratios.
 */

/** What a pretrained arm's run folder says about its pretraining (the go / no-go figures). */
export interface ArmFigures {
  pretrainSeeds: number[];
  /** Epochs the run has completed (its config's epochs once finished). */
  pretrainEpochs: number;
  pretrainEpochsPlanned: number;
  /** Mean shape-instance accuracy over the last completed epoch's steps, and its chance level (1 / shapes). */
  instanceAcc: number | null;
  instanceChance: number | null;
  /** kNN monitor (top-1 of cosine kNN on fc1 of held-out training shapes): random init, then per epoch. */
  knnInit: number | null;
  knnChance: number | null;
  knn: Array<{ epoch: number; top1: number }>;
  /** Linear-probe accuracy with all labels (mean over the grid's seeds), if that cell exists. */
  linearFull: number | null;
  /** Each go figure checked: null while the figure is not yet available. */
  go: { instance: boolean | null; knnRising: boolean | null; linear: boolean | null };
}

/**
 * 'preliminary: ...' with one pretraining seed (the pilot); 'holds' / 'does not hold' once the claim pairs
 * arms of several pretraining seeds (the full campaign), whose spread the rule then weighs.
 */
export type Verdict = 'preliminary: holds' | 'preliminary: does not hold' | 'holds' | 'does not hold' | 'no-go' | 'incomplete';

/** treatment − control at one protocol and ratio: means over the downstream seeds (and over the pairs). */
export interface ClaimDifference {
  treatment: number;
  control: number;
  diff: number;
  seeds: number;
  /** With several pretraining seeds: each pair's difference, and the spread between the pretraining seeds. */
  perPretrainSeed?: Array<{ treatment: string; control: string; diff: number }>;
  spread?: number;
}

export interface ClaimResult {
  statement: string;
  rule: string;
  verdict: Verdict;
  /** Why, in one sentence with the numbers. */
  reason: string;
  /** treatment − control per protocol and ratio (means over the downstream seeds). */
  differences: Record<string, Record<string, ClaimDifference>>;
  arms: Record<string, ArmFigures>;
}

interface EpochRow {
  epochsDone: number;
  epochShapeAcc?: number;
  shapeChance?: number;
  knnTop1?: number;
  knnChance?: number;
}

function readJsonl(file: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The go / no-go figures of one pretrained arm, read from its run folder. */
export function armFigures(cfg: FewshotConfig, name: string, out: string, cells: readonly CellResult[]): ArmFigures | null {
  const spec = cfg.backbones[name];
  if (!spec || !('pretrain' in spec)) return null;
  const pc = backbonePretrainConfig(spec);
  const dir = pretrainDir(name, spec, out);
  const epochs = splitMetricRows(readJsonl(path.join(dir, 'metrics.jsonl'))).epochs as unknown as EpochRow[];
  // a resumed run may repeat an epoch's row: the last one of each epoch counts
  const byEpoch = new Map<number, EpochRow>();
  for (const r of epochs) byEpoch.set(r.epochsDone, r);
  const rows = [...byEpoch.values()].sort((a, b) => a.epochsDone - b.epochsDone);
  const last = rows.at(-1);
  let init: Record<string, number> | null = null;
  try {
    init = JSON.parse(fs.readFileSync(path.join(dir, 'monitor-init.json'), 'utf8')) as Record<string, number>;
  } catch {
    init = null;
  }
  const knn = rows.filter((r) => typeof r.knnTop1 === 'number').map((r) => ({ epoch: r.epochsDone, top1: r.knnTop1! }));
  const linear = summarizeCells(
    cells.filter((c) => c.backbone === name),
    'oa',
  ).linear?.[name]?.['1.00'];
  const planned = pc.optim.epochs;
  const finished = last !== undefined && last.epochsDone >= planned;
  const go = cfg.claim?.go;
  const instance =
    go && finished && last.epochShapeAcc !== undefined && last.shapeChance !== undefined
      ? last.epochShapeAcc >= go.instanceOverChance * last.shapeChance
      : null;
  let knnRising: boolean | null = null;
  if (go && finished && knn.length > 0 && typeof init?.knnTop1 === 'number') {
    const quarter = knn.find((k) => k.epoch >= Math.ceil(planned / 4)) ?? knn[0]!;
    const end = knn.at(-1)!.top1;
    knnRising = end >= init.knnTop1 + go.knnRise && end >= quarter.top1;
  }
  return {
    pretrainSeeds: [pc.seed],
    pretrainEpochs: last?.epochsDone ?? 0,
    pretrainEpochsPlanned: planned,
    instanceAcc: last?.epochShapeAcc ?? null,
    instanceChance: last?.shapeChance ?? null,
    knnInit: typeof init?.knnTop1 === 'number' ? init.knnTop1 : null,
    knnChance: last?.knnChance ?? (typeof init?.knnChance === 'number' ? init.knnChance : null),
    knn,
    linearFull: linear && linear.seeds === cfg.seeds.length ? linear.mean : null,
    go: { instance, knnRising, linear: go && linear && linear.seeds === cfg.seeds.length ? linear.mean >= go.linearFull : null },
  };
}

/** The claim's (treatment, control) pairs: one per pretraining seed. */
function claimPairs(c: ClaimSpec): Array<{ treatment: string; control: string }> {
  const k = armList(c.control);
  return armList(c.treatment).map((treatment, i) => ({ treatment, control: k[i]! }));
}

function ruleText(c: ClaimSpec): string {
  const ratios = c.ratios.map((r) => `${+(100 * r).toFixed(2)} %`).join(' and ');
  const pairs = claimPairs(c);
  const holds =
    pairs.length === 1
      ? `holds if mean(${c.treatment}) - mean(${c.control}) over the downstream seeds is > 0 at ${ratios} labels in ${c.protocols.join(' and ')}`
      : `holds if, for each pretraining seed (${pairs.map((p) => `${p.treatment} vs ${p.control}`).join(', ')}), mean(treatment) - mean(control) over the downstream seeds is > 0 at ${ratios} labels in ${c.protocols.join(' and ')}, ` +
        `and the mean of those differences is larger than the spread between the pretraining seeds (the larger range of either arm's mean across them)`;
  return (
    `${holds}; ` +
    `no-go if a pretrained arm ends with shape-instance accuracy < ${c.go.instanceOverChance}x chance, a kNN monitor not rising ` +
    `(last epoch < random init + ${c.go.knnRise} or < its value at a quarter of the epochs), or linear accuracy with all labels < ${c.go.linearFull}`
  );
}

/** The claim's verdict from the grid's cells and its arms' run folders; null when the grid states no claim. */
export function claimVerdict(cfg: FewshotConfig, out: string, cells: readonly CellResult[]): ClaimResult | null {
  const c = cfg.claim;
  if (!c) return null;
  const arms: Record<string, ArmFigures> = {};
  for (const name of Object.keys(cfg.backbones)) {
    const f = armFigures(cfg, name, out, cells);
    if (f) arms[name] = f;
  }
  const oa = summarizeCells(cells, cfg.task === 'segmentation' ? 'cmiou' : 'oa');
  const differences: ClaimResult['differences'] = {};
  let missing = 0;
  const pairs = claimPairs(c);
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  const range = (v: number[]): number => Math.max(...v) - Math.min(...v);
  for (const p of c.protocols) {
    for (const r of c.ratios) {
      const key = r.toFixed(2);
      const got = pairs.map(({ treatment, control }) => ({ t: oa[p]?.[treatment]?.[key], k: oa[p]?.[control]?.[key] }));
      if (got.some(({ t, k }) => !t || !k || t.seeds < cfg.seeds.length || k.seeds < cfg.seeds.length)) {
        missing++;
        continue;
      }
      const t = got.map((g) => g.t!);
      const k = got.map((g) => g.k!);
      const seeds = Math.min(...t.map((x) => x.seeds), ...k.map((x) => x.seeds));
      if (pairs.length === 1) {
        (differences[p] ??= {})[key] = { treatment: t[0]!.mean, control: k[0]!.mean, diff: t[0]!.mean - k[0]!.mean, seeds };
        continue;
      }
      const perPretrainSeed = pairs.map((pr, i) => ({ ...pr, diff: t[i]!.mean - k[i]!.mean }));
      (differences[p] ??= {})[key] = {
        treatment: mean(t.map((x) => x.mean)),
        control: mean(k.map((x) => x.mean)),
        diff: mean(perPretrainSeed.map((x) => x.diff)),
        seeds,
        perPretrainSeed,
        spread: Math.max(range(t.map((x) => x.mean)), range(k.map((x) => x.mean))),
      };
    }
  }
  const fails: string[] = [];
  const pending: string[] = [];
  for (const [name, a] of Object.entries(arms)) {
    if (a.go.instance === false)
      fails.push(
        `${name}: shape-instance accuracy ${(100 * a.instanceAcc!).toFixed(2)} % < ${c.go.instanceOverChance}x chance (${(100 * a.instanceChance!).toFixed(3)} %)`,
      );
    if (a.go.knnRising === false)
      fails.push(
        `${name}: kNN monitor not rising (random init ${(100 * a.knnInit!).toFixed(1)} %, epochs ${a.knn.map((k) => `${k.epoch}: ${(100 * k.top1).toFixed(1)}`).join(', ')})`,
      );
    if (a.go.linear === false)
      fails.push(`${name}: linear accuracy with all labels ${(100 * a.linearFull!).toFixed(1)} % < ${(100 * c.go.linearFull).toFixed(0)} %`);
    if (a.go.instance === null || a.go.knnRising === null || a.go.linear === null) pending.push(name);
  }
  const diffs = Object.entries(differences).flatMap(([p, byR]) =>
    // two decimals and a sign: a difference of one test shape (0.04 points on 908 x 3) must not print as 0.0 / -0.0
    Object.entries(byR).map(
      ([r, d]) =>
        `${p} ${+(100 * Number(r)).toFixed(2)} %: ${signed(100 * d.diff)}` +
        (d.perPretrainSeed
          ? ` (per pretraining seed ${d.perPretrainSeed.map((x) => signed(100 * x.diff)).join(', ')}; spread ${(100 * d.spread!).toFixed(2)})`
          : ''),
    ),
  );
  let verdict: Verdict;
  let reason: string;
  if (fails.length > 0) {
    verdict = 'no-go';
    reason = fails.join('; ');
  } else if (missing > 0 || pending.length > 0) {
    verdict = 'incomplete';
    reason = `${missing} of ${c.protocols.length * c.ratios.length} comparisons lack cells for every seed${pending.length ? `; go figures pending for ${pending.join(', ')}` : ''}`;
  } else {
    const all = Object.values(differences).flatMap((byR) => Object.values(byR));
    if (pairs.length === 1) {
      verdict = all.every((d) => d.diff > 0) ? 'preliminary: holds' : 'preliminary: does not hold';
      reason = `${c.treatment} - ${c.control} (points): ${diffs.join('; ')}`;
    } else {
      verdict = all.every((d) => d.perPretrainSeed!.every((x) => x.diff > 0) && d.diff > d.spread!) ? 'holds' : 'does not hold';
      reason = `treatment - control over ${pairs.length} pretraining seeds (points): ${diffs.join('; ')}`;
    }
  }
  return { statement: c.statement, rule: ruleText(c), verdict, reason, differences, arms };
}

/** A difference in points: two decimals, always signed. */
function signed(points: number): string {
  const v = points.toFixed(2);
  return points > 0 && v !== '0.00' ? `+${v}` : v;
}
