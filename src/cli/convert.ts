import type { Command } from 'commander';
import * as path from 'node:path';
import { UsageError, UserError } from '../util/errors.ts';
import { parseIntOption, parseNumberOption } from './options.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { readShape, shapeToCloud, type NormalsMode } from '../data/shape.ts';
import { normalizeCloud, type NormalizeMode } from '../data/normalize.ts';
import { encodePly } from '../data/formats/ply.ts';
import { encodePoints } from '../data/formats/points.ts';
import type { NormalOrientation } from '../data/normals.ts';

interface ConvertOptions {
  sample?: string;
  normals: string;
  orient: string;
  k: string;
  normalize?: string;
  scale: string;
  seed: string;
  ascii?: boolean;
  json?: boolean;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('convert a shape to a PLY point cloud with normals (or an O-CNN .points file): sample meshes, estimate normals, normalize')
    .argument('<in>', 'input shape (PLY, OFF, OBJ, PCD, xyz/txt, .points)')
    .argument('<out>', 'output file: .ply (binary little endian; --ascii for text) or .points')
    .option('--sample <n>', 'mesh: number of surface samples (default 8000); cloud: random subset of this size')
    .option('--normals <mode>', 'auto (keep the file\'s, estimate if absent), estimate (always), keep (never estimate)', 'auto')
    .option('--orient <mode>', 'orientation of estimated normals: centroid or propagate', 'centroid')
    .option('--k <n>', 'neighbours for normal estimation', '16')
    .option('--normalize <mode>', 'bbox (center, largest half extent -> scale) or sphere (bounding sphere -> radius scale)')
    .option('--scale <s>', 'target half extent / radius of --normalize', '1')
    .option('--seed <s>', 'random seed for sampling', '0')
    .option('--ascii', 'write ascii PLY')
    .option('--json', 'print one JSON object describing the output')
    .action(async (input: string, out: string, opts: ConvertOptions) => {
      const ext = path.extname(out).toLowerCase();
      if (ext !== '.ply' && ext !== '.points') throw new UserError(`${out}: output must end in .ply or .points`);
      const normals = oneOf<NormalsMode>(opts.normals, ['auto', 'estimate', 'keep'], '--normals');
      const orient = oneOf<NormalOrientation>(opts.orient, ['centroid', 'propagate'], '--orient');
      const normalize = opts.normalize === undefined ? 'none' : oneOf<NormalizeMode>(opts.normalize, ['bbox', 'sphere'], '--normalize');
      const scale = parseNumberOption(opts.scale, '--scale', { gt: 0 });
      const seed = parseIntOption(opts.seed, '--seed');
      const shape = await readShape(input);
      let pc = shapeToCloud(shape, {
        sample: opts.sample === undefined ? undefined : parseIntOption(opts.sample, '--sample', { min: 1 }),
        normals,
        orient,
        k: parseIntOption(opts.k, '--k', { min: 1, max: 1000 }),
        seed,
      });
      pc = normalizeCloud(pc, normalize, scale);
      const bytes = ext === '.points' ? encodePoints(pc) : encodePly(pc, { ascii: opts.ascii, comment: `rq3d convert ${path.basename(input)}` });
      await writeFileAtomic(out, bytes);
      const summary = {
        input,
        output: out,
        inputFormat: shape.format,
        points: pc.points.length / 3,
        hasNormals: pc.normals !== null,
        hasLabels: pc.labels !== null,
        normalize,
      };
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else process.stdout.write(`wrote ${out}: ${summary.points} points${summary.hasNormals ? ' with normals' : ''} (from ${shape.format})\n`);
    });
}
