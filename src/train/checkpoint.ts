import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.ts';
import { fsyncDir, writeFileDurable } from '../util/atomic.ts';
import {
  assignByName,
  checkpointFiles,
  decodeArray,
  decodeWeights,
  encodeCheckpoint,
  MANIFEST_FILE,
  parseCheckpointJson,
  type CheckpointJson,
} from './checkpoint-format.ts';

/**
 * Checkpoints on disk, in the format of ./checkpoint-format.ts (shared with the server and the viewer).
 * Optimizer velocities and any extra arrays (memory banks) are stored in their own manifest groups and
 * files, so one folder restores a run exactly.
 *
 * A save never touches the previous checkpoint until the new one is complete: every file is written and
 * fsynced into a sibling `<dir>.tmp-<pid>-<rand>/`, then `<dir>` is renamed to `<dir>.prev`, the temp folder
 * to `<dir>`, and `<dir>.prev` removed. A process killed at any point leaves `<dir>` or `<dir>.prev` whole,
 * and the loader falls back to `<dir>.prev` when `<dir>` is missing or incomplete.
 */
export interface CheckpointContent {
  /** Free-form metadata: config, step, epoch, rng state, metrics... */
  meta: Record<string, unknown>;
  /** Named tensors grouped: e.g. { model: params, optimizer: velocities }. */
  groups: Record<string, ReadonlyMap<string, tf.Tensor>>;
  /** Large plain arrays (memory banks) written as their own binary files. */
  arrays?: Record<string, Float32Array>;
}

const prevOf = (dir: string): string => `${dir}.prev`;

export async function saveCheckpoint(dir: string, content: CheckpointContent): Promise<void> {
  // asynchronous reads: a device backend (webgpu) has no synchronous read-back in Node
  const groups: Record<string, Array<[string, { shape: number[]; data: Float32Array }]>> = {};
  for (const [group, tensors] of Object.entries(content.groups)) {
    groups[group] = await Promise.all(
      [...tensors].map(async ([name, t]): Promise<[string, { shape: number[]; data: Float32Array }]> => [
        name,
        { shape: t.shape, data: (await t.data()) as Float32Array },
      ]),
    );
  }
  const enc = encodeCheckpoint({ meta: content.meta, groups, arrays: content.arrays });
  const parent = path.dirname(dir);
  await fs.mkdir(parent, { recursive: true });
  // leftovers of saves that were killed before their rename
  const base = path.basename(dir);
  for (const e of await fs.readdir(parent)) if (e.startsWith(`${base}.tmp-`)) await fs.rm(path.join(parent, e), { recursive: true, force: true });
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await fs.mkdir(tmp);
    for (const [file, bytes] of enc.files) await writeFileDurable(path.join(tmp, file), bytes);
    // the manifest last: a folder whose manifest reads is complete
    await writeFileDurable(path.join(tmp, MANIFEST_FILE), JSON.stringify(enc.json, null, 1));
    await fsyncDir(tmp);
    const prev = prevOf(dir);
    const hasOld = await isCheckpoint(dir);
    if (hasOld) {
      await fs.rm(prev, { recursive: true, force: true });
      await fs.rename(dir, prev);
    } else {
      // an incomplete folder (never a whole checkpoint) is not worth keeping; a whole .prev still is
      await fs.rm(dir, { recursive: true, force: true });
    }
    await fs.rename(tmp, dir);
    await fsyncDir(parent);
    await fs.rm(prev, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function readManifest(dir: string): Promise<CheckpointJson> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `${dir}: no checkpoint here (no ${MANIFEST_FILE}); give a folder written by rq3d pretrain (RUN/checkpoint)`
        : `${file}: cannot read checkpoint (${(e as Error).message})`,
    );
  }
  return parseCheckpointJson(text, file);
}

/**
 * The manifest of a complete checkpoint: every weights file it names is there with its exact size, and the
 * plain arrays (memory banks) too when `arrays` (a resumed pretraining needs them; fine-tuning does not, and
 * the job queue ships checkpoints without them).
 */
