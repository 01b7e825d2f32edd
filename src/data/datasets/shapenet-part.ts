import * as path from 'node:path';
import { fileError } from '../../util/errors.ts';
import { parseXyz } from '../formats/xyz.ts';
import { decodeText } from '../formats/text.ts';
import type { PointCloud } from '../pointcloud.ts';
import { readShape } from '../shape.ts';
import { PART_OFFSETS, PARTS_PER_CATEGORY, SHAPENET_PART_CATEGORIES, SHAPENET_PART_SYNSETS } from '../shapenet-part-labels.ts';
import { exists, listDir, readLines, readTextFile } from './fsutil.ts';
import type { Dataset, DatasetItem, Split } from './types.ts';
import { promises as fs } from 'node:fs';

/**
 * ShapeNet Part in both public layouts:
 * - `..._v0_normal`: `<synset>/<id>.txt`, lines `x y z nx ny nz label` with global part ids 0..49;
 * - `..._v0`: `<synset>/points/<id>.pts` (xyz) + `<synset>/points_label/<id>.seg` (1-based local part ids).
 * Splits come from `train_test_split/shuffled_{train,val,test}_file_list.json` ("shape_data/<synset>/<id>"),
 * train = train + val in list order; without split files every shape is 'train' in sorted order.
 * Item labels are category indices (table order of ../shapenet-part-labels.ts); per-point labels are global part ids,
 * or local ones with `partLabels: 'local'`.
 */
export type PartLabelMode = 'global' | 'local';

async function splitList(root: string, name: string): Promise<string[] | null> {
  const file = path.join(root, 'train_test_split', `shuffled_${name}_file_list.json`);
  if (!(await exists(file))) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readTextFile(file));
  } catch {
    throw fileError(file, 'is not valid JSON');
  }
  if (!Array.isArray(parsed) || parsed.some((s) => typeof s !== 'string')) throw fileError(file, 'expected a JSON array of "shape_data/<synset>/<id>" strings');
  return parsed as string[];
}

export async function shapeNetPart(root: string, partLabels: PartLabelMode = 'global'): Promise<Dataset> {
  // synsetoffset2category.txt must agree with the fixed table when present.
  const mapFile = path.join(root, 'synsetoffset2category.txt');
  if (await exists(mapFile)) {
    const lines = await readLines(mapFile);
    lines.forEach((line, i) => {
      const [name, synset] = line.split(/\s+/);
      const c = SHAPENET_PART_SYNSETS.indexOf(synset ?? '');
      if (c < 0 || SHAPENET_PART_CATEGORIES[c]!.toLowerCase() !== (name ?? '').toLowerCase()) {
        throw fileError(mapFile, `unexpected category line ${JSON.stringify(line)}`, i + 1);
      }
    });
  }
  const present = new Set<string>();
  for (const e of await listDir(root)) if (e.isDir && SHAPENET_PART_SYNSETS.includes(e.name)) present.add(e.name);
  if (present.size === 0) throw fileError(root, 'no ShapeNet Part synset folders (e.g. 02691156) found');
  const firstSynset = [...present][0]!;
  const v0 = await exists(path.join(root, firstSynset, 'points'));
  const fileOf = (synset: string, id: string): string => (v0 ? path.join(root, synset, 'points', `${id}.pts`) : path.join(root, synset, `${id}.txt`));
  const items: DatasetItem[] = [];
  const add = (entry: string, split: Split, listName: string): void => {
    const parts = entry.split('/');
    const synset = parts[parts.length - 2] ?? '';
    const id = parts[parts.length - 1] ?? '';
    const c = SHAPENET_PART_SYNSETS.indexOf(synset);
    if (c < 0 || id.length === 0) throw fileError(path.join(root, 'train_test_split', listName), `bad entry ${JSON.stringify(entry)}`);
    items.push({ id: `${synset}/${id}`, file: fileOf(synset, id), label: c, split });
  };
  const train = await splitList(root, 'train');
  const val = await splitList(root, 'val');
  const test = await splitList(root, 'test');
  if (train || test) {
    for (const e of train ?? []) add(e, 'train', 'shuffled_train_file_list.json');
    for (const e of val ?? []) add(e, 'train', 'shuffled_val_file_list.json');
    for (const e of test ?? []) add(e, 'test', 'shuffled_test_file_list.json');
  } else {
    for (const synset of [...present].sort()) {
      const dir = v0 ? path.join(root, synset, 'points') : path.join(root, synset);
      const ext = v0 ? '.pts' : '.txt';
      for (const e of await listDir(dir)) {
        if (!e.isDir && e.name.endsWith(ext)) add(`${synset}/${e.name.slice(0, -ext.length)}`, 'train', '(folder listing)');
      }
    }
  }
  const load = async (item: DatasetItem): Promise<PointCloud> => {
    const c = item.label;
    const lo = PART_OFFSETS[c]!;
    const hi = lo + PARTS_PER_CATEGORY[c]!;
    let pc: PointCloud;
    if (v0) {
      pc = { ...(await readShape(item.file!)).cloud! };
      const segFile = item.file!.replace(/[/\\]points[/\\]([^/\\]+)\.pts$/, `${path.sep}points_label${path.sep}$1.seg`);
      let text: string;
      try {
        text = decodeText(await fs.readFile(segFile));
      } catch {
        throw fileError(segFile, 'part label file is missing');
      }
      const toks = text.split(/\s+/).filter((t) => t.length > 0);
      const n = pc.points.length / 3;
      if (toks.length !== n) throw fileError(segFile, `has ${toks.length} labels for ${n} points`);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const local = Number(toks[i]) - 1;
        if (!Number.isInteger(local) || local < 0 || local >= hi - lo)
          throw fileError(segFile, `label ${JSON.stringify(toks[i])} is outside 1..${hi - lo}`, i + 1);
        labels[i] = partLabels === 'local' ? local : local + lo;
      }
      pc.labels = labels;
    } else {
      const shape = parseXyz(new Uint8Array(await readFileOr(item.file!)), item.file!);
      pc = { ...shape.cloud! };
      if (!pc.labels) throw fileError(item.file!, 'expected 7 columns (x y z nx ny nz label)');
      const labels = pc.labels.slice();
      for (let i = 0; i < labels.length; i++) {
        const g = labels[i]!;
        if (g < lo || g >= hi) throw fileError(item.file!, `part id ${g} does not belong to ${SHAPENET_PART_CATEGORIES[c]} (${lo}..${hi - 1})`, i + 1);
        if (partLabels === 'local') labels[i] = g - lo;
      }
      pc.labels = labels;
    }
    return pc;
  };
  return {
    name: v0 ? 'shapenet_part_v0' : 'shapenet_part_v0_normal',
    classes: [...SHAPENET_PART_CATEGORIES],
    items,
    // ShapeNet is y-up (MID-Net's rotation about y is about ShapeNet's up axis)
    upAxis: 'y',
    source: { kind: 'shapenet-part', root, partLabels },
    load,
    // local ids 0..k-1 per category (the files carry no part names; the benchmark numbers them per category)
    ...(partLabels === 'local'
      ? { parts: Object.fromEntries(SHAPENET_PART_CATEGORIES.map((c, i) => [c, Array.from({ length: PARTS_PER_CATEGORY[i]! }, (_, k) => `part ${k + 1}`)])) }
      : {}),
  };
}

async function readFileOr(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch {
    throw fileError(file, 'cannot read the file (does it exist?)');
  }
}
