import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { readCells } from '../downstream/cells.ts';
import { readFewshotConfig } from '../downstream/fewshot-config.ts';
import { backbonePretrainConfig } from '../downstream/cell-id.ts';
import { MetricsLog } from '../train/metrics.ts';
import { z } from 'zod';
import { claimRunFolder } from '../util/run-folder.ts';
import { collectSet, given, parseSets, SET_HELP, validateFlags, type Override } from './flags.ts';
import { gridFromFile } from './downstream.ts';

/** The main job's grid: a config file in the package (found wherever the package is installed, not the cwd). */
export const MAIN_CONFIG = fileURLToPath(new URL('../../experiments/main.json', import.meta.url));

// synth puts every 5th shape of a category in the test split: 5 per class is the least with a test split
const MainFlags = z
  .object({ perClass: z.number().int().min(5).max(10_000), epochs: z.number().int().min(1).max(10_000) })
  .partial()
  .strict();

/**
 * `npm start` = `rq3d main`: the method on the bundled synthetic shapes, nothing downloaded, a few minutes on
 * two cores. The job is the experiment config experiments/main.json, read like any grid (extends, --set);
 * --per-class and --epochs write into it (the data of the grid and of every pretraining arm). Three sound arms: MID-Net + RQ and MID-Net without RQ, pretrained the same way with the same seed,
 * each probed linearly on fc1 at 1 / 10 / 100 % of the labels; and scratch, the whole network trained from
 * random initialization with the fine-tune recipe (the paper's Scratch row). The summary leads with the
 * signals that mean something at this scale: the kNN monitor and the point-level (cluster) accuracy, each
 * beside its chance level.
 */
const ARMS = [
  { key: 'mid_rq', label: 'MID-Net + RQ, linear probe' },
  { key: 'mid', label: 'MID-Net, linear probe' },
  { key: 'scratch', label: 'scratch, end to end' },
] as const;

