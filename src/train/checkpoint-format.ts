/**
 * The rq3d checkpoint format, in one place and without Node imports, so the trainer (./checkpoint.ts, which
 * adds the disk and the atomic folder swap), the viewer's server (src/viewer-server/checkpoint-models.ts) and the viewer itself
 * (viewer/src/predict/) read and write the same thing by construction.
 *
 * A checkpoint is a folder in the tfjs layout:
 * - `model.json`: `{ format: 'rq3d-checkpoint', version: 1, generatedBy, meta, weightsManifest, arrays }`;
 *   `weightsManifest` is tfjs's (one group of `paths` and `weights`), each weight entry naming its rq3d
 *   `group` ('model', 'optimizer', ...); `meta` is free-form (kind, step, config, ...);
 * - `weights.bin`: every tensor as little-endian float32, concatenated in manifest order;
 * - one `<name>.bin` per plain array (memory banks), float32, its length recorded in `arrays`.
 * The manifest is the last file written, so a folder with a readable manifest is complete.
 *
 * No tfjs at run time either (types only): the server lists checkpoints without loading it; callers turn the
 * decoded float arrays into tensors (./checkpoint.ts on disk, viewer/src/predict/checkpoint-format.ts over HTTP).
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackboneSpec } from '../models/backbone.ts';
import { UserError } from '../util/errors.ts';

export const CHECKPOINT_FORMAT = 'rq3d-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MANIFEST_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

/** Reads one file of a checkpoint (HTTP in the viewer, the disk in Node). */
export type FetchFile = (file: string) => Promise<ArrayBuffer>;

export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  group: string;
}

export interface CheckpointJson {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  generatedBy?: string;
  meta: Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: ManifestEntry[] }>;
  arrays?: Record<string, { file: string; length: number }>;
}

/** What a checkpoint's parts hold, ready to be written as files (the trainer adds the disk). */
export interface EncodedCheckpoint {
  json: CheckpointJson;
  /** File name (relative to the checkpoint folder) -> bytes; the manifest is not among them. */
  files: Map<string, Uint8Array>;
}

/** Tensors given by name, grouped; plain float32 arrays by name. Data is read as given (no copies kept). */
export interface CheckpointParts {
  meta: Record<string, unknown>;
  groups: Record<string, Iterable<[string, { shape: number[]; data: Float32Array }]>>;
  arrays?: Record<string, Float32Array>;
}

export function encodeCheckpoint(parts: CheckpointParts): EncodedCheckpoint {
  const entries: ManifestEntry[] = [];
  const chunks: Float32Array[] = [];
  for (const [group, tensors] of Object.entries(parts.groups)) {
    for (const [name, t] of tensors) {
      const n = t.shape.reduce((s, v) => s * v, 1);
      if (n !== t.data.length) throw new RangeError(`checkpoint tensor ${name}: shape [${t.shape}] holds ${n} values, data has ${t.data.length}`);
      entries.push({ name, shape: t.shape, dtype: 'float32', group });
      chunks.push(t.data);
    }
  }
  const buf = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    buf.set(c, o);
    o += c.length;
  }
  const files = new Map<string, Uint8Array>([[WEIGHTS_FILE, new Uint8Array(buf.buffer)]]);
  const arrays: NonNullable<CheckpointJson['arrays']> = {};
  for (const [name, arr] of Object.entries(parts.arrays ?? {})) {
    const file = `${name}.bin`;
    files.set(file, new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    arrays[name] = { file, length: arr.length };
  }
  return {
    json: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      generatedBy: 'rq3d',
      meta: parts.meta,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: entries }],
      arrays,
    },
    files,
  };
}

export function parseCheckpointJson(text: string, where: string): CheckpointJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const j = json as Partial<CheckpointJson>;
  if (!j || j.format !== CHECKPOINT_FORMAT) throw new UserError(`${where}: not an rq3d checkpoint (format ${String(j?.format)})`);
  if (!Array.isArray(j.weightsManifest)) throw new UserError(`${where}: no weightsManifest`);
  if (typeof j.meta !== 'object' || j.meta === null) j.meta = {};
  return j as CheckpointJson;
}

