import type { Command } from 'commander';
import * as path from 'node:path';
import { buildOctree, OctreeError } from '../../octree/index.ts';
import { randomizedQuantize, rqVariantOptions, isRqVariant, RQ_VARIANT_NAMES, type RqVariant } from '../augment/randomized-quantization.ts';
import { encodePly } from '../data/formats/ply.ts';
import { normalizeCloud, type NormalizeMode } from '../data/normalize.ts';
import type { PointCloud } from '../data/pointcloud.ts';
import { loadPointCloud } from '../data/shape.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { parseIntOption, parseNumberOption } from './options.ts';

interface QuantizeOptions {
  bins: string;
  seed: string;
  variant: string;
  p: string;
  depth: string;
  normalize: string;
  out?: string;
  json?: boolean;
}

export interface QuantizeSummary {
  points: number;
  /** Distinct coordinate values per axis after quantization (≤ bins when applied). */
  distinct: [number, number, number];
  /** Non-empty octree leaves at --depth before / after quantization: RQ's sparsification. */
  leavesBefore: number;
  leavesAfter: number;
  applied: boolean;
  bins: number;
  variant: RqVariant;
  seed: number;
  depth: number;
  out?: string;
}

function distinctPerAxis(pc: PointCloud): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const s = new Set<number>();
    for (let i = a; i < pc.points.length; i += 3) s.add(pc.points[i]!);
    out[a] = s.size;
  }
  return out;
}

function leaves(pc: PointCloud, depth: number, file: string, strict: boolean): number {
  try {
    // normalized clouds can touch +1.0 exactly; 'clamp' puts such points in the last cell
    return buildOctree(pc, { depth, fullDepth: Math.min(2, depth), bounds: strict ? 'strict' : 'clamp' }).nnumNempty[depth]!;
  } catch (e) {
    if (e instanceof OctreeError) throw new UserError(`${file}: ${e.message.replace(/; normalize.*$/, '')} (use --normalize sphere or bbox)`);
    throw e;
  }
}

/**
 * `rq3d quantize FILE`: normalize a shape into the octree box, apply randomized quantization to its xyz and
 * report how much it sparsifies the octree; optionally write the quantized cloud as PLY.
 */
export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('apply randomized quantization (RQ) to a shape and report the octree leaves before/after')
    .argument('<file>', 'shape file (PLY, OFF, OBJ, PCD, xyz/txt, .points)')
    .option('--bins <n>', 'bins per axis', '30')
    .option('--seed <s>', 'random seed', '0')
    .option('--variant <name>', `bins-values ablation: ${RQ_VARIANT_NAMES.join(' | ')}`, 'random-random')
    .option('--p <prob>', 'probability that the shape is quantized', '1')
    .option('--depth <d>', 'octree depth at which leaves are counted', '6')
    .option('--normalize <mode>', 'sphere | bbox | none: how the shape is put into the box [-1,1]^3', 'sphere')
    .option('--out <file.ply>', 'write the quantized cloud (binary PLY with normals/labels when present)')
    .option('--json', 'print exactly one JSON object')
    .action(async (file: string, o: QuantizeOptions) => {
      const bins = parseIntOption(o.bins, '--bins');
      if (bins < 1) throw new UserError(`--bins must be >= 1, got ${bins}`);
      const seed = parseIntOption(o.seed, '--seed');
      const p = parseNumberOption(o.p, '--p');
      if (p < 0 || p > 1) throw new UserError(`--p must be in [0, 1], got ${p}`);
      const depth = parseIntOption(o.depth, '--depth');
      if (depth < 1 || depth > 10) throw new UserError(`--depth must be in 1..10, got ${depth}`);
      if (!isRqVariant(o.variant)) throw new UserError(`--variant must be one of ${RQ_VARIANT_NAMES.join(', ')}, got '${o.variant}'`);
      if (!['sphere', 'bbox', 'none'].includes(o.normalize)) throw new UserError(`--normalize must be sphere, bbox or none, got '${o.normalize}'`);
      if (o.out !== undefined && path.extname(o.out).toLowerCase() !== '.ply') throw new UserError(`${o.out}: --out must end in .ply`);

      const cloud = normalizeCloud(await loadPointCloud(file, { normals: 'keep', seed }), o.normalize as NormalizeMode);
      if (cloud.points.length === 0) throw new UserError(`${file}: the shape has no points`);
      const rq = randomizedQuantize(cloud, new Rng(seed), rqVariantOptions(o.variant, { bins, p }));
      const summary: QuantizeSummary = {
        points: cloud.points.length / 3,
        distinct: distinctPerAxis(rq.cloud),
        leavesBefore: leaves(cloud, depth, file, o.normalize === 'none'),
        leavesAfter: leaves(rq.cloud, depth, file, o.normalize === 'none'),
        applied: rq.applied,
        bins,
        variant: o.variant,
        seed,
        depth,
      };
      if (o.out !== undefined) {
        await writeFileAtomic(o.out, encodePly(rq.cloud, { comment: `rq3d quantize ${path.basename(file)} bins ${bins} ${o.variant} seed ${seed}` }));
        summary.out = o.out;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const ratio = summary.leavesBefore > 0 ? summary.leavesAfter / summary.leavesBefore : 0;
      process.stdout.write(
        `${file}: ${summary.points} points, RQ ${o.variant} with ${bins} bins${rq.applied ? '' : ' (skipped by --p)'}\n` +
          `distinct values per axis  x ${summary.distinct[0]}  y ${summary.distinct[1]}  z ${summary.distinct[2]}\n` +
          `non-empty leaves at depth ${depth}: ${summary.leavesBefore} -> ${summary.leavesAfter} (${(100 * ratio).toFixed(1)}%)\n` +
          (summary.out ? `wrote ${summary.out}\n` : ''),
      );
    });
}
