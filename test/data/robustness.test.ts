import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { UserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';
import { parseShape, type Shape } from '../../src/data/shape.ts';
import { parsePly, encodePly } from '../../src/data/formats/ply.ts';
import { parseOff } from '../../src/data/formats/off.ts';
import { parseObj } from '../../src/data/formats/obj.ts';
import { parsePcd, encodePcd } from '../../src/data/formats/pcd.ts';
import { parseXyz } from '../../src/data/formats/xyz.ts';
import { parsePoints, encodePoints } from '../../src/data/formats/points.ts';
import { binaryPly, fixture } from './helpers.ts';

type Parser = (bytes: Uint8Array, file: string) => Shape;

function sampleCloud(n: number, seed: number) {
  const rng = new Rng(seed);
  return {
    points: Float32Array.from({ length: 3 * n }, () => rng.range(-2, 2)),
    normals: Float32Array.from({ length: 3 * n }, () => rng.range(-1, 1)),
    labels: Int32Array.from({ length: n }, () => rng.int(0, 5)),
    features: null,
    featureChannels: 0,
  };
}

const plyMesh = binaryPly(true, [
  {
    name: 'vertex',
    props: [
      { name: 'x', type: 'float' },
      { name: 'y', type: 'float' },
      { name: 'z', type: 'float' },
      { name: 'label', type: 'uchar' },
    ],
    rows: [
      [0, 0, 0, 1],
      [1, 0, 0, 2],
      [0, 1, 0, 1],
      [0, 0, 1, 0],
    ],
  },
  { name: 'face', props: [{ name: 'vertex_indices', list: ['uchar', 'int'] }], rows: [[[0, 1, 2]], [[0, 1, 2, 3]]] },
]);
const plyMeshBE = binaryPly(false, [
  {
    name: 'vertex',
    props: [
      { name: 'z', type: 'double' },
      { name: 'x', type: 'short' },
      { name: 'y', type: 'float' },
    ],
    rows: [
      [0.5, 1, 2],
      [1.5, 3, 4],
      [2.5, 5, 6],
    ],
  },
  { name: 'face', props: [{ name: 'vertex_indices', list: ['ushort', 'uint'] }], rows: [[[0, 1, 2]]] },
]);

/** name (its extension picks the format), bytes, and the reader under test. */
const CASES: [string, Uint8Array, Parser][] = [
  ['tetra.ply', readFileSync(fixture('tetra.ply')), parsePly],
  ['cloud-labels.ply', readFileSync(fixture('cloud-labels.ply')), parsePly],
  ['le.ply', plyMesh, parsePly],
  ['be.ply', plyMeshBE, parsePly],
  ['cloud.ply', encodePly(sampleCloud(12, 1)), parsePly],
  ['cube.off', readFileSync(fixture('cube.off')), parseOff],
  ['quirk.off', readFileSync(fixture('modelnet-quirk.off')), parseOff],
  ['cube.obj', readFileSync(fixture('cube.obj')), parseObj],
  ['cloud.pcd', readFileSync(fixture('cloud.pcd')), parsePcd],
  ['bin.pcd', encodePcd(sampleCloud(10, 2), 'binary'), parsePcd],
  ['lzf.pcd', encodePcd(sampleCloud(40, 3), 'binary_compressed'), parsePcd],
  ['points.xyz', readFileSync(fixture('points.xyz')), parseXyz],
  ['normals.txt', readFileSync(fixture('normals.txt')), parseXyz],
  ['labelled.txt', readFileSync(fixture('labelled.txt')), parseXyz],
  ['a.points', encodePoints(sampleCloud(10, 4)), parsePoints],
];

/** A result is acceptable only if every array is consistent and every value finite. */
function assertWellFormed(s: Shape): void {
  if (s.mesh) {
    const m = s.mesh;
    const nv = m.vertices.length / 3;
    expect(Number.isInteger(nv)).toBe(true);
    expect(m.faces.length % 3).toBe(0);
    for (const v of m.vertices) if (!Number.isFinite(v)) throw new Error('non-finite vertex');
    for (const f of m.faces) if (f >= nv) throw new Error('face index out of range');
    if (m.vertexNormals) expect(m.vertexNormals.length).toBe(3 * nv);
  } else {
    const c = s.cloud!;
    const n = c.points.length / 3;
    expect(Number.isInteger(n)).toBe(true);
    for (const v of c.points) if (!Number.isFinite(v)) throw new Error('non-finite point');
    if (c.normals) {
      expect(c.normals.length).toBe(3 * n);
      for (const v of c.normals) if (!Number.isFinite(v)) throw new Error('non-finite normal');
    }
    if (c.labels) expect(c.labels.length).toBe(n);
    if (c.features) expect(c.features.length).toBe(n * c.featureChannels);
  }
}

const TOKENS = [
  'nan',
  'NaN',
  'inf',
  '-Infinity',
  '1e308',
  '1e39',
  '-1',
  '0',
  '999999999999',
  '1000000000000',
  'abc',
  '\n',
  '\r\n',
  ' ',
  '#',
  ',',
  '/',
  '//',
  '-0',
  '1e-45',
  '0x10',
  '4294967295',
  '3 0 1 2',
  'end_header\n',
  'DATA binary\n',
  '\u00ff\u00fe',
  '\0',
];

function mutate(src: Uint8Array, rng: Rng): Uint8Array {
  let b = Buffer.from(src);
  const ops = rng.int(1, 3);
  for (let o = 0; o < ops; o++) {
    const kind = rng.int(0, 5);
    const pos = rng.int(0, Math.max(0, b.length - 1));
    if (kind === 0) {
      // byte flips
      b = Buffer.from(b);
      for (let k = rng.int(1, 4); k > 0 && b.length > 0; k--) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
    } else if (kind === 1) {
      b = b.subarray(0, rng.int(0, b.length)); // truncation
    } else if (kind === 2) {
      const t = Buffer.from(TOKENS[rng.int(0, TOKENS.length - 1)]!, 'latin1');
      b = Buffer.concat([b.subarray(0, pos), t, b.subarray(pos)]); // inserted token
    } else if (kind === 3) {
      b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + rng.int(1, 16)))]); // deletion
    } else if (kind === 4) {
      // replace a run of digits (often a header count) by a huge or odd number
      const s = b.toString('latin1');
      const runs = [...s.matchAll(/\d+/g)];
      if (runs.length > 0) {
        const m = runs[rng.int(0, runs.length - 1)]!;
        const rep = ['1000000000000', '0', '4294967295', '2147483648', '-5', '3.5', '99999'][rng.int(0, 6)]!;
        b = Buffer.from(s.slice(0, m.index) + rep + s.slice(m.index! + m[0].length), 'latin1');
      }
    } else {
      // overwrite a 4-byte binary word with a large count (binary headers and list counts)
      if (b.length >= 4) {
        b = Buffer.from(b);
        b.writeUInt32LE([0xffffffff, 0x7fffffff, 1e9, 0][rng.int(0, 3)]!, rng.int(0, b.length - 4));
      }
    }
  }
  return new Uint8Array(b);
}

