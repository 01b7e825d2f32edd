import { openDataset } from '../data/datasets/index.ts';
import type { PreprocessSpec } from '../data/datasets/cache.ts';
import type { DatasetItem, DatasetSource } from '../data/datasets/types.ts';
import { preparedBytes, shapeClusterIds, type ClusterParams } from '../data/prepare.ts';

/**
 * One shard of `rq3d prepare --queue`: a few consecutive items of the dataset, preprocessed and (training
 * items) clustered on the worker, returned through the queue as base64 bytes; the submitter writes the files.
 */
export interface ShardJobData {
  kind: 'shard';
  source: DatasetSource;
  spec: PreprocessSpec;
  clusters: ClusterParams;
  /** Each item with its index in the training split (its k-means seed), or null for a test item. */
  items: Array<{ item: DatasetItem; trainIndex: number | null }>;
}

export interface ShardResult {
  items: Array<{ id: string; points: string; labels: string | null }>;
}

const b64 = (a: Uint8Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

export async function runShardJob(data: ShardJobData): Promise<ShardResult> {
  const ds = await openDataset(data.source);
  const out: ShardResult['items'] = [];
  for (const { item, trainIndex } of data.items) {
    const bytes = await preparedBytes(ds, item, data.spec);
    const labels = trainIndex === null ? null : shapeClusterIds(bytes, trainIndex, data.clusters);
    out.push({ id: item.id, points: b64(bytes), labels: labels ? b64(new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength)) : null });
  }
  return { items: out };
}
