import type { Command } from 'commander';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
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

function intOption(v: string, name: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
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
      const perClass = intOption(opts.perClass, '--per-class', 1);
      const points = intOption(opts.points, '--points', 1);
      const seed = intOption(opts.seed, '--seed', 0);
      const categories = opts.categories?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      for (const c of categories ?? []) {
        if (!SYNTH_CATEGORIES.includes(c)) throw new UserError(`--categories: unknown category '${c}' (known: ${SYNTH_CATEGORIES.join(', ')})`);
      }
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
      else process.stdout.write(`wrote ${counts.train + counts.test} shapes (${counts.train} train, ${counts.test} test) of ${ds.classes.length} categories to ${opts.out}\n`);
    });
}
