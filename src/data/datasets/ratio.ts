import { UserError } from '../../util/errors.ts';
import { Rng } from '../../util/rng.ts';
import * as path from 'node:path';
import { codeUnitCompare } from './fsutil.ts';
import type { DatasetItem } from './types.ts';

/**
 * Few-shot training subsets exactly as the reference scripts build them (anchor-spec §3.5):
 * - 'per-class' (ModelNet, O-CNN cls_modelnet.py): per class, the first ceil(n_class * ratio) files in sorted
 *   file-name order; classes in label order.
 * - 'first' (ShapeNet Part, `take`): the first ceil(n * ratio) items in list order.
 * ceil(n * ratio) is evaluated in double precision like Python's math.ceil(len * ratio), so float artefacts
 * (e.g. 100 * 0.07 = 7.000000000000001 -> 8) match the reference too.
 *
 * With `draw` (a label naming the downstream seed, and for 'first' what the list is: a grid's
 * `subsets: "per-seed"`) the same counts are taken from an order shuffled by a generator seeded with the draw
 * (and the class, for 'per-class'), instead of the reference's fixed order: each seed labels its own shapes,
 * so the spread over seeds includes the choice of the labelled shapes. The order does not depend on the ratio,
 * so one draw's subsets are nested (its 1 % shapes are among its 2 % shapes), as the reference's are.
 */
export type RatioMode = 'per-class' | 'first';

export function ratioCount(n: number, ratio: number): number {
  return Math.min(n, Math.ceil(n * ratio));
}

export function subsetByRatio<T extends DatasetItem>(items: readonly T[], ratio: number, mode: RatioMode, draw?: string): T[] {
  if (!(ratio > 0 && ratio <= 1)) throw new UserError(`ratio must be in (0, 1], got ${ratio}`);
  const order = (list: T[], stream: string): T[] => (draw === undefined ? list : new Rng(`subset/${draw}${stream}`).shuffle(list));
  if (mode === 'first') return order(items.slice(), '').slice(0, ratioCount(items.length, ratio));
  const byClass = new Map<number, T[]>();
  for (const it of items) {
    let list = byClass.get(it.label);
    if (!list) byClass.set(it.label, (list = []));
    list.push(it);
  }
  const out: T[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const key = (it: T): string => (it.file ? `${path.basename(it.file)}#${it.id}` : it.id);
    const sorted = byClass
      .get(label)!
      .slice()
      .sort((a, b) => codeUnitCompare(key(a), key(b)));
    const list = order(sorted, `/class ${label}`);
    out.push(...list.slice(0, ratioCount(list.length, ratio)));
  }
  return out;
}
