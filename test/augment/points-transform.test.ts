import { describe, expect, it } from 'vitest';
import { makePointCloud } from '../../src/data/pointcloud.ts';
import { clip, clipMid, flip, orientNormal, rotate, rotationMatrix, scale, translate } from '../../src/augment/points-transform.ts';
import { Rng } from '../../src/util/rng.ts';
import { randomCloud } from './helpers.ts';

function mul(a: Float64Array, b: Float64Array): Float64Array {
  const c = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) c[3 * i + j] += a[3 * i + k]! * b[3 * k + j]!;
  return c;
}

describe('rotate', () => {
  it('maps (x,y,z) to (x,-z,y) for +90 degrees about x (ocnn-pytorch test)', () => {
    const pc = makePointCloud(new Float32Array([1, 2, 3, -4, 5, 6]), { normals: new Float32Array([0, 1, 0, 0, 0, 1]) });
    const r = rotate(pc, [Math.PI / 2, 0, 0]);
    const want = [1, -3, 2, -4, -6, 5];
    for (let i = 0; i < 6; i++) expect(r.points[i]).toBeCloseTo(want[i]!, 6);
    const wantN = [0, 0, 1, 0, -1, 0];
    for (let i = 0; i < 6; i++) expect(r.normals![i]).toBeCloseTo(wantN[i]!, 6);
    expect(pc.points[1]).toBe(2); // input untouched
  });

  it('composes as Rz*Ry*Rx', () => {
    const ang = [0.3, -1.1, 2.0] as const;
    const rx = rotationMatrix([ang[0], 0, 0]);
    const ry = rotationMatrix([0, ang[1], 0]);
    const rz = rotationMatrix([0, 0, ang[2]]);
    const want = mul(rz, mul(ry, rx));
    const got = rotationMatrix(ang);
    for (let i = 0; i < 9; i++) expect(got[i]).toBeCloseTo(want[i]!, 12);
    // +90 about y: (1,0,0) -> (0,0,-1); +90 about z: (1,0,0) -> (0,1,0)
    const y = rotate(makePointCloud(new Float32Array([1, 0, 0])), [0, Math.PI / 2, 0]).points;
    expect([...y].map((v) => Math.round(v))).toEqual([0, 0, -1]);
    const z = rotate(makePointCloud(new Float32Array([1, 0, 0])), [0, 0, Math.PI / 2]).points;
    expect([...z].map((v) => Math.round(v))).toEqual([0, 1, 0]);
  });
});

describe('scale', () => {
  it('scales points; anisotropic scale maps normals by 1/s and renormalizes; uniform leaves normals', () => {
    const s = Math.SQRT1_2;
    const pc = makePointCloud(new Float32Array([1, 1, 1]), { normals: new Float32Array([s, s, 0]) });
    const a = scale(pc, [2, 1, 1]);
    expect([...a.points]).toEqual([2, 1, 1]);
    // (s/2, s, 0) normalized = (1, 2, 0)/sqrt(5)
    expect(a.normals![0]).toBeCloseTo(1 / Math.sqrt(5), 6);
    expect(a.normals![1]).toBeCloseTo(2 / Math.sqrt(5), 6);
    const u = scale(pc, 3);
    expect([...u.points]).toEqual([3, 3, 3]);
    expect([...u.normals!]).toEqual([...pc.normals!]);
  });

  it('keeps normals of a sheared plane perpendicular to it', () => {
    // plane x + y = 0 has normal (1,1,0)/sqrt2; after scaling by (2,1,1) the plane is x/2 + y = 0.
    const pc = makePointCloud(new Float32Array([1, -1, 0, -2, 2, 5]), {
      normals: new Float32Array([Math.SQRT1_2, Math.SQRT1_2, 0, Math.SQRT1_2, Math.SQRT1_2, 0]),
    });
    const out = scale(pc, [2, 1, 1]);
    const d = [out.points[3]! - out.points[0]!, out.points[4]! - out.points[1]!, out.points[5]! - out.points[2]!];
    const n = out.normals!;
    expect(d[0]! * n[0]! + d[1]! * n[1]! + d[2]! * n[2]!).toBeCloseTo(0, 5);
  });
});

