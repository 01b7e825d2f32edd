import { modelNetH5 } from './modelnet-h5.ts';
import { modelNetResampled } from './modelnet-resampled.ts';
import { modelNetTree } from './modelnet.ts';
import { shapeNetPart } from './shapenet-part.ts';
import { shapeFolder } from './folder.ts';
import type { Dataset, DatasetSource } from './types.ts';

export type { Dataset, DatasetItem, DatasetSource, ItemLoadOptions, Split } from './types.ts';
export { modelNetTree } from './modelnet.ts';
export { modelNetResampled } from './modelnet-resampled.ts';
export { modelNetH5 } from './modelnet-h5.ts';
export { shapeNetPart } from './shapenet-part.ts';
export { shapeFolder } from './folder.ts';
export { openDataFolder } from './detect.ts';
export { subsetByRatio, ratioCount, type RatioMode } from './ratio.ts';

/** Rebuild a dataset from its plain description (used by preprocessing workers). */
export function openDataset(source: DatasetSource): Promise<Dataset> {
  switch (source.kind) {
    case 'modelnet-tree':
      return modelNetTree(source.root, { ext: source.ext, filelists: source.filelists });
    case 'modelnet-resampled':
      return modelNetResampled(source.root, source.variant);
    case 'modelnet-h5':
      return modelNetH5(source.root);
    case 'shapenet-part':
      return shapeNetPart(source.root, source.partLabels);
    case 'shape-folder':
      return shapeFolder(source.root);
  }
}
