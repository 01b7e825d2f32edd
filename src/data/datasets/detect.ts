import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../util/errors.ts';
import { modelNetH5 } from './modelnet-h5.ts';
import { modelNetResampled } from './modelnet-resampled.ts';
import { MODELNET_TREE_UP, modelNetTree } from './modelnet.ts';
import type { UpAxis } from '../up-axis.ts';
import { shapeFolder } from './folder.ts';
import { shapeNetPart } from './shapenet-part.ts';
import type { Dataset } from './types.ts';

/**
 * Open a data folder in whichever layout it has: ShapeNet Part, modelnet40/10_normal_resampled,
 * modelnet40_ply_hdf5_2048, a ModelNet class tree, else any folder of shape files (ShapeNetCore ...).
 */
export async function openDataFolder(dir: string): Promise<Dataset> {
  if (!fs.existsSync(dir)) throw new UserError(`${dir}: no such data folder`);
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: is a file, not a data folder`);
  const has = (f: string): boolean => fs.existsSync(path.join(dir, f));
  // ShapeNet Part: synset folders holding .txt clouds or points/ (ShapeNetCore's synset folders hold model folders)
  const partLike = (n: string): boolean =>
    /^0\d{7}$/.test(n) && (fs.existsSync(path.join(dir, n, 'points')) || fs.readdirSync(path.join(dir, n)).some((f) => f.endsWith('.txt')));
  if (has('synsetoffset2category.txt') || fs.readdirSync(dir).some(partLike)) return shapeNetPart(dir, 'local');
  if (has('modelnet40_shape_names.txt') || has('modelnet10_shape_names.txt')) return modelNetResampled(dir);
  if (has('train_files.txt')) return modelNetH5(dir);
  // <class>/{train,test}/ folders make a ModelNet tree; anything else is a plain folder of shapes (ShapeNetCore ...)
  const tree = fs
    .readdirSync(dir, { withFileTypes: true })
    .some((e) => e.isDirectory() && (fs.existsSync(path.join(dir, e.name, 'train')) || fs.existsSync(path.join(dir, e.name, 'test'))));
  return tree ? modelNetTree(dir) : shapeFolder(dir);
}

/**
 * The up axis the readers declare for one file, judged by where it lies: a file in `<class>/{train,test}/` is
 * part of a ModelNet tree (z-up); any other file is y-up like the other layouts. For `rq3d sample FILE`.
 */
export function upAxisOfFile(file: string): UpAxis {
  const parent = path.basename(path.dirname(path.resolve(file)));
  return parent === 'train' || parent === 'test' ? MODELNET_TREE_UP : 'y';
}
