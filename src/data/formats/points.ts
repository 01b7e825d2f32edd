import { fileError } from '../../util/errors.ts';
import type { PointCloud } from '../pointcloud.ts';
import { checkCloud, checkPlausibleBinary, type Shape } from './check.ts';

/**
 * O-CNN `.points` (anchor-spec §5.1): an 88-byte little-endian header — magic "_POINTS_1.0_" in 16 bytes,
 * int32 point count, int32 content flags (point 1, normal 2, feature 4, label 8), int32 channels[8],
 * int32 ptr_dis[8] (byte offsets; ptr_dis[0] = 88, ptr_dis[4] = file size) — then float32 arrays of points,
 * normals, features and labels in that order, each present only if its flag is set.
 */
export const POINTS_MAGIC = '_POINTS_1.0_';
export const POINTS_HEADER_BYTES = 88;
const FLAG = { point: 1, normal: 2, feature: 4, label: 8 } as const;

export function parsePoints(bytes: Uint8Array, file: string): Shape {
  if (bytes.length < POINTS_HEADER_BYTES) throw fileError(file, `too short for a .points header (${bytes.length} < 88 bytes)`);
  for (let i = 0; i < POINTS_MAGIC.length; i++) {
    if (bytes[i] !== POINTS_MAGIC.charCodeAt(i)) throw fileError(file, `not an O-CNN .points file (magic is not "${POINTS_MAGIC}")`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getInt32(16, true);
  const flags = view.getInt32(20, true);
  const channels: number[] = [];
  const ptr: number[] = [];
  for (let i = 0; i < 8; i++) channels.push(view.getInt32(24 + 4 * i, true));
  for (let i = 0; i < 8; i++) ptr.push(view.getInt32(56 + 4 * i, true));
  if (n < 0) throw fileError(file, `negative point count ${n}`);
  if ((flags & FLAG.point) === 0) throw fileError(file, 'content flags say the file has no points');
  if (flags & ~15) throw fileError(file, `unknown content flags ${flags}`);
  const expectCh = [3, 3, -1, 1];
  const has = [FLAG.point, FLAG.normal, FLAG.feature, FLAG.label].map((f) => (flags & f) !== 0);
  for (let k = 0; k < 4; k++) {
    if (!has[k]) continue;
    const c = channels[k]!;
    if (expectCh[k]! >= 0 ? c !== expectCh[k] : c < 1 || c > 1024) {
      throw fileError(file, `channel count ${c} of ${['points', 'normals', 'features', 'labels'][k]} is invalid`);
    }
  }
  // Every present array must lie inside the file; checked before allocating anything of size n.
  const arrays: (Float32Array | null)[] = [];
  for (let k = 0; k < 4; k++) {
    if (!has[k]) {
      arrays.push(null);
      continue;
    }
    const len = 4 * n * channels[k]!;
    const off = ptr[k]!;
    if (off < POINTS_HEADER_BYTES || off + len > bytes.length) {
      throw fileError(
        file,
        `${['points', 'normals', 'features', 'labels'][k]} block (offset ${off}, ${len} bytes) lies outside the ${bytes.length}-byte file (truncated or bad header)`,
      );
    }
    const a = new Float32Array(n * channels[k]!);
    for (let i = 0; i < a.length; i++) a[i] = view.getFloat32(off + 4 * i, true);
    arrays.push(a);
  }
  const points = arrays[0]!;
  checkPlausibleBinary(points, file);
  let labels: Int32Array | null = null;
  if (arrays[3]) {
    labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = arrays[3][i]!;
      if (!Number.isInteger(v) || Math.abs(v) > 2147483647) throw fileError(file, `label of point ${i} is not an integer (${v})`);
      labels[i] = v;
    }
  }
  const cloud: PointCloud = {
    points,
    normals: arrays[1] ?? null,
    labels,
    features: arrays[2] ?? null,
    featureChannels: arrays[2] ? channels[2]! : 0,
  };
  return { format: 'points', cloud: checkCloud(cloud, file) };
}

export function encodePoints(pc: PointCloud): Uint8Array {
  const n = pc.points.length / 3;
  const blocks: [number, Float32Array | null, number][] = [
    [FLAG.point, pc.points, 3],
    [FLAG.normal, pc.normals, 3],
    [FLAG.feature, pc.features && pc.featureChannels > 0 ? pc.features : null, pc.featureChannels],
    [FLAG.label, pc.labels ? Float32Array.from(pc.labels) : null, 1],
  ];
  let flags = 0;
  const channels = new Array<number>(8).fill(0);
  const ptr = new Array<number>(8).fill(0);
  ptr[0] = POINTS_HEADER_BYTES;
  for (let k = 0; k < 4; k++) {
    const [flag, data, ch] = blocks[k]!;
    if (data) {
      flags |= flag;
      channels[k] = ch;
    }
    ptr[k + 1] = ptr[k]! + 4 * n * channels[k]!;
  }
  const out = new Uint8Array(ptr[4]!);
  const view = new DataView(out.buffer);
  for (let i = 0; i < POINTS_MAGIC.length; i++) out[i] = POINTS_MAGIC.charCodeAt(i);
  view.setInt32(16, n, true);
  view.setInt32(20, flags, true);
  for (let i = 0; i < 8; i++) view.setInt32(24 + 4 * i, channels[i]!, true);
  for (let i = 0; i < 8; i++) view.setInt32(56 + 4 * i, ptr[i]!, true);
  for (let k = 0; k < 4; k++) {
    const data = blocks[k]![1];
    if (!data) continue;
    for (let i = 0; i < data.length; i++) view.setFloat32(ptr[k]! + 4 * i, data[i]!, true);
  }
  return out;
}
