import type { Command } from 'commander';
import * as path from 'node:path';
import { encodePly } from '../data/formats/ply.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UsageError } from '../util/errors.ts';
import { DEFAULT_DEPTH } from '../pipeline/defaults.ts';
import { inspectSample, type SampleFrame, type SampleStage } from '../pipeline/inspect.ts';
import { parseIntOption, parseUpAxisOption } from './options.ts';

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
