import type { Command } from 'commander';
import * as path from 'node:path';
import { canonicalCloud } from '../data/datasets/cache.ts';
import { upAxisOfFile } from '../data/datasets/detect.ts';
import { encodePly } from '../data/formats/ply.ts';
import { applyNormalization, normalizationOf } from '../data/normalize.ts';
import { clonePointCloud, type PointCloud } from '../data/pointcloud.ts';
import { loadPointCloud } from '../data/shape.ts';
import { fromYUp, vectorFromYUp, type UpAxis } from '../data/up-axis.ts';
import { prepareSample, type SampleSpec } from '../pipeline/sample.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UsageError } from '../util/errors.ts';
import { DEFAULT_DEPTH } from '../pipeline/defaults.ts';
import { parseIntOption, parseUpAxisOption } from './options.ts';

/**
 * `rq3d sample FILE`: one shape through exactly the training pipeline's code: the loader's canonical form
 * (y-up, normals where absent, `canonicalCloud` as the preprocessing cache does), the bounding-sphere
 * normalization of the runs, then `prepareSample` (base transform with its clip, RQ, octree) with a stage's
 * spec. `--frame normalized` writes the cloud exactly as the octree sees it; `--frame input` maps it back
 * through the inverse normalization and up-axis rotation.
 */
export type SampleStage = 'pretrain' | 'finetune' | 'eval';
export type SampleFrame = 'input' | 'normalized';

export interface InspectOptions {
  stage: SampleStage;
  /** RQ bins, or null for no RQ. */
  rqBins: number | null;
  seed: number;
  depth: number;
  /** Override of the up axis; default: z for a file inside a ModelNet tree, else y (as the datasets declare). */
  upAxis?: UpAxis;
  /** Points per shape (meshes sampled, larger clouds subsampled), as `data.points`. */
  points?: number;
  frame: SampleFrame;
}

export interface SampleSummary {
  pointsIn: number;
  pointsKept: number;
  /** Distinct coordinate values per axis of the cloud the octree is built from (≤ bins with RQ). */
  distinct: [number, number, number];
  /** Non-empty octree leaves at `depth`. */
  leaves: number;
  upAxis: UpAxis;
  upAxisFrom: 'flag' | 'modelnet-tree' | 'default';
  /** RQ's per-axis ranges (x, y, z of the normalized, y-up frame), or null without RQ. */
  rq: { lo: number[]; hi: number[] } | null;
  stage: SampleStage;
  seed: number;
  depth: number;
  frame: SampleFrame;
  /** input = centre + scale · R⁻¹ · p for a point p of the octree's frame (R: the up-axis rotation). */
  centre: [number, number, number];
  scale: number;
  out?: string;
}

/** The spec a stage trains (or evaluates) with: MID-Net pretraining + RQ, fine-tuning, evaluation. */
export function stageSpec(stage: SampleStage, rqBins: number | null, depth: number): SampleSpec {
  return {
    depth,
    fullDepth: Math.min(2, depth),
    transform: stage === 'pretrain' ? 'midnet' : stage === 'finetune' ? 'finetune' : 'none',
    rq: rqBins === null ? null : { bins: rqBins, variant: 'random-random', p: 1 },
    features: 'ND',
    nempty: false,
  };
}

function distinctPerAxis(points: Float32Array): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const s = new Set<number>();
    for (let i = a; i < points.length; i += 3) s.add(points[i]!);
    out[a] = s.size;
  }
  return out;
}

export async function inspectSample(file: string, o: InspectOptions): Promise<{ summary: SampleSummary; cloud: PointCloud }> {
  const upAxis = o.upAxis ?? upAxisOfFile(file);
  const upAxisFrom = o.upAxis ? 'flag' : upAxis === 'y' ? 'default' : 'modelnet-tree';
  // the datasets' loaders and the preprocessing cache, for one file
  const raw = await loadPointCloud(file, { sample: o.points, seed: o.seed, normals: 'keep' });
  const canonical = canonicalCloud(raw, { normalize: 'none', normals: 'auto', sample: o.points, seed: o.seed }, upAxis, o.seed, file);
  // loadShapes: bounding sphere to the unit ball (pretraining and classification runs)
  const t = normalizationOf(canonical.points, 'sphere', 1);
  const s = prepareSample(applyNormalization(canonical, t), stageSpec(o.stage, o.rqBins, o.depth), o.seed);
  const centre = vectorFromYUp(t.center, upAxis);
  const scale = 1 / t.factor;
  let cloud = s.points;
  if (o.frame === 'input') {
    const back = clonePointCloud(cloud);
    for (let i = 0; i < back.points.length; i += 3) {
      for (let a = 0; a < 3; a++) back.points[i + a] = t.center[a]! + back.points[i + a]! / t.factor;
    }
    cloud = fromYUp(back, upAxis);
  }
  const rq = s.params.rq && s.params.rq.applied ? { lo: s.params.rq.lo, hi: s.params.rq.hi } : null;
  const summary: SampleSummary = {
    pointsIn: s.params.pointsIn,
    pointsKept: s.params.pointsKept,
    distinct: distinctPerAxis(s.points.points),
    leaves: s.octree.nnumNempty[o.depth]!,
    upAxis,
    upAxisFrom,
    rq,
    stage: o.stage,
    seed: o.seed,
    depth: o.depth,
    frame: o.frame,
    centre,
    scale,
  };
  return { summary, cloud };
}