export function registerMain(program: Command): void {
  program
    .command('main')
    .description('the main job: MID-Net with and without RQ pretrained on the bundled synthetic shapes, linear probes, and scratch trained end to end')
    .option('--config <file>', "the job's experiment config (default: the package's experiments/main.json)")
    .option('--out <dir>', 'run folder', 'runs/main')
    .option('--per-class <n>', 'synthetic shapes per category (main.json: 40)')
    .option('--epochs <n>', 'pretraining epochs (main.json: 4)')
    .option('--set <key=value>', SET_HELP, collectSet)
    .option('--force', 'replace a run folder that holds a main job with other settings')
    .option('--quiet', 'no progress output')
    .action(async (o: { config?: string; out: string; perClass?: string; epochs?: string; set?: string[]; force?: boolean; quiet?: boolean }) => {
      const { initBackend } = await import('../backend.ts');
      const { runFewshot } = await import('../downstream/fewshot.ts');
      const { readMonitorInit, splitMetricRows } = await import('../train/pretrain.ts');
      const t0 = performance.now();
      const flags = validateFlags(MainFlags, { perClass: given('--per-class', o.perClass), epochs: given('--epochs', o.epochs) });
      const file = o.config ?? MAIN_CONFIG;
      const out = path.resolve(o.out);
      // the flags reach the grid's data and every pretraining arm (their data and length); --set comes after
      const grid = readFewshotConfig(file).raw as { backbones?: Record<string, Record<string, unknown>> };
      const arms = Object.entries(grid.backbones ?? {})
        .filter(([, b]) => typeof b?.pretrain === 'string')
        .map(([k]) => k);
      const ov: Override[] = [];
      if (flags.perClass !== undefined) {
        const source = `synth:${flags.perClass}`;
        ov.push(
          { flag: '--per-class', path: ['data', 'source'], value: source },
          ...arms.map((k) => ({ flag: '--per-class', path: ['backbones', k, 'data'], value: source })),
        );
      }
      if (flags.epochs !== undefined) ov.push(...arms.map((k) => ({ flag: '--epochs', path: ['backbones', k, 'epochs'], value: flags.epochs })));
      const cfg = gridFromFile(file, [...ov, ...parseSets(o.set)]);
      const source = cfg.data.source;
      const pretrained = Object.values(cfg.backbones).flatMap((b) => ('pretrain' in b ? [backbonePretrainConfig(b)] : []));
      const epochs = pretrained[0]?.optim.epochs ?? 0;
      const backend = await initBackend();
      // a second `npm start` continues (reuses the finished pretraining and cells); other settings need --force
      const claim = claimRunFolder(out, { force: o.force, sameConfig: cfg, implicitResume: true });
      process.stderr.write(`rq3d main: backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'}); ${source}, results in ${out}\n`);
      await runFewshot(cfg, { out, quiet: o.quiet });
      claim.commit();
      const cells = readCells(out).filter((c) => c.protocol === 'linear');
      const runs = await Promise.all(
        (['mid', 'mid_rq'] as const).map(async (b) => {
          const rows = await MetricsLog.read(path.join(out, `pretrain-${b}`, 'metrics.jsonl'));
          return { b, init: await readMonitorInit(path.join(out, `pretrain-${b}`)), ...splitMetricRows(rows) };
        }),
      );
      const run = (b: 'mid' | 'mid_rq'): (typeof runs)[number] => runs.find((r) => r.b === b)!;
      const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(1)} %`);
      const lastEpoch = (b: 'mid' | 'mid_rq'): Record<string, number> | undefined => run(b).epochs[run(b).epochs.length - 1];
      const e = lastEpoch('mid_rq') ?? lastEpoch('mid');
      const col = (v: string, w: number): string => v.padStart(w);
      const knnCell = (b: 'mid' | 'mid_rq'): string => `${pct(run(b).init?.knnTop1)} -> ${pct(lastEpoch(b)?.knnTop1)}`;
      const row = (label: string, mid: string, rq: string, chance: string): string =>
        `  ${label.padEnd(48)} ${col(mid, 17)} ${col(rq, 17)}   ${chance}`.trimEnd();
      const acc = (b: string, r: number): string => {
        const c = cells.find((x) => x.backbone === b && Math.abs(x.ratio - r) < 1e-9);
        return c ? pct(c.oa) : '–';
      };
      const lines = [
        '',
        `rq3d main: MID-Net and MID-Net + randomized quantization (n = 30) on ${source}, each pretrained ${epochs} epoch${epochs === 1 ? '' : 's'} (${run('mid_rq').steps.length} steps, same seed)`,
        '',
        row('pretraining monitor (labels used only here)', 'MID-Net', 'MID-Net + RQ', 'chance'),
        row(`kNN top-1 on fc1, random init -> epoch ${epochs}`, knnCell('mid'), knnCell('mid_rq'), `${pct(e?.knnChance)} (majority class)`),
        row(`  (k ${e?.knnK ?? '–'}, ${e?.knnQueries ?? '–'} held-out shapes, cosine)`, '', '', ''),
        row(
          'point-level cluster accuracy, last epoch',
          pct(lastEpoch('mid')?.epochPointAcc),
          pct(lastEpoch('mid_rq')?.epochPointAcc),
          `${pct(e?.pointChance)} (1 of ${e ? Math.round(1 / e.pointChance!) : '–'} clusters)`,
        ),
        row(
          'shape-level instance accuracy, last epoch',
          pct(lastEpoch('mid')?.epochShapeAcc),
          pct(lastEpoch('mid_rq')?.epochShapeAcc),
          `${pct(e?.shapeChance)} (1 of ${e ? Math.round(1 / e.shapeChance!) : '–'} shapes)`,
        ),
        '',
        '  test overall accuracy            1 % labels   10 % labels   100 % labels',
        ...ARMS.map((a) => `  ${a.label.padEnd(30)} ${col(acc(a.key, 0.01), 10)}   ${col(acc(a.key, 0.1), 11)}   ${col(acc(a.key, 1), 12)}`),
        '',
        `  run folder: ${out}`,
        `    pretraining curves: pretrain-mid/ and pretrain-mid_rq/ (monitor.svg, accuracy.svg, loss.svg; checkpoint/)`,
        `    downstream: ${path.join(out, 'table.md')}, linear.svg, summary.json`,
        `  total ${((performance.now() - t0) / 1000).toFixed(0)} s on ${backend.name}`,
        '',
      ];
      process.stdout.write(lines.join('\n'));
    });
}
