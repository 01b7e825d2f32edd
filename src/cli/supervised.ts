import * as path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic.ts';
import { claimRunFolder } from '../util/run-folder.ts';
import { resolveConfig, type ConfigKind } from '../config/load.ts';
import { DataSourceField, OptimSchema, SkipMissingField } from '../config/schemas.ts';
import { checkBackend } from './backend-flag.ts';
import { applyOverrides, collectSet, FLAG, flagValue, parseSets, SET_HELP, validateOverridden, type Override } from './flags.ts';

/**
 * The supervised baseline's recipe, validated like every config: a preset (experiments/presets/supervised/)
 * or a file that may `extends` one, then the flags and `--set` overrides, saved as the run folder's config.json.
 * Its optimizer fields are the shared ones (src/config/schemas.ts), with bounds for a flat recipe.
 */
export const SupervisedConfigSchema = z
  .object({
    data: DataSourceField,
    model: z.enum(['resnet', 'lenet']),
    depth: z.number().int().min(3).max(8),
    fullDepth: z.number().int().min(1).max(5),
    epochs: z.number().int().min(1).max(100_000),
    batchSize: OptimSchema.shape.batchSize.max(4096),
    lr: OptimSchema.shape.lr.max(100),
    weightDecay: OptimSchema.shape.weightDecay.max(1),
    resblocks: z.number().int().min(1).max(16),
    widthScale: z.number().gt(0).max(16),
    seed: FLAG.seed,
    workers: FLAG.workers,
    skipMissing: SkipMissingField.optional(),
  })
  .strict();
export type SupervisedConfig = z.infer<typeof SupervisedConfigSchema>;

export const SUPERVISED_KIND: ConfigKind = { label: 'supervised config', presets: 'supervised' };

/** `rq3d supervised`: the supervised O-CNN baseline (ResNet or LeNet from scratch, all labels). */
export function registerSupervised(program: Command): void {
  program
    .command('supervised')
    .description('train an O-CNN ResNet or LeNet classifier from scratch on all labels (the supervised baseline)')
    .option(
      '--config <preset|file>',
      'preset (ocnn-resnet-modelnet10) or JSON file {"extends": preset, ...}; the flags below override it',
      'ocnn-resnet-modelnet10',
    )
    .option('--data <source>', 'modelnet10 | synth | DIR (preset: modelnet10)')
    .option('--model <name>', 'resnet | lenet (preset: resnet)')
    .option('--depth <d>', 'octree depth (preset: 5)')
    .option('--epochs <n>', 'epochs (preset: 30)')
    .option('--batch-size <n>', 'shapes per step (preset: 32)')
    .option('--lr <x>', 'initial learning rate, cosine schedule (preset: 0.1)')
    .option('--resblocks <n>', 'ResNet blocks per stage (preset: 2)')
    .option('--width <x>', 'ResNet channel width multiplier (preset: 1)')
    .option('--seed <s>', 'seed (preset: 0)')
    .option('--workers <n>', 'worker threads building octrees (preset: 1)')
    .option('--backend <name>', 'tfjs backend (wasm, cpu, tensorflow)')
    .option('--set <key=value>', SET_HELP, collectSet)
    .option('--skip-missing', 'go on without the shapes a dataset lists but whose files are absent (default: an error listing them)')
    .option('--out <dir>', 'run folder', 'runs/supervised')
    .option('--resume', 'continue an interrupted run from its folder (checkpoint after every epoch)')
    .option('--force', 'replace the run in the run folder')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as one JSON object')
    .action(async (o: Record<string, string | string[] | boolean | undefined>) => {
      const base = resolveConfig(String(o.config), SUPERVISED_KIND);
      const raw = base.raw;
      const ov: Override[] = [];
      if (typeof o.data === 'string') ov.push({ flag: '--data', path: ['data'], value: o.data });
      if (typeof o.model === 'string') ov.push({ flag: '--model', path: ['model'], value: o.model });
      for (const [key, flag] of [
        ['depth', '--depth'],
        ['epochs', '--epochs'],
        ['batchSize', '--batch-size'],
        ['lr', '--lr'],
        ['resblocks', '--resblocks'],
        ['widthScale', '--width'],
        ['seed', '--seed'],
        ['workers', '--workers'],
      ] as const) {
        const src = key === 'widthScale' ? o.width : o[key];
        if (typeof src === 'string') ov.push({ flag, path: [key], value: flagValue(src) });
      }
      if (o.skipMissing === true) ov.push({ flag: '--skip-missing', path: ['skipMissing'], value: true });
      ov.push(...parseSets(o.set as string[] | undefined));
      applyOverrides(raw, ov);
      const cfg = validateOverridden(SupervisedConfigSchema, raw, ov, base.whereOf);
      if (typeof o.backend === 'string') await checkBackend(o.backend);
      const claim = claimRunFolder(String(o.out), { resume: o.resume === true, force: o.force === true, sameConfig: { kind: 'supervised', ...cfg } });
      const { initBackend } = await import('../backend.ts');
      const { trainSupervised } = await import('../downstream/supervised.ts');
      const { loadShapes } = await import('../data/sources.ts');
      const backend = await initBackend({ backend: typeof o.backend === 'string' ? o.backend : undefined });
      const shapes = await loadShapes(cfg.data, { normalize: 'bbox', quiet: o.quiet === true, skipMissing: cfg.skipMissing });
      await writeFileAtomic(path.join(claim.dir, 'config.json'), `${JSON.stringify({ kind: 'supervised', ...cfg }, null, 2)}\n`);
      const { data: _data, skipMissing: _skip, ...recipe } = cfg;
      const r = await trainSupervised(shapes, { ...recipe, out: claim.dir, resume: claim.resumed, quiet: o.quiet === true, config: cfg });
      claim.commit();
      if (o.json) process.stdout.write(`${JSON.stringify({ ...r, backend: backend.name })}\n`);
      else
        process.stdout.write(
          `supervised ${cfg.model} on ${cfg.data}: test OA ${(100 * r.oa).toFixed(2)} % (best epoch ${(100 * r.bestOa).toFixed(2)} %), mAcc ${(100 * r.macc).toFixed(2)} %, ${r.epochs} epochs in ${(r.seconds / 60).toFixed(1)} min on ${backend.name}\nrun folder: ${String(o.out)}\n`,
        );
    });
}
