import type { PointCloud } from '../pointcloud.ts';
import type { UpAxis } from '../up-axis.ts';

export type Split = 'train' | 'test';

export interface DatasetItem {
  /** Unique within the dataset, stable across runs (e.g. "chair/train/chair_0001"). */
  id: string;
  /** Source file, when the item has one of its own. */
  file?: string;
  /** Class (ModelNet) or category (ShapeNet Part) index into `classes`. */
  label: number;
  split: Split;
}

/** How raw meshes are turned into clouds when a dataset is loaded. */
export interface ItemLoadOptions {
  /** Surface samples per mesh (default 8000). Clouds are returned as stored. */
  sample?: number;
  /** Mixed with the item id so that each shape gets its own reproducible samples. */
  seed?: number;
}

/**
 * A plain description of a dataset that can cross a worker_threads boundary: `openDataset(source)` rebuilds
 * the dataset in a worker, so preprocessing can run in parallel.
 */
export type DatasetSource =
  | { kind: 'modelnet-tree'; root: string; ext?: string; filelists?: { train: string; test: string } }
  | { kind: 'modelnet-resampled'; root: string; variant?: '40' | '10' }
  | { kind: 'modelnet-h5'; root: string }
  | { kind: 'shapenet-part'; root: string; partLabels?: 'global' | 'local' }
  | { kind: 'shape-folder'; root: string };

export interface Dataset {
  name: string;
  classes: string[];
  items: DatasetItem[];
  load(item: DatasetItem, opts?: ItemLoadOptions): Promise<PointCloud>;
  /** Part names per class, when the per-point labels are local part ids of that class (ShapeNet Part 'local'). */
  parts?: Record<string, string[]>;
  /**
   * The axis that points up in the files (each reader declares it; `data.upAxis` overrides it). Loading turns
   * every shape y-up once (src/data/up-axis.ts), so the network only ever sees y-up shapes.
   */
  upAxis: UpAxis;
  /** Present when the dataset can be reopened elsewhere (workers); absent for in-memory datasets. */
  source?: DatasetSource;
}
