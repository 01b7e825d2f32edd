import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { stableJson, type CellCoords } from '../downstream/cell-id.ts';
import type { CellResult } from '../downstream/cells.ts';
import type { BackboneSpec, FewshotConfig } from '../downstream/fewshot-config.ts';
import { computeGridCells } from '../downstream/fewshot.ts';
import { cacheDir } from '../data/sources.ts';
import { fetchCheckpoint } from './blobs.ts';

/**
 * One few-shot cell as a queue job. The job carries the grid's config with this cell's backbone given as
 * random init or as a checkpoint digest (shipped through Redis), the cell, and the hash of its resolved
 * config (computed by the submitter; it is also the job id's suffix).
 */
export interface CellJobData {
  kind: 'cell';
  cfg: FewshotConfig;
  cell: CellCoords;
  hash: string;
  /** Digest of the backbone's checkpoint in Redis; null for random init. */
  checkpoint: string | null;
}

/**
 * Runs the cell through the same code as a local grid (computeGridCells, one cell selected) in a working
 * folder of this machine keyed by data and backbone, so the fc1 features of a linear probe are computed once
 * per machine and backbone. The result goes back through the queue as the job's return value.
 */
export async function runCellJob(data: CellJobData, redis: () => Redis): Promise<CellResult> {
  const { cfg, cell } = data;
  const root = path.join(cacheDir(), 'queue');
  // random init keeps its kind: 'scratch' trains end to end, 'random' is the frozen BN-calibrated probe
  const orig = cfg.backbones[cell.backbone];
  const spec: BackboneSpec = data.checkpoint
    ? { checkpoint: await fetchCheckpoint(redis(), data.checkpoint, path.join(root, 'checkpoints')) }
    : orig && 'from' in orig
      ? orig
      : { from: 'scratch' };
  const local: FewshotConfig = { ...cfg, backbones: { [cell.backbone]: spec } };
  const key = createHash('sha256')
    .update(stableJson({ task: cfg.task, data: cfg.data, model: cfg.model, backbone: cell.backbone, checkpoint: data.checkpoint }))
    .digest('hex')
    .slice(0, 16);
  const [r] = await computeGridCells(local, {
    out: path.join(root, 'work', key),
    quiet: true,
    only: { backbones: [cell.backbone], protocols: [cell.protocol], ratios: [cell.ratio], seeds: [cell.seed] },
    configHash: () => data.hash,
  });
  if (!r) throw new Error(`cell ${cell.protocol}/${cell.backbone} r=${cell.ratio} s=${cell.seed}: no result`);
  return r;
}