function expectUserErrorOrWellFormed(run: () => Shape, label: string): 'ok' | 'error' {
  let s: Shape;
  try {
    s = run();
  } catch (e) {
    if (e instanceof UserError) return 'error';
    throw new Error(`${label}: threw ${(e as Error).name}: ${(e as Error).message}\n${(e as Error).stack}`);
  }
  assertWellFormed(s);
  return 'ok';
}

describe('robustness', () => {
  it('the unmutated fixtures parse', () => {
    for (const [name, bytes, parse] of CASES) assertWellFormed(parse(bytes, name));
  });

  it('thousands of seeded mutations: each reader returns a well-formed shape or throws UserError', () => {
    const rng = new Rng(20240611);
    const perCase = 250;
    let errors = 0;
    let oks = 0;
    for (const [name, bytes, parse] of CASES) {
      for (let i = 0; i < perCase; i++) {
        const m = mutate(bytes, rng);
        for (const [label, run] of [
          [`${name} #${i} direct`, () => parse(m, name)],
          [`${name} #${i} dispatch`, () => parseShape(m, name)],
        ] as const) {
          if (expectUserErrorOrWellFormed(run, label) === 'error') errors++;
          else oks++;
        }
      }
    }
    // Both outcomes must occur, or the mutations are not exercising anything.
    expect(errors).toBeGreaterThan(1000);
    expect(oks).toBeGreaterThan(500);
  });

  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const cases: [string, string, Uint8Array, RegExp][] = [
    ['empty file', 'e.ply', new Uint8Array(0), /e\.ply: file is empty/],
    [
      'PLY 10^12 vertices (ascii)',
      'h.ply',
      enc('ply\nformat ascii 1.0\nelement vertex 1000000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n'),
      /h\.ply: header declares 1000000000000 rows/,
    ],
    [
      'PLY 10^12 vertices (binary)',
      'h.ply',
      enc('ply\nformat binary_little_endian 1.0\nelement vertex 1000000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n'),
      /h\.ply: header declares at least 12000000000000 bytes/,
    ],
    ['PLY truncated binary', 't.ply', plyMesh.subarray(0, plyMesh.length - 5), /t\.ply: (file is truncated|header declares)/],
    [
      'PLY count larger than the data',
      'c.ply',
      enc('ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n1 1 1\n'),
      /c\.ply/,
    ],
    [
      'PLY non-numeric token',
      'n.ply',
      enc('ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n1 x 1\n'),
      /n\.ply:9: "x" is not a number/,
    ],
    [
      'PLY NaN coordinate',
      'nan.ply',
      enc('ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 NaN 0\n'),
      /nan\.ply:8: .*not finite/,
    ],
    ['OFF 10^12 vertices', 'h.off', enc('OFF\n1000000000000 0 0\n0 0 0\n'), /h\.off:2: header declares 1000000000000 vertices/],
    ['OFF truncated faces', 't.off', enc('OFF\n3 2 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n'), /t\.off.*(header declares|file ends)/],
    ['OFF Inf coordinate', 'i.off', enc('OFF\n1 0 0\n0 Infinity 0\n'), /i\.off:3: .*not finite/],
    ['OBJ non-numeric', 'x.obj', enc('v 0 0 0\nv 1 zero 0\n'), /x\.obj:2: "zero" is not a number/],
    [
      'PCD 10^12 points (binary)',
      'h.pcd',
      enc('VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1000000000000\nHEIGHT 1\nPOINTS 1000000000000\nDATA binary\n'),
      /h\.pcd: header declares 1000000000000 points/,
    ],
    [
      'PCD compressed size lie',
      'z.pcd',
      (() => {
        const b = Buffer.from(encodePcd(sampleCloud(5, 1), 'binary_compressed'));
        const i = b.indexOf('DATA binary_compressed\n') + 23;
        b.writeUInt32LE(0xfffffff0, i);
        return new Uint8Array(b);
      })(),
      /z\.pcd: compressed size/,
    ],
    ['xyz NaN', 'p.xyz', enc('1 2 3\nnan 1 1\n'), /p\.xyz:2: coordinate is not finite/],
    ['.points truncated', 't.points', encodePoints(sampleCloud(10, 1)).subarray(0, 200), /t\.points: points block .* lies outside/],
    [
      '.points 10^9 points',
      'h.points',
      (() => {
        const b = Buffer.from(encodePoints(sampleCloud(2, 1)));
        b.writeInt32LE(1e9, 16);
        return new Uint8Array(b);
      })(),
      /h\.points: .* lies outside/,
    ],
    [
      'PLY binary read with the wrong byte order',
      'w.ply',
      (() => {
        const b = Buffer.from(encodePly(sampleCloud(20, 5)));
        return new Uint8Array(Buffer.from(b.toString('latin1').replace('binary_little_endian', 'binary_big_endian'), 'latin1'));
      })(),
      /w\.ply: .*(byte order|not finite)/,
    ],
    [
      '.points NaN',
      'nan.points',
      encodePoints({ ...sampleCloud(3, 1), points: Float32Array.from([0, 0, 0, NaN, 0, 0, 1, 1, 1]) }),
      /nan\.points: coordinate of point 1 is not finite/,
    ],
  ];
  for (const [what, name, bytes, re] of cases) {
    it(`${what}: UserError naming the file`, () => {
      let err: unknown = null;
      try {
        parseShape(bytes, name);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(re);
    });
  }
});
