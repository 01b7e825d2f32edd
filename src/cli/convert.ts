import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, UserError } from '../util/errors.ts';
import { parseIntOption, parseNumberOption } from './options.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { formatFromExtension, readShape, shapeToCloud, type NormalsMode } from '../data/shape.ts';
import { createProgress } from '../util/progress.ts';
import { applyNormalization, bboxNormalization, sphereNormalization, type Normalization, type NormalizeMode } from '../data/normalize.ts';
import { encodePly } from '../data/formats/ply.ts';
import { encodePoints } from '../data/formats/points.ts';
import type { NormalOrientation } from '../data/normals.ts';

interface ConvertOptions {
  format: string;
  quiet?: boolean;
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

interface Prepared {
  normals: NormalsMode;
  orient: NormalOrientation;
  normalize: NormalizeMode;
  scale: number;
  seed: number;
  sample: number | undefined;
  k: number;
}

/** Convert one file; the normalization (when asked for) is recorded in the PLY header and the summary. */
async function convertOne(input: string, out: string, o: Prepared, opts: ConvertOptions) {
  const ext = path.extname(out).toLowerCase();
  const shape = await readShape(input);
  let pc = shapeToCloud(shape, { sample: o.sample, normals: o.normals, orient: o.orient, k: o.k, seed: o.seed });
  const t: Normalization | null =
    o.normalize === 'bbox' ? bboxNormalization(pc.points, o.scale) : o.normalize === 'sphere' ? sphereNormalization(pc.points, o.scale) : null;
  if (t) pc = applyNormalization(pc, t);
  const frame = t
    ? `; frame normalized: normalize ${o.normalize} center ${t.center.map((v) => Number(v.toPrecision(9))).join(' ')} scale ${Number(t.factor.toPrecision(9))} (output = (input - center) * scale)`
    : '; frame input';
  const bytes = ext === '.points' ? encodePoints(pc) : encodePly(pc, { ascii: opts.ascii, comment: `rq3d convert ${path.basename(input)}${frame}` });
  await writeFileAtomic(out, bytes);
  return {
    input,
    output: out,
    inputFormat: shape.format,
    points: pc.points.length / 3,
    hasNormals: pc.normals !== null,
    hasLabels: pc.labels !== null,
    normalize: o.normalize,
    ...(t ? { center: t.center, scale: t.factor } : {}),
  };
}

/** The shape files under a folder (recursively, sorted), as paths relative to it. */
function shapeFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory() && !e.name.startsWith('.')) walk(r);
      else if (e.isFile() && formatFromExtension(e.name)) out.push(r);
    }
  };
  walk('');
  return out;
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description(
      'convert a shape (or every shape under a folder) to a PLY point cloud with normals (or an O-CNN .points file): sample meshes, estimate normals, normalize',
    )
    .argument('<in>', 'input shape (PLY, OFF, OBJ, PCD, xyz/txt, .points), or a folder of them')
    .argument('<out>', 'output file: .ply (binary little endian; --ascii for text) or .points; for a folder input, the output folder (same tree)')
    .option('--sample <n>', 'mesh: number of surface samples (default 8000); cloud: random subset of this size')
    .option('--normals <mode>', "auto (keep the file's, estimate if absent), estimate (always), keep (never estimate)", 'auto')
    .option('--orient <mode>', 'orientation of estimated normals: centroid or propagate', 'centroid')
    .option('--k <n>', 'neighbours for normal estimation', '16')
    .option('--normalize <mode>', "bbox (center, largest half extent -> scale) or sphere (bounding sphere -> radius scale); default: keep the input's frame")
    .option('--scale <s>', 'target half extent / radius of --normalize', '1')
    .option('--seed <s>', 'random seed for sampling', '0')
    .option('--format <ext>', 'folder input: ply or points', 'ply')
    .option('--ascii', 'write ascii PLY')
    .option('--quiet', 'folder input: no progress output')
    .option('--json', 'print one JSON object describing the output')
    .action(async (input: string, out: string, opts: ConvertOptions) => {
      const o: Prepared = {
        normals: oneOf<NormalsMode>(opts.normals, ['auto', 'estimate', 'keep'], '--normals'),
        orient: oneOf<NormalOrientation>(opts.orient, ['centroid', 'propagate'], '--orient'),
        normalize: opts.normalize === undefined ? 'none' : oneOf<NormalizeMode>(opts.normalize, ['bbox', 'sphere'], '--normalize'),
        scale: parseNumberOption(opts.scale, '--scale', { gt: 0 }),
        seed: parseIntOption(opts.seed, '--seed'),
        sample: opts.sample === undefined ? undefined : parseIntOption(opts.sample, '--sample', { min: 1 }),
        k: parseIntOption(opts.k, '--k', { min: 1, max: 1000 }),
      };
      const format = oneOf(opts.format, ['ply', 'points'] as const, '--format');
      const isDir = fs.existsSync(input) && fs.statSync(input).isDirectory();
      if (!isDir) {
        const ext = path.extname(out).toLowerCase();
        if (ext !== '.ply' && ext !== '.points') throw new UsageError(`${out}: output must end in .ply or .points`);
        const summary = await convertOne(input, out, o, opts);
        if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else process.stdout.write(`wrote ${out}: ${summary.points} points${summary.hasNormals ? ' with normals' : ''} (from ${summary.inputFormat})\n`);
        return;
      }
      if (path.extname(out) !== '')
        throw new UsageError(`${out}: a folder input needs an output folder (got a file name); use --format ply|points for the files`);
      if (path.resolve(out) === path.resolve(input) || path.resolve(out).startsWith(path.resolve(input) + path.sep))
        throw new UsageError(`${out}: the output folder must not be the input folder or inside it`);
      const files = shapeFiles(input);
      if (files.length === 0)
        throw new UserError(`${input}: no shape files (${[...new Set(['ply', 'off', 'obj', 'pcd', 'points', 'xyz', 'txt'])].join(', ')}) under this folder`);
      const progress = createProgress(`convert ${input}`, files.length, { quiet: opts.quiet === true || opts.json === true, unit: 'files' });
      let points = 0;
      try {
        for (let i = 0; i < files.length; i++) {
          const rel = files[i]!;
          // each output is written whole (temp file, then rename): an interrupted run leaves whole files only
          const target = path.join(out, rel.slice(0, rel.length - path.extname(rel).length) + `.${format}`);
          points += (await convertOne(path.join(input, rel), target, o, opts)).points;
          progress.update(i + 1);
        }
      } finally {
        progress.stop();
      }
      const summary = { input, output: out, files: files.length, points, normalize: o.normalize, format };
      if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else process.stdout.write(`wrote ${files.length} files (${points} points) under ${out}\n`);
    });
}
