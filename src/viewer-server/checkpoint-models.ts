import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * The models under a `rq3d view --checkpoint` folder: the folder itself when it holds model.json, and every
 * `model.json` below it (rq3d fewshot / rq3d segment keep theirs in `models/<protocol>/<backbone>/<category>/`).
 * Only each manifest's `meta` is read; the viewer fetches the weights of the model it runs. The description
 * is the checkpoint-format module's (src/train/checkpoint-format.ts), which the viewer imports too, so
 * server and client agree by construction.
 */
import { describeCheckpointModel, MANIFEST_FILE, type CheckpointModel } from '../train/checkpoint-format.ts';
export type { CheckpointModel } from '../train/checkpoint-format.ts';

const MAX_DEPTH = 6;
const MAX_MODELS = 500;

async function describe(root: string, rel: string[]): Promise<CheckpointModel> {
  try {
    return describeCheckpointModel(rel, await fs.readFile(path.join(root, ...rel, MANIFEST_FILE), 'utf8'));
  } catch (e) {
    return describeCheckpointModel(rel, null, e instanceof Error ? e.message : String(e));
  }
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
