import * as path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { checkFewshotConfig, DEFAULT_HYPER, FewshotConfigSchema, readFewshotConfig, type FewshotConfig } from '../downstream/fewshot-config.ts';
import { UsageError, UserError } from '../util/errors.ts';
import { claimRunFolder } from '../util/run-folder.ts';
import { checkBackend } from './backend-flag.ts';
import { parseIntOption, parseUpAxisOption } from './options.ts';
import { applyOverrides, collectSet, flagValue, listValue, parseSets, SET_HELP, validateFlags, validateOverridden, type Override } from './flags.ts';

/**
 * Downstream commands: `rq3d fewshot` runs a whole grid from an experiment config; `rq3d linear`,
 * `rq3d finetune` and `rq3d segment` run one backbone through one protocol (a one-backbone grid). Their
 * flags are overrides of that grid's config and are validated by its schema (src/cli/flags.ts).
 */
interface SingleOpts {
  checkpoint?: string;
  from?: string;
  data: string;
  ratios: string;
  seeds: string;
  out?: string;
  model: string;
  quiet?: boolean;
  json?: boolean;
  mode?: string;
  points?: string;
  upAxis?: string;
  workers?: string;
  baseSteps?: string;
  minSteps?: string;
  lr?: string;
  batchSize?: string;
  backend?: string;
  set?: string[];
  skipMissing?: boolean;
  resume?: boolean;
  force?: boolean;
}

function singleConfig(protocol: 'linear' | 'finetune' | '2fc', task: 'classification' | 'segmentation', o: SingleOpts): FewshotConfig {
  if (o.checkpoint !== undefined && o.from !== undefined) throw new UsageError('give either --checkpoint or --from scratch, not both');
  const froms = protocol === 'linear' ? ['scratch', 'random'] : ['scratch'];
  if (o.from !== undefined && !froms.includes(o.from)) throw new UsageError(`--from: must be ${froms.join(' or ')}, got '${o.from}'`);
  if (o.checkpoint === undefined && o.from === undefined)
    throw new UsageError(`give --checkpoint RUN/checkpoint or --from scratch${protocol === 'linear' ? ' (linear: or --from random)' : ''}`);
  if (o.checkpoint !== undefined && o.checkpoint.trim() === '') throw new UsageError('--checkpoint: give a checkpoint folder (RUN/checkpoint)');
  const name = o.checkpoint ? path.basename(path.dirname(path.resolve(o.checkpoint))) : o.from!;
  // scratch trains the whole network with the fine-tune recipe, whatever the protocol
  const section = protocol === 'linear' && o.from !== 'scratch' ? 'linear' : task === 'segmentation' ? 'segment' : 'finetune';
  const raw: Record<string, unknown> = {
    name: `${protocol}-${name}`,
    task,
    data: { source: o.data },
    model: o.model,
    backbones: { [name]: o.checkpoint ? { checkpoint: path.resolve(o.checkpoint) } : { from: o.from } },
    protocols: [protocol],
    ratios: [],
    seeds: [],
    [section]: structuredClone(DEFAULT_HYPER[section]),
    workers: 1,
  };
  const ov: Override[] = [
    { flag: '--data', path: ['data', 'source'], value: o.data },
    ...(o.upAxis !== undefined ? [{ flag: '--up-axis', path: ['data', 'upAxis'], value: parseUpAxisOption(o.upAxis) }] : []),
    { flag: '--model', path: ['model'], value: o.model },
    { flag: '--ratios', path: ['ratios'], value: listValue(o.ratios) },
    { flag: '--seeds', path: ['seeds'], value: listValue(o.seeds) },
  ];
  const num = (flag: string, p: string[], v: string | undefined): void => {
    if (v !== undefined) ov.push({ flag, path: p, value: flagValue(v) });
  };
  num('--points', ['data', 'points'], o.points);
  num('--workers', ['workers'], o.workers);
  num('--base-steps', [section, 'baseSteps'], o.baseSteps);
  num('--min-steps', [section, 'minSteps'], o.minSteps);
  num('--lr', [section, 'lr'], o.lr);
  num('--batch-size', [section, 'batchSize'], o.batchSize);
  if (o.skipMissing) ov.push({ flag: '--skip-missing', path: ['data', 'skipMissing'], value: true });
  ov.push(...parseSets(o.set));
  applyOverrides(raw, ov);
  return checkFewshotConfig(validateOverridden(FewshotConfigSchema, raw, ov, 'the command line'), 'the command line');
}