interface SampleCliOptions {
  stage: string;
  rqBins?: string;
  rq: boolean;
  seed: string;
  depth: string;
  out?: string;
  frame: string;
  upAxis?: string;
  points?: string;
  json?: boolean;
}

function fmt(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('run one shape through the training pipeline (up axis, normalization, base transform + clip, RQ, octree) and report what the network sees')
    .argument('<file>', 'shape file (PLY, OFF, OBJ, PCD, xyz/txt, .points)')
    .option('--stage <stage>', 'pretrain (MID-Net transform + RQ) | finetune (downstream transform) | eval (no augmentation)', 'pretrain')
    .option('--rq-bins <n>', 'randomized quantization bins (default: 30 for pretrain, none for finetune / eval)')
    .option('--no-rq', 'no randomized quantization')
    .option('--seed <s>', "the sample's seed (transform and RQ draws; mesh sampling and normals)", '0')
    .option('--depth <d>', "octree depth (default: the training pipeline's)", String(DEFAULT_DEPTH))
    .option('--up-axis <axis>', "the file's up axis (data.upAxis); default z inside a ModelNet <class>/{train,test}/ tree, else y")
    .option('--points <n>', 'points per shape (meshes sampled, larger clouds subsampled), as data.points')
    .option('--frame <frame>', "input (mapped back to the file's frame) | normalized (exactly as the octree sees it)", 'input')
    .option('--out <file.ply>', 'write the cloud the octree is built from (binary PLY)')
    .option('--json', 'print exactly one JSON object')
    .action(async (file: string, o: SampleCliOptions) => {
      if (!['pretrain', 'finetune', 'eval'].includes(o.stage)) throw new UsageError(`--stage must be pretrain, finetune or eval, got '${o.stage}'`);
      const stage = o.stage as SampleStage;
      if (!['input', 'normalized'].includes(o.frame)) throw new UsageError(`--frame must be input or normalized, got '${o.frame}'`);
      if (o.rq === false && o.rqBins !== undefined) throw new UsageError('give either --rq-bins or --no-rq, not both');
      let rqBins: number | null = stage === 'pretrain' ? 30 : null;
      if (o.rq === false) rqBins = null;
      if (o.rqBins !== undefined) {
        rqBins = parseIntOption(o.rqBins, '--rq-bins');
        if (rqBins < 1 || rqBins > 4096) throw new UsageError(`--rq-bins must be in 1..4096, got ${rqBins}`);
      }
      const seed = parseIntOption(o.seed, '--seed');
      const depth = parseIntOption(o.depth, '--depth');
      if (depth < 1 || depth > 10) throw new UsageError(`--depth must be in 1..10, got ${depth}`);
      let points: number | undefined;
      if (o.points !== undefined) {
        points = parseIntOption(o.points, '--points');
        if (points < 1) throw new UsageError(`--points must be >= 1, got ${points}`);
      }
      if (o.out !== undefined && path.extname(o.out).toLowerCase() !== '.ply') throw new UsageError(`${o.out}: --out must end in .ply`);
      const upAxis = o.upAxis !== undefined ? parseUpAxisOption(o.upAxis) : undefined;

      const { summary, cloud } = await inspectSample(file, {
        stage,
        rqBins,
        seed,
        depth,
        frame: o.frame as SampleFrame,
        points,
        ...(upAxis ? { upAxis } : {}),
      });
      if (o.out !== undefined) {
        const comment = [
          `rq3d sample ${path.basename(file)} stage ${stage} seed ${seed} depth ${depth} rq ${rqBins ?? 'off'} up ${summary.upAxis}`,
          summary.frame === 'input'
            ? `frame input: mapped back to the file's frame (inverse normalization and up-axis rotation)`
            : `frame normalized: the octree's y-up box [-1,1]^3; input = centre + scale * R^-1 * p, R maps up ${summary.upAxis} to +y`,
          `centre ${summary.centre.map((v) => String(v)).join(' ')}`,
          `scale ${summary.scale}`,
        ];
        await writeFileAtomic(o.out, encodePly(cloud, { comment }));
        summary.out = o.out;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const r = summary.rq;
      process.stdout.write(
        `${file}: stage ${stage}, seed ${seed}, depth ${depth}, up axis ${summary.upAxis} (${summary.upAxisFrom})\n` +
          `points ${summary.pointsIn} in, ${summary.pointsKept} kept by the clip to the octree box\n` +
          `distinct values per axis  x ${summary.distinct[0]}  y ${summary.distinct[1]}  z ${summary.distinct[2]}; ${summary.leaves} leaves at depth ${depth}\n` +
          (r ? `RQ ${rqBins} bins over lo [${r.lo.map(fmt).join(', ')}] .. hi [${r.hi.map(fmt).join(', ')}] (normalized frame)\n` : 'no RQ\n') +
          `normalization: centre [${summary.centre.map(fmt).join(', ')}], scale ${fmt(summary.scale)}\n` +
          (summary.out ? `wrote ${summary.out} (frame ${summary.frame})\n` : ''),
      );
    });
}
