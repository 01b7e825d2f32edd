import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { UserError } from '../../src/util/errors.ts';
import { parseShape, readShape, loadPointCloud } from '../../src/data/shape.ts';
import { encodePly, parsePly } from '../../src/data/formats/ply.ts';
import { encodePcd, parsePcd } from '../../src/data/formats/pcd.ts';
import { encodePoints, parsePoints } from '../../src/data/formats/points.ts';
import { lzfCompress, lzfDecompress } from '../../src/data/formats/lzf.ts';
import { Rng } from '../../src/util/rng.ts';
import * as path from 'node:path';
import { binaryPly, fixture, sharedData } from './helpers.ts';

const arr = (a: ArrayLike<number> | null | undefined): number[] => Array.from(a ?? []);

describe('PLY', () => {
  it('reads an ascii mesh with properties in any order, polygons as fans, extra elements skipped', async () => {
    const s = await readShape(fixture('tetra.ply'));
    expect(s.format).toBe('ply');
    expect(arr(s.mesh!.vertices)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(arr(s.mesh!.faces)).toEqual([0, 1, 2, 0, 1, 3, 0, 2, 3, 0, 3, 1]);
    expect(s.mesh!.vertexNormals).toBeNull();
  });

  it('reads an ascii cloud with normals and labels in shuffled order', async () => {
    const s = await readShape(fixture('cloud-labels.ply'));
    const c = s.cloud!;
    expect(arr(c.points)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0, 0.5, 0.5, 0.5, -1, -2, -3]);
    expect(arr(c.normals).map((v) => Math.round(v * 10) / 10)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0.6, 0.8, 0]);
    expect(arr(c.labels)).toEqual([3, 3, -1, 7, 0]);
  });

  for (const little of [true, false]) {
    it(`reads binary ${little ? 'little' : 'big'} endian with mixed types and a face list`, () => {
      const bytes = binaryPly(little, [
        {
          name: 'vertex',
          props: [
            { name: 'z', type: 'double' },
            { name: 'junk', type: 'ushort' },
            { name: 'x', type: 'short' },
            { name: 'y', type: 'float32' },
            { name: 'nx', type: 'char' },
            { name: 'ny', type: 'uint8' },
            { name: 'nz', type: 'float64' },
            { name: 'class', type: 'uint' },
            { name: 'tags', list: ['uchar', 'int'] },
          ],
          rows: [
            [1.5, 9, -2, 0.25, 0, 1, 0, 4, [1, 2]],
            [2.5, 9, 3, 0.5, -1, 0, 0, 5, []],
            [3.5, 9, 4, 0.75, 0, 0, 1, 6, [7]],
            [4.5, 9, 5, 1.0, 0, 1, 0, 4, []],
          ],
        },
        { name: 'face', props: [{ name: 'vertex_index', list: ['uint8', 'uint32'] }], rows: [[[0, 1, 2, 3]], [[3, 2, 1]]] },
      ]);
      const s = parsePly(bytes, 'x.ply');
      expect(arr(s.mesh!.vertices)).toEqual([-2, 0.25, 1.5, 3, 0.5, 2.5, 4, 0.75, 3.5, 5, 1, 4.5]);
      expect(arr(s.mesh!.faces)).toEqual([0, 1, 2, 0, 2, 3, 3, 2, 1]);
      expect(arr(s.mesh!.vertexNormals)).toEqual([0, 1, 0, -1, 0, 0, 0, 0, 1, 0, 1, 0]);
    });
  }

  it('reads a binary cloud with a label property and int8.. aliases', () => {
    const bytes = binaryPly(true, [
      {
        name: 'vertex',
        props: [
          { name: 'x', type: 'int8' },
          { name: 'y', type: 'int16' },
          { name: 'z', type: 'int32' },
          { name: 'segment', type: 'uint16' },
        ],
        rows: [
          [1, 2, 3, 10],
          [-1, -2, -3, 11],
        ],
      },
    ]);
    const c = parsePly(bytes, 'x.ply').cloud!;
    expect(arr(c.points)).toEqual([1, 2, 3, -1, -2, -3]);
    expect(arr(c.labels)).toEqual([10, 11]);
  });

  it('round-trips through the writer (binary and ascii) exactly', () => {
    const rng = new Rng(3);
    const n = 50;
    const pc = {
      points: Float32Array.from({ length: 3 * n }, () => rng.range(-10, 10)),
      normals: Float32Array.from({ length: 3 * n }, () => rng.range(-1, 1)),
      labels: Int32Array.from({ length: n }, () => rng.int(-1, 49)),
      features: null,
      featureChannels: 0,
    };
    for (const ascii of [false, true]) {
      const back = parsePly(encodePly(pc, { ascii }), 'rt.ply').cloud!;
      expect(arr(back.points)).toEqual(arr(pc.points));
      expect(arr(back.normals)).toEqual(arr(pc.normals));
      expect(arr(back.labels)).toEqual(arr(pc.labels));
    }
    const noExtras = parsePly(encodePly(pc, { normals: false, labels: false }), 'rt.ply').cloud!;
    expect(noExtras.normals).toBeNull();
    expect(noExtras.labels).toBeNull();
  });

  it('rejects a big-endian file declared little-endian', () => {
    const bytes = binaryPly(false, [
      {
        name: 'vertex',
        props: [
          { name: 'x', type: 'float' },
          { name: 'y', type: 'float' },
          { name: 'z', type: 'float' },
        ],
        rows: [
          [0.5, 1, 2],
          [3, 4, 5.25],
        ],
      },
    ]);
    const text = Buffer.from(bytes).toString('latin1').replace('binary_big_endian', 'binary_little_endian');
    expect(() => parsePly(Buffer.from(text, 'latin1'), 'be.ply')).toThrow(/be\.ply.*byte order/);
  });
});

