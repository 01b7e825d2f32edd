import { fileError } from '../../util/errors.ts';
import { checkCloud, checkMesh, type Shape } from './check.ts';
import { decodeText, parseNum, showToken, splitLines, tokens, FloatList, IntList } from './text.ts';

/**
 * Wavefront OBJ: `v`, `vn` and `f` (with `a`, `a/b`, `a//c`, `a/b/c` corners and negative, relative indices);
 * polygons become fans; every other statement is ignored. Per-corner normals are attached to their vertex
 * (the last one wins), which is exact for the usual files where each vertex has one normal. Without faces
 * the vertices are a point cloud (with normals when `vn` pairs up one to one).
 */
export function parseObj(bytes: Uint8Array, file: string): Shape {
  const lines = splitLines(decodeText(bytes));
  const v = new FloatList();
  const vn = new FloatList();
  const faces = new IntList();
  const cornerNormal = new IntList(); // per face corner: normal index or -1
  let faceCount = 0;
  const resolve = (tok: string, count: number, what: string, line: number): number => {
    const i = Number(tok);
    if (!Number.isInteger(i) || i === 0 || tok.length === 0) throw fileError(file, `bad ${what} index ${showToken(tok)}`, line);
    const r = i > 0 ? i - 1 : count + i;
    if (r < 0) throw fileError(file, `${what} index ${i} points before the first ${what}`, line);
    return r;
  };
  for (let li = 0; li < lines.length; li++) {
    const line = li + 1;
    const raw = lines[li]!;
    const hash = raw.indexOf('#');
    const t = tokens(hash >= 0 ? raw.slice(0, hash) : raw);
    if (t.length === 0) continue;
    switch (t[0]) {
      case 'v':
        for (let a = 1; a <= 3; a++) v.push(parseNum(t[a], file, line, 'vertex coordinate'));
        break;
      case 'vn':
        for (let a = 1; a <= 3; a++) vn.push(parseNum(t[a], file, line, 'normal component'));
        break;
      case 'f': {
        if (t.length < 4) throw fileError(file, `face with ${t.length - 1} corners (needs at least 3)`, line);
        const vi: number[] = [];
        const ni: number[] = [];
        for (let k = 1; k < t.length; k++) {
          const parts = t[k]!.split('/');
          if (parts.length > 3) throw fileError(file, `bad face corner ${showToken(t[k]!)}`, line);
          vi.push(resolve(parts[0]!, v.length / 3, 'vertex', line));
          const nTok = parts[2];
          ni.push(nTok !== undefined && nTok.length > 0 ? resolve(nTok, vn.length / 3, 'normal', line) : -1);
        }
        for (let k = 1; k + 1 < vi.length; k++) {
          for (const c of [0, k, k + 1]) {
            faces.push(vi[c]!);
            cornerNormal.push(ni[c]!);
          }
        }
        faceCount++;
        break;
      }
      default:
        break; // vt, o, g, s, usemtl, mtllib, l, p ...: not needed for points
    }
  }
  const vertices = v.toArray();
  const nv = vertices.length / 3;
  const normalsIn = vn.toArray();
  const nn = normalsIn.length / 3;
  if (nv === 0) throw fileError(file, 'OBJ file has no vertices');
  if (faceCount === 0) {
    const normals = nn === nv ? normalsIn : null;
    return { format: 'obj', cloud: checkCloud({ points: vertices, normals, labels: null, features: null, featureChannels: 0 }, file) };
  }
  const f = faces.toArray();
  const cn = cornerNormal.toArray();
  let vertexNormals: Float32Array | null = null;
  for (let i = 0; i < f.length; i++) {
    if (f[i]! >= nv) throw fileError(file, `face refers to vertex ${f[i]! + 1} but there are ${nv} vertices`);
    const n = cn[i]!;
    if (n < 0) continue;
    if (n >= nn) throw fileError(file, `face refers to normal ${n + 1} but there are ${nn} normals`);
    vertexNormals ??= new Float32Array(3 * nv);
    for (let a = 0; a < 3; a++) vertexNormals[3 * f[i]! + a] = normalsIn[3 * n + a]!;
  }
  return {
    format: 'obj',
    mesh: checkMesh({ vertices, faces: new Uint32Array(f.buffer, f.byteOffset, f.length), vertexNormals }, file),
  };
}
