import * as path from 'node:path';
import type { Command } from 'commander';
import { FewshotConfigSchema, DEFAULT_HYPER } from '../downstream/fewshot-config.ts';
import { readCells } from '../downstream/cells.ts';
import { MetricsLog } from '../train/metrics.ts';
import { parseIntOption } from './options.ts';

/**
 * `npm start` = `rq3d main`: the whole method on the bundled synthetic shapes, nothing downloaded. A short
 * MID-Net + RQ pretraining, then a linear probe at 1 / 10 / 100 % of the labels for the pretrained backbone
 * and for the same network from random initialization, and a summary with the run folder and its plots.
 */
export function registerMain(program: Command): void {
  program
    .command('main')
    .description('the main job: MID-Net + RQ pretraining on the bundled synthetic shapes, then a linear probe vs scratch')
    .option('--out <dir>', 'run folder', 'runs/main')
    .option('--per-class <n>', 'synthetic shapes per category', '40')
    .option('--epochs <n>', 'pretraining epochs', '4')
    .option('--quiet', 'no progress output')
    .action(async (o: { out: string; perClass: string; epochs: string; quiet?: boolean }) => {
      const { initBackend } = await import('../backend.ts');
      const { runFewshot } = await import('../downstream/fewshot.ts');
      const t0 = performance.now();
      const backend = await initBackend();
      const out = path.resolve(o.out);
      const perClass = parseIntOption(o.perClass, '--per-class');
      const epochs = parseIntOption(o.epochs, '--epochs');
      const source = `synth:${perClass}`;
      const cfg = FewshotConfigSchema.parse({
        name: 'main',
        task: 'classification',
        data: { source, points: 1024 },
        model: 'cpu',
        backbones: {
          scratch: { from: 'scratch' },
          mid_rq: { pretrain: 'quick', data: source, epochs },
        },
        protocols: ['linear'],
        ratios: [0.01, 0.1, 1],
        seeds: [0],
        linear: { ...DEFAULT_HYPER.linear, baseSteps: 1500, minSteps: 200 },
        workers: 1,
      });
      process.stderr.write(`rq3d main: backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'}); ${source}, results in ${out}\n`);
      await runFewshot(cfg, { out, quiet: o.quiet });
      const cells = readCells(out).filter((c) => c.protocol === 'linear');
      const pre = await MetricsLog.read(path.join(out, 'pretrain-mid_rq', 'metrics.jsonl'));
      const tail = pre.slice(-Math.max(1, Math.round(pre.length / 10)));
      const avg = (k: string): number => tail.reduce((s, r) => s + (r[k] ?? 0), 0) / tail.length;
      const acc = (b: string, r: number): string => {
        const c = cells.find((x) => x.backbone === b && Math.abs(x.ratio - r) < 1e-9);
        return c ? `${(100 * c.oa!).toFixed(1)} %`.padStart(8) : '       –';
      };
      const lines = [
        '',
        `rq3d main: MID-Net + randomized quantization (n = 30) on ${source} (${pre.length} pretraining steps), linear probe on fc1`,
        `  pretraining, last 10 % of steps: shape-level instance accuracy ${(100 * avg('shapeAcc')).toFixed(1)} %, point-level ${(100 * avg('pointAcc')).toFixed(1)} %`,
        '',
        '  linear probe, test overall accuracy   1 % labels   10 % labels   100 % labels',
        `  scratch (random init)                 ${acc('scratch', 0.01)}     ${acc('scratch', 0.1)}      ${acc('scratch', 1)}`,
        `  MID-Net + RQ (pretrained)             ${acc('mid_rq', 0.01)}     ${acc('mid_rq', 0.1)}      ${acc('mid_rq', 1)}`,
        '',
        `  run folder: ${out}`,
        `    pretraining curves: ${path.join(out, 'pretrain-mid_rq', 'accuracy.svg')}, loss.svg; checkpoint: pretrain-mid_rq/checkpoint`,
        `    linear probe: ${path.join(out, 'table.md')}, linear.svg, summary.json`,
        `  total ${((performance.now() - t0) / 1000).toFixed(0)} s on ${backend.name}`,
        '',
      ];
      process.stdout.write(lines.join('\n'));
    });
}
