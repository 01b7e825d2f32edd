/**
 * rq3d checkpoints as the browser reads them: `model.json` (format 'rq3d-checkpoint', a tfjs weights manifest
 * whose entries carry a `group`, and rq3d's `meta`) next to `weights.bin` (every tensor float32, concatenated
 * in manifest order). The writer is src/train/checkpoint.ts; it imports node:fs, so this file repeats only the
 * format, and reads the bytes through a caller-given `fetchFile` (HTTP in the viewer, the disk in tests).
 */
import * as tf from '@tensorflow/tfjs';
import type { HRNetConfig } from '../../../src/models/mid-hrnet.ts';

export type FetchFile = (file: string) => Promise<ArrayBuffer>;

export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  group: string;
}

export interface CheckpointJson {
  format: 'rq3d-checkpoint';
  version: number;
  meta: Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: ManifestEntry[] }>;
}

/** What a segmentation checkpoint (src/downstream/segment.ts) says about its model and its inputs. */
export interface SegmentMeta {
  category: string | null;
  parts: number;
  partNames: string[] | null;
  model: HRNetConfig;
  features: string;
  normalize: 'sphere' | 'bbox';
  scale: number;
}

const joinPath = (dir: string, file: string): string => (dir ? `${dir.replace(/\/+$/, '')}/${file}` : file);

export function parseCheckpointJson(text: string, where: string): CheckpointJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const j = json as Partial<CheckpointJson>;
  if (!j || j.format !== 'rq3d-checkpoint') throw new Error(`${where}: not an rq3d checkpoint (format ${String(j?.format)})`);
  if (!Array.isArray(j.weightsManifest)) throw new Error(`${where}: no weightsManifest`);
  return j as CheckpointJson;
}

export function segmentMeta(meta: Record<string, unknown>, where: string): SegmentMeta {
  if (meta.kind !== 'segment') throw new Error(`${where}: a '${String(meta.kind ?? 'pretraining')}' checkpoint, not a segmentation model (rq3d segment / rq3d fewshot save those)`);
  const model = meta.model as HRNetConfig | undefined;
  if (!model || typeof model.depth !== 'number' || typeof model.fullDepth !== 'number') throw new Error(`${where}: meta.model is not an HRNet config`);
  const parts = meta.parts;
  if (typeof parts !== 'number' || !Number.isInteger(parts) || parts < 1) throw new Error(`${where}: meta.parts must be a positive integer`);
  const normalize = meta.normalize ?? 'sphere';
  if (normalize !== 'sphere' && normalize !== 'bbox') throw new Error(`${where}: meta.normalize '${String(normalize)}' is not sphere or bbox`);
  const scale = meta.scale ?? 1;
  if (typeof scale !== 'number' || !(scale > 0)) throw new Error(`${where}: meta.scale must be a positive number`);
  const features = meta.features ?? 'ND';
  if (typeof features !== 'string') throw new Error(`${where}: meta.features must be a string of feature letters`);
  const names = Array.isArray(meta.partNames) && meta.partNames.every((n) => typeof n === 'string') ? (meta.partNames as string[]) : null;
  return {
    category: typeof meta.category === 'string' ? meta.category : null,
    parts,
    partNames: names,
    model,
    features,
    normalize,
    scale,
  };
}

/**
 * The tensors of one manifest group (default 'model'), by name. The caller owns (disposes) them.
 * `dir` is the checkpoint folder relative to what `fetchFile` resolves ('' for its root).
 */
export async function loadCheckpointTensors(
  dir: string,
  fetchFile: FetchFile,
  group = 'model',
): Promise<{ json: CheckpointJson; tensors: Map<string, tf.Tensor> }> {
  const where = joinPath(dir, 'model.json');
  const json = parseCheckpointJson(new TextDecoder().decode(await fetchFile(where)), where);
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const m of json.weightsManifest) {
      if (!m.weights.some((w) => w.group === group)) continue;
      const file = joinPath(dir, m.paths[0]!);
      const bytes = await fetchFile(file);
      if (bytes.byteLength % 4 !== 0) throw new Error(`${file}: ${bytes.byteLength} bytes is not a whole number of float32 values`);
      const data = new Float32Array(bytes);
      let o = 0;
      for (const w of m.weights) {
        if (w.dtype !== 'float32') throw new Error(`${where}: tensor ${w.name} has dtype ${w.dtype}; rq3d checkpoints hold float32 only`);
        const n = w.shape.reduce((s, v) => s * v, 1);
        if (o + n > data.length) throw new Error(`${file}: truncated (tensor ${w.name} needs ${n} floats at ${o}, the file has ${data.length})`);
        if (w.group === group) tensors.set(w.name, tf.tensor(data.subarray(o, o + n), w.shape, 'float32'));
        o += n;
      }
    }
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  return { json, tensors };
}

/** Assign tensors to a model's variables by name; every variable must be there with its shape. */
export function assignByName(vars: ReadonlyMap<string, tf.Variable>, tensors: ReadonlyMap<string, tf.Tensor>, where: string): void {
  for (const [name, v] of vars) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${where}: no tensor for variable ${name}`);
    if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`${where}: ${name} has shape [${t.shape}] but the model expects [${v.shape}]`);
    v.assign(t);
  }
}
