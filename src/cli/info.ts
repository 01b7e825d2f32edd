import type { Command } from 'commander';
import { readShape, type ShapeFormat } from '../data/shape.ts';
import { boundingBox } from '../data/pointcloud.ts';

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

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('describe a shape file (PLY, OFF, OBJ, PCD, xyz/txt, O-CNN .points)')
    .argument('<file>', 'shape file')
    .option('--json', 'print one JSON object')
    .action(async (file: string, opts: { json?: boolean }) => {
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