describe('OFF', () => {
  it('reads quads as fan triangles', async () => {
    const s = await readShape(fixture('cube.off'));
    expect(s.mesh!.vertices.length).toBe(24);
    expect(s.mesh!.faces.length).toBe(36);
    expect(arr(s.mesh!.faces.subarray(0, 6))).toEqual([0, 3, 2, 0, 2, 1]);
  });
  it('handles the ModelNet "OFF<nv> <nf> <ne>" first line and trailing face colours', async () => {
    const s = await readShape(fixture('modelnet-quirk.off'));
    expect(s.mesh!.vertices.length).toBe(24);
    expect(arr(s.mesh!.faces)).toEqual([0, 1, 2, 0, 2, 3]);
  });
  it('a face-less OFF is a point cloud', () => {
    const s = parseShape(Buffer.from('OFF\n2 0 0\n1 2 3\n4 5 6\n'), 'p.off');
    expect(arr(s.cloud!.points)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('OBJ', () => {
  it('reads v/vn/f with slashes, negative indices and polygons', async () => {
    const s = await readShape(fixture('cube.obj'));
    const m = s.mesh!;
    expect(m.vertices.length).toBe(24);
    expect(m.faces.length).toBe(3 * 12);
    expect(arr(m.faces.subarray(0, 9))).toEqual([0, 3, 2, 0, 2, 1, 4, 5, 6]);
    expect(arr(m.vertexNormals!.subarray(0, 3))).toEqual([0, 0, -1]);
    expect(arr(m.vertexNormals!.subarray(12, 15))).toEqual([0, 0, 1]);
  });
  it('rejects an index out of range with its line', () => {
    expect(() => parseShape(Buffer.from('v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n'), 'bad.obj')).toThrow(/bad\.obj:4: vertex index -4/);
  });
});

describe('PCD', () => {
  it('reads ascii with extra fields, normals and labels', async () => {
    const c = (await readShape(fixture('cloud.pcd'))).cloud!;
    expect(arr(c.points)).toEqual([1, 2, 3, -1, -2, -3, 0.5, 0.25, 0.125]);
    expect(arr(c.normals)).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0]);
    expect(arr(c.labels)).toEqual([5, 6, 7]);
  });
  it('reads binary and binary_compressed (LZF) written by the encoder, identically', () => {
    const rng = new Rng(1);
    const n = 300;
    const pc = {
      points: Float32Array.from({ length: 3 * n }, (_, i) => (i % 7 === 0 ? 0.5 : rng.range(-3, 3))),
      normals: Float32Array.from({ length: 3 * n }, () => rng.range(-1, 1)),
      labels: Int32Array.from({ length: n }, (_, i) => i % 4),
      features: null,
      featureChannels: 0,
    };
    for (const mode of ['ascii', 'binary', 'binary_compressed'] as const) {
      const c = parsePcd(encodePcd(pc, mode), `x-${mode}.pcd`).cloud!;
      if (mode !== 'ascii') expect(arr(c.points)).toEqual(arr(pc.points));
      else for (let i = 0; i < 3 * n; i++) expect(c.points[i]).toBeCloseTo(pc.points[i]!, 5);
      expect(arr(c.labels)).toEqual(arr(pc.labels));
    }
  });
  it('reads 8-byte and 2-byte field types with COUNT > 1', () => {
    const head = 'VERSION .7\nFIELDS x y z hist label\nSIZE 8 8 8 2 1\nTYPE F F F I U\nCOUNT 1 1 1 3 1\nWIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA binary\n';
    const rec = 8 * 3 + 2 * 3 + 1;
    const body = new DataView(new ArrayBuffer(2 * rec));
    [
      [1.25, -2, 3],
      [4, 5, -6.5],
    ].forEach((p, i) => {
      p.forEach((v, a) => body.setFloat64(i * rec + 8 * a, v, true));
      body.setInt16(i * rec + 24, -7, true);
      body.setUint8(i * rec + 30, 200 + i);
    });
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from(body.buffer)]);
    const c = parsePcd(bytes, 'h.pcd').cloud!;
    expect(arr(c.points)).toEqual([1.25, -2, 3, 4, 5, -6.5]);
    expect(arr(c.labels)).toEqual([200, 201]);
  });
  it('LZF: decompress(compress(x)) = x, including back references', () => {
    const rng = new Rng(9);
    for (const len of [0, 1, 5, 100, 5000]) {
      const x = Uint8Array.from({ length: len }, (_, i) => (i % 50 < 30 ? i % 13 : rng.int(0, 255)));
      const c = lzfCompress(x);
      if (len >= 100) expect(c.length).toBeLessThan(len);
      expect(arr(lzfDecompress(c, len))).toEqual(arr(x));
    }
    // Hand-made stream: literal "ab", then back-reference (len 3+2=5... here len field 1 -> 3 bytes, distance 2).
    expect(Buffer.from(lzfDecompress(Uint8Array.from([1, 97, 98, 0x20, 1]), 5)!).toString()).toBe('ababa');
    expect(lzfDecompress(Uint8Array.from([0x20, 5]), 3)).toBeNull();
  });
  it('reads a real ModelNet10 PCD when present', async () => {
    const { existsSync } = await import('node:fs');
    const f = path.join(sharedData, 'modelnet10/chair/train/chair_0001.pcd');
    if (!existsSync(f)) return;
    const c = (await readShape(f)).cloud!;
    expect(c.points.length).toBe(3 * 1024);
    expect(c.normals).toBeNull();
  });
});

describe('xyz / txt', () => {
  it('reads 3, 6 and 7 columns, whitespace or commas', async () => {
    expect(arr((await readShape(fixture('points.xyz'))).cloud!.points)).toEqual([0, 0, 0, 1, 2, 3, -1.5, 0.25, 3]);
    const n = (await readShape(fixture('normals.txt'))).cloud!;
    expect(arr(n.points)).toEqual([0, 0, 0, 1, 2, 3, -1, -2, -3]);
    expect(arr(n.normals)).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0]);
    const l = (await readShape(fixture('labelled.txt'))).cloud!;
    expect(arr(l.labels)).toEqual([12, 13, 14]);
  });
  it('names the line of a bad value', () => {
    expect(() => parseShape(Buffer.from('1 2 3\n4 five 6\n'), 'p.xyz')).toThrow(/p\.xyz:2: "five" is not a number/);
    expect(() => parseShape(Buffer.from('1 2 3\n4 5 6 7\n'), 'p.xyz')).toThrow(/p\.xyz:2: line has 4 values/);
    expect(() => parseShape(Buffer.from('1 2 3\n4 nan 6\n'), 'p.xyz')).toThrow(/p\.xyz:2: coordinate is not finite/);
  });
});

