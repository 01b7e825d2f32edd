import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileError, UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import type { Shape, ShapeFormat } from './formats/check.ts';
import { parseObj } from './formats/obj.ts';
import { parseOff } from './formats/off.ts';
import { parsePcd } from './formats/pcd.ts';
import { parsePly } from './formats/ply.ts';
import { parsePoints, POINTS_MAGIC } from './formats/points.ts';
import { parseXyz } from './formats/xyz.ts';
import { estimateNormals, type NormalOrientation } from './normals.ts';
import { selectPoints, type PointCloud } from './pointcloud.ts';
import { sampleMesh } from './sample.ts';

export type { Shape, ShapeFormat } from './formats/check.ts';

/** Files larger than this are refused before reading (a point cloud file this big is almost surely a mistake). */
export const MAX_FILE_BYTES = 1 << 30;

const EXTENSIONS: Record<string, ShapeFormat> = {
  '.ply': 'ply',
  '.off': 'off',
  '.obj': 'obj',
  '.pcd': 'pcd',
  '.points': 'points',
  '.xyz': 'xyz',
  '.txt': 'xyz',
  '.pts': 'xyz',
  '.asc': 'xyz',
  '.csv': 'xyz',
  '.xyzn': 'xyz',
};

export function formatFromExtension(file: string): ShapeFormat | null {
  return EXTENSIONS[path.extname(file).toLowerCase()] ?? null;
}

/** Recognise a format from its first bytes, or null when the content does not say (OBJ, xyz). */
export function sniffFormat(bytes: Uint8Array): ShapeFormat | null {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 512)).toString('latin1');
  if (head.startsWith(POINTS_MAGIC)) return 'points';
  if (/^ply\s/.test(head)) return 'ply';
  if (/^\s*C?N?OFF/.test(head)) return 'off';
  if (/^(#[^\n]*\n|\s)*(VERSION|FIELDS)\s/.test(head)) return 'pcd';
  return null;
}

const PARSERS: Record<ShapeFormat, (bytes: Uint8Array, file: string) => Shape> = {
  ply: parsePly,
  off: parseOff,
  obj: parseObj,
  pcd: parsePcd,
  points: parsePoints,
  xyz: parseXyz,
};

/** Parse bytes already in memory; the content wins over the extension when it clearly names a format. */
export function parseShape(bytes: Uint8Array, file: string): Shape {
  if (bytes.length === 0) throw fileError(file, 'file is empty');
  const fmt = sniffFormat(bytes) ?? formatFromExtension(file);
  if (!fmt) {
    throw fileError(file, `unknown shape format (extension ${JSON.stringify(path.extname(file))}; expected ${Object.keys(EXTENSIONS).join(' ')})`);
  }
  try {
    return PARSERS[fmt](bytes, file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    // A reader bug must still name the file; keep the original as the cause for debugging.
    if (e instanceof RangeError) throw Object.assign(fileError(file, `corrupt ${fmt} data (${e.message})`), { cause: e });
    throw e;
  }
}

export async function readShape(file: string): Promise<Shape> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw fileError(file, 'cannot read the file (does it exist?)');
  }
  if (!stat.isFile()) throw fileError(file, 'is not a regular file');
  if (stat.size > MAX_FILE_BYTES) throw fileError(file, `file is too large (${stat.size} bytes > ${MAX_FILE_BYTES})`);
  const bytes = new Uint8Array(await fs.readFile(file));
  return parseShape(bytes, file);
}

export type NormalsMode = 'keep' | 'estimate' | 'auto';

export interface LoadOptions {
  /**
   * Meshes: number of surface samples (default 8000, ocnn-pytorch's ModelNet setting). Clouds: when smaller
   * than the point count, a random subset of that size; otherwise all points.
   */
  sample?: number;
  /** keep: the file's normals (none if it has none); estimate: always PCA; auto: keep, or estimate if absent. */
  normals?: NormalsMode;
  orient?: NormalOrientation;
  /** Neighbours for normal estimation. */
  k?: number;
  seed?: number | string;
}

export const DEFAULT_MESH_SAMPLES = 8000;

/** Turn any shape into a point cloud: meshes are sampled, clouds subsampled on request, normals per `normals`. */
export function shapeToCloud(shape: Shape, opts: LoadOptions = {}): PointCloud {
  const rng = new Rng(opts.seed ?? 0);
  let pc: PointCloud;
  if (shape.mesh) {
    pc = sampleMesh(shape.mesh, opts.sample ?? DEFAULT_MESH_SAMPLES, rng);
  } else {
    pc = shape.cloud!;
    const n = pc.points.length / 3;
    if (opts.sample !== undefined) {
      if (!Number.isInteger(opts.sample) || opts.sample < 1) throw new UserError(`sample count must be a positive integer, got ${opts.sample}`);
      if (opts.sample < n) pc = selectPoints(pc, rng.permutation(n).subarray(0, opts.sample).sort());
    }
  }
  const mode = opts.normals ?? 'keep';
  if (mode === 'estimate' || (mode === 'auto' && !pc.normals)) {
    pc = { ...pc, normals: estimateNormals(pc.points, { k: opts.k, orient: opts.orient }) };
  }
  return pc;
}

export async function loadPointCloud(file: string, opts: LoadOptions = {}): Promise<PointCloud> {
  return shapeToCloud(await readShape(file), opts);
}