/** Every file a checkpoint needs and its exact size in bytes, so a missing or cut file is named before reading. */
export function checkpointFiles(json: CheckpointJson): Array<{ file: string; bytes: number }> {
  const out: Array<{ file: string; bytes: number }> = [];
  for (const m of json.weightsManifest) {
    const floats = m.weights.reduce((s, w) => s + w.shape.reduce((a, v) => a * v, 1), 0);
    out.push({ file: m.paths[0]!, bytes: floats * 4 });
  }
  for (const a of Object.values(json.arrays ?? {})) out.push({ file: a.file, bytes: a.length * 4 });
  return out;
}

/** One tensor of a checkpoint, decoded: its shape and a copy of its float32 values. */
export interface DecodedTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * The tensors of one weights file, by group then name (only the groups `want` accepts), as float arrays; the
 * caller makes tensors of them.
 */
export function decodeWeights(
  m: CheckpointJson['weightsManifest'][number],
  bytes: ArrayBuffer | Uint8Array,
  where: { manifest: string; file: string },
  want: (group: string) => boolean = () => true,
): Map<string, Map<string, DecodedTensor>> {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.byteLength % 4 !== 0) throw new UserError(`${where.file}: ${u8.byteLength} bytes is not a whole number of float32 values`);
  // an aligned view when the bytes are 4-byte aligned (Node's pooled buffers may not be), else a copy
  const data = u8.byteOffset % 4 === 0 ? new Float32Array(u8.buffer, u8.byteOffset, u8.byteLength / 4) : new Float32Array(u8.slice().buffer);
  const groups = new Map<string, Map<string, DecodedTensor>>();
  let o = 0;
  for (const w of m.weights) {
    if (w.dtype !== 'float32') throw new UserError(`${where.manifest}: tensor ${w.name} has dtype ${w.dtype}; rq3d checkpoints hold float32 only`);
    const n = w.shape.reduce((s, v) => s * v, 1);
    if (o + n > data.length) throw new UserError(`${where.file}: truncated (tensor ${w.name} needs ${n} floats at ${o}, the file has ${data.length})`);
    if (want(w.group)) {
      if (!groups.has(w.group)) groups.set(w.group, new Map());
      groups.get(w.group)!.set(w.name, { shape: w.shape, data: data.slice(o, o + n) });
    }
    o += n;
  }
  return groups;
}

/** A plain array of the checkpoint from its file's bytes, its length checked against the manifest. */
export function decodeArray(bytes: ArrayBuffer | Uint8Array, length: number, file: string): Float32Array {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.byteLength !== length * 4) throw new UserError(`${file}: expected ${length * 4} bytes, found ${u8.byteLength}`);
  return new Float32Array(u8.slice().buffer);
}

export const joinPath = (dir: string, file: string): string => (dir ? `${dir.replace(/\/+$/, '')}/${file}` : file);

/** Assign tensors to a model's variables by name; every variable must be there with its shape. */
export function assignByName(
  vars: ReadonlyMap<string, tf.Variable>,
  tensors: ReadonlyMap<string, tf.Tensor>,
  where: string,
  skip?: (name: string) => boolean,
): number {
  let n = 0;
  for (const [name, v] of vars) {
    if (skip?.(name)) continue;
    const t = tensors.get(name);
    if (!t) throw new UserError(`${where}: no tensor for variable ${name}`);
    if (t.shape.join(',') !== v.shape.join(',')) throw new UserError(`${where}: ${name} has shape [${t.shape}] but the model expects [${v.shape}]`);
    v.assign(t);
    n++;
  }
  return n;
}

/** What a segmentation checkpoint (src/downstream/segment.ts) says about its model and its inputs. */
export interface SegmentMeta {
  category: string | null;
  parts: number;
  partNames: string[] | null;
  /** The backbone's config, any registered type (`buildBackbone(model, seed)` rebuilds it). */
  model: BackboneSpec;
  features: string;
  normalize: 'sphere' | 'bbox';
  scale: number;
}

