import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * The models under a `rq3d view --checkpoint` folder: the folder itself when it holds model.json, and every
 * `model.json` below it (rq3d fewshot / rq3d segment keep theirs in `models/<protocol>/<backbone>/<category>/`).
 * Only each manifest's `meta` is read; the viewer fetches the weights of the model it runs. The type is the
 * viewer's (viewer/src/predict/models.ts), so server and client agree by construction.
 */
export type { CheckpointModel } from '../../viewer/src/predict/models.ts';
import type { CheckpointModel } from '../../viewer/src/predict/models.ts';
import { isHrnetConfig } from '../../viewer/src/predict/hrnet-config.ts';

const MAX_DEPTH = 6;
const MAX_MODELS = 500;

async function describe(root: string, rel: string[]): Promise<CheckpointModel> {
  const dir = rel.join('/');
  // `.../models/<protocol>/<backbone>/<category>` is the layout of the few-shot runner.
  const m = rel.length >= 4 && rel[rel.length - 4] === 'models' ? rel.slice(-3) : null;
  const out: CheckpointModel = {
    dir, category: m ? m[2]! : null, protocol: m ? m[0]! : '', backbone: m ? m[1]! : '', parts: 0, partNames: null, error: null, kind: null, features: false,
  };
  try {
    const json = JSON.parse(await fs.readFile(path.join(root, ...rel, 'model.json'), 'utf8')) as { format?: unknown; meta?: Record<string, unknown> };
    const meta = json.meta ?? {};
    if (json.format !== 'rq3d-checkpoint') out.error = 'not an rq3d checkpoint';
    else if (meta.kind !== 'segment') out.error = `a ${String(meta.kind ?? 'pretraining')} checkpoint, not a segmentation model`;
    if (typeof meta.kind === 'string') out.kind = meta.kind;
    out.features = json.format === 'rq3d-checkpoint' && isHrnetConfig(meta.model);
    if (typeof meta.category === 'string') out.category = meta.category;
    if (typeof meta.parts === 'number') out.parts = meta.parts;
    if (Array.isArray(meta.partNames) && meta.partNames.every((n) => typeof n === 'string')) out.partNames = meta.partNames as string[];
  } catch (e) {
    out.error = `model.json unreadable (${e instanceof Error ? e.message : String(e)})`;
  }
  return out;
}

export async function listCheckpointModels(root: string): Promise<CheckpointModel[]> {
  const found: string[][] = [];
  const walk = async (rel: string[]): Promise<void> => {
    if (found.length >= MAX_MODELS) return;
    const entries = await fs.readdir(path.join(root, ...rel), { withFileTypes: true }).catch(() => []);
    if (entries.some((e) => e.isFile() && e.name === 'model.json')) found.push(rel);
    if (rel.length >= MAX_DEPTH) return;
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      // Symlinked folders are not followed: the file server would refuse the ones leaving the root anyway.
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') await walk([...rel, e.name]);
    }
  };
  await walk([]);
  return Promise.all(found.map((rel) => describe(root, rel)));
}
