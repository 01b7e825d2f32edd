import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { readShape, type ShapeFormat } from '../data/shape.ts';
import { boundingBox } from '../data/pointcloud.ts';
import { datasetSummary, type DatasetSummary } from '../data/datasets/summary.ts';
import { parseIntOption, parseUpAxisOption } from './options.ts';

export interface ShapeInfo {
  format: ShapeFormat;
  /** Point count, or the vertex count of a mesh. */
  points: number;
  hasNormals: boolean;
  hasLabels: boolean;
  /** Number of distinct labels, or null without labels. */
  labels: number | null;
  /** Triangle count of a mesh (polygons already triangulated), or null for a cloud. */
  faces: number | null;
  bbox: { min: number[]; max: number[] } | null;
}

export async function shapeInfo(file: string): Promise<ShapeInfo> {
  const s = await readShape(file);
  const pts = s.mesh ? s.mesh.vertices : s.cloud!.points;
  const normals = s.mesh ? s.mesh.vertexNormals : s.cloud!.normals;
  const labels = s.cloud?.labels ?? null;
  const n = pts.length / 3;
  const bb = n > 0 ? boundingBox(pts) : null;
  return {
    format: s.format,
    points: n,
    hasNormals: normals !== null,
    hasLabels: labels !== null,
    labels: labels ? new Set(labels).size : null,
    faces: s.mesh ? s.mesh.faces.length / 3 : null,
    bbox: bb ? { min: [...bb.min], max: [...bb.max] } : null,
  };
}

function fmt(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

/** One line per fact of a data folder. */
export function formatDatasetSummary(s: DatasetSummary): string {
  const p = s.pointsPerShape;
  return (
    [
      `${s.dir}`,
      `  layout    ${s.layout} (${s.name})`,
      `  classes   ${s.classes.length}: ${s.classes.slice(0, 12).join(', ')}${s.classes.length > 12 ? ', ...' : ''}`,
      `  splits    train ${s.splits.train}, test ${s.splits.test}`,
      `  points    ${p ? `min ${p.min}, median ${p.median}, max ${p.max} per shape over ${p.measured} shapes${p.meshes ? ` (${p.meshes} meshes: vertices)` : ''}` : 'no shape read'}`,
      `  normals   ${s.normals ?? 'unknown'}${s.normals === 'none' || s.normals === 'some' ? ' (estimated where absent when loaded)' : ''}`,
      `  up axis   ${s.upAxis} (${s.upAxisFrom === 'reader' ? "the reader's; --up-axis / data.upAxis overrides it" : 'override'}); loading turns shapes y-up`,
      `  missing   ${s.missingCount === 0 ? 'none' : `${s.missingCount} listed files: ${s.missing.slice(0, 3).join(', ')}${s.missingCount > 3 ? ', ...' : ''}`}`,
    ].join('\n') + '\n'
  );
}

interface InfoOptions {
  json?: boolean;
  upAxis?: string;
  shapes: string;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('describe a shape file (PLY, OFF, OBJ, PCD, xyz/txt, O-CNN .points) or a data folder (layout, classes, splits, up axis)')
    .argument('<path>', 'shape file or data folder')
    .option('--json', 'print one JSON object')
    .option('--up-axis <axis>', "data folder: the up axis to report instead of the reader's (data.upAxis)")
    .option('--shapes <n>', 'data folder: shapes read for the point counts (0: all)', '200')
    .action(async (file: string, opts: InfoOptions) => {
      // the flags are checked whatever the path is (a file ignores them, but nonsense is still refused)
      const shapes = parseIntOption(opts.shapes, '--shapes', { min: 0 });
      const upAxis = opts.upAxis !== undefined ? parseUpAxisOption(opts.upAxis) : undefined;
      let isDir = false;
      try {
        isDir = statSync(file).isDirectory();
      } catch {
        // not there: readShape names the file
      }
      if (isDir) {
        const summary = await datasetSummary(file, { shapes, ...(upAxis !== undefined ? { upAxis } : {}) });
        process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : formatDatasetSummary(summary));
        return;
      }
      const info = await shapeInfo(file);
      if (opts.json) {
        process.stdout.write(JSON.stringify(info) + '\n');
        return;
      }
      const lines = [
        `${file}`,
        `  format   ${info.format}${info.faces !== null ? ' (mesh)' : ' (point cloud)'}`,
        `  ${info.faces !== null ? 'vertices' : 'points  '} ${info.points}`,
        ...(info.faces !== null ? [`  faces    ${info.faces} triangles`] : []),
        `  normals  ${info.hasNormals ? 'yes' : 'no'}`,
        `  labels   ${info.hasLabels ? `yes, ${info.labels} distinct` : 'no'}`,
        `  bbox     ${info.bbox ? `[${info.bbox.min.map(fmt).join(', ')}] .. [${info.bbox.max.map(fmt).join(', ')}]` : 'empty'}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
