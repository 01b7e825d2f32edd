/**
 * The synthetic dataset as a list of items that are generated on demand: an item is only (category, index),
 * and its shape is a pure function of the dataset seed and those two, so loading is cheap, order-free and
 * reproducible.
 */
import type { PointCloud } from '../pointcloud.ts';
import { Rng } from '../../util/rng.ts';
import { generateShape, SYNTH_CATEGORIES, SYNTH_PARTS } from './registry.ts';

export interface SynthItem {
  /** `<category>_<NNNN>`. */
  id: string;
  /** Class label = index into `classes`. */
  label: number;
  split: 'train' | 'test';
  category: string;
  /** Index of the instance within its category. */
  index: number;
}

export interface SynthDataset {
  name: string;
  classes: string[];
  items: SynthItem[];
  /** Part names per class (local part ids). */
  parts: Record<string, string[]>;
  load(item: SynthItem): Promise<PointCloud>;
  loadSync(item: SynthItem): PointCloud;
}

export interface SynthDatasetOptions {
  perClass: number;
  seed?: number;
  points?: number;
  /** Subset of categories (default all). */
  categories?: readonly string[];
  randomYRotation?: boolean;
}

/** Every fifth instance of a category (index ≡ 4 mod 5) is a test item: an 80/20 split that does not move when perClass grows. */
export function synthSplit(index: number): 'train' | 'test' {
  return index % 5 === 4 ? 'test' : 'train';
}

export function synthItemRng(seed: number, category: string, index: number): Rng {
  return new Rng(seed).fork(`${category}/${index}`);
}

export function synthDataset(opts: SynthDatasetOptions): SynthDataset {
  const seed = opts.seed ?? 0;
  const points = opts.points ?? 2048;
  const classes = [...(opts.categories ?? SYNTH_CATEGORIES)];
  for (const c of classes) if (!SYNTH_CATEGORIES.includes(c)) throw new RangeError(`unknown synthetic category '${c}'`);
  const items: SynthItem[] = [];
  classes.forEach((category, label) => {
    for (let index = 0; index < opts.perClass; index++) {
      items.push({ id: `${category}_${String(index).padStart(4, '0')}`, label, split: synthSplit(index), category, index });
    }
  });
  const loadSync = (item: SynthItem): PointCloud =>
    generateShape(item.category, synthItemRng(seed, item.category, item.index), { points, randomYRotation: opts.randomYRotation });
  return {
    name: 'synth',
    classes,
    items,
    parts: Object.fromEntries(classes.map((c) => [c, [...SYNTH_PARTS[c]!]])),
    load: async (item) => loadSync(item),
    loadSync,
  };
}
