import * as path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_HYPER, FewshotConfigSchema, loadFewshotConfig, type FewshotConfig } from '../downstream/fewshot-config.ts';
import { UserError } from '../util/errors.ts';
import { parseIntOption, parseNumberOption, parseUpAxisOption } from './options.ts';

/**
 * Downstream commands: `rq3d fewshot` runs a whole grid from an experiment config; `rq3d linear`,
 * `rq3d finetune` and `rq3d segment` run one backbone through one protocol (a one-backbone grid).
 */
function list(v: string, name: string): number[] {
  return v.split(',').map((s) => parseNumberOption(s.trim(), name));
}

interface SingleOpts {
  checkpoint?: string;
  from?: string;
  data: string;
  ratios: string;
  seeds: string;
  out: string;
  model: string;
  quiet?: boolean;
  json?: boolean;
  mode?: string;
  points?: string;
  upAxis?: string;
  workers?: string;
  baseSteps?: string;
  minSteps?: string;
}

function singleConfig(protocol: 'linear' | 'finetune' | '2fc', task: 'classification' | 'segmentation', o: SingleOpts): FewshotConfig {
  if (!o.checkpoint && o.from !== 'scratch' && !(o.from === 'random' && protocol === 'linear')) throw new UserError('give --checkpoint RUN/checkpoint or --from scratch (linear: or --from random)');
  const name = o.checkpoint ? path.basename(path.dirname(path.resolve(o.checkpoint))) : (o.from as string);
  // scratch trains the whole network with the fine-tune recipe, whatever the protocol
  const section = protocol === 'linear' && o.from !== 'scratch' ? 'linear' : task === 'segmentation' ? 'segment' : 'finetune';
  const hyper = { ...DEFAULT_HYPER[section] };
  if (o.baseSteps !== undefined) hyper.baseSteps = parseIntOption(o.baseSteps, '--base-steps');
  if (o.minSteps !== undefined) hyper.minSteps = parseIntOption(o.minSteps, '--min-steps');
  const raw = {
    name: `${protocol}-${name}`,
    task,
    data: { source: o.data, ...(o.points ? { points: Number(o.points) } : {}), ...(o.upAxis !== undefined ? { upAxis: parseUpAxisOption(o.upAxis) } : {}) },
    model: o.model,
    backbones: { [name]: o.checkpoint ? { checkpoint: path.resolve(o.checkpoint) } : { from: o.from } },
    protocols: [protocol],
    ratios: list(o.ratios, '--ratios'),
    seeds: list(o.seeds, '--seeds'),
    [section]: hyper,
    workers: o.workers ? Number(o.workers) : 1,
  };
  const r = FewshotConfigSchema.safeParse(raw);
  if (!r.success) throw new UserError(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return r.data;
}

function addSingle(program: Command, name: string, description: string, protocol: (o: SingleOpts) => 'linear' | 'finetune' | '2fc', task: 'classification' | 'segmentation', defaults: { data: string; ratios: string }): void {
  const cmd = program
    .command(name)
    .description(description)
    .option('--checkpoint <dir>', 'pretraining checkpoint (runs/NAME/checkpoint)')
    .option('--from <scratch|random>', "'scratch': the whole network from random init with the fine-tune recipe; 'random' (linear): a frozen random network, BN statistics computed on the training shapes")
    .option('--data <source>', 'synth | modelnet10 | DIR', defaults.data)
    .option('--ratios <list>', 'training-data ratios', defaults.ratios)
    .option('--seeds <list>', 'seeds', '0')
    .option('--model <preset>', 'HRNet preset for --from scratch (paper, cpu, tiny)', 'cpu')
    .option('--points <n>', 'points per shape (meshes sampled, synth generated)')
    .option('--up-axis <axis>', "the data's up axis, overriding its reader's (data.upAxis)")
    .option('--workers <n>', 'worker threads building octrees', '1')
    .option('--base-steps <n>', 'training steps at ratio 1 (a ratio r trains max(min, base·r·m) steps; default sized for a CPU)')
    .option('--min-steps <n>', 'fewest training steps of any ratio')
    .option('--out <dir>', 'results folder')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the results as one JSON object');
  if (task === 'segmentation') cmd.option('--mode <mode>', '2fc (frozen backbone, two FC layers) or finetune', '2fc');
  cmd.action(async (o: SingleOpts) => {
    const cfg = singleConfig(protocol(o), task, o);
    const out = o.out ?? path.join('runs', cfg.name);
    const { runFewshot } = await import('../downstream/fewshot.ts');
    const cells = await runFewshot(cfg, { out, quiet: o.quiet });
    if (o.json) process.stdout.write(`${JSON.stringify({ out, cells })}\n`);
    else {
      for (const c of cells) {
        const v = task === 'segmentation' ? `C.mIoU ${(100 * c.cmiou!).toFixed(1)} %, I.mIoU ${(100 * c.imiou!).toFixed(1)} % (PointNet convention: ${(100 * c.cmiouPointNet!).toFixed(1)} / ${(100 * c.imiouPointNet!).toFixed(1)})` : `OA ${(100 * c.oa!).toFixed(2)} %`;
        process.stdout.write(`${c.protocol} ${c.backbone} ratio ${c.ratio} seed ${c.seed}: ${v} [${c.trainShapes} training shapes]\n`);
      }
      process.stdout.write(`results: ${out} (table.md, summary.json, ${cfg.protocols[0]}.svg)\n`);
    }
  });
}

export function registerDownstream(program: Command): void {
  addSingle(program, 'linear', 'linear probe on frozen fc1 features (classification)', () => 'linear', 'classification', { data: 'modelnet10', ratios: '0.01,0.02,0.05,0.1,0.2,1' });
  addSingle(program, 'finetune', 'fine-tune the whole network for classification (backbone at 0.1x lr; head only below 10 %)', () => 'finetune', 'classification', { data: 'modelnet10', ratios: '0.01,0.02,0.05,0.1,0.2,1' });
  addSingle(program, 'segment', 'part segmentation, one model per category (2fc head on frozen features, or finetune)', (o) => {
    if (o.mode !== '2fc' && o.mode !== 'finetune') throw new UserError(`--mode must be 2fc or finetune, got '${o.mode}'`);
    return o.mode;
  }, 'segmentation', { data: 'synth', ratios: '0.01,0.05,1' });
  program
    .command('fewshot')
    .description('run a few-shot grid (backbones x protocols x ratios x seeds) from an experiment config; resumable')
    .requiredOption('--config <file>', 'experiment config (experiments/*.json)')
    .option('--out <dir>', 'results folder (default experiments/results/<name>)')
    .option('--backbones <list>', 'only these backbones')
    .option('--protocols <list>', 'only these protocols')
    .option('--ratios <list>', "only these of the config's ratios (the report still shows the whole grid)")
    .option('--seeds <list>', "only these of the config's seeds")
    .option('--queue <url>', 'run the cells as jobs on a BullMQ queue: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// (workers: rq3d worker)')
    .option('--attempts <n>', 'with --queue: attempts per cell before it counts as failed', '3')
    .option('--quiet', 'no progress output')
    .action(async (o: { config: string; out?: string; backbones?: string; protocols?: string; ratios?: string; seeds?: string; queue?: string; attempts: string; quiet?: boolean }) => {
      const cfg = loadFewshotConfig(o.config);
      const out = o.out ?? path.join(path.dirname(path.resolve(o.config)), 'results', cfg.name);
      const { runFewshot } = await import('../downstream/fewshot.ts');
      const only = {
        backbones: o.backbones?.split(','),
        protocols: o.protocols?.split(','),
        ratios: o.ratios ? list(o.ratios, '--ratios') : undefined,
        seeds: o.seeds ? list(o.seeds, '--seeds') : undefined,
      };
      if (o.queue !== undefined) {
        const attempts = parseIntOption(o.attempts, '--attempts');
        if (attempts < 1) throw new UserError(`--attempts must be at least 1, got ${attempts}`);
        const { runFewshotQueued } = await import('../queue/grid.ts');
        const r = await runFewshotQueued(cfg, { out, quiet: o.quiet, only, queue: o.queue, attempts });
        if (r.failed.length > 0) {
          throw new UserError(`${r.failed.length} cells failed after ${attempts} attempts (listed in ${path.join(out, 'table.md')}); first: ${r.failed[0]!.cell}: ${r.failed[0]!.error}`);
        }
      } else await runFewshot(cfg, { out, quiet: o.quiet, only });
      process.stdout.write(`results: ${out} (table.md, summary.json, *.svg)\n`);
    });
  program
    .command('budget-curve')
    .description("fine-tune accuracy vs step budget for cells of a grid config with a 'budgetCurve' section; resumable")
    .requiredOption('--config <file>', 'experiment config with budgetCurve.steps (experiments/probes/*.json)')
    .option('--out <dir>', 'results folder (default <config folder>/results/<name>)')
    .option('--backbones <list>', 'only these backbones')
    .option('--ratios <list>', "only these of the config's ratios")
    .option('--seeds <list>', "only these of the config's seeds")
    .option('--report-only', 'rewrite curve.md / .json / .svg from the points already computed')
    .option('--quiet', 'no progress output')
    .action(async (o: { config: string; out?: string; backbones?: string; ratios?: string; seeds?: string; reportOnly?: boolean; quiet?: boolean }) => {
      const cfg = loadFewshotConfig(o.config);
      const out = o.out ?? path.join(path.dirname(path.resolve(o.config)), 'results', cfg.name);
      const { runBudgetCurve, writeBudgetCurveReport } = await import('../downstream/budget-curve.ts');
      if (o.reportOnly) {
        await writeBudgetCurveReport(cfg, path.resolve(out));
        process.stdout.write(`results: ${out} (curve.md, curve.json, curve.svg)\n`);
        return;
      }
      const only = { backbones: o.backbones?.split(','), ratios: o.ratios ? list(o.ratios, '--ratios') : undefined, seeds: o.seeds ? list(o.seeds, '--seeds') : undefined };
      await runBudgetCurve(cfg, { out, quiet: o.quiet, only });
      process.stdout.write(`results: ${out} (curve.md, curve.json, curve.svg)\n`);
    });
}