export function segmentMeta(meta: Record<string, unknown>, where: string): SegmentMeta {
  if (meta.kind !== 'segment')
    throw new UserError(`${where}: a '${String(meta.kind ?? 'pretraining')}' checkpoint, not a segmentation model (rq3d segment / rq3d fewshot save those)`);
  const model = meta.model;
  if (!isBackboneConfig(model)) throw new UserError(`${where}: meta.model is not a backbone config`);
  const parts = meta.parts;
  if (typeof parts !== 'number' || !Number.isInteger(parts) || parts < 1) throw new UserError(`${where}: meta.parts must be a positive integer`);
  const normalize = meta.normalize ?? 'sphere';
  if (normalize !== 'sphere' && normalize !== 'bbox') throw new UserError(`${where}: meta.normalize '${String(normalize)}' is not sphere or bbox`);
  const scale = meta.scale ?? 1;
  if (typeof scale !== 'number' || !(scale > 0)) throw new UserError(`${where}: meta.scale must be a positive number`);
  const features = meta.features ?? 'ND';
  if (typeof features !== 'string') throw new UserError(`${where}: meta.features must be a string of feature letters`);
  const names = Array.isArray(meta.partNames) && meta.partNames.every((n) => typeof n === 'string') ? (meta.partNames as string[]) : null;
  return { category: typeof meta.category === 'string' ? meta.category : null, parts, partNames: names, model, features, normalize, scale };
}

/** One model.json under a checkpoint folder, as the server lists it for the viewer. */
export interface CheckpointModel {
  /** Folder relative to the checkpoint root, '/'-separated; '' when the root itself is the model. */
  dir: string;
  category: string | null;
  protocol: string;
  backbone: string;
  parts: number;
  partNames: string[] | null;
  /** Why this model cannot predict part labels (a pretraining checkpoint, unreadable JSON), or null. */
  error: string | null;
  /** Its `meta.kind` ('pretrain', 'segment', ...), when readable. */
  kind?: string | null;
  /** Whether its meta holds a backbone config, so its point features can be shown (PCA colours), even when `error` is set. */
  features?: boolean;
}

/**
 * Whether a checkpoint's `meta.model` describes a backbone: an object with the octree it reads and, when it
 * names one, a `type` (none: MID HRNet). Whether that type is registered is the registry's to say
 * (src/models/backbones.ts, which this module does not load: the server lists checkpoints without tfjs).
 */
export function isBackboneConfig(m: unknown): m is BackboneSpec {
  const c = m as Partial<BackboneSpec> | null;
  return !!c && typeof c === 'object' && typeof c.depth === 'number' && typeof c.fullDepth === 'number' && (c.type === undefined || typeof c.type === 'string');
}

/**
 * A listed model from its folder (path parts relative to the root) and its manifest text (null when it
 * could not be read, with `readError` saying why). `.../models/<protocol>/<backbone>/<category>` is the
 * layout of the few-shot runner.
 */
export function describeCheckpointModel(rel: readonly string[], text: string | null, readError?: string): CheckpointModel {
  const m = rel.length >= 4 && rel[rel.length - 4] === 'models' ? rel.slice(-3) : null;
  const out: CheckpointModel = {
    dir: rel.join('/'),
    category: m ? m[2]! : null,
    protocol: m ? m[0]! : '',
    backbone: m ? m[1]! : '',
    parts: 0,
    partNames: null,
    error: null,
    kind: null,
    features: false,
  };
  if (text === null) {
    out.error = `model.json unreadable (${readError ?? 'no file'})`;
    return out;
  }
  let json: { format?: unknown; meta?: Record<string, unknown> };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (e) {
    out.error = `model.json unreadable (${e instanceof Error ? e.message : String(e)})`;
    return out;
  }
  const meta = json.meta ?? {};
  if (json.format !== CHECKPOINT_FORMAT) out.error = 'not an rq3d checkpoint';
  else if (meta.kind !== 'segment') out.error = `a ${String(meta.kind ?? 'pretraining')} checkpoint, not a segmentation model`;
  if (typeof meta.kind === 'string') out.kind = meta.kind;
  out.features = json.format === CHECKPOINT_FORMAT && isBackboneConfig(meta.model);
  if (typeof meta.category === 'string') out.category = meta.category;
  if (typeof meta.parts === 'number') out.parts = meta.parts;
  if (Array.isArray(meta.partNames) && meta.partNames.every((n) => typeof n === 'string')) out.partNames = meta.partNames as string[];
  return out;
}
