/**
 * Per-shape part IoU as in ShapeNet Part evaluation: for each part id present in the ground truth or the
 * prediction, |P ∩ G| / |P ∪ G|; the shape's mIoU is their mean. Points with a negative ground-truth label
 * are ignored. `parts` restricts the ids (a category's parts); a part absent from both counts as IoU 1.
 */
export interface ShapeIou {
  miou: number;
  perPart: Map<number, number>;
  accuracy: number;
}

export function shapeIou(pred: Int32Array, gt: Int32Array, parts?: readonly number[]): ShapeIou {
  if (pred.length !== gt.length) throw new RangeError(`prediction has ${pred.length} labels, ground truth ${gt.length}`);
  const inter = new Map<number, number>();
  const union = new Map<number, number>();
  const ids = new Set<number>(parts ?? []);
  let correct = 0, counted = 0;
  for (let i = 0; i < gt.length; i++) {
    const g = gt[i]!, p = pred[i]!;
    if (g < 0) continue;
    counted++;
    if (!parts) {
      ids.add(g);
      ids.add(p);
    }
    if (p === g) {
      correct++;
      inter.set(g, (inter.get(g) ?? 0) + 1);
      union.set(g, (union.get(g) ?? 0) + 1);
    } else {
      union.set(g, (union.get(g) ?? 0) + 1);
      union.set(p, (union.get(p) ?? 0) + 1);
    }
  }
  const perPart = new Map<number, number>();
  for (const id of [...ids].sort((a, b) => a - b)) {
    const u = union.get(id) ?? 0;
    perPart.set(id, u === 0 ? 1 : (inter.get(id) ?? 0) / u);
  }
  const vals = [...perPart.values()];
  return {
    miou: vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : 1,
    perPart,
    accuracy: counted ? correct / counted : 1,
  };
}
