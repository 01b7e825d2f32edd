import type { Command } from 'commander';
import { resolvePretrainConfig } from '../train/config.ts';
import { parseIntOption, parseUpAxisOption } from './options.ts';
import { UserError } from '../util/errors.ts';

/** `rq3d pretrain`: MID-Net (+ RQ) pretraining, resumable. */
export function registerPretrain(program: Command): void {
  program
    .command('pretrain')
    .description('MID-Net pretraining with randomized quantization (shape- and point-level instance discrimination)')
    .option('--data <source>', 'synth | synth:<perClass> | modelnet10 | DIR (ModelNet tree, ShapeNet Part, modelnet40 txt/h5)')
    .option('--up-axis <axis>', "the data's up axis, overriding its reader's (data.upAxis: x, y, z, -z ...); shapes are turned y-up")
    .option('--config <preset|file>', 'preset (paper, cpu, quick, tiny) or JSON file {"extends": preset, ...}', 'cpu')
    .option('--rq-bins <n>', 'randomized quantization bins (paper: 30)')
    .option('--rq-variant <v>', 'random-random | random-middle | uniform-random | uniform-middle')
    .option('--no-rq', 'turn randomized quantization off (plain MID-Net)')
    .option('--epochs <e>', 'epochs')
    .option('--batch-size <b>', 'shapes per step')
    .option('--workers <n>', 'worker threads building octrees')
    .option('--seed <s>', 'run seed')
    .option('--out <dir>', 'run folder', 'runs/pretrain')
    .option('--resume', 'continue from the run folder\'s checkpoint')
    .option('--max-steps <n>', 'stop after N optimizer steps in total (with a checkpoint)')
    .option('--backend <name>', 'tfjs backend (wasm, cpu, tensorflow)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as one JSON object')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      // heavy modules (tfjs, the models) load only when the command runs, so `rq3d --help` stays fast
      const { pretrain } = await import('../train/pretrain.ts');
      const cfg = resolvePretrainConfig(String(o.config));
      if (typeof o.data === 'string') cfg.data.source = o.data;
      if (typeof o.upAxis === 'string') cfg.data.upAxis = parseUpAxisOption(o.upAxis);
      if (o.rq === false) cfg.rq = null;
      else if (o.rqBins !== undefined || o.rqVariant !== undefined) {
        cfg.rq = { bins: 30, variant: 'random-random', p: 1, ...(cfg.rq ?? {}) };
        if (typeof o.rqBins === 'string') cfg.rq.bins = parseIntOption(o.rqBins, '--rq-bins');
        if (typeof o.rqVariant === 'string') {
          if (!['random-random', 'random-middle', 'uniform-random', 'uniform-middle'].includes(o.rqVariant)) throw new UserError(`--rq-variant: unknown variant '${o.rqVariant}'`);
          cfg.rq.variant = o.rqVariant as typeof cfg.rq.variant;
        }
      }
      if (typeof o.epochs === 'string') cfg.optim.epochs = parseIntOption(o.epochs, '--epochs');
      if (typeof o.batchSize === 'string') cfg.optim.batchSize = parseIntOption(o.batchSize, '--batch-size');
      if (typeof o.workers === 'string') cfg.workers = parseIntOption(o.workers, '--workers');
      if (typeof o.seed === 'string') cfg.seed = parseIntOption(o.seed, '--seed');
      const r = await pretrain(cfg, {
        out: String(o.out),
        resume: o.resume === true,
        maxSteps: typeof o.maxSteps === 'string' ? parseIntOption(o.maxSteps, '--max-steps') : undefined,
        backend: typeof o.backend === 'string' ? o.backend : undefined,
        quiet: o.quiet === true,
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ out: String(o.out), steps: r.steps, epochs: r.epochs, seconds: r.seconds, shapesPerSec: r.shapesPerSec, first: r.first, last: r.last, backend: r.backend.name, threads: r.backend.threads })}\n`);
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
