import { fileError } from '../../util/errors.ts';
import type { Mesh, PointCloud } from '../pointcloud.ts';
import { checkCloud, checkMesh, checkPlausibleBinary, type Shape } from './check.ts';
import { decodeText, parseNum, showToken, splitLines, tokens, IntList } from './text.ts';

/**
 * PLY (Stanford polygon file), own parser: ascii, binary_little_endian and binary_big_endian; any vertex
 * property order and type. Vertex x/y/z are required; nx/ny/nz (or normal_x..) become normals; an integer
 * `label`/`class`/`segment` property becomes labels; a face list property becomes triangles (polygons as
 * fans). Everything else is parsed only to be skipped.
 */

type PlyType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

const TYPE_ALIASES: Record<string, PlyType> = {
  char: 'int8',
  int8: 'int8',
  uchar: 'uint8',
  uint8: 'uint8',
  short: 'int16',
  int16: 'int16',
  ushort: 'uint16',
  uint16: 'uint16',
  int: 'int32',
  int32: 'int32',
  uint: 'uint32',
  uint32: 'uint32',
  float: 'float32',
  float32: 'float32',
  double: 'float64',
  float64: 'float64',
};
const TYPE_SIZE: Record<PlyType, number> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
};

interface PlyProperty {
  name: string;
  type: PlyType;
  /** Set for list properties: the type of the leading count. */
  countType: PlyType | null;
}
interface PlyElement {
  name: string;
  count: number;
  props: PlyProperty[];
  headerLine: number;
}
type PlyEncoding = 'ascii' | 'binary_little_endian' | 'binary_big_endian';
interface PlyHeader {
  encoding: PlyEncoding;
  elements: PlyElement[];
  bodyOffset: number;
  /** Number of text lines in the header, so ascii body lines can be reported with file line numbers. */
  headerLines: number;
}

const LABEL_NAMES = ['label', 'class', 'segment', 'scalar_label'];
const NORMAL_NAMES: ReadonlyArray<readonly [string, string, string]> = [
  ['nx', 'ny', 'nz'],
  ['normal_x', 'normal_y', 'normal_z'],
];
const FACE_LIST_NAMES = ['vertex_indices', 'vertex_index'];

function findEndHeader(bytes: Uint8Array): number {
  // Search the raw bytes: the body of a binary file must not be decoded.
  const pat = 'end_header';
  const limit = Math.min(bytes.length, 1 << 20);
  outer: for (let i = 0; i + pat.length <= limit; i++) {
    for (let j = 0; j < pat.length; j++) if (bytes[i + j] !== pat.charCodeAt(j)) continue outer;
    let k = i + pat.length;
    while (k < bytes.length && (bytes[k] === 0x20 || bytes[k] === 0x09)) k++;
    if (bytes[k] === 0x0d) k++;
    if (bytes[k] === 0x0a) return k + 1;
    if (k >= bytes.length) return k;
  }
  return -1;
}

function parseHeader(bytes: Uint8Array, file: string): PlyHeader {
  if (bytes.length < 3 || bytes[0] !== 0x70 || bytes[1] !== 0x6c || bytes[2] !== 0x79) {
    throw fileError(file, 'not a PLY file (it does not start with "ply")', 1);
  }
  const bodyOffset = findEndHeader(bytes);
  if (bodyOffset < 0) throw fileError(file, 'PLY header has no end_header line');
  const lines = splitLines(decodeText(bytes.subarray(0, bodyOffset)));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let encoding: PlyEncoding | null = null;
  const elements: PlyElement[] = [];
  for (let li = 1; li < lines.length; li++) {
    const lineNo = li + 1;
    const t = tokens(lines[li]!);
    if (t.length === 0) continue;
    switch (t[0]) {
      case 'format': {
        const enc = t[1];
        if (enc !== 'ascii' && enc !== 'binary_little_endian' && enc !== 'binary_big_endian') {
          throw fileError(file, `unknown PLY format ${showToken(enc ?? '')}`, lineNo);
        }
        encoding = enc;
        break;
      }
      case 'element': {
        if (t.length !== 3) throw fileError(file, 'element line must be "element <name> <count>"', lineNo);
        const count = Number(t[2]);
        if (!Number.isSafeInteger(count) || count < 0) throw fileError(file, `bad element count ${showToken(t[2]!)}`, lineNo);
        elements.push({ name: t[1]!, count, props: [], headerLine: lineNo });
        break;
      }
      case 'property': {
        const el = elements[elements.length - 1];
        if (!el) throw fileError(file, 'property before any element', lineNo);
        if (t[1] === 'list') {
          const ct = TYPE_ALIASES[t[2] ?? ''];
          const vt = TYPE_ALIASES[t[3] ?? ''];
          if (!ct || !vt || t.length !== 5) throw fileError(file, 'list property must be "property list <count type> <value type> <name>"', lineNo);
          if (ct === 'float32' || ct === 'float64') throw fileError(file, 'list count type must be an integer type', lineNo);
          el.props.push({ name: t[4]!, type: vt, countType: ct });
        } else {
          const ty = TYPE_ALIASES[t[1] ?? ''];
          if (!ty || t.length !== 3) throw fileError(file, `bad property line (unknown type ${showToken(t[1] ?? '')}?)`, lineNo);
          el.props.push({ name: t[2]!, type: ty, countType: null });
        }
        break;
      }
      case 'comment':
      case 'obj_info':
      case 'end_header':
        break;
      default:
        throw fileError(file, `unknown PLY header keyword ${showToken(t[0]!)}`, lineNo);
    }
  }
  if (!encoding) throw fileError(file, 'PLY header has no format line');
  return { encoding, elements, bodyOffset, headerLines: lines.length };
}

