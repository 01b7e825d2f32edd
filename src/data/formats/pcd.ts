import { fileError } from '../../util/errors.ts';
import type { PointCloud } from '../pointcloud.ts';
import { checkCloud, checkPlausibleBinary, type Shape } from './check.ts';
import { lzfCompress, lzfDecompress } from './lzf.ts';
import { decodeText, parseCount, parseNum, showToken, splitLines, tokens } from './text.ts';

/**
 * PCD (Point Cloud Library), versions 0.5-0.7: DATA ascii, binary (one record per point) and
 * binary_compressed (LZF over the fields stored one after another). SIZE/TYPE/COUNT are honoured; the kept
 * fields are x y z, normal_x normal_y normal_z and label (only the first element of a COUNT>1 field).
 */

interface PcdField {
  name: string;
  size: number;
  type: 'I' | 'U' | 'F';
  count: number;
}
interface PcdHeader {
  fields: PcdField[];
  points: number;
  data: 'ascii' | 'binary' | 'binary_compressed';
  bodyOffset: number;
  headerLines: number;
}

function parseHeader(bytes: Uint8Array, file: string): PcdHeader {
  // The header is text up to and including the DATA line; find that line in the raw bytes.
  let names: string[] | null = null;
  let sizes: number[] | null = null;
  let types: string[] | null = null;
  let counts: number[] | null = null;
  let width = -1;
  let height = 1;
  let points = -1;
  let pos = 0;
  let lineNo = 0;
  const limit = Math.min(bytes.length, 1 << 16);
  while (pos < limit) {
    let end = pos;
    while (end < bytes.length && bytes[end] !== 0x0a) end++;
    lineNo++;
    const line = decodeText(bytes.subarray(pos, end)).replace(/\r$/, '');
    pos = end + 1;
    const t = tokens(line);
    if (t.length === 0 || t[0]!.startsWith('#')) continue;
    const key = t[0]!.toUpperCase();
    const rest = t.slice(1);
    switch (key) {
      case 'VERSION':
      case 'VIEWPOINT':
        break;
      case 'FIELDS':
      case 'COLUMNS':
        names = rest;
        break;
      case 'SIZE':
        sizes = rest.map((s) => parseCount(s, file, lineNo, 'SIZE'));
        break;
      case 'TYPE':
        types = rest;
        break;
      case 'COUNT':
        counts = rest.map((s) => parseCount(s, file, lineNo, 'COUNT'));
        break;
      case 'WIDTH':
        width = parseCount(rest[0], file, lineNo, 'WIDTH');
        break;
      case 'HEIGHT':
        height = parseCount(rest[0], file, lineNo, 'HEIGHT');
        break;
      case 'POINTS':
        points = parseCount(rest[0], file, lineNo, 'POINTS');
        break;
      case 'DATA': {
        const mode = (rest[0] ?? '').toLowerCase();
        if (mode !== 'ascii' && mode !== 'binary' && mode !== 'binary_compressed') {
          throw fileError(file, `unknown PCD DATA mode ${showToken(rest[0] ?? '')}`, lineNo);
        }
        if (!names || names.length === 0) throw fileError(file, 'PCD header has no FIELDS line', lineNo);
        const n = names.length;
        const sz = sizes ?? names.map(() => 4);
        const ty = types ?? names.map(() => 'F');
        const ct = counts ?? names.map(() => 1);
        if (sz.length !== n || ty.length !== n || ct.length !== n) {
          throw fileError(file, `FIELDS, SIZE, TYPE and COUNT have different lengths (${n}, ${sz.length}, ${ty.length}, ${ct.length})`, lineNo);
        }
        const fields: PcdField[] = names.map((name, i) => {
          const type = ty[i]!.toUpperCase();
          const size = sz[i]!;
          const okSize = type === 'F' ? size === 4 || size === 8 : [1, 2, 4, 8].includes(size);
          if ((type !== 'I' && type !== 'U' && type !== 'F') || !okSize) {
            throw fileError(file, `field ${name} has unsupported TYPE/SIZE ${ty[i]}/${size}`);
          }
          return { name, size, type, count: ct[i]! };
        });
        const np = points >= 0 ? points : width >= 0 ? width * height : -1;
        if (np < 0) throw fileError(file, 'PCD header has neither POINTS nor WIDTH', lineNo);
        return { fields, points: np, data: mode, bodyOffset: Math.min(pos, bytes.length), headerLines: lineNo };
      }
      default:
        throw fileError(file, `unknown PCD header line ${showToken(t[0]!)}`, lineNo);
    }
  }
  throw fileError(file, 'PCD header has no DATA line (not a PCD file?)');
}

