import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { formatFromExtension } from '../data/shape.ts';
import { SHAPENET_PART_CATEGORIES, SHAPENET_PART_SYNSETS } from '../data/shapenet-part-labels.ts';
import { isInside } from './safe-path.ts';

/**
 * The shapes of a served folder, for the viewer's dataset browser. Class and split are read off the layout:
 * - `<class>/{train,test}/file` (ModelNet10 PCD, `rq3d synth` PLY): the folder before the split folder;
 * - ShapeNet Part: `<synset>/<id>.txt` or `<synset>/points/<id>.pts` (+ `points_label/<id>.seg` labels), with
 *   names from `synsetoffset2category.txt` and splits from `train_test_split/shuffled_*_file_list.json`;
 * - otherwise the first folder is the class and the split is empty.
 */
export interface CatalogItem {
  /** Path relative to the served root, `/`-separated. */
  path: string;
  category: string;
  split: string;
  /** Sidecar per-point label file (ShapeNet Part v0 `.seg`), relative, or null. */
  labels: string | null;
}

const SPLIT_DIRS = new Set(['train', 'test', 'val', 'valid', 'validation']);
const TEXT_FORMATS = new Set(['.txt', '.csv', '.xyz', '.pts', '.asc', '.xyzn']);
const SKIP_DIRS = new Set(['node_modules', 'train_test_split', 'points_label']);
/** A listing this long is almost surely the wrong folder; stop there rather than hang the browser. */
export const MAX_CATALOG_ITEMS = 50_000;

/** Text files are shapes only if their first data line has 3, 6 or 7 numbers (skips classes.txt, split lists...). */
async function looksLikePointList(file: string): Promise<boolean> {
  let fh;
  try {
    fh = await fs.open(file, 'r');
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const lines = buf
      .subarray(0, bytesRead)
      .toString('latin1')
      .split(/\r\n|\n|\r/);
    for (const raw of lines) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith('//')) continue;
      const t = line.split(/\s*,\s*|\s+/);
      return (t.length === 3 || t.length === 6 || t.length === 7) && t.every((x) => Number.isFinite(Number(x)));
    }
    return false;
  } catch {
    return false;
  } finally {
    await fh?.close();
  }
}

/** Synset -> category name: ShapeNet Part's 16 built in, overridden by the folder's synsetoffset2category.txt. */
async function readSynsetNames(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>(SHAPENET_PART_SYNSETS.map((s, i) => [s, SHAPENET_PART_CATEGORIES[i]!]));
  try {
    const text = await fs.readFile(path.join(root, 'synsetoffset2category.txt'), 'utf8');
    for (const line of text.split(/\r?\n/)) {
      const [name, synset] = line.trim().split(/\s+/);
      if (name && synset) out.set(synset, name);
    }
  } catch {
    // no category table in the folder: the built-in names serve (other synset ids stay as they are)
  }
  return out;
}

/** `<synset>/<id>` -> split, from ShapeNet Part's shuffled_{train,val,test}_file_list.json. */
async function readShapeNetSplits(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const split of ['train', 'val', 'test']) {
    try {
      const list: unknown = JSON.parse(await fs.readFile(path.join(root, 'train_test_split', `shuffled_${split}_file_list.json`), 'utf8'));
      if (!Array.isArray(list)) continue;
      for (const e of list) {
        if (typeof e !== 'string') continue;
        const parts = e.split('/');
        out.set(parts.slice(-2).join('/'), split);
      }
    } catch {
      // absent or unreadable split list: those shapes get no split
    }
  }
  return out;
}

export async function listShapes(root: string): Promise<{ items: CatalogItem[]; truncated: boolean }> {
  const files: string[] = [];
  let truncated = false;
  const walk = async (dir: string, rel: string[]): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (files.length >= MAX_CATALOG_ITEMS) {
        truncated = true;
        return;
      }
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        // Links are followed only while they stay inside the root (the file server refuses the others anyway).
        try {
          const real = await fs.realpath(full);
          if (!isInside(root, real)) continue;
          const st = await fs.stat(real);
          isDir = st.isDirectory() && !isInside(real, dir); // no loops back up the tree
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isDir) {
        if (!SKIP_DIRS.has(e.name)) await walk(full, [...rel, e.name]);
      } else if (isFile && formatFromExtension(e.name)) {
        const ext = path.extname(e.name).toLowerCase();
        if (TEXT_FORMATS.has(ext) && !(await looksLikePointList(full))) continue;
        files.push([...rel, e.name].join('/'));
      }
    }
  };
  await walk(root, []);

  const synsets = await readSynsetNames(root);
  const snSplits = await readShapeNetSplits(root);
  const items = files.map((rel): CatalogItem => {
    const parts = rel.split('/');
    const dirs = parts.slice(0, -1);
    const base = parts[parts.length - 1]!;
    const stem = base.replace(/\.[^.]*$/, '');
    let category = dirs[0] ?? '';
    let split = '';
    let labels: string | null = null;
    let s = dirs.length - 1;
    while (s >= 0 && !SPLIT_DIRS.has(dirs[s]!.toLowerCase())) s--;
    if (s >= 0) {
      split = dirs[s]!.toLowerCase();
      if (s > 0) category = dirs[s - 1]!;
    } else if (dirs.length >= 1) {
      const synset = dirs[0]!;
      split = snSplits.get(`${synset}/${stem}`) ?? '';
      if (dirs[1] === 'points' && path.extname(base).toLowerCase() === '.pts') {
        labels = [synset, 'points_label', `${stem}.seg`].join('/');
      }
      category = synsets.get(synset) ?? synset;
    }
    return { path: rel, category, split, labels };
  });
  // Only keep label sidecars that exist.
  for (const it of items) {
    if (!it.labels) continue;
    try {
      await fs.access(path.join(root, ...it.labels.split('/')));
    } catch {
      it.labels = null;
    }
  }
  return { items, truncated };
}
