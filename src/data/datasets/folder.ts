import * as path from 'node:path';
import { fileError } from '../../util/errors.ts';
import { formatFromExtension, loadPointCloud } from '../shape.ts';
import { listDir } from './fsutil.ts';
import { meshSeed } from './modelnet.ts';
import type { Dataset, DatasetItem } from './types.ts';

/**
 * Any folder of shape files, searched recursively: ShapeNetCore (`<synset>/<model>/model.obj`), a folder of
 * O-CNN `.points` files (MID-Net's preprocessed ShapeNet), scans in PLY ... The label is the index of the
 * first-level folder a file lies in (0 for files directly inside the root); there is no test split
 * (pretraining uses every shape).
 */
export async function shapeFolder(root: string): Promise<Dataset> {
  const items: DatasetItem[] = [];
  const classes: string[] = [];
  const walk = async (dir: string, rel: string[]): Promise<void> => {
    for (const e of await listDir(dir)) {
      const p = path.join(dir, e.name);
      if (e.isDir) {
        await walk(p, [...rel, e.name]);
        continue;
      }
      if (!formatFromExtension(e.name)) continue;
      const cls = rel[0] ?? '.';
      let label = classes.indexOf(cls);
      if (label < 0) label = classes.push(cls) - 1;
      items.push({ id: [...rel, e.name].join('/'), file: p, label, split: 'train' });
    }
  };
  await walk(root, []);
  if (items.length === 0) throw fileError(root, 'no shape files (PLY, OFF, OBJ, PCD, xyz/txt, .points) found in this folder or below');
  return {
    name: path.basename(path.resolve(root)),
    classes,
    items,
    // y by default (ShapeNetCore, MID-Net's preprocessed .points); `data.upAxis` says otherwise
    upAxis: 'y',
    source: { kind: 'shape-folder', root },
    load: (item, lo) => loadPointCloud(item.file!, { sample: lo?.sample, seed: meshSeed(item, lo), normals: 'keep' }),
  };
}