function readValue(view: DataView, off: number, f: PcdField): number {
  if (f.type === 'F') return f.size === 4 ? view.getFloat32(off, true) : view.getFloat64(off, true);
  switch (f.size) {
    case 1:
      return f.type === 'I' ? view.getInt8(off) : view.getUint8(off);
    case 2:
      return f.type === 'I' ? view.getInt16(off, true) : view.getUint16(off, true);
    case 4:
      return f.type === 'I' ? view.getInt32(off, true) : view.getUint32(off, true);
    default:
      return Number(f.type === 'I' ? view.getBigInt64(off, true) : view.getBigUint64(off, true));
  }
}

interface Columns {
  xyz: [number, number, number];
  normal: [number, number, number] | null;
  label: number;
}

function columns(h: PcdHeader, file: string): Columns {
  const idx = (n: string): number => h.fields.findIndex((f) => f.name === n);
  const xyz: [number, number, number] = [idx('x'), idx('y'), idx('z')];
  if (xyz.some((i) => i < 0)) throw fileError(file, 'PCD has no x, y, z fields');
  const nrm: [number, number, number] = [idx('normal_x'), idx('normal_y'), idx('normal_z')];
  const label = h.fields.findIndex((f) => ['label', 'class', 'segment'].includes(f.name.toLowerCase()));
  return { xyz, normal: nrm.every((i) => i >= 0) ? nrm : null, label };
}

export function parsePcd(bytes: Uint8Array, file: string): Shape {
  const h = parseHeader(bytes, file);
  const cols = columns(h, file);
  const n = h.points;
  const recordBytes = h.fields.reduce((s, f) => s + f.size * f.count, 0);
  const valuesPerPoint = h.fields.reduce((s, f) => s + f.count, 0);
  const avail = bytes.length - h.bodyOffset;
  // Size guards before any allocation proportional to n.
  let view: DataView;
  let lines: string[] | null = null;
  if (h.data === 'ascii') {
    lines = splitLines(decodeText(bytes.subarray(h.bodyOffset)));
    if (n > lines.length) throw fileError(file, `header declares ${n} points but only ${lines.length} lines follow`);
    view = new DataView(new ArrayBuffer(0));
  } else if (h.data === 'binary') {
    if (n * recordBytes > avail) {
      throw fileError(file, `header declares ${n} points of ${recordBytes} bytes but only ${avail} bytes follow (truncated?)`);
    }
    view = new DataView(bytes.buffer, bytes.byteOffset + h.bodyOffset, avail);
  } else {
    if (avail < 8) throw fileError(file, 'binary_compressed data is truncated (no size header)');
    const hv = new DataView(bytes.buffer, bytes.byteOffset + h.bodyOffset, 8);
    const csize = hv.getUint32(0, true);
    const usize = hv.getUint32(4, true);
    if (csize > avail - 8) throw fileError(file, `compressed size ${csize} exceeds the ${avail - 8} bytes in the file`);
    if (usize !== n * recordBytes) throw fileError(file, `uncompressed size ${usize} does not match ${n} points x ${recordBytes} bytes`);
    // LZF expands at most ~264/3 bytes per 3 input bytes; a larger claim is corrupt, refused before allocating.
    if (usize > csize * 90 + 64) throw fileError(file, `uncompressed size ${usize} is impossible for ${csize} compressed bytes`);
    const raw = lzfDecompress(bytes.subarray(h.bodyOffset + 8, h.bodyOffset + 8 + csize), usize);
    if (!raw) throw fileError(file, 'binary_compressed data is corrupt (LZF stream does not decode)');
    view = new DataView(raw.buffer);
  }
  const points = new Float32Array(3 * n);
  const normals = cols.normal ? new Float32Array(3 * n) : null;
  const labels = cols.label >= 0 ? new Int32Array(n) : null;
  const setLabel = (i: number, v: number, line?: number): void => {
    if (!Number.isInteger(v) || Math.abs(v) > 2147483647) throw fileError(file, `label of point ${i} is not an integer (${v})`, line);
    labels![i] = v;
  };
  if (lines) {
    // Offsets of each field's first value within an ascii row.
    const start: number[] = [];
    let acc = 0;
    for (const f of h.fields) {
      start.push(acc);
      acc += f.count;
    }
    let li = 0;
    for (let i = 0; i < n; i++) {
      while (li < lines.length && lines[li]!.trim() === '') li++;
      const lineNo = h.headerLines + li + 1;
      if (li >= lines.length) throw fileError(file, `file ends after ${i} of ${n} points`, lineNo);
      const t = tokens(lines[li]!);
      if (t.length !== valuesPerPoint) throw fileError(file, `point ${i} has ${t.length} values, expected ${valuesPerPoint}`, lineNo);
      for (let a = 0; a < 3; a++) points[3 * i + a] = parseNum(t[start[cols.xyz[a]!]!], file, lineNo, `point ${i} ${'xyz'[a]}`);
      if (normals && cols.normal) for (let a = 0; a < 3; a++) normals[3 * i + a] = parseNum(t[start[cols.normal[a]!]!], file, lineNo, 'normal');
      if (labels) setLabel(i, parseNum(t[start[cols.label]!], file, lineNo, 'label'), lineNo);
      li++;
    }
  } else {
    // Byte offset of field k for point i: record layout (binary) or one block per field (compressed).
    const fieldOff: number[] = [];
    let acc = 0;
    for (const f of h.fields) {
      fieldOff.push(acc);
      acc += h.data === 'binary' ? f.size * f.count : n * f.size * f.count;
    }
    const at = (i: number, k: number): number => {
      const f = h.fields[k]!;
      const off = h.data === 'binary' ? i * recordBytes + fieldOff[k]! : fieldOff[k]! + i * f.size * f.count;
      return readValue(view, off, f);
    };
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < 3; a++) points[3 * i + a] = at(i, cols.xyz[a]!);
      if (normals && cols.normal) for (let a = 0; a < 3; a++) normals[3 * i + a] = at(i, cols.normal[a]!);
      if (labels) setLabel(i, at(i, cols.label));
    }
    checkPlausibleBinary(points, file);
  }
  const cloud: PointCloud = { points, normals, labels, features: null, featureChannels: 0 };
  return { format: 'pcd', cloud: checkCloud(cloud, file) };
}

