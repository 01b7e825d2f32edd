import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixtures = path.join(repoRoot, 'test/fixtures/data');
export const fixture = (name: string): string => path.join(fixtures, name);
export const sharedData = path.resolve(repoRoot, '../shared/data');

type T =
  | 'char'
  | 'uchar'
  | 'short'
  | 'ushort'
  | 'int'
  | 'uint'
  | 'float'
  | 'double'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'float32'
  | 'float64';
const SIZE: Record<string, number> = {
  char: 1,
  uchar: 1,
  int8: 1,
  uint8: 1,
  short: 2,
  ushort: 2,
  int16: 2,
  uint16: 2,
  int: 4,
  uint: 4,
  int32: 4,
  uint32: 4,
  float: 4,
  float32: 4,
  double: 8,
  float64: 8,
};

function put(view: DataView, off: number, type: T, v: number, little: boolean): number {
  switch (type) {
    case 'char':
    case 'int8':
      view.setInt8(off, v);
      break;
    case 'uchar':
    case 'uint8':
      view.setUint8(off, v);
      break;
    case 'short':
    case 'int16':
      view.setInt16(off, v, little);
      break;
    case 'ushort':
    case 'uint16':
      view.setUint16(off, v, little);
      break;
    case 'int':
    case 'int32':
      view.setInt32(off, v, little);
      break;
    case 'uint':
    case 'uint32':
      view.setUint32(off, v, little);
      break;
    case 'float':
    case 'float32':
      view.setFloat32(off, v, little);
      break;
    case 'double':
    case 'float64':
      view.setFloat64(off, v, little);
      break;
  }
  return SIZE[type]!;
}

/**
 * A binary PLY written byte by byte, independent of the reader under test: `props` per element, rows of
 * numbers (list properties as arrays).
 */
export function binaryPly(
  little: boolean,
  elements: { name: string; props: ({ name: string; type: T } | { name: string; list: [T, T] })[]; rows: (number | number[])[][] }[],
): Uint8Array {
  const head = ['ply', `format ${little ? 'binary_little_endian' : 'binary_big_endian'} 1.0`, 'comment test'];
  for (const el of elements) {
    head.push(`element ${el.name} ${el.rows.length}`);
    for (const p of el.props) head.push('list' in p ? `property list ${p.list[0]} ${p.list[1]} ${p.name}` : `property ${p.type} ${p.name}`);
  }
  head.push('end_header', '');
  const hb = new TextEncoder().encode(head.join('\n'));
  const body = new Uint8Array(1 << 16);
  const view = new DataView(body.buffer);
  let off = 0;
  for (const el of elements) {
    for (const row of el.rows) {
      el.props.forEach((p, k) => {
        const v = row[k]!;
        if ('list' in p) {
          const arr = v as number[];
          off += put(view, off, p.list[0], arr.length, little);
          for (const x of arr) off += put(view, off, p.list[1], x, little);
        } else off += put(view, off, p.type, v as number, little);
      });
    }
  }
  const out = new Uint8Array(hb.length + off);
  out.set(hb);
  out.set(body.subarray(0, off), hb.length);
  return out;
}