async function completeManifest(dir: string, arrays: boolean): Promise<CheckpointJson> {
  const json = await readManifest(dir);
  const weightFiles = new Set(json.weightsManifest.map((m) => m.paths[0]!));
  for (const f of checkpointFiles(json)) {
    if (!arrays && !weightFiles.has(f.file)) continue;
    const file = path.join(dir, f.file);
    const st = await fs.stat(file).catch(() => null);
    if (!st)
      throw new UserError(
        `${file}: missing, the checkpoint is incomplete (copied in part?); give a complete checkpoint folder (model.json with all its .bin files)`,
      );
    if (st.size !== f.bytes)
      throw new UserError(`${file}: truncated or from another run (${st.size} bytes where the manifest needs ${f.bytes}); give a complete checkpoint`);
  }
  return json;
}

async function isCheckpoint(dir: string, arrays = false): Promise<boolean> {
  try {
    await completeManifest(dir, arrays);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder to read a checkpoint from: `dir` when it is complete, else `<dir>.prev` (a save was
 * interrupted between its two renames, or `dir` lost a file), else null.
 */
export async function resolveCheckpoint(dir: string, opts: { arrays?: boolean } = {}): Promise<string | null> {
  const arrays = opts.arrays ?? false;
  if (await isCheckpoint(dir, arrays)) return dir;
  if (await isCheckpoint(prevOf(dir), arrays)) return prevOf(dir);
  return null;
}

export async function checkpointExists(dir: string): Promise<boolean> {
  return (await resolveCheckpoint(dir)) !== null;
}

/** The manifest's `meta` of the checkpoint at `dir` (or its `.prev`); a UserError naming what is wrong. */
export async function readCheckpointMeta(dir: string, opts: { arrays?: boolean } = {}): Promise<Record<string, unknown>> {
  const at = (await resolveCheckpoint(dir, opts)) ?? dir;
  return (await completeManifest(at, opts.arrays ?? false)).meta;
}

export interface LoadedCheckpoint {
  meta: Record<string, unknown>;
  /** group -> name -> tensor (caller disposes). */
  groups: Map<string, Map<string, tf.Tensor>>;
  arrays: Map<string, Float32Array>;
  /** The folder actually read: `dir`, or `<dir>.prev` when `dir` was incomplete. */
  dir: string;
}

export async function loadCheckpoint(dir: string, opts: { arrays?: boolean } = {}): Promise<LoadedCheckpoint> {
  // an incomplete `dir` with a whole `.prev` reads the previous one; otherwise the error names what is wrong with `dir`
  const arrays = opts.arrays !== false;
  const at = (await resolveCheckpoint(dir, { arrays })) ?? dir;
  const json = await completeManifest(at, arrays);
  const manifest = path.join(at, MANIFEST_FILE);
  const groups = new Map<string, Map<string, tf.Tensor>>();
  try {
    for (const m of json.weightsManifest) {
      const file = path.join(at, m.paths[0]!);
      for (const [g, ts] of decodeWeights(m, await fs.readFile(file), { manifest, file })) {
        if (!groups.has(g)) groups.set(g, new Map());
        for (const [n, t] of ts) groups.get(g)!.set(n, tf.tensor(t.data, t.shape, 'float32'));
      }
    }
  } catch (e) {
    for (const g of groups.values()) for (const t of g.values()) t.dispose();
    throw e;
  }
  const loaded = new Map<string, Float32Array>();
  if (arrays) {
    for (const [name, a] of Object.entries(json.arrays ?? {})) {
      const file = path.join(at, a.file);
      loaded.set(name, decodeArray(await fs.readFile(file), a.length, file));
    }
  }
  return { meta: json.meta, groups, arrays: loaded, dir: at };
}

/**
 * Assign loaded tensors to variables by name. `skip` names variables to leave as they are (e.g. the head
 * replaced for fine-tuning). Missing or mis-shaped tensors are errors naming the variable.
 */
export function assignVariables(
  vars: ReadonlyMap<string, tf.Variable>,
  tensors: ReadonlyMap<string, tf.Tensor>,
  opts: { skip?: (name: string) => boolean; source?: string } = {},
): number {
  return assignByName(vars, tensors, opts.source ?? 'checkpoint', opts.skip);
}

export function disposeLoaded(c: LoadedCheckpoint): void {
  for (const g of c.groups.values()) for (const t of g.values()) t.dispose();
}
