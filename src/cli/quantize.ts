import type { Command } from 'commander';
import * as path from 'node:path';
import { buildOctree, OctreeError } from '../../octree/index.ts';
import { randomizedQuantize, rqVariantOptions, isRqVariant, RQ_VARIANT_NAMES, type RqVariant } from '../augment/randomized-quantization.ts';
import { encodePly } from '../data/formats/ply.ts';
import { applyNormalization, bboxNormalization, sphereNormalization, type Normalization, type NormalizeMode } from '../data/normalize.ts';
import { clonePointCloud, distinctPerAxis, type PointCloud } from '../data/pointcloud.ts';
import { loadPointCloud } from '../data/shape.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UsageError, UserError } from '../util/errors.ts';
import { DEFAULT_DEPTH, DEFAULT_NORMALIZE } from '../pipeline/defaults.ts';
import { Rng } from '../util/rng.ts';
import { parseIntOption, parseNumberOption } from './options.ts';

interface QuantizeOptions {
  bins: string;
  seed: string;
  variant: string;
  p: string;
  depth: string;
  normalize: string;
  frame: string;
  out?: string;
  json?: boolean;
}

export interface QuantizeSummary {
  points: number;
  /** Distinct coordinate values per axis after quantization (≤ bins when applied). */
  distinct: [number, number, number];
  /**
   * Non-empty octree leaves at --depth before / after quantization: RQ's sparsification. Null with
   * `--normalize none` when the shape does not lie in the octree box [-1, 1)^3 (nothing to count in).
   */
  leavesBefore: number | null;
  leavesAfter: number | null;
  applied: boolean;
  bins: number;
  variant: RqVariant;
  seed: number;
  depth: number;
  normalize: NormalizeMode;
  /**
   * The map from the input's coordinates to the octree box: normalized = (input - center) * scale. The
   * written cloud is in `frame`: 'input' (the default: it overlays its input) or 'normalized'.
   */
  center: [number, number, number];
  scale: number;
  frame: 'input' | 'normalized';
  out?: string;
}

function leaves(pc: PointCloud, depth: number, file: string, strict: boolean): number | null {
  // with --normalize none the cloud is in its own frame: count leaves only where the octree box holds it
  if (strict && !insideBox(pc.points)) return null;
  try {
    // normalized clouds can touch +1.0 exactly; 'clamp' puts such points in the last cell
    return buildOctree(pc, { depth, fullDepth: Math.min(2, depth), bounds: strict ? 'strict' : 'clamp' }).nnumNempty[depth]!;
  } catch (e) {
    if (e instanceof OctreeError) throw new UserError(`${file}: ${e.message.replace(/; normalize.*$/, '')} (use --normalize sphere or bbox)`);
    throw e;
  }
}

function insideBox(p: Float32Array): boolean {
  for (let i = 0; i < p.length; i++) if (!(p[i]! >= -1 && p[i]! < 1)) return false;
  return true;
}

/** The cloud mapped back from the octree box to the input's frame: input = normalized / scale + center. */
function toInputFrame(pc: PointCloud, t: Normalization): PointCloud {
  const out = clonePointCloud(pc);
  const p = out.points;
  for (let i = 0; i < p.length; i += 3) for (let a = 0; a < 3; a++) p[i + a] = p[i + a]! / t.factor + t.center[a]!;
  return out;
}

