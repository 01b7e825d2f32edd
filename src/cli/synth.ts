import type { Command } from 'commander';
import * as path from 'node:path';
import { UsageError } from '../util/errors.ts';
import { parseIntOption } from './options.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { encodePly } from '../data/formats/ply.ts';
import { partTable, synthDataset, SYNTH_CATEGORIES } from '../data/synth/index.ts';

interface SynthOptions {
  out: string;
  perClass: string;
  points: string;
  seed: string;
  categories?: string;
  rotateY?: boolean;
  json?: boolean;
}

/**
 * `rq3d synth`: write the bundled synthetic dataset to disk as binary PLY files (xyz, normals, int label =
 * local part id), laid out as DIR/<category>/{train,test}/<category>_NNNN.ply, with classes.txt (one class per
 * line, in label order) and parts.json (part names and global part offsets per category).
 */
export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description('write the synthetic part-labelled dataset as PLY files (DIR/<category>/{train,test}/<category>_NNNN.ply)')
    .requiredOption('--out <dir>', 'output folder')
    .requiredOption('--per-class <n>', 'shapes per category (every 5th goes to test)')
    .option('--points <n>', 'surface points per shape', '2048')
    .option('--seed <s>', 'dataset seed', '0')
    .option('--categories <list>', `comma-separated subset of: ${SYNTH_CATEGORIES.join(', ')}`)
    .option('--rotate-y', 'rotate every shape by a random angle about y')
    .option('--json', 'print one JSON object describing the output')
    .action(async (opts: SynthOptions) => {
      const perClass = parseIntOption(opts.perClass, '--per-class', { min: 1, max: 100_000 });
      const points = parseIntOption(opts.points, '--points', { min: 1, max: 10_000_000 });
      const seed = parseIntOption(opts.seed, '--seed', { min: 0 });
      const categories = opts.categories?.split(',').map((s) => s.trim());
      for (const c of categories ?? []) {
        if (!SYNTH_CATEGORIES.includes(c)) throw new UsageError(`--categories: unknown category '${c}' (known: ${SYNTH_CATEGORIES.join(', ')})`);
      }
      if (opts.out.trim() === '') throw new UsageError('--out: give a folder name');
      const ds = synthDataset({ perClass, seed, points, categories, randomYRotation: opts.rotateY ?? false });
      const counts = { train: 0, test: 0 };
      for (const item of ds.items) {
        const pc = ds.loadSync(item);
        const file = path.join(opts.out, item.category, item.split, `${item.id}.ply`);
        await writeFileAtomic(file, encodePly(pc, { comment: `rq3d synth seed ${seed} ${item.id} labels=local part ids` }));
        counts[item.split]++;
      }
      await writeFileAtomic(path.join(opts.out, 'classes.txt'), ds.classes.join('\n') + '\n');
      const table = partTable();
      const parts = { ...table, categories: table.categories.filter((c) => ds.classes.includes(c.name)) };
      await writeFileAtomic(path.join(opts.out, 'parts.json'), JSON.stringify(parts, null, 2) + '\n');
      const summary = { out: opts.out, classes: ds.classes, perClass, points, seed, train: counts.train, test: counts.test };
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else
        process.stdout.write(
          `wrote ${counts.train + counts.test} shapes (${counts.train} train, ${counts.test} test) of ${ds.classes.length} categories to ${opts.out}\n`,
        );
    });
}
