import { UserError } from '../util/errors.ts';

/**
 * ShapeNet Part (shapenetcore_partanno_segmentation_benchmark_v0[_normal]): 16 categories, 50 parts
 * (anchor-spec §5.3). Global part ids are contiguous per category in this order; local id = global - offset.
 * PARTS_PER_CATEGORY and PART_OFFSETS are O-CNN's `seg_num` and `dis`.
 */
export const SHAPENET_PART_CATEGORIES = [
  'Airplane',
  'Bag',
  'Cap',
  'Car',
  'Chair',
  'Earphone',
  'Guitar',
  'Knife',
  'Lamp',
  'Laptop',
  'Motorbike',
  'Mug',
  'Pistol',
  'Rocket',
  'Skateboard',
  'Table',
] as const;
export type ShapeNetPartCategory = (typeof SHAPENET_PART_CATEGORIES)[number];

export const SHAPENET_PART_SYNSETS: readonly string[] = [
  '02691156',
  '02773838',
  '02954340',
  '02958343',
  '03001627',
  '03261776',
  '03467517',
  '03624134',
  '03636649',
  '03642806',
  '03790512',
  '03797390',
  '03948459',
  '04099429',
  '04225987',
  '04379243',
];

export const PARTS_PER_CATEGORY: readonly number[] = [4, 2, 2, 4, 4, 3, 3, 2, 4, 2, 6, 2, 3, 3, 3, 3];
export const PART_OFFSETS: readonly number[] = [0, 4, 6, 8, 12, 16, 19, 22, 24, 28, 30, 36, 38, 41, 44, 47];
export const SHAPENET_PART_COUNT = 50;

/** Test/trainval counts of the O-CNN script (anchor-spec §5.3), per category in table order. */
export const OCNN_TRAINVAL_COUNTS: readonly number[] = [2348, 62, 44, 717, 3052, 55, 626, 312, 1261, 367, 151, 146, 234, 54, 121, 4421];
export const OCNN_TEST_COUNTS: readonly number[] = [341, 14, 11, 153, 693, 14, 159, 80, 285, 78, 51, 38, 41, 12, 31, 842];

export function categoryIndex(nameOrSynset: string): number {
  let i = SHAPENET_PART_SYNSETS.indexOf(nameOrSynset);
  if (i < 0) i = SHAPENET_PART_CATEGORIES.findIndex((c) => c.toLowerCase() === nameOrSynset.toLowerCase());
  if (i < 0) throw new UserError(`unknown ShapeNet Part category ${JSON.stringify(nameOrSynset)} (expected a name like Airplane or a synset like 02691156)`);
  return i;
}

/** Category of a global part id. */
export function categoryOfPart(globalId: number): number {
  if (!Number.isInteger(globalId) || globalId < 0 || globalId >= SHAPENET_PART_COUNT) throw new UserError(`part id ${globalId} is outside 0..49`);
  let c = 0;
  while (c + 1 < PART_OFFSETS.length && PART_OFFSETS[c + 1]! <= globalId) c++;
  return c;
}

export function globalToLocal(globalId: number, category: number): number {
  const local = globalId - PART_OFFSETS[category]!;
  if (local < 0 || local >= PARTS_PER_CATEGORY[category]!) {
    throw new UserError(
      `part id ${globalId} does not belong to ${SHAPENET_PART_CATEGORIES[category]} (parts ${PART_OFFSETS[category]}..${PART_OFFSETS[category]! + PARTS_PER_CATEGORY[category]! - 1})`,
    );
  }
  return local;
}

export function localToGlobal(localId: number, category: number): number {
  if (!Number.isInteger(localId) || localId < 0 || localId >= PARTS_PER_CATEGORY[category]!) {
    throw new UserError(`local part id ${localId} is outside 0..${PARTS_PER_CATEGORY[category]! - 1} for ${SHAPENET_PART_CATEGORIES[category]}`);
  }
  return localId + PART_OFFSETS[category]!;
}
