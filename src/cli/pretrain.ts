import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { expandModelPreset, PRETRAIN_KIND, pretrainSchemaFor, validatePretrainConfig, type PretrainConfig } from '../train/config.ts';
import { inlineConfig, resolveConfig } from '../config/load.ts';
import { PAPER_RQ } from '../config/schemas.ts';
import { RQ_VARIANT_NAMES } from '../augment/randomized-quantization.ts';
import { UsageError, UserError } from '../util/errors.ts';
import { claimRunFolder } from '../util/run-folder.ts';
import { applyOverrides, collectSet, FLAG, flagValue, given, parseSets, SET_HELP, validateFlags, validateOverridden, type Override } from './flags.ts';
import { checkBackend } from './backend-flag.ts';
import { parseUpAxisOption } from './options.ts';

interface PretrainFlags {
  data?: string;
  upAxis?: string;
  config: string;
  rqBins?: string;
  rqVariant?: string;
  rq?: boolean;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  workers?: string;
  seed?: string;
  out: string;
  resume?: boolean;
  force?: boolean;
  maxSteps?: string;
  backend?: string;
  set?: string[];
  skipMissing?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/**
 * The pretraining config of a command line: the preset or file, then the named flags, then every `--set`,
 * validated once by the config schema (so a flag gets the checks a config file gets).
 */
export function pretrainConfigFromFlags(o: PretrainFlags, saved?: { raw: Record<string, unknown>; where: string }): PretrainConfig {
  const base = saved ? inlineConfig(saved.raw, saved.where) : resolveConfig(o.config, PRETRAIN_KIND);
  const raw = base.raw;
  const overrides: Override[] = [];
  const num = (flag: string, p: string[], v: string | undefined): void => {
    if (v !== undefined) overrides.push({ flag, path: p, value: flagValue(v) });
  };
  if (o.data !== undefined) overrides.push({ flag: '--data', path: ['data', 'source'], value: o.data });
  if (o.upAxis !== undefined) overrides.push({ flag: '--up-axis', path: ['data', 'upAxis'], value: parseUpAxisOption(o.upAxis) });
  if (o.rq === false) overrides.push({ flag: '--no-rq', path: ['rq'], value: null });
  else if (o.rqBins !== undefined || o.rqVariant !== undefined) {
    // a config without RQ gets the paper's RQ, then the flags
    if (raw.rq === null || raw.rq === undefined) raw.rq = { ...PAPER_RQ };
    num('--rq-bins', ['rq', 'bins'], o.rqBins);
    if (o.rqVariant !== undefined) overrides.push({ flag: '--rq-variant', path: ['rq', 'variant'], value: o.rqVariant });
  }
  num('--epochs', ['optim', 'epochs'], o.epochs);
  num('--batch-size', ['optim', 'batchSize'], o.batchSize);
  num('--lr', ['optim', 'lr'], o.lr);
  num('--workers', ['workers'], o.workers);
  num('--seed', ['seed'], o.seed);
  if (o.skipMissing) overrides.push({ flag: '--skip-missing', path: ['data', 'skipMissing'], value: true });
  overrides.push(...parseSets(o.set));
  applyOverrides(raw, overrides);
  // `--set model=hrnet-tiny` names a model preset, as a config file may
  expandModelPreset(raw, '--set model');
  validateOverridden(pretrainSchemaFor(raw), raw, overrides, base.whereOf);
  return validatePretrainConfig(raw, base.whereOf);
}

const RunFlags = z
  .object({ maxSteps: FLAG.int(1), backend: FLAG.backend })
  .partial()
  .strict();

/** `rq3d pretrain`: MID-Net (+ RQ) pretraining, resumable. */
export function registerPretrain(program: Command): void {
  program
    .command('pretrain')
    .description('MID-Net pretraining with randomized quantization (shape- and point-level instance discrimination)')
    .option('--data <source>', 'synth | synth:<perClass> | modelnet10 | DIR (ModelNet tree, ShapeNet Part, modelnet40 txt/h5)')
    .option('--up-axis <axis>', "the data's up axis, overriding its reader's (data.upAxis: x, y, z, -z ...); shapes are turned y-up")
    .option(
      '--config <preset|file>',
      'preset (mid-modelnet10-cpu, mid-shapenet-paper, mid-synth-quick, mid-synth-tiny; or cpu, paper, quick, tiny) or JSON file {"extends": preset or file, ...}',
      'cpu',
    )
    .option('--rq-bins <n>', 'randomized quantization bins (paper: 30)')
    .option('--rq-variant <v>', RQ_VARIANT_NAMES.join(' | '))
    .option('--no-rq', 'turn randomized quantization off (plain MID-Net)')
    .option('--epochs <e>', 'epochs')
    .option('--batch-size <b>', 'shapes per step')
    .option('--lr <x>', 'initial learning rate')
    .option('--workers <n>', 'worker threads building octrees')
    .option('--seed <s>', 'run seed')
    .option('--set <key=value>', SET_HELP, collectSet)
    .option('--skip-missing', 'go on without the shapes a dataset lists but whose files are absent (default: an error listing them)')
    .option('--out <dir>', 'run folder', 'runs/pretrain')
    .option('--resume', "continue from the run folder's checkpoint")
    .option('--force', 'replace the run in the run folder')
    .option('--max-steps <n>', 'stop after N optimizer steps in total (with a checkpoint)')
    .option('--backend <name>', 'tfjs backend (wasm, cpu, tensorflow)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as one JSON object')
    .action(async (o: PretrainFlags, cmd: Command) => {
      // `--resume` without --config continues with the run's own config (its config.json)
      const savedFile = path.join(path.resolve(o.out), 'config.json');
      const useSaved = o.resume === true && cmd.getOptionValueSource('config') === 'default' && fs.existsSync(savedFile);
      const cfg = pretrainConfigFromFlags(o, useSaved ? { raw: readSavedConfig(savedFile), where: savedFile } : undefined);
      const run = validateFlags(RunFlags, {
        maxSteps: given('--max-steps', o.maxSteps),
        backend: o.backend === undefined ? undefined : { flag: '--backend', value: o.backend },
      });
      if (run.backend) await checkBackend(run.backend);
      const ckpt = path.join(path.resolve(o.out), 'checkpoint');
      if (o.resume) await checkResumable(o.out, ckpt, cfg);
      const claim = claimRunFolder(o.out, { resume: o.resume, force: o.force });
      // heavy modules (tfjs, the models) load only when the command runs, so `rq3d --help` stays fast
      const { pretrain } = await import('../train/pretrain.ts');
      const r = await pretrain(cfg, { out: claim.dir, resume: claim.resumed, maxSteps: run.maxSteps, backend: run.backend, quiet: o.quiet === true });
      claim.commit();
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ out: String(o.out), steps: r.steps, epochs: r.epochs, seconds: r.seconds, shapesPerSec: r.shapesPerSec, first: r.first, last: r.last, backend: r.backend.name, threads: r.backend.threads })}\n`,
        );
      } else {
        const l = r.last;
        process.stdout.write(
          `pretrained ${r.steps} steps (${r.epochs.toFixed(2)} epochs) in ${r.seconds.toFixed(1)} s, ${r.shapesPerSec.toFixed(1)} shapes/s on ${r.backend.name}\n` +
            (l ? `last step: loss ${l.loss.toFixed(3)}, shape acc ${(100 * l.shapeAcc).toFixed(1)} %, point acc ${(100 * l.pointAcc).toFixed(1)} %\n` : '') +
            `run folder: ${o.out} (config.json, metrics.jsonl, checkpoint/, loss.svg, accuracy.svg)\n`,
        );
      }
    });
}

/** Fields a resumed run may change: how long it runs and how many threads build its octrees. */
const RESUMABLE_CHANGES = new Set(['optim.epochs', 'workers', 'checkpointEvery']);

function differences(a: unknown, b: unknown, prefix = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

/**
 * `--resume` continues what the folder holds: its checkpoint must be complete (or its `.prev` copy), and the
 * config may differ only in how long the run goes. Checked before anything is written.
 */
async function checkResumable(out: string, ckpt: string, cfg: PretrainConfig): Promise<void> {
  const { readCheckpointMeta } = await import('../train/checkpoint.ts');
  if (fs.existsSync(ckpt) || fs.existsSync(`${ckpt}.prev`)) await readCheckpointMeta(ckpt, { arrays: true });
  const savedFile = path.join(path.resolve(out), 'config.json');
  if (!fs.existsSync(savedFile)) return;
  const savedCfg = readSavedConfig(savedFile);
  const diff = differences(savedCfg, JSON.parse(JSON.stringify(cfg))).filter((d) => !RESUMABLE_CHANGES.has(d));
  if (diff.length)
    throw new UsageError(
      `--resume: the run in ${out} was started with another ${diff.slice(0, 4).join(', ')}${diff.length > 4 ? ', ...' : ''}; resume it with the same config (its config.json), or use --force to replace it`,
    );
}

/** A pretraining run's saved config.json without its `kind` and the `backend` it recorded (not config fields). */
function readSavedConfig(file: string): Record<string, unknown> {
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${file}: unreadable (${(e as Error).message}); the run cannot be resumed, use --force to replace it`);
  }
  const { kind, backend: _backend, ...cfg } = saved;
  if (kind !== undefined && kind !== 'pretrain') throw new UsageError(`--out ${path.dirname(file)}: holds a '${String(kind)}' run, not a pretraining run`);
  return cfg;
}