describe('O-CNN .points', () => {
  it('writes the 88-byte header of anchor-spec §5.1 and reads it back', () => {
    const pc = {
      points: Float32Array.from([0, 0.5, -0.5, 0.25, 0.125, 1]),
      normals: Float32Array.from([0, 0, 1, 1, 0, 0]),
      labels: Int32Array.from([3, -1]),
      features: Float32Array.from([1, 2, 3, 4]),
      featureChannels: 2,
    };
    const bytes = encodePoints(pc);
    const v = new DataView(bytes.buffer);
    expect(Buffer.from(bytes.subarray(0, 16)).toString('latin1')).toBe('_POINTS_1.0_\0\0\0\0');
    expect(v.getInt32(16, true)).toBe(2);
    expect(v.getInt32(20, true)).toBe(1 | 2 | 4 | 8);
    expect([0, 1, 2, 3, 4].map((i) => v.getInt32(24 + 4 * i, true))).toEqual([3, 3, 2, 1, 0]);
    const ptr = [0, 1, 2, 3, 4].map((i) => v.getInt32(56 + 4 * i, true));
    expect(ptr).toEqual([88, 88 + 24, 88 + 48, 88 + 64, 88 + 72]);
    expect(bytes.length).toBe(ptr[4]);
    const back = parsePoints(bytes, 'a.points').cloud!;
    expect(arr(back.points)).toEqual(arr(pc.points));
    expect(arr(back.normals)).toEqual(arr(pc.normals));
    expect(arr(back.labels)).toEqual([3, -1]);
    expect(arr(back.features)).toEqual([1, 2, 3, 4]);
    expect(back.featureChannels).toBe(2);
    const bare = encodePoints({ ...pc, normals: null, labels: null, features: null, featureChannels: 0 });
    expect(bare.length).toBe(88 + 24);
    expect(parsePoints(bare, 'b.points').cloud!.normals).toBeNull();
  });
});

