/**
 * Downstream metrics.
 * - OA: overall accuracy over test shapes.
 * - Part segmentation IoU per shape, two conventions (anchor-spec §3.5):
 *   'ocnn' (the reference's, used for the paper's tables): mean IoU over the parts present in the ground
 *   truth; a part only predicted is ignored;
 *   'pointnet': mean over all parts of the category, a part absent from both GT and prediction scoring 1.
 * - C.mIoU: mean of per-category means; I.mIoU: mean over all test shapes (= categories weighted by their
 *   test counts).
 */
export function overallAccuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (pred.length !== truth.length) throw new RangeError(`${pred.length} predictions for ${truth.length} labels`);
  if (truth.length === 0) return 0;
  let ok = 0;
  for (let i = 0; i < truth.length; i++) if (pred[i] === truth[i]) ok++;
  return ok / truth.length;
}

/** Mean per-class accuracy (a common companion of OA). */
export function meanClassAccuracy(pred: ArrayLike<number>, truth: ArrayLike<number>, classes: number): number {
  const hit = new Float64Array(classes);
  const tot = new Float64Array(classes);
  for (let i = 0; i < truth.length; i++) {
    tot[truth[i]!]++;
    if (pred[i] === truth[i]) hit[truth[i]!]++;
  }
  let s = 0;
  let n = 0;
  for (let c = 0; c < classes; c++) {
    if (tot[c]! > 0) {
      s += hit[c]! / tot[c]!;
      n++;
    }
  }
  return n > 0 ? s / n : 0;
}

export type IouConvention = 'ocnn' | 'pointnet';

/** IoU of one shape over its points; labels are local part ids in [0, parts); negative truth labels are ignored. */
export function shapeIoU(pred: ArrayLike<number>, truth: ArrayLike<number>, parts: number, convention: IouConvention): number {
  const inter = new Float64Array(parts);
  const union = new Float64Array(parts);
  const inTruth = new Uint8Array(parts);
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    if (t < 0) continue;
    const p = pred[i]!;
    inTruth[t] = 1;
    if (p === t) {
      inter[t]++;
      union[t]++;
    } else {
      union[t]++;
      if (p >= 0 && p < parts) union[p]++;
    }
  }
  let s = 0;
  let n = 0;
  for (let k = 0; k < parts; k++) {
    if (convention === 'ocnn') {
      if (!inTruth[k]) continue;
      s += inter[k]! / union[k]!;
      n++;
    } else {
      s += union[k]! === 0 ? 1 : inter[k]! / union[k]!;
      n++;
    }
  }
  return n > 0 ? s / n : 0;
}

export interface SegScores {
  /** Category name -> mean shape IoU. */
  perCategory: Record<string, number>;
  cmiou: number;
  imiou: number;
  shapes: number;
}

/** C.mIoU and I.mIoU from per-shape IoUs grouped by category. */
export function aggregateIoU(byCategory: Record<string, number[]>): SegScores {
  const perCategory: Record<string, number> = {};
  let total = 0;
  let count = 0;
  for (const [cat, ious] of Object.entries(byCategory)) {
    if (ious.length === 0) continue;
    const m = ious.reduce((a, b) => a + b, 0) / ious.length;
    perCategory[cat] = m;
    total += m * ious.length;
    count += ious.length;
  }
  const cats = Object.values(perCategory);
  return {
    perCategory,
    cmiou: cats.length ? cats.reduce((a, b) => a + b, 0) / cats.length : 0,
    imiou: count ? total / count : 0,
    shapes: count,
  };
}

export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

/** Confusion matrix: m[truth][pred] counts over the test shapes. */
export function confusionMatrix(pred: ArrayLike<number>, truth: ArrayLike<number>, classes: number): number[][] {
  if (pred.length !== truth.length) throw new RangeError(`${pred.length} predictions for ${truth.length} labels`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = pred[i]!;
    if (t >= 0 && t < classes && p >= 0 && p < classes) m[t]![p]!++;
  }
  return m;
}

/** Per-class accuracy (recall) from a confusion matrix; null for a class without test shapes. */
export function perClassAccuracy(confusion: readonly (readonly number[])[]): Array<number | null> {
  return confusion.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n > 0 ? row[c]! / n : null;
  });
}

/** Element-wise sum of confusion matrices of the same size (over seeds). */
export function sumConfusions(ms: ReadonlyArray<readonly (readonly number[])[]>): number[][] {
  const out = ms[0]!.map((row) => row.map(() => 0));
  for (const m of ms) m.forEach((row, i) => row.forEach((v, j) => (out[i]![j]! += v)));
  return out;
}
