/**
 * Everything that defines a view, kept in the URL hash so a link reproduces it: `#file=a/b.pcd&bins=30&...`.
 * Unknown or invalid values fall back to the defaults one by one, so an old or hand-edited link still opens.
 */
import { isRqVariant, type RqVariant } from '../../src/augment/randomized-quantization.ts';
import { DEFAULT_DEPTH, DEFAULT_NORMALIZE } from '../../src/pipeline/defaults.ts';
import { DEFAULT_POINT_BUDGET, MAX_POINT_BUDGET } from './pipeline.ts';

export type ColorMode = 'normal' | 'height' | 'label' | 'cluster' | 'prediction' | 'features' | 'plain';
export type BoxMode = 'off' | 'wire' | 'solid';
/** 'rq': original | quantized; 'compare': ground truth | prediction | error (three views, one camera). */
export type LayoutMode = 'rq' | 'compare';
export const COLOR_MODES: readonly ColorMode[] = ['height', 'normal', 'label', 'cluster', 'prediction', 'features', 'plain'];
export const LAYOUT_MODES: readonly LayoutMode[] = ['rq', 'compare'];
/** The point budget choices of the panel (the URL takes any value in 1000..MAX_POINT_BUDGET). */
export const BUDGET_CHOICES: readonly number[] = [10_000, 50_000, 200_000, 1_000_000, 5_000_000];
export const BOX_MODES: readonly BoxMode[] = ['off', 'wire', 'solid'];

export interface ViewState {
  /** Path under the served root, or null (nothing chosen yet, or a dropped file). */
  file: string | null;
  bins: number;
  seed: number;
  variant: RqVariant;
  p: number;
  mid: boolean;
  normalize: 'sphere' | 'bbox';
  depth: number;
  boxes: BoxMode;
  points: boolean;
  color: ColorMode;
  k: number;
  pointSize: number;
  /** The data's up axis (ModelNet files are z-up); display only. */
  up: 'y' | 'z';
  /** Camera position (x, y, z), or null for the default view. */
  cam: [number, number, number] | null;
  /** Dataset browser filters. */
  category: string;
  split: string;
  /** The checkpoint model chosen for predictions (its folder under the checkpoint), '' = by the shape's class. */
  model: string;
  /** At most this many points are shown (a seeded random subset of bigger clouds). */
  budget: number;
  layout: LayoutMode;
  /** x/y/z axes at the origin of each view. */
  axes: boolean;
  /** Meshes: the shaded surface under the sampled points. */
  surface: boolean;
}

export const DEFAULT_STATE: Readonly<ViewState> = Object.freeze({
  file: null,
  bins: 30,
  seed: 0,
  variant: 'random-random',
  p: 1,
  mid: false,
  // The training pipeline's (src/pipeline/defaults.ts), as in rq3d octree / quantize.
  normalize: DEFAULT_NORMALIZE,
  depth: DEFAULT_DEPTH,
  boxes: 'off',
  points: true,
  color: 'height',
  k: 6,
  pointSize: 1,
  up: 'y',
  cam: null,
  category: '',
  split: '',
  model: '',
  budget: DEFAULT_POINT_BUDGET,
  layout: 'rq',
  axes: true,
  surface: true,
});

const int = (v: string | null, lo: number, hi: number): number | undefined => {
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= lo && n <= hi ? n : undefined;
};
const num = (v: string | null, lo: number, hi: number): number | undefined => {
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= lo && n <= hi ? n : undefined;
};
function pick<T extends string>(v: string | null, allowed: readonly T[]): T | undefined {
  return allowed.find((a) => a === v);
}

export function decodeState(hash: string): ViewState {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const d = DEFAULT_STATE;
  const variant = q.get('variant');
  const cam = (q.get('cam') ?? '').split(',').map(Number);
  return {
    file: q.get('file') || null,
    bins: int(q.get('bins'), 1, 64) ?? d.bins,
    seed: int(q.get('seed'), 0, 2 ** 31 - 1) ?? d.seed,
    variant: variant && isRqVariant(variant) ? variant : d.variant,
    p: num(q.get('p'), 0, 1) ?? d.p,
    mid: q.has('mid') ? q.get('mid') === '1' : d.mid,
    normalize: pick(q.get('norm'), ['sphere', 'bbox'] as const) ?? d.normalize,
    depth: int(q.get('depth'), 1, 8) ?? d.depth,
    boxes: pick(q.get('boxes'), BOX_MODES) ?? d.boxes,
    points: q.has('points') ? q.get('points') === '1' : d.points,
    color: pick(q.get('color'), COLOR_MODES) ?? d.color,
    k: int(q.get('k'), 2, 32) ?? d.k,
    pointSize: num(q.get('ps'), 0.25, 4) ?? d.pointSize,
    up: pick(q.get('up'), ['y', 'z'] as const) ?? d.up,
    cam: cam.length === 3 && cam.every(Number.isFinite) ? (cam as [number, number, number]) : null,
    category: q.get('cat') ?? d.category,
    split: q.get('split') ?? d.split,
    model: q.get('model') ?? d.model,
    budget: int(q.get('budget'), 1000, MAX_POINT_BUDGET) ?? d.budget,
    layout: pick(q.get('layout'), LAYOUT_MODES) ?? d.layout,
    axes: q.has('axes') ? q.get('axes') === '1' : d.axes,
    surface: q.has('surface') ? q.get('surface') === '1' : d.surface,
  };
}

export function encodeState(s: ViewState): string {
  const q = new URLSearchParams();
  if (s.file) q.set('file', s.file);
  q.set('bins', String(s.bins));
  q.set('seed', String(s.seed));
  q.set('variant', s.variant);
  q.set('p', String(s.p));
  q.set('mid', s.mid ? '1' : '0');
  q.set('norm', s.normalize);
  q.set('depth', String(s.depth));
  q.set('boxes', s.boxes);
  q.set('points', s.points ? '1' : '0');
  q.set('color', s.color);
  q.set('k', String(s.k));
  q.set('ps', String(s.pointSize));
  q.set('up', s.up);
  if (s.cam) q.set('cam', s.cam.map((v) => v.toFixed(3)).join(','));
  if (s.category) q.set('cat', s.category);
  if (s.split) q.set('split', s.split);
  if (s.model) q.set('model', s.model);
  q.set('budget', String(s.budget));
  q.set('layout', s.layout);
  q.set('axes', s.axes ? '1' : '0');
  q.set('surface', s.surface ? '1' : '0');
  return '#' + q.toString();
}

export function isVariant(v: string): v is RqVariant {
  return isRqVariant(v);
}