const RunFlags = z
  .object({ backend: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a backend name (wasm, cpu, tensorflow, ...)') })
  .partial()
  .strict();

async function backendOf(v: string | undefined): Promise<string | undefined> {
  if (v === undefined) return undefined;
  const { backend } = validateFlags(RunFlags, { backend: { flag: '--backend', value: v } });
  await checkBackend(backend!);
  return backend;
}

function addSingle(
  program: Command,
  name: string,
  description: string,
  protocol: (o: SingleOpts) => 'linear' | 'finetune' | '2fc',
  task: 'classification' | 'segmentation',
  defaults: { data: string; ratios: string },
): void {
  const cmd = program
    .command(name)
    .description(description)
    .option('--checkpoint <dir>', 'pretraining checkpoint (runs/NAME/checkpoint)')
    .option(
      '--from <scratch|random>',
      "'scratch': the whole network from random init with the fine-tune recipe; 'random' (linear): a frozen random network, BN statistics computed on the training shapes",
    )
    .option('--data <source>', 'synth | modelnet10 | DIR', defaults.data)
    .option('--ratios <list>', 'training-data ratios', defaults.ratios)
    .option('--seeds <list>', 'seeds', '0')
    .option('--model <preset>', 'HRNet preset for --from scratch (hrnet-paper, hrnet-cpu, hrnet-tiny; or paper, cpu, tiny)', 'cpu')
    .option('--points <n>', 'points per shape (meshes sampled, synth generated)')
    .option('--up-axis <axis>', "the data's up axis, overriding its reader's (data.upAxis)")
    .option('--workers <n>', 'worker threads building octrees', '1')
    .option('--base-steps <n>', 'training steps at ratio 1 (a ratio r trains max(min, base·r·m) steps; default sized for a CPU)')
    .option('--min-steps <n>', 'fewest training steps of any ratio')
    .option('--lr <x>', "learning rate (default: the protocol's reference recipe)")
    .option('--batch-size <n>', 'shapes per step')
    .option('--backend <name>', 'tfjs backend (wasm, cpu, tensorflow)')
    .option('--set <key=value>', SET_HELP, collectSet)
    .option('--skip-missing', 'go on without the shapes a dataset lists but whose files are absent (default: an error listing them)')
    .option('--out <dir>', 'results folder')
    .option('--resume', 'continue an interrupted run in the results folder (same settings)')
    .option('--force', 'replace the run in the results folder')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the results as one JSON object');
  if (task === 'segmentation') cmd.option('--mode <mode>', '2fc (frozen backbone, two FC layers) or finetune', '2fc');
  cmd.action(async (o: SingleOpts) => {
    const cfg = singleConfig(protocol(o), task, o);
    const backend = await backendOf(o.backend);
    if (o.checkpoint !== undefined) {
      // a missing or incomplete checkpoint is named before anything is written
      const { readCheckpointMeta } = await import('../train/checkpoint.ts');
      await readCheckpointMeta(path.resolve(o.checkpoint));
    }
    const claim = claimRunFolder(o.out ?? path.join('runs', cfg.name), { resume: o.resume, force: o.force, sameConfig: cfg });
    const out = o.out ?? path.join('runs', cfg.name);
    const { runFewshot } = await import('../downstream/fewshot.ts');
    const cells = await runFewshot(cfg, { out: claim.dir, quiet: o.quiet, backend });
    claim.commit();
    if (o.json) process.stdout.write(`${JSON.stringify({ out, cells })}\n`);
    else {
      for (const c of cells) {
        const v =
          task === 'segmentation'
            ? `C.mIoU ${(100 * c.cmiou!).toFixed(1)} %, I.mIoU ${(100 * c.imiou!).toFixed(1)} % (PointNet convention: ${(100 * c.cmiouPointNet!).toFixed(1)} / ${(100 * c.imiouPointNet!).toFixed(1)})`
            : `OA ${(100 * c.oa!).toFixed(2)} %`;
        process.stdout.write(`${c.protocol} ${c.backbone} ratio ${c.ratio} seed ${c.seed}: ${v} [${c.trainShapes} training shapes]\n`);
      }
      process.stdout.write(
        `results: ${out} (table.md, summary.json, config.json, ${cfg.protocols[0]}.svg, ${task === 'segmentation' ? 'per-category IoU in table.md' : 'per-class accuracy and confusion-*.svg'})\n`,
      );
    }
  });
}

export function registerDownstream(program: Command): void {
  addSingle(program, 'linear', 'linear probe on frozen fc1 features (classification)', () => 'linear', 'classification', {
    data: 'modelnet10',
    ratios: '0.01,0.02,0.05,0.1,0.2,1',
  });
  addSingle(
    program,
    'finetune',
    'fine-tune the whole network for classification (backbone at 0.1x lr; head only below 10 %)',
    () => 'finetune',
    'classification',
    { data: 'modelnet10', ratios: '0.01,0.02,0.05,0.1,0.2,1' },
  );
  addSingle(
    program,
    'segment',
    'part segmentation, one model per category (2fc head on frozen features, or finetune)',
    (o) => {
      if (o.mode !== '2fc' && o.mode !== 'finetune') throw new UsageError(`--mode: must be 2fc or finetune, got '${o.mode}'`);
      return o.mode;
    },
    'segmentation',
    { data: 'synth', ratios: '0.01,0.05,1' },
  );
  program
    .command('fewshot')
    .description('run a few-shot grid (backbones x protocols x ratios x seeds) from an experiment config; resumable')
    .requiredOption('--config <file>', 'experiment config (experiments/*.json)')
    .option('--out <dir>', 'results folder (default experiments/results/<name>)')
    .option('--backbones <list>', 'only these backbones')
    .option('--protocols <list>', 'only these protocols')
    .option('--ratios <list>', "only these of the config's ratios (the report still shows the whole grid)")
    .option('--seeds <list>', "only these of the config's seeds")
    .option('--set <key=value>', SET_HELP, collectSet)
    .option('--backend <name>', 'tfjs backend (wasm, cpu, tensorflow)')
    .option('--queue <url>', 'run the cells as jobs on a BullMQ queue: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// (workers: rq3d worker)')
    .option('--attempts <n>', 'with --queue: attempts per cell before it counts as failed', '3')
    .option('--skip-missing', 'go on without the shapes a dataset lists but whose files are absent (default: an error listing them)')
    .option('--force', 'start the results folder afresh (its cells are kept only where their config is unchanged otherwise)')
    .option('--plan', 'say where the grid stands (pretraining, cells stored / partial / to run, training steps left) and exit: nothing is trained or written')
    .option('--json', 'with --plan: the plan as one JSON object')
    .option('--quiet', 'no progress output')
    .action(
      async (o: {
        config: string;
        out?: string;
        backbones?: string;
        protocols?: string;
        ratios?: string;
        seeds?: string;
        set?: string[];
        backend?: string;
        queue?: string;
        attempts: string;
        skipMissing?: boolean;
        force?: boolean;
        plan?: boolean;
        json?: boolean;
        quiet?: boolean;
      }) => {
        const cfg = gridFromFile(o.config, [
          ...(o.skipMissing ? [{ flag: '--skip-missing', path: ['data', 'skipMissing'], value: true }] : []),
          ...parseSets(o.set),
        ]);
        const only = onlyOf(o);
        const out = o.out ?? path.join(path.dirname(path.resolve(o.config)), 'results', cfg.name);
        if (o.json && !o.plan) throw new UsageError('--json goes with --plan (a grid writes its results as summary.json)');
        if (o.plan) {
          const { gridPlan, formatPlan } = await import('../downstream/plan.ts');
          const plan = await gridPlan(cfg, out, only);
          process.stdout.write(o.json ? `${JSON.stringify(plan)}\n` : formatPlan(plan));
          return;
        }
        const backend = await backendOf(o.backend);
        const attempts = parseIntOption(o.attempts, '--attempts');
        if (attempts < 1) throw new UsageError(`--attempts must be at least 1, got ${attempts}`);
        // a grid resumes by design: its cells are keyed by the hash of their resolved config (src/downstream/cell-id.ts),
        // so a changed config recomputes what changed and never mixes results; --force starts the folder afresh
        // the grid's own pretraining folders (backbones whose `out` lies in the grid folder) mark it as this grid's
        const ownEntries = Object.values(cfg.backbones).flatMap((b) =>
          'out' in b && b.out !== undefined && path.dirname(path.resolve(b.out)) === path.resolve(out) ? [path.basename(b.out)] : [],
        );
        const claim = claimRunFolder(out, { force: o.force, implicitResume: true, ownEntries });
        if (o.queue !== undefined) {
          const { runFewshotQueued } = await import('../queue/grid.ts');
          const r = await runFewshotQueued(cfg, { out: claim.dir, quiet: o.quiet, only, queue: o.queue, attempts });
          claim.commit();
          if (r.failed.length > 0) {
            throw new UserError(
              `${r.failed.length} cells failed after ${attempts} attempts (listed in ${path.join(out, 'table.md')}); first: ${r.failed[0]!.cell}: ${r.failed[0]!.error}`,
            );
          }
        } else {
          const { runFewshot } = await import('../downstream/fewshot.ts');
          await runFewshot(cfg, { out: claim.dir, quiet: o.quiet, only, backend });
          claim.commit();
        }
        process.stdout.write(`results: ${out} (table.md, summary.json, *.svg)\n`);
      },
    );
  program
    .command('budget-curve')
    .description(
      "fine-tune accuracy (segmentation: C.mIoU, steps per category) vs step budget for cells of a grid config with a 'budgetCurve' section; resumable",
    )
    .requiredOption('--config <file>', 'experiment config with budgetCurve.steps (experiments/probes/*.json)')
    .option('--out <dir>', 'results folder (default <config folder>/results/<name>)')
    .option('--backbones <list>', 'only these backbones')
    .option('--protocols <list>', 'only these protocols (segmentation: 2fc, finetune; scratch runs once for either)')
    .option('--ratios <list>', "only these of the config's ratios")
    .option('--seeds <list>', "only these of the config's seeds")
    .option('--set <key=value>', SET_HELP, collectSet)
    .option('--report-only', 'rewrite curve.md / .json / .svg from the points already computed')
    .option('--quiet', 'no progress output')
    .action(
      async (o: {
        config: string;
        out?: string;
        backbones?: string;
        protocols?: string;
        ratios?: string;
        seeds?: string;
        set?: string[];
        reportOnly?: boolean;
        quiet?: boolean;
      }) => {
        const cfg = gridFromFile(o.config, parseSets(o.set));
        const only = onlyOf(o);
        const out = o.out ?? path.join(path.dirname(path.resolve(o.config)), 'results', cfg.name);
        const { runBudgetCurve, writeBudgetCurveReport } = await import('../downstream/budget-curve.ts');
        if (o.reportOnly) {
          await writeBudgetCurveReport(cfg, path.resolve(out));
          process.stdout.write(`results: ${out} (curve.md, curve.json, curve.svg)\n`);
          return;
        }
        // resumable by design, as a grid: the folder is continued, a failed start leaves nothing
        const claim = claimRunFolder(out, { implicitResume: true });
        await runBudgetCurve(cfg, { out: claim.dir, quiet: o.quiet, only });
        claim.commit();
        process.stdout.write(`results: ${out} (curve.md, curve.json, curve.svg)\n`);
      },
    );
}

/**
 * An experiment config file (its `extends` chain merged) with the command's overrides, validated once: an
 * issue names the flag, or the file of the chain that wrote the field.
 */
export function gridFromFile(file: string, overrides: Override[]): FewshotConfig {
  const r = readFewshotConfig(file);
  applyOverrides(r.raw, overrides);
  return checkFewshotConfig(validateOverridden(FewshotConfigSchema, r.raw, overrides, r.whereOf), file, file);
}

const OnlyFlags = z
  .object({
    backbones: z.array(z.string().min(1)).min(1),
    protocols: z.array(z.string().min(1)).min(1),
    ratios: z.array(z.number().gt(0).max(1)).min(1),
    seeds: z.array(z.number().int()).min(1),
  })
  .partial()
  .strict();

/** The `--backbones / --protocols / --ratios / --seeds` filters of `fewshot` and `budget-curve`, validated. */
function onlyOf(o: { backbones?: string; protocols?: string; ratios?: string; seeds?: string }): z.infer<typeof OnlyFlags> {
  return validateFlags(OnlyFlags, {
    backbones: o.backbones === undefined ? undefined : { flag: '--backbones', value: o.backbones.split(',') },
    protocols: o.protocols === undefined ? undefined : { flag: '--protocols', value: o.protocols.split(',') },
    ratios: o.ratios === undefined ? undefined : { flag: '--ratios', value: listValue(o.ratios) },
    seeds: o.seeds === undefined ? undefined : { flag: '--seeds', value: listValue(o.seeds) },
  });
}
