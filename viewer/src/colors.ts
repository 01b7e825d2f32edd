/** Per-point colours (RGB in [0, 1], interleaved) for each colouring mode, and the categorical palette. */

/** 20 well-separated colours (Tableau 20 order: strong then light). */
export const PALETTE: readonly string[] = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#7f7f7f',
];
export const UNLABELLED = '#c8c8c8';

function hexRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [((v >> 16) & 255) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
}
const PALETTE_RGB = PALETTE.map(hexRgb);
const GREY = hexRgb(UNLABELLED);

export function categoryColor(id: number): [number, number, number] {
  return id < 0 ? GREY : PALETTE_RGB[id % PALETTE_RGB.length]!;
}

export function categoryHex(id: number): string {
  return id < 0 ? UNLABELLED : PALETTE[id % PALETTE.length]!;
}

export function colorsFromLabels(labels: Int32Array): Float32Array {
  const out = new Float32Array(labels.length * 3);
  for (let i = 0; i < labels.length; i++) out.set(categoryColor(labels[i]!), 3 * i);
  return out;
}

export function colorsFromNormals(normals: Float32Array | null, n: number): Float32Array {
  const out = new Float32Array(n * 3);
  if (!normals) return out.fill(0.6);
  for (let i = 0; i < 3 * n; i++) out[i] = 0.5 * (normals[i]! + 1);
  return out;
}

/** A perceptual ramp (viridis-like, 5 stops) for height. */
const RAMP: ReadonlyArray<[number, number, number]> = [
  [0.267, 0.005, 0.329],
  [0.229, 0.322, 0.546],
  [0.128, 0.567, 0.551],
  [0.369, 0.789, 0.383],
  [0.993, 0.906, 0.144],
];

export function ramp(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i]!,
    b = RAMP[i + 1]!;
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** Height = the coordinate `axis` (1 = y, 2 = z), mapped over [lo, hi] (one range for both views so colours compare). */
export function colorsFromHeight(points: Float32Array, lo: number, hi: number, axis = 1): Float32Array {
  const n = points.length / 3;
  const out = new Float32Array(n * 3);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < n; i++) out.set(ramp((points[3 * i + axis]! - lo) / span), 3 * i);
  return out;
}

export function axisRange(points: Float32Array, axis = 1): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (let i = axis; i < points.length; i += 3) {
    if (points[i]! < lo) lo = points[i]!;
    if (points[i]! > hi) hi = points[i]!;
  }
  return [lo, hi];
}

export function plainColors(n: number, rgb: [number, number, number]): Float32Array {
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) out.set(rgb, 3 * i);
  return out;
}

/** Mean colour of the points in each non-empty leaf (pointToLeaf indexes the non-empty leaves). */
export function leafColors(pointColors: Float32Array, pointToLeaf: Int32Array, leaves: number): Float32Array {
  const out = new Float32Array(leaves * 3);
  const cnt = new Int32Array(leaves);
  for (let i = 0; i < pointToLeaf.length; i++) {
    const l = pointToLeaf[i]!;
    cnt[l]!++;
    out[3 * l]! += pointColors[3 * i]!;
    out[3 * l + 1]! += pointColors[3 * i + 1]!;
    out[3 * l + 2]! += pointColors[3 * i + 2]!;
  }
  for (let l = 0; l < leaves; l++) {
    const c = cnt[l]! || 1;
    out[3 * l]! /= c;
    out[3 * l + 1]! /= c;
    out[3 * l + 2]! /= c;
  }
  return out;
}