/**
 * `rq3d quantize FILE`: normalize a shape into the octree box (as the training pipeline does), apply
 * randomized quantization to its xyz and report how much it sparsifies the octree; optionally write the
 * quantized cloud as PLY, by default mapped back to the input's frame (so it overlays its input in any
 * tool), with the center and scale of the normalization in the PLY header and the JSON. `--normalize none`
 * quantizes the input's own coordinates (RQ is per axis over the shape's range, so any frame works); the
 * leaves are then counted only when the shape lies in the octree box.
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
    .option('--depth <d>', "octree depth at which leaves are counted (default: the training pipeline's)", String(DEFAULT_DEPTH))
    .option('--normalize <mode>', "sphere | bbox | none: how the shape is put into the box [-1,1]^3 (default: the training pipeline's)", DEFAULT_NORMALIZE)
    .option('--out <file.ply>', 'write the quantized cloud (binary PLY with normals/labels when present)')
    .option('--frame <frame>', "coordinates of --out: input (the input's frame; center and scale in the header) or normalized (the octree box)", 'input')
    .option('--json', 'print exactly one JSON object')
    .action(async (file: string, o: QuantizeOptions) => {
      const bins = parseIntOption(o.bins, '--bins', { min: 1, max: 4096 });
      const seed = parseIntOption(o.seed, '--seed');
      const p = parseNumberOption(o.p, '--p', { min: 0, max: 1 });
      const depth = parseIntOption(o.depth, '--depth', { min: 1, max: 10 });
      if (!isRqVariant(o.variant)) throw new UsageError(`--variant must be one of ${RQ_VARIANT_NAMES.join(', ')}, got '${o.variant}'`);
      if (!['sphere', 'bbox', 'none'].includes(o.normalize)) throw new UsageError(`--normalize must be sphere, bbox or none, got '${o.normalize}'`);
      if (o.frame !== 'input' && o.frame !== 'normalized') throw new UsageError(`--frame must be input or normalized, got '${o.frame}'`);
      if (o.out !== undefined && path.extname(o.out).toLowerCase() !== '.ply') throw new UsageError(`--out: '${o.out}' must end in .ply`);
      const normalize = o.normalize as NormalizeMode;

      const input = await loadPointCloud(file, { normals: 'keep', seed });
      if (input.points.length === 0) throw new UserError(`${file}: the shape has no points`);
      const t: Normalization =
        normalize === 'bbox' ? bboxNormalization(input.points) : normalize === 'sphere' ? sphereNormalization(input.points) : { center: [0, 0, 0], factor: 1 };
      const cloud = normalize === 'none' ? input : applyNormalization(input, t);
      // in the input's own frame there is no octree box to clamp to
      const rq = randomizedQuantize(cloud, new Rng(seed), rqVariantOptions(o.variant, { bins, p, ...(normalize === 'none' ? { box: null } : {}) }));
      const frame = o.frame;
      const summary: QuantizeSummary = {
        points: cloud.points.length / 3,
        distinct: distinctPerAxis(rq.cloud.points),
        leavesBefore: leaves(cloud, depth, file, normalize === 'none'),
        leavesAfter: leaves(rq.cloud, depth, file, normalize === 'none'),
        applied: rq.applied,
        bins,
        variant: o.variant,
        seed,
        depth,
        normalize,
        center: t.center,
        scale: t.factor,
        frame,
      };
      if (o.out !== undefined) {
        const written = frame === 'input' && normalize !== 'none' ? toInputFrame(rq.cloud, t) : rq.cloud;
        const c = t.center.map((v) => Number(v.toPrecision(9))).join(' ');
        const comment = `rq3d quantize ${path.basename(file)} bins ${bins} ${o.variant} seed ${seed}; frame ${frame}; normalize ${normalize} center ${c} scale ${Number(t.factor.toPrecision(9))} (normalized = (input - center) * scale)`;
        try {
          await writeFileAtomic(o.out, encodePly(written, { comment }));
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'ENOENT')
            throw new UsageError(
              `--out: cannot write '${o.out}' (${code === 'ENOENT' ? 'no such folder' : 'a part of the path is a file'}); choose another path`,
            );
          throw e;
        }
        summary.out = o.out;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const ratio = summary.leavesBefore && summary.leavesAfter !== null ? summary.leavesAfter / summary.leavesBefore : 0;
      process.stdout.write(
        `${file}: ${summary.points} points, RQ ${o.variant} with ${bins} bins${rq.applied ? '' : ' (skipped by --p)'}\n` +
          `distinct values per axis  x ${summary.distinct[0]}  y ${summary.distinct[1]}  z ${summary.distinct[2]}\n` +
          (summary.leavesBefore === null
            ? `non-empty leaves: not counted (the shape lies outside the octree box [-1, 1)^3; use --normalize sphere or bbox to count them)\n`
            : `non-empty leaves at depth ${depth}: ${summary.leavesBefore} -> ${summary.leavesAfter} (${(100 * ratio).toFixed(1)}%)\n`) +
          (summary.out
            ? `wrote ${summary.out} (${frame === 'input' ? "the input's frame" : 'normalized frame'}; normalization center [${t.center.map((v) => v.toPrecision(4)).join(', ')}], scale ${t.factor.toPrecision(4)})\n`
            : ''),
      );
    });
}
