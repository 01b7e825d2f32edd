import * as path from 'node:path';
import { fileError, UserError } from '../../util/errors.ts';
import { hashString } from '../../util/rng.ts';
import { loadPointCloud } from '../shape.ts';
import { exists, listDir, readLines } from './fsutil.ts';
import type { Dataset, DatasetItem, ItemLoadOptions, Split } from './types.ts';

/**
 * ModelNet as a folder tree `<root>/<class>/{train,test}/<name>.<ext>` (the original OFF release, the
 * ModelNet10 PCD tree in ../shared/data, or ocnn-pytorch's PLY output). Labels are the indices of the class
 * folders in sorted order, as in both reference repos. When ocnn-pytorch filelists (`<class>/<split>/<name>.ply
 * <label>` per line) are given or found in `<root>/filelist` or `<root>/../filelist`, they define the items.
 */
const SHAPE_EXTS = ['pcd', 'off', 'ply', 'points', 'obj', 'txt', 'xyz'];

export interface ModelNetTreeOptions {
  /** File extension without the dot; detected from the first class folder when omitted. */
  ext?: string;
  filelists?: { train: string; test: string };
}

async function detectExt(root: string, classes: string[]): Promise<string> {
  for (const c of classes) {
    for (const split of ['train', 'test']) {
      const dir = path.join(root, c, split);
      if (!(await exists(dir))) continue;
      for (const e of await listDir(dir)) {
        const ext = path.extname(e.name).slice(1).toLowerCase();
        if (!e.isDir && SHAPE_EXTS.includes(ext)) return ext;
      }
    }
  }
  throw fileError(root, `no shape files (${SHAPE_EXTS.join(', ')}) found under <class>/train or <class>/test`);
}

async function findFilelists(root: string, name: string): Promise<{ train: string; test: string } | null> {
  for (const dir of [path.join(root, 'filelist'), path.join(root, '..', 'filelist')]) {
    for (const prefix of [name, 'm40', 'm10']) {
      const train = path.join(dir, `${prefix}_train.txt`);
      const test = path.join(dir, `${prefix}_test.txt`);
      if ((await exists(train)) && (await exists(test))) return { train, test };
    }
  }
  return null;
}

async function itemsFromFilelist(root: string, list: string, split: Split, nClasses: number): Promise<DatasetItem[]> {
  const lines = await readLines(list);
  return lines.map((line, i) => {
    const parts = line.split(/\s+/);
    const label = Number(parts[1]);
    if (parts.length !== 2 || !Number.isInteger(label) || label < 0 || label >= nClasses) {
      throw fileError(list, `expected "<class>/<split>/<name> <label>" with a label in 0..${nClasses - 1}`, i + 1);
    }
    const rel = parts[0]!;
    return { id: rel.replace(/\.[^./]+$/, ''), file: path.join(root, rel), label, split };
  });
}

/**
 * ModelNet's meshes (and the PCD tree sampled from them) are z-up. Measured on ../shared/data/modelnet10 (all
 * 4,899 shapes, bbox-normalized, mean half extents x / y / z per class): chair 0.64 / 0.69 / 0.99, bed
 * 0.75 / 0.98 / 0.44, table 0.65 / 0.99 / 0.52, sofa 0.51 / 1.00 / 0.37, bathtub 0.58 / 1.00 / 0.35: chairs are
 * tall along z, beds / sofas / tables flat along it. A tree written by ocnn-pytorch's tool with its y-up option
 * is already y-up: give `data.upAxis: 'y'` for it.
 */
export const MODELNET_TREE_UP = 'z' as const;

export function meshSeed(item: DatasetItem, opts?: ItemLoadOptions): number {
  return (hashString(item.id) ^ (opts?.seed ?? 0)) >>> 0;
}

export async function modelNetTree(root: string, opts: ModelNetTreeOptions = {}): Promise<Dataset> {
  const entries = await listDir(root);
  const classes: string[] = [];
  for (const e of entries) {
    if (!e.isDir) continue;
    if ((await exists(path.join(root, e.name, 'train'))) || (await exists(path.join(root, e.name, 'test')))) classes.push(e.name);
  }
  if (classes.length === 0) throw fileError(root, 'no class folders with train/ or test/ inside (expected <root>/<class>/{train,test}/...)');
  const name = `modelnet${classes.length}`;
  const filelists = opts.filelists ?? (await findFilelists(root, name));
  let items: DatasetItem[] = [];
  let ext = opts.ext ?? '';
  if (filelists) {
    items = [
      ...(await itemsFromFilelist(root, filelists.train, 'train', classes.length)),
      ...(await itemsFromFilelist(root, filelists.test, 'test', classes.length)),
    ];
  } else {
    ext ||= await detectExt(root, classes);
    for (const split of ['train', 'test'] as const) {
      for (let label = 0; label < classes.length; label++) {
        const dir = path.join(root, classes[label]!, split);
        if (!(await exists(dir))) continue;
        for (const e of await listDir(dir)) {
          if (e.isDir || path.extname(e.name).slice(1).toLowerCase() !== ext) continue;
          const stem = e.name.slice(0, e.name.length - ext.length - 1);
          items.push({ id: `${classes[label]}/${split}/${stem}`, file: path.join(dir, e.name), label, split });
        }
      }
    }
  }
  if (items.length === 0) throw new UserError(`${root}: no .${ext} shapes found`);
  return {
    name,
    classes,
    items,
    upAxis: MODELNET_TREE_UP,
    source: { kind: 'modelnet-tree', root, ...(opts.ext ? { ext: opts.ext } : {}), ...(opts.filelists ? { filelists: opts.filelists } : {}) },
    load: (item, lo) => loadPointCloud(item.file!, { sample: lo?.sample, seed: meshSeed(item, lo), normals: 'keep' }),
  };
}
