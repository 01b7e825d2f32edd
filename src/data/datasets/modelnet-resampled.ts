import * as path from 'node:path';
import { fileError } from '../../util/errors.ts';
import { loadPointCloud } from '../shape.ts';
import { exists, readLines } from './fsutil.ts';
import type { Dataset, DatasetItem, Split } from './types.ts';

/**
 * PointNet++'s `modelnet40_normal_resampled`: `<class>/<id>.txt` with lines `x,y,z,nx,ny,nz`,
 * `modelnet40_shape_names.txt` (line order = label), `modelnet40_train.txt` / `modelnet40_test.txt` (ids such as
 * `airplane_0001`, class = id without the trailing `_NNNN`). The modelnet10_* files select the 10-class variant.
 */
export async function modelNetResampled(root: string, variant?: '40' | '10'): Promise<Dataset> {
  let v = variant;
  if (!v) v = (await exists(path.join(root, 'modelnet40_train.txt'))) ? '40' : '10';
  const namesFile = path.join(root, `modelnet${v}_shape_names.txt`);
  const classes = await readLines((await exists(namesFile)) ? namesFile : path.join(root, 'shape_names.txt'));
  const index = new Map(classes.map((c, i) => [c, i]));
  const items: DatasetItem[] = [];
  for (const split of ['train', 'test'] as Split[]) {
    const list = path.join(root, `modelnet${v}_${split}.txt`);
    const ids = await readLines(list);
    ids.forEach((id, i) => {
      const cls = id.replace(/_\d+$/, '');
      const label = index.get(cls);
      if (label === undefined) throw fileError(list, `shape ${JSON.stringify(id)} names class ${JSON.stringify(cls)}, which is not in the shape names`, i + 1);
      items.push({ id, file: path.join(root, cls, `${id}.txt`), label, split });
    });
  }
  return {
    name: `modelnet${v}_normal_resampled`,
    classes,
    items,
    // y-up: not measured here (no copy of this release on this machine); PointNet++'s loaders augment it by
    // rotating about y as "the up direction" (provider.rotate_point_cloud_with_normal), and the release was
    // resampled from y-up meshes. `data.upAxis` overrides it.
    upAxis: 'y',
    source: { kind: 'modelnet-resampled', root, variant: v },
    load: (item) => loadPointCloud(item.file!, { normals: 'keep' }),
  };
}
