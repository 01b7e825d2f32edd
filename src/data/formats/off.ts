import { fileError } from '../../util/errors.ts';
import { checkCloud, checkMesh, type Shape } from './check.ts';
import { decodeText, parseCount, parseNum, showToken, splitLines, tokens, IntList } from './text.ts';

/**
 * OFF meshes (Geomview; ModelNet). Accepts the `OFF`, `COFF`, `NOFF` and `CNOFF` headers, `#` comments,
 * colours after coordinates or face indices (ignored), and the ModelNet quirk where the counts follow the
 * keyword on the first line (`OFF1234 567 0`). Polygons are triangulated as fans. A file with no faces is
 * returned as a point cloud.
 */
export function parseOff(bytes: Uint8Array, file: string): Shape {
  const lines = splitLines(decodeText(bytes));
  let li = 0;
  const nextContent = (): string[] | null => {
    while (li < lines.length) {
      const raw = lines[li++]!;
      const hash = raw.indexOf('#');
      const t = tokens(hash >= 0 ? raw.slice(0, hash) : raw);
      if (t.length > 0) return t;
    }
    return null;
  };
  const first = nextContent();
  if (!first) throw fileError(file, 'empty OFF file');
  const m = /^(C?)(N?)OFF(.*)$/.exec(first[0]!);
  if (!m) throw fileError(file, `not an OFF file (first word is ${showToken(first[0]!)})`, li);
  const hasNormals = m[2] === 'N';
  let countTokens = [...(m[3] ? [m[3]] : []), ...first.slice(1)];
  if (countTokens.length === 0) {
    const t = nextContent();
    if (!t) throw fileError(file, 'OFF file ends before the vertex/face counts', li);
    countTokens = t;
  }
  const countLine = li;
  const nv = parseCount(countTokens[0], file, countLine, 'vertex count');
  const nf = parseCount(countTokens[1], file, countLine, 'face count');
  // One line per vertex and per face: a count beyond the line count is a lie, caught before allocating.
  if (nv + nf > lines.length - li) {
    throw fileError(file, `header declares ${nv} vertices and ${nf} faces but only ${lines.length - li} lines follow`, countLine);
  }
  const vertices = new Float32Array(3 * nv);
  const normals = hasNormals ? new Float32Array(3 * nv) : null;
  for (let i = 0; i < nv; i++) {
    const t = nextContent();
    if (!t) throw fileError(file, `file ends after ${i} of ${nv} vertices`, li);
    for (let a = 0; a < 3; a++) vertices[3 * i + a] = parseNum(t[a], file, li, `vertex ${i} coordinate`);
    if (normals) for (let a = 0; a < 3; a++) normals[3 * i + a] = parseNum(t[3 + a], file, li, `vertex ${i} normal`);
  }
  const faces = new IntList();
  for (let f = 0; f < nf; f++) {
    const t = nextContent();
    if (!t) throw fileError(file, `file ends after ${f} of ${nf} faces`, li);
    const k = parseCount(t[0], file, li, `face ${f} vertex count`);
    if (t.length < k + 1) throw fileError(file, `face ${f} lists ${t.length - 1} indices but says ${k}`, li);
    const idx: number[] = [];
    for (let j = 0; j < k; j++) {
      const v = parseCount(t[1 + j], file, li, `face ${f} index`);
      if (v >= nv) throw fileError(file, `face ${f} refers to vertex ${v} but there are ${nv} vertices`, li);
      idx.push(v);
    }
    for (let j = 1; j + 1 < k; j++) {
      faces.push(idx[0]!);
      faces.push(idx[j]!);
      faces.push(idx[j + 1]!);
    }
  }
  if (faces.length === 0) {
    return { format: 'off', cloud: checkCloud({ points: vertices, normals, labels: null, features: null, featureChannels: 0 }, file) };
  }
  const f32 = faces.toArray();
  return {
    format: 'off',
    mesh: checkMesh({ vertices, faces: new Uint32Array(f32.buffer, f32.byteOffset, f32.length), vertexNormals: normals }, file),
  };
}