/** Column indices into an element's properties for the data we keep. */
interface VertexLayout {
  xyz: [number, number, number];
  normal: [number, number, number] | null;
  label: number;
}

function vertexLayout(el: PlyElement, file: string): VertexLayout {
  const idx = (name: string): number => el.props.findIndex((p) => p.name === name && p.countType === null);
  const xyz: [number, number, number] = [idx('x'), idx('y'), idx('z')];
  if (xyz.some((i) => i < 0)) throw fileError(file, 'vertex element lacks x, y or z properties', el.headerLine);
  let normal: [number, number, number] | null = null;
  for (const names of NORMAL_NAMES) {
    const n: [number, number, number] = [idx(names[0]), idx(names[1]), idx(names[2])];
    if (n.every((i) => i >= 0)) {
      normal = n;
      break;
    }
  }
  let label = -1;
  for (const name of LABEL_NAMES) {
    const i = el.props.findIndex((p) => p.name.toLowerCase() === name && p.countType === null);
    if (i >= 0) {
      label = i;
      break;
    }
  }
  return { xyz, normal, label };
}

function faceListIndex(el: PlyElement): number {
  return el.props.findIndex((p) => p.countType !== null && FACE_LIST_NAMES.includes(p.name));
}

/** Collected data, filled row by row by either body decoder. */
class PlySink {
  points: Float32Array;
  normals: Float32Array | null;
  labels: Int32Array | null;
  faces = new IntList();
  constructor(
    readonly nv: number,
    readonly layout: VertexLayout | null,
  ) {
    this.points = new Float32Array(layout ? 3 * nv : 0);
    this.normals = layout?.normal ? new Float32Array(3 * nv) : null;
    this.labels = layout && layout.label >= 0 ? new Int32Array(nv) : null;
  }
}

function pushPolygon(sink: PlySink, poly: number[], faceIndex: number, file: string, line?: number): void {
  if (poly.length < 3) return;
  for (const v of poly) {
    if (!Number.isInteger(v) || v < 0 || v >= sink.nv) {
      throw fileError(file, `face ${faceIndex} refers to vertex ${v} but there are ${sink.nv} vertices`, line);
    }
  }
  for (let k = 1; k + 1 < poly.length; k++) {
    sink.faces.push(poly[0]!);
    sink.faces.push(poly[k]!);
    sink.faces.push(poly[k + 1]!);
  }
}

function storeLabel(sink: PlySink, i: number, v: number, file: string, line?: number): void {
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw fileError(file, `label of vertex ${i} is not an integer (${v})`, line);
  sink.labels![i] = v;
}

/** Each ascii row is one line, so the declared row count cannot exceed the line count. */
function checkAsciiSize(lines: string[], header: PlyHeader, file: string): void {
  let rows = 0;
  for (const el of header.elements) rows += el.count;
  if (rows > lines.length) {
    throw fileError(file, `header declares ${rows} rows but the ascii body has only ${lines.length} lines (truncated file or wrong counts)`);
  }
}

