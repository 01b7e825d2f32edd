import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileError } from '../../util/errors.ts';
import type { PointCloud } from '../pointcloud.ts';
import { checkCloud } from '../formats/check.ts';
import { exists, readLines } from './fsutil.ts';
import type { Dataset, DatasetItem, Split } from './types.ts';

/**
 * PointNet's `modelnet40_ply_hdf5_2048`: `train_files.txt` / `test_files.txt` list h5 files (paths as in the
 * original release, resolved by base name inside the root) with datasets `data` (n, 2048, 3) float32 and
 * `label` (n, 1); class names from `shape_names.txt`. Optional `normal` (n, 2048, 3) is used when present.
 */
interface H5Block {
  data: Float32Array;
  normal: Float32Array | null;
  labels: number[];
  perShape: number;
}

type H5Module = typeof import('h5wasm/node');

let h5Promise: Promise<H5Module['default']> | null = null;
async function h5(): Promise<H5Module['default']> {
  h5Promise ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return h5Promise;
}

async function readBlock(file: string): Promise<H5Block> {
  const lib = await h5();
  if (!(await exists(file))) throw fileError(file, 'h5 file listed but not found');
  if (!(await hasHdf5Signature(file))) throw fileError(file, 'is not an HDF5 file (no HDF5 signature)');
  let f;
  try {
    f = new lib.File(file, 'r');
  } catch (e) {
    throw fileError(file, `cannot open as HDF5 (${(e as Error).message})`);
  }
  try {
    const data = f.get('data');
    const label = f.get('label');
    if (!(data instanceof lib.Dataset) || !(label instanceof lib.Dataset)) throw fileError(file, 'h5 file lacks the "data" and "label" datasets');
    const shape = data.shape ?? [];
    if (shape.length !== 3 || shape[2] !== 3) throw fileError(file, `"data" has shape [${shape.join(', ')}], expected (n, points, 3)`);
    const n = shape[0]!;
    const perShape = shape[1]!;
    const raw = data.value;
    if (!ArrayBuffer.isView(raw)) throw fileError(file, '"data" is not numeric');
    const values = Float32Array.from(raw as unknown as ArrayLike<number>);
    const lraw = label.value;
    if (!ArrayBuffer.isView(lraw) && !Array.isArray(lraw)) throw fileError(file, '"label" is not numeric');
    const labels = Array.from(lraw as unknown as ArrayLike<number | bigint>, Number);
    if (labels.length !== n) throw fileError(file, `"label" has ${labels.length} entries for ${n} shapes`);
    const nd = f.get('normal');
    let normal: Float32Array | null = null;
    if (nd instanceof lib.Dataset && ArrayBuffer.isView(nd.value)) {
      normal = Float32Array.from(nd.value as unknown as ArrayLike<number>);
      if (normal.length !== values.length) normal = null;
    }
    return { data: values, normal, labels, perShape };
  } finally {
    f.close();
  }
}

/** The HDF5 superblock signature sits at offset 0, 512, 1024, 2048 ...; checked so that h5wasm never sees junk. */
async function hasHdf5Signature(file: string): Promise<boolean> {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  const fh = await fs.open(file, 'r');
  try {
    const { size } = await fh.stat();
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      const buf = Buffer.alloc(8);
      await fh.read(buf, 0, 8, off);
      if (sig.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    await fh.close();
  }
}

export async function modelNetH5(root: string): Promise<Dataset> {
  const namesFile = (await exists(path.join(root, 'shape_names.txt'))) ? path.join(root, 'shape_names.txt') : path.join(root, 'modelnet40_shape_names.txt');
  const classes = await readLines(namesFile);
  const blocks = new Map<string, Promise<H5Block>>();
  const block = (file: string): Promise<H5Block> => {
    let b = blocks.get(file);
    if (!b) {
      b = readBlock(file);
      blocks.set(file, b);
    }
    return b;
  };
  const items: DatasetItem[] = [];
  for (const split of ['train', 'test'] as Split[]) {
    for (const listed of await readLines(path.join(root, `${split}_files.txt`))) {
      const file = path.join(root, path.basename(listed));
      const b = await block(file);
      b.labels.forEach((label, i) => {
        if (!Number.isInteger(label) || label < 0 || label >= classes.length)
          throw fileError(file, `label ${label} of shape ${i} is outside 0..${classes.length - 1}`);
        items.push({ id: `${path.basename(file)}#${i}`, file, label, split });
      });
    }
  }
  return {
    name: 'modelnet40_ply_hdf5_2048',
    classes,
    items,
    // y-up: not measured here (no copy of this release on this machine); PointNet's own augmentation rotates
    // it about y, "the up direction" (provider.rotate_point_cloud). `data.upAxis` overrides it.
    upAxis: 'y',
    source: { kind: 'modelnet-h5', root },
    load: async (item): Promise<PointCloud> => {
      const b = await block(item.file!);
      const i = Number(item.id.slice(item.id.lastIndexOf('#') + 1));
      const m = 3 * b.perShape;
      const pc: PointCloud = {
        points: b.data.slice(i * m, (i + 1) * m),
        normals: b.normal ? b.normal.slice(i * m, (i + 1) * m) : null,
        labels: null,
        features: null,
        featureChannels: 0,
      };
      return checkCloud(pc, item.file!);
    },
  };
}
