/**
 * Randomized quantization (RQ) of point coordinates, following `RandomizedQuantizationAugModule`
 * (anchor-spec §1.2) with the point-cloud mapping of §1.3: one shape is one sample, its channels are x, y, z.
 * Per shape and per axis: lo/hi = min/max over the shape's points; n−1 cut points split [lo, hi] into n bins;
 * every coordinate in bin k is replaced by the bin's reproduction value v_k. Normals, labels and features
 * are left as they are.
 */
import { clonePointCloud, type PointCloud } from '../data/pointcloud.ts';
import type { Rng } from '../util/rng.ts';

/** Where the n−1 cuts go: U[0,1) draws (the paper) or k/n (plain uniform quantization). */
export type BinSpacing = 'random' | 'uniform';
/** Reproduction value of a bin: uniformly inside it (the paper, `inside_random`) or its midpoint. */
export type CollapseMode = 'inside_random' | 'middle';

/** The four ablations of the paper's Table 1, named <bins>-<values>. */
export const RQ_VARIANTS = {
  'uniform-middle': { spacing: 'uniform', collapse: 'middle' },
  'uniform-random': { spacing: 'uniform', collapse: 'inside_random' },
  'random-middle': { spacing: 'random', collapse: 'middle' },
  'random-random': { spacing: 'random', collapse: 'inside_random' },
} as const satisfies Record<string, { spacing: BinSpacing; collapse: CollapseMode }>;
export type RqVariant = keyof typeof RQ_VARIANTS;
export const RQ_VARIANT_NAMES = Object.keys(RQ_VARIANTS) as RqVariant[];

export function isRqVariant(name: string): name is RqVariant {
  return Object.prototype.hasOwnProperty.call(RQ_VARIANTS, name);
}

export interface RqOptions {
  /** Number of bins n per axis (the paper uses 30). */
  bins: number;
  spacing: BinSpacing;
  collapse: CollapseMode;
  /** Probability that a shape is quantized at all (one Bernoulli draw per shape). */
  p: number;
  /**
   * The octree box [min, max). The last reproduction value may exceed hi by up to 1e−6 (the module's right end
   * is hi+1e−6), which could push a point onto the box's upper face; outputs are clamped to
   * [min, largest float32 below max]. Null disables the clamp.
   */
  box: readonly [number, number] | null;
}

export const RQ_DEFAULTS: Readonly<RqOptions> = Object.freeze({
  bins: 30,
  spacing: 'random',
  collapse: 'inside_random',
  p: 1,
  box: [-1, 1] as const,
});

/** The quantizer of one axis, for logging and for the viewer. */
export interface AxisQuantizer {
  lo: number;
  hi: number;
  /** Sorted cut points p_1..p_{n−1}. */
  cuts: Float64Array;
  /** Left ends L_k = sort([lo, cuts]). */
  left: Float64Array;
  /** Right ends R_k = sort([cuts, hi+1e−6]) (the ones used for reproduction values). */
  right: Float64Array;
  /** Reproduction value v_k of each bin. */
  values: Float64Array;
  /** How many points fell in each bin. */
  counts: Int32Array;
}

export interface RqResult {
  cloud: PointCloud;
  /** False when the Bernoulli(p) draw skipped this shape (the cloud is then an unchanged copy). */
  applied: boolean;
  /** One quantizer per axis (x, y, z); empty when not applied. */
  axes: AxisQuantizer[];
}

/** Number of sorted cuts ≤ x, i.e. the bin of x (a value equal to a cut goes to the bin on its right). */
export function binOf(cuts: Float64Array, x: number): number {
  let lo = 0,
    hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Build one axis' quantizer from its range. Draws n−1 cut fractions (random spacing), then n values (random collapse). */
export function makeAxisQuantizer(lo: number, hi: number, n: number, spacing: BinSpacing, collapse: CollapseMode, rng: Rng): AxisQuantizer {
  const cuts = new Float64Array(n - 1);
  for (let k = 0; k < n - 1; k++) {
    const u = spacing === 'random' ? rng.uniform() : (k + 1) / n;
    cuts[k] = lo + u * (hi - lo);
  }
  cuts.sort();
  const left = new Float64Array(n);
  const right = new Float64Array(n);
  left[0] = lo;
  for (let k = 0; k < n - 1; k++) {
    left[k + 1] = cuts[k]!;
    right[k] = cuts[k]!;
  }
  right[n - 1] = hi + 1e-6;
  const values = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    values[k] = collapse === 'middle' ? (left[k]! + right[k]!) / 2 : left[k]! + rng.uniform() * (right[k]! - left[k]!);
  }
  return { lo, hi, cuts, left, right, values, counts: new Int32Array(n) };
}

/** Largest float32 strictly below x (x a finite float32 value). */
function float32Below(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if (x > 0) u[0] = u[0]! - 1;
  else if (x < 0) u[0] = u[0]! + 1;
  else return -1.401298464324817e-45;
  return f[0]!;
}

/**
 * Quantize a cloud's coordinates. Random draws, in order: the Bernoulli(p) draw (always made), then for x, y,
 * z in turn the axis' cuts and values (see `makeAxisQuantizer`).
 */
export function randomizedQuantize(pc: PointCloud, rng: Rng, options: Partial<RqOptions> = {}): RqResult {
  const o: RqOptions = { ...RQ_DEFAULTS, ...options };
  if (!Number.isInteger(o.bins) || o.bins < 1) throw new RangeError(`RQ bins must be an integer >= 1, got ${o.bins}`);
  const cloud = clonePointCloud(pc);
  const applied = rng.uniform() < o.p;
  const N = pc.points.length / 3;
  if (!applied || N === 0) return { cloud, applied: applied && N > 0, axes: [] };
  const boxLo = o.box ? o.box[0] : -Infinity;
  const boxHi = o.box ? float32Below(o.box[1]) : Infinity;
  const axes: AxisQuantizer[] = [];
  for (let a = 0; a < 3; a++) {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = a; i < pc.points.length; i += 3) {
      const v = pc.points[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const q = makeAxisQuantizer(lo, hi, o.bins, o.spacing, o.collapse, rng);
    for (let i = a; i < pc.points.length; i += 3) {
      const k = binOf(q.cuts, pc.points[i]!);
      q.counts[k]!++;
      const v = q.values[k]!;
      cloud.points[i] = v < boxLo ? boxLo : v > boxHi ? boxHi : v;
    }
    axes.push(q);
  }
  return { cloud, applied: true, axes };
}

/** Options of a named Table-1 variant, with overrides. */
export function rqVariantOptions(variant: RqVariant, overrides: Partial<RqOptions> = {}): RqOptions {
  return { ...RQ_DEFAULTS, ...RQ_VARIANTS[variant], ...overrides };
}