function readAscii(lines: string[], header: PlyHeader, sink: PlySink, file: string): void {
  let li = 0;
  const lineNo = (): number => header.headerLines + li + 1;
  for (const el of header.elements) {
    const isVertex = el.name === 'vertex';
    const faceList = el.name === 'face' ? faceListIndex(el) : -1;
    const row = new Float64Array(el.props.length);
    for (let r = 0; r < el.count; r++) {
      while (li < lines.length && lines[li]!.trim() === '') li++;
      if (li >= lines.length) throw fileError(file, `file ends after ${r} of ${el.count} ${el.name} rows`, lineNo());
      const t = tokens(lines[li]!);
      let k = 0;
      let poly: number[] | null = null;
      for (let p = 0; p < el.props.length; p++) {
        const prop = el.props[p]!;
        if (prop.countType !== null) {
          const n = parseNum(t[k++], file, lineNo(), `${el.name}.${prop.name} count`);
          if (!Number.isInteger(n) || n < 0) throw fileError(file, `bad list count ${n}`, lineNo());
          if (k + n > t.length) throw fileError(file, `${el.name} row has fewer values than its list count ${n}`, lineNo());
          const vals: number[] = [];
          for (let j = 0; j < n; j++) vals.push(parseNum(t[k++], file, lineNo(), `${el.name}.${prop.name}`));
          if (p === faceList) poly = vals;
        } else {
          row[p] = parseNum(t[k++], file, lineNo(), `${el.name}.${prop.name}`);
        }
      }
      if (k !== t.length) throw fileError(file, `${el.name} row has ${t.length} values, expected ${k}`, lineNo());
      if (isVertex && sink.layout) storeVertex(sink, r, row, file, lineNo());
      if (poly) pushPolygon(sink, poly, r, file, lineNo());
      li++;
    }
  }
}

function storeVertex(sink: PlySink, i: number, row: Float64Array, file: string, line?: number): void {
  const L = sink.layout!;
  sink.points[3 * i] = row[L.xyz[0]]!;
  sink.points[3 * i + 1] = row[L.xyz[1]]!;
  sink.points[3 * i + 2] = row[L.xyz[2]]!;
  if (sink.normals && L.normal) {
    sink.normals[3 * i] = row[L.normal[0]]!;
    sink.normals[3 * i + 1] = row[L.normal[1]]!;
    sink.normals[3 * i + 2] = row[L.normal[2]]!;
  }
  if (sink.labels) storeLabel(sink, i, row[L.label]!, file, line);
}

function readScalar(view: DataView, off: number, type: PlyType, little: boolean): number {
  switch (type) {
    case 'int8':
      return view.getInt8(off);
    case 'uint8':
      return view.getUint8(off);
    case 'int16':
      return view.getInt16(off, little);
    case 'uint16':
      return view.getUint16(off, little);
    case 'int32':
      return view.getInt32(off, little);
    case 'uint32':
      return view.getUint32(off, little);
    case 'float32':
      return view.getFloat32(off, little);
    case 'float64':
      return view.getFloat64(off, little);
  }
}

/** Every binary row needs at least its fixed-size part (list counts included), checked before allocating. */
function checkBinarySize(bytes: Uint8Array, header: PlyHeader, file: string): void {
  let minBytes = 0;
  for (const el of header.elements) {
    const minRow = el.props.reduce((s, p) => s + TYPE_SIZE[p.countType ?? p.type], 0);
    minBytes += el.count * minRow;
  }
  const avail = bytes.byteLength - header.bodyOffset;
  if (minBytes > avail) {
    throw fileError(file, `header declares at least ${minBytes} bytes of data but only ${avail} follow the header (truncated file or wrong counts)`);
  }
}

function readBinary(bytes: Uint8Array, header: PlyHeader, sink: PlySink, file: string): void {
  const little = header.encoding === 'binary_little_endian';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = header.bodyOffset;
  const end = bytes.byteLength;
  const truncated = (el: PlyElement, r: number): Error =>
    fileError(file, `file is truncated: ${el.name} row ${r} of ${el.count} runs past the end (${end} bytes)`);
  for (const el of header.elements) {
    const isVertex = el.name === 'vertex';
    const faceList = el.name === 'face' ? faceListIndex(el) : -1;
    const row = new Float64Array(el.props.length);
    const fixed = el.props.every((p) => p.countType === null);
    const rowSize = fixed ? el.props.reduce((s, p) => s + TYPE_SIZE[p.type], 0) : 0;
    if (fixed && !isVertex) {
      off += rowSize * el.count; // nothing to keep: skip in one step
      continue;
    }
    for (let r = 0; r < el.count; r++) {
      let poly: number[] | null = null;
      for (let p = 0; p < el.props.length; p++) {
        const prop = el.props[p]!;
        if (prop.countType !== null) {
          const cs = TYPE_SIZE[prop.countType];
          if (off + cs > end) throw truncated(el, r);
          const n = readScalar(view, off, prop.countType, little);
          off += cs;
          if (n < 0) throw fileError(file, `${el.name} row ${r} has a negative list count ${n}`);
          const vs = TYPE_SIZE[prop.type];
          if (off + n * vs > end) throw truncated(el, r);
          if (p === faceList) {
            poly = new Array<number>(n);
            for (let j = 0; j < n; j++) poly[j] = readScalar(view, off + j * vs, prop.type, little);
          }
          off += n * vs;
        } else {
          const s = TYPE_SIZE[prop.type];
          if (off + s > end) throw truncated(el, r);
          row[p] = readScalar(view, off, prop.type, little);
          off += s;
        }
      }
      if (isVertex && sink.layout) storeVertex(sink, r, row, file);
      if (poly) pushPolygon(sink, poly, r, file);
    }
  }
}

