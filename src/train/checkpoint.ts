import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';

/**
 * Checkpoints in the tfjs layout: `model.json` (a weights manifest plus rq3d's own metadata) next to
 * `weights.bin` (all tensors, float32, concatenated in manifest order), readable by tf.io in a browser.
 * Optimizer velocities and any extra arrays (memory banks) are stored the same way in their own
 * manifest groups, so one folder restores a run exactly. Every file is written to a temp name and renamed;
 * the manifest is written last, so a crash mid-save leaves the previous checkpoint readable.
 */
export interface CheckpointContent {
  /** Free-form metadata: config, step, epoch, rng state, metrics... */
  meta: Record<string, unknown>;
  /** Named tensors grouped: e.g. { model: params, optimizer: velocities }. */
  groups: Record<string, ReadonlyMap<string, tf.Tensor>>;
  /** Large plain arrays (memory banks) written as their own binary files. */
  arrays?: Record<string, Float32Array>;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  group: string;
}

interface ModelJson {
  format: 'rq3d-checkpoint';
  version: 1;
  generatedBy: string;
  meta: Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: ManifestEntry[] }>;
  arrays: Record<string, { file: string; length: number }>;
}

export async function saveCheckpoint(dir: string, content: CheckpointContent): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const entries: ManifestEntry[] = [];
  const chunks: Float32Array[] = [];
  const reads: Array<Promise<tf.backend_util.TypedArray>> = [];
  for (const [group, tensors] of Object.entries(content.groups)) {
    for (const [name, t] of tensors) {
      entries.push({ name, shape: t.shape, dtype: 'float32', group });
      reads.push(t.data());
    }
  }
  // asynchronous reads: a device backend (webgpu) has no synchronous read-back in Node
  for (const v of await Promise.all(reads)) chunks.push(v as Float32Array);
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const buf = new Float32Array(total);
  let o = 0;
  for (const c of chunks) {
    buf.set(c, o);
    o += c.length;
  }
  await writeFileAtomic(path.join(dir, 'weights.bin'), new Uint8Array(buf.buffer));
  const arrays: ModelJson['arrays'] = {};
  for (const [name, arr] of Object.entries(content.arrays ?? {})) {
    const file = `${name}.bin`;
    await writeFileAtomic(path.join(dir, file), new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    arrays[name] = { file, length: arr.length };
  }
  const json: ModelJson = {
    format: 'rq3d-checkpoint',
    version: 1,
    generatedBy: 'rq3d',
    meta: content.meta,
    weightsManifest: [{ paths: ['weights.bin'], weights: entries }],
    arrays,
  };
  await writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(json, null, 1));
}

export interface LoadedCheckpoint {
  meta: Record<string, unknown>;
  /** group -> name -> tensor (caller disposes). */
  groups: Map<string, Map<string, tf.Tensor>>;
  arrays: Map<string, Float32Array>;
}

export async function checkpointExists(dir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dir, 'model.json'));
    return true;
  } catch {
    return false;
  }
}

export async function loadCheckpoint(dir: string, opts: { arrays?: boolean } = {}): Promise<LoadedCheckpoint> {
  const file = path.join(dir, 'model.json');
  let json: ModelJson;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8')) as ModelJson;
  } catch (e) {
    throw new UserError(`${file}: cannot read checkpoint (${(e as Error).message})`);
  }
  if (json.format !== 'rq3d-checkpoint') throw new UserError(`${file}: not an rq3d checkpoint (format ${String(json.format)})`);
  const groups = new Map<string, Map<string, tf.Tensor>>();
  for (const m of json.weightsManifest) {
    const bytes = await fs.readFile(path.join(dir, m.paths[0]!));
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    let o = 0;
    for (const w of m.weights) {
      const n = w.shape.reduce((s, v) => s * v, 1);
      if (o + n > data.length) throw new UserError(`${path.join(dir, m.paths[0]!)}: truncated (tensor ${w.name} needs ${n} floats at ${o}, file has ${data.length})`);
      const t = tf.tensor(data.slice(o, o + n), w.shape);
      o += n;
      if (!groups.has(w.group)) groups.set(w.group, new Map());
      groups.get(w.group)!.set(w.name, t);
    }
  }
  const arrays = new Map<string, Float32Array>();
  if (opts.arrays !== false) {
    for (const [name, a] of Object.entries(json.arrays ?? {})) {
      const bytes = await fs.readFile(path.join(dir, a.file));
      if (bytes.byteLength !== a.length * 4) throw new UserError(`${path.join(dir, a.file)}: expected ${a.length * 4} bytes, found ${bytes.byteLength}`);
      arrays.set(name, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
    }
  }
  return { meta: json.meta, groups, arrays };
}

/**
 * Assign loaded tensors to variables by name. `skip` names variables to leave as they are (e.g. the head
 * replaced for fine-tuning). Missing or mis-shaped tensors are errors naming the variable.
 */
export function assignVariables(vars: ReadonlyMap<string, tf.Variable>, tensors: ReadonlyMap<string, tf.Tensor>, opts: { skip?: (name: string) => boolean; source?: string } = {}): number {
  let n = 0;
  for (const [name, v] of vars) {
    if (opts.skip?.(name)) continue;
    const t = tensors.get(name);
    if (!t) throw new UserError(`${opts.source ?? 'checkpoint'}: no tensor for variable ${name}`);
    if (t.shape.join(',') !== v.shape.join(',')) throw new UserError(`${opts.source ?? 'checkpoint'}: ${name} has shape [${t.shape}] but the model expects [${v.shape}]`);
    v.assign(t);
    n++;
  }
  return n;
}

export function disposeLoaded(c: LoadedCheckpoint): void {
  for (const g of c.groups.values()) for (const t of g.values()) t.dispose();
}