describe('translate, flip, orientNormal', () => {
  it('translate adds the offset and leaves normals', () => {
    const pc = makePointCloud(new Float32Array([1, 2, 3]), { normals: new Float32Array([0, 0, 1]) });
    const t = translate(pc, [0.5, -1, 2]);
    expect([...t.points]).toEqual([1.5, 1, 5]);
    expect([...t.normals!]).toEqual([0, 0, 1]);
  });
  it('flip negates the coordinate and the normal component', () => {
    const pc = makePointCloud(new Float32Array([1, 2, 3]), { normals: new Float32Array([0.6, 0, 0.8]) });
    const f = flip(pc, ['x', 'z']);
    expect([...f.points]).toEqual([-1, 2, -3]);
    expect([...f.normals!].map((v) => Math.fround(v))).toEqual([Math.fround(-0.6), 0, Math.fround(-0.8)]);
    expect([...flip(pc, [false, true, false]).points]).toEqual([1, -2, 3]);
  });
  it('orientNormal flips whole normals by the sign of one axis, or takes abs for xyz', () => {
    const pc = makePointCloud(new Float32Array(6), { normals: new Float32Array([0.6, -0.8, 0, -0.6, 0, 0.8]) });
    expect([...orientNormal(pc, 'y').normals!].map((v) => Math.fround(v) + 0)).toEqual([-0.6, 0.8, 0, -0.6, 0, 0.8].map(Math.fround));
    expect([...orientNormal(pc, 'x').normals!].map((v) => Math.fround(v) + 0)).toEqual([0.6, -0.8, 0, 0.6, 0, -0.8].map(Math.fround));
    expect([...orientNormal(pc, 'xyz').normals!].map((v) => Math.fround(v) + 0)).toEqual([0.6, 0.8, 0, 0.6, 0, 0.8].map(Math.fround));
  });
});

describe('clip', () => {
  it('keeps points strictly inside (min+esp, max-esp) and slices every attribute', () => {
    const pc = randomCloud(new Rng(3), 500, 1.2);
    const c = clip(pc, -1, 1, 0.01);
    const n = c.points.length / 3;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(500);
    for (const v of c.points) expect(Math.abs(v)).toBeLessThan(0.99);
    // each kept point carries its own normal/label/features
    let j = 0;
    for (let i = 0; i < 500 && j < n; i++) {
      if (pc.points[3 * i] !== c.points[3 * j] || pc.points[3 * i + 1] !== c.points[3 * j + 1]) continue;
      expect(c.labels![j]).toBe(pc.labels![i]);
      expect(c.normals![3 * j + 2]).toBe(pc.normals![3 * i + 2]);
      expect(c.features![2 * j + 1]).toBe(pc.features![2 * i + 1]);
      j++;
    }
    expect(j).toBe(n);
  });
  it('boundary values are dropped (strict)', () => {
    const pc = makePointCloud(new Float32Array([0.99, 0, 0, 0.5, 0, 0]));
    expect(clip(pc).points.length).toBe(3);
    expect(clipMid(makePointCloud(new Float32Array([1, 0, 0, 0.5, 0, 0]))).points.length).toBe(3);
  });
  it('MID clip keeps the first point moved to bbmin when nothing survives', () => {
    const pc = makePointCloud(new Float32Array([2, 0, 0, 0, 3, 0]), { labels: new Int32Array([7, 8]), normals: new Float32Array([1, 0, 0, 0, 1, 0]) });
    const c = clipMid(pc);
    expect([...c.points]).toEqual([-1, -1, -1]);
    expect([...c.labels!]).toEqual([7]);
    expect([...c.normals!]).toEqual([1, 0, 0]);
  });
});
