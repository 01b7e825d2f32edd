import type { Command } from 'commander';
import { buildOctree, inputFeature, OctreeError } from '../../octree/index.ts';
import { loadPointCloud } from '../data/shape.ts';
import { normalizeCloud, type NormalizeMode } from '../data/normalize.ts';
import { UsageError, UserError } from '../util/errors.ts';
import { DEFAULT_DEPTH, DEFAULT_FULL_DEPTH, DEFAULT_NORMALIZE } from '../pipeline/defaults.ts';
import { parseIntOption } from './options.ts';

export interface OctreeSummary {
  depth: number;
  fullDepth: number;
  nnum: number[];
  nnumNempty: number[];
  leaves: Array<[number, number, number]>;
  features?: number[][];
}

/** `rq3d octree FILE`: build the octree of one shape and print what it holds. */
export function registerOctree(program: Command): void {
  program
    .command('octree')
    .description('build the octree of one shape and summarize it')
    .argument('<file>', 'shape file (PLY, OFF, OBJ, PCD, xyz/txt, .points)')
    .option('--depth <d>', "octree depth (1..10; default: the training pipeline's)", String(DEFAULT_DEPTH))
    .option('--full-depth <f>', 'depths 0..f are dense grids', String(DEFAULT_FULL_DEPTH))
    .option(
      '--normalize <mode>',
      "sphere | bbox | none: how the shape is put into the octree box [-1,1]^3 (default: the training pipeline's)",
      DEFAULT_NORMALIZE,
    )
    .option('--features <letters>', 'also output input features of the leaves (letters N D L P F, e.g. ND)')
    .option('--json', 'print exactly one JSON object')
    .action(async (file: string, o: { depth: string; fullDepth: string; normalize: string; features?: string; json?: boolean }) => {
      const depth = parseIntOption(o.depth, '--depth', { min: 1, max: 10 });
      const fullDepth = parseIntOption(o.fullDepth, '--full-depth', { min: 0, max: depth });
      if (!['none', 'bbox', 'sphere'].includes(o.normalize)) throw new UsageError(`--normalize must be none, bbox or sphere, got '${o.normalize}'`);
      if (o.features !== undefined && !/^[NDLPF]+$/i.test(o.features))
        throw new UsageError(`--features: give ocnn feature letters among N, D, L, P, F (e.g. ND), got '${o.features}'`);
      const needsNormals = o.features !== undefined && /[ND]/i.test(o.features);
      const cloud = await loadPointCloud(file, { normals: needsNormals ? 'auto' : 'keep' });
      const pc = normalizeCloud(cloud, o.normalize as NormalizeMode);
      let summary: OctreeSummary;
      try {
        // normalized clouds touch +1.0 exactly; 'clamp' keeps such points in the last cell instead of
        // rejecting them. With --normalize none every coordinate must already lie in [-1, 1).
        const oct = buildOctree(pc, { depth, fullDepth, bounds: o.normalize === 'none' ? 'strict' : 'clamp' });
        const cells = oct.cellCoords(depth, true);
        const leaves: Array<[number, number, number]> = [];
        for (let i = 0; i < cells.length; i += 3) leaves.push([cells[i]!, cells[i + 1]!, cells[i + 2]!]);
        summary = { depth, fullDepth, nnum: oct.nnum, nnumNempty: oct.nnumNempty, leaves };
        if (o.features) {
          const f = inputFeature(oct, { letters: o.features, nempty: true });
          const rows: number[][] = [];
          for (let i = 0; i < f.data.length; i += f.channels) rows.push(Array.from(f.data.subarray(i, i + f.channels)));
          summary.features = rows;
        }
      } catch (e) {
        if (e instanceof OctreeError)
          throw new UserError(`${file}: ${e.message.replace(/; normalize.*$/, '')}${o.normalize === 'none' ? ' (use --normalize bbox or sphere)' : ''}`);
        throw e;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const lines = [
        `${file}: ${pc.points.length / 3} points${pc.normals ? ' with normals' : ''}, depth ${depth}, full depth ${fullDepth}`,
        'depth   nodes  non-empty',
        ...summary.nnum.map((n, d) => `${String(d).padStart(5)} ${String(n).padStart(7)} ${String(summary.nnumNempty[d]).padStart(10)}`),
        `leaves at depth ${depth}: ${summary.leaves.length}${summary.features ? `, features ${o.features} (${summary.features[0]?.length ?? 0} channels)` : ''}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
