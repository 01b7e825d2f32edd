import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { parseIntOption, parseNumberOption } from './options.ts';

/** `rq3d supervised`: the supervised O-CNN baseline (ResNet or LeNet from scratch, all labels). */
export function registerSupervised(program: Command): void {
  program
    .command('supervised')
    .description('train an O-CNN ResNet or LeNet classifier from scratch on all labels (the supervised baseline)')
    .option('--data <source>', 'modelnet10 | synth | DIR', 'modelnet10')
    .option('--model <name>', 'resnet | lenet', 'resnet')
    .option('--depth <d>', 'octree depth', '5')
    .option('--epochs <n>', 'epochs', '30')
    .option('--batch-size <n>', 'shapes per step', '32')
    .option('--lr <x>', 'initial learning rate (cosine schedule)', '0.1')
    .option('--resblocks <n>', 'ResNet blocks per stage', '2')
    .option('--width <x>', 'ResNet channel width multiplier', '1')
    .option('--seed <s>', 'seed', '0')
    .option('--workers <n>', 'worker threads building octrees', '1')
    .option('--out <dir>', 'run folder', 'runs/supervised')
    .option('--resume', 'continue an interrupted run from its folder (checkpoint after every epoch)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as one JSON object')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const { initBackend } = await import('../backend.ts');
      const { trainSupervised } = await import('../downstream/supervised.ts');
      const { loadShapes } = await import('../train/shapes.ts');
      if (o.model !== 'resnet' && o.model !== 'lenet') throw new UserError(`--model must be resnet or lenet, got '${String(o.model)}'`);
      const backend = await initBackend();
      const shapes = await loadShapes(String(o.data), { normalize: 'bbox', quiet: o.quiet === true });
      const r = await trainSupervised(shapes, {
        model: o.model,
        depth: parseIntOption(String(o.depth), '--depth'),
        fullDepth: 2,
        epochs: parseIntOption(String(o.epochs), '--epochs'),
        batchSize: parseIntOption(String(o.batchSize), '--batch-size'),
        lr: parseNumberOption(String(o.lr), '--lr'),
        weightDecay: 5e-4,
        resblocks: parseIntOption(String(o.resblocks), '--resblocks'),
        widthScale: parseNumberOption(String(o.width), '--width'),
        seed: parseIntOption(String(o.seed), '--seed'),
        workers: parseIntOption(String(o.workers), '--workers'),
        out: String(o.out),
        resume: o.resume === true,
        quiet: o.quiet === true,
      });
      if (o.json) process.stdout.write(`${JSON.stringify({ ...r, backend: backend.name })}\n`);
      else process.stdout.write(`supervised ${o.model} on ${o.data}: test OA ${(100 * r.oa).toFixed(2)} % (best epoch ${(100 * r.bestOa).toFixed(2)} %), mAcc ${(100 * r.macc).toFixed(2)} %, ${r.epochs} epochs in ${(r.seconds / 60).toFixed(1)} min on ${backend.name}\nrun folder: ${o.out}\n`);
    });
}