/** Parse PLY bytes; `file` is only used in error messages. */
export function parsePly(bytes: Uint8Array, file: string): Shape {
  const header = parseHeader(bytes, file);
  const vertexEl = header.elements.find((e) => e.name === 'vertex');
  if (!vertexEl) throw fileError(file, 'PLY file has no vertex element');
  const layout = vertexLayout(vertexEl, file);
  let asciiLines: string[] | null = null;
  if (header.encoding === 'ascii') {
    asciiLines = splitLines(decodeText(bytes.subarray(header.bodyOffset)));
    checkAsciiSize(asciiLines, header, file);
  } else {
    checkBinarySize(bytes, header, file);
  }
  // Allocate only now that the declared counts are known to fit in the file.
  const sink = new PlySink(vertexEl.count, layout);
  if (asciiLines) readAscii(asciiLines, header, sink, file);
  else readBinary(bytes, header, sink, file);
  if (!asciiLines) checkPlausibleBinary(sink.points, file);
  const faceEl = header.elements.find((e) => e.name === 'face');
  const faces = sink.faces.toArray();
  if (faceEl && faceEl.count > 0 && faceListIndex(faceEl) >= 0 && faces.length > 0) {
    const mesh: Mesh = {
      vertices: sink.points,
      faces: new Uint32Array(faces.buffer, faces.byteOffset, faces.length),
      vertexNormals: sink.normals,
    };
    return { format: 'ply', mesh: checkMesh(mesh, file) };
  }
  const cloud: PointCloud = { points: sink.points, normals: sink.normals, labels: sink.labels, features: null, featureChannels: 0 };
  return { format: 'ply', cloud: checkCloud(cloud, file) };
}

/** Shortest decimal text that reads back to the same float32. */
export function formatFloat32(v: number): string {
  for (let p = 6; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

export interface PlyWriteOptions {
  ascii?: boolean;
  /** Write normals when the cloud has them (default true). */
  normals?: boolean;
  /** Write labels as an int `label` property when the cloud has them (default true). */
  labels?: boolean;
  /** Header comment lines (one string, or one line per element). */
  comment?: string | readonly string[];
}

/** Encode a cloud as PLY: float x y z, float nx ny nz, int label. */
export function encodePly(pc: PointCloud, opts: PlyWriteOptions = {}): Uint8Array {
  const n = pc.points.length / 3;
  const normals = opts.normals !== false ? pc.normals : null;
  const labels = opts.labels !== false ? pc.labels : null;
  const head = [
    'ply',
    `format ${opts.ascii ? 'ascii' : 'binary_little_endian'} 1.0`,
    ...(opts.comment === undefined ? [] : typeof opts.comment === 'string' ? [opts.comment] : opts.comment)
      .filter((c) => c !== '')
      .map((c) => `comment ${c.replace(/[\r\n]/g, ' ')}`),
    `element vertex ${n}`,
    'property float x',
    'property float y',
    'property float z',
    ...(normals ? ['property float nx', 'property float ny', 'property float nz'] : []),
    ...(labels ? ['property int label'] : []),
    'end_header',
    '',
  ].join('\n');
  if (opts.ascii) {
    const rows: string[] = [head];
    for (let i = 0; i < n; i++) {
      const r: string[] = [];
      for (let a = 0; a < 3; a++) r.push(formatFloat32(pc.points[3 * i + a]!));
      if (normals) for (let a = 0; a < 3; a++) r.push(formatFloat32(normals[3 * i + a]!));
      if (labels) r.push(String(labels[i]));
      rows.push(r.join(' ') + '\n');
    }
    return new TextEncoder().encode(rows.join(''));
  }
  const headBytes = new TextEncoder().encode(head);
  const stride = 12 + (normals ? 12 : 0) + (labels ? 4 : 0);
  const out = new Uint8Array(headBytes.length + stride * n);
  out.set(headBytes);
  const view = new DataView(out.buffer);
  let off = headBytes.length;
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++, off += 4) view.setFloat32(off, pc.points[3 * i + a]!, true);
    if (normals) for (let a = 0; a < 3; a++, off += 4) view.setFloat32(off, normals[3 * i + a]!, true);
    if (labels) {
      view.setInt32(off, labels[i]!, true);
      off += 4;
    }
  }
  return out;
}