describe('dispatch', () => {
  it('sniffs the content when the extension lies', () => {
    const ply = readFileSync(fixture('tetra.ply'));
    expect(parseShape(ply, 'liar.xyz').format).toBe('ply');
    const pcd = readFileSync(fixture('cloud.pcd'));
    expect(parseShape(pcd, 'liar.txt').format).toBe('pcd');
    const off = readFileSync(fixture('cube.off'));
    expect(parseShape(off, 'liar.obj').format).toBe('off');
  });
  it('loadPointCloud samples meshes, subsamples clouds and estimates normals on request', async () => {
    const a = await loadPointCloud(fixture('cube.off'), { sample: 500, seed: 1 });
    expect(a.points.length).toBe(1500);
    expect(a.normals!.length).toBe(1500);
    const b = await loadPointCloud(fixture('cube.off'), { sample: 500, seed: 1 });
    expect(arr(b.points)).toEqual(arr(a.points));
    const c = await loadPointCloud(fixture('points.xyz'), { sample: 2, seed: 1 });
    expect(c.points.length).toBe(6);
    const d = await loadPointCloud(fixture('points.xyz'), { normals: 'auto' });
    expect(d.normals!.length).toBe(9);
    const e = await loadPointCloud(fixture('points.xyz'), { normals: 'keep' });
    expect(e.normals).toBeNull();
  });
  it('missing files and unknown formats are UserErrors', async () => {
    await expect(readShape(fixture('nope.ply'))).rejects.toBeInstanceOf(UserError);
    expect(() => parseShape(Buffer.from('hello'), 'x.bin')).toThrow(UserError);
    expect(() => parseShape(new Uint8Array(0), 'x.ply')).toThrow(/x\.ply: file is empty/);
  });
});

describe('file writers', () => {
  it('writePly / writePoints write files that read back', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const { writePly, writePoints } = await import('../../src/data/write.ts');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-write-'));
    try {
      const pc = {
        points: Float32Array.from([1, 2, 3]),
        normals: Float32Array.from([0, 0, 1]),
        labels: Int32Array.from([4]),
        features: null,
        featureChannels: 0,
      };
      await writePly(path.join(dir, 'a.ply'), pc, { ascii: true });
      await writePoints(path.join(dir, 'a.points'), pc);
      for (const f of ['a.ply', 'a.points']) {
        const c = (await readShape(path.join(dir, f))).cloud!;
        expect(arr(c.points)).toEqual([1, 2, 3]);
        expect(arr(c.labels)).toEqual([4]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