/** Encode a cloud as PCD v0.7 (x y z [normal_x normal_y normal_z] [label]); for fixtures and exports. */
export function encodePcd(pc: PointCloud, data: 'ascii' | 'binary' | 'binary_compressed' = 'binary'): Uint8Array {
  const n = pc.points.length / 3;
  const names = ['x', 'y', 'z', ...(pc.normals ? ['normal_x', 'normal_y', 'normal_z'] : []), ...(pc.labels ? ['label'] : [])];
  const k = names.length;
  const head =
    `# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS ${names.join(' ')}\nSIZE ${names.map(() => 4).join(' ')}\n` +
    `TYPE ${names.map((nm) => (nm === 'label' ? 'I' : 'F')).join(' ')}\nCOUNT ${names.map(() => 1).join(' ')}\n` +
    `WIDTH ${n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS ${n}\nDATA ${data}\n`;
  const value = (i: number, f: number): number => (f < 3 ? pc.points[3 * i + f]! : pc.normals && f < 6 ? pc.normals[3 * i + f - 3]! : pc.labels![i]!);
  if (data === 'ascii') {
    const rows = [head];
    for (let i = 0; i < n; i++) rows.push(names.map((_, f) => String(value(i, f))).join(' ') + '\n');
    return new TextEncoder().encode(rows.join(''));
  }
  const body = new Uint8Array(4 * k * n);
  const bv = new DataView(body.buffer);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < k; f++) {
      const off = data === 'binary' ? 4 * (i * k + f) : 4 * (f * n + i);
      if (names[f] === 'label') bv.setInt32(off, value(i, f), true);
      else bv.setFloat32(off, value(i, f), true);
    }
  }
  const hb = new TextEncoder().encode(head);
  if (data === 'binary') {
    const out = new Uint8Array(hb.length + body.length);
    out.set(hb);
    out.set(body, hb.length);
    return out;
  }
  return encodeCompressed(hb, body);
}

function encodeCompressed(hb: Uint8Array, body: Uint8Array): Uint8Array {
  const comp = lzfCompress(body);
  const out = new Uint8Array(hb.length + 8 + comp.length);
  out.set(hb);
  const v = new DataView(out.buffer);
  v.setUint32(hb.length, comp.length, true);
  v.setUint32(hb.length + 4, body.length, true);
  out.set(comp, hb.length + 8);
  return out;
}
