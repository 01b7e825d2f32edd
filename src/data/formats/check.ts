import { fileError } from '../../util/errors.ts';
import type { Mesh, PointCloud } from '../pointcloud.ts';

/** What a reader returns: a mesh when the file has faces, a cloud otherwise. */
export type ShapeFormat = 'ply' | 'off' | 'obj' | 'pcd' | 'xyz' | 'points';
export interface Shape {
  format: ShapeFormat;
  cloud?: PointCloud;
  mesh?: Mesh;
}

function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/**
 * Binary formats can carry NaN/Inf; they poison bounding boxes and octree keys downstream, so every reader
 * rejects them here with the point index.
 */
export function checkFinite(a: Float32Array, stride: number, file: string, what: string): void {
  const i = firstNonFinite(a);
  if (i >= 0) throw fileError(file, `${what} of point ${Math.floor(i / stride)} is not finite (${a[i]})`);
}

export function checkCloud(pc: PointCloud, file: string): PointCloud {
  const n = pc.points.length / 3;
  if (!Number.isInteger(n)) throw fileError(file, 'point array length is not a multiple of 3');
  checkFinite(pc.points, 3, file, 'coordinate');
  if (pc.normals) {
    if (pc.normals.length !== 3 * n) throw fileError(file, 'normal count differs from point count');
    checkFinite(pc.normals, 3, file, 'normal');
  }
  if (pc.labels && pc.labels.length !== n) throw fileError(file, 'label count differs from point count');
  if (pc.features) {
    if (pc.features.length !== pc.featureChannels * n) throw fileError(file, 'feature count differs from point count');
    checkFinite(pc.features, Math.max(1, pc.featureChannels), file, 'feature');
  }
  return pc;
}

export function checkMesh(mesh: Mesh, file: string): Mesh {
  const nv = mesh.vertices.length / 3;
  checkFinite(mesh.vertices, 3, file, 'vertex coordinate');
  if (mesh.vertexNormals) checkFinite(mesh.vertexNormals, 3, file, 'vertex normal');
  for (let i = 0; i < mesh.faces.length; i++) {
    if (mesh.faces[i]! >= nv) throw fileError(file, `face ${Math.floor(i / 3)} refers to vertex ${mesh.faces[i]} but there are ${nv} vertices`);
  }
  return mesh;
}

/**
 * Binary coordinates read with the wrong byte order come out as denormals (|v| < 1e-36) or absurdly large
 * values; real shapes have neither, so they are rejected with a hint instead of producing garbage.
 */
export function checkPlausibleBinary(a: Float32Array, file: string, what = 'coordinate'): void {
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > 1e18 || (v !== 0 && v < 1e-36)) {
      throw fileError(file, `${what} of point ${Math.floor(i / 3)} is implausible (${a[i]}): wrong byte order or corrupt data?`);
    }
  }
}
