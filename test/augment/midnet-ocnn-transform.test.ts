import { describe, expect, it } from 'vitest';
import { makePointCloud } from '../../src/data/pointcloud.ts';
import { MID_FINETUNE, applyMidParams, drawMidParams, midTransform, MID_PRETRAIN } from '../../src/augment/midnet-transform.ts';
import { ocnnTransform, drawOcnnParams, OCNN_DEFAULTS } from '../../src/augment/ocnn-transform.ts';
import { Rng } from '../../src/util/rng.ts';
import { randomCloud } from './helpers.ts';

describe('MID-Net base transform', () => {
  it('draws y-only integer-degree rotations in [-180,179], per-axis scales in [0.75,1.25), translations in [-0.5,0.5)', () => {
    const rng = new Rng(1);
    const ks = new Set<number>();
    let anisotropic = 0;
    for (let i = 0; i < 4000; i++) {
      const p = drawMidParams(rng, MID_PRETRAIN);
      expect(p.steps[0]).toBe(0);
      expect(p.steps[2]).toBe(0);
      expect(p.angles[0]).toBe(0);
      expect(p.steps[1]).toBeGreaterThanOrEqual(-180);
      expect(p.steps[1]).toBeLessThanOrEqual(179);
      expect(p.angles[1]).toBeCloseTo((p.steps[1] * Math.PI) / 180, 12);
      ks.add(p.steps[1]);
      for (const s of p.scale) {
        expect(s).toBeGreaterThanOrEqual(0.75);
        expect(s).toBeLessThan(1.25);
      }
      for (const t of p.translation) {
        expect(t).toBeGreaterThanOrEqual(-0.5);
        expect(t).toBeLessThan(0.5);
      }
      if (p.scale[0] !== p.scale[1]) anisotropic++;
    }
    expect(ks.has(-180)).toBe(true);
    expect(ks.has(180)).toBe(false);
    expect(ks.size).toBeGreaterThan(340);
    expect(anisotropic).toBe(4000);
  });

  it('fine-tune preset: k in [-5,5), uniform scale, translation in [-0.25,0.25)', () => {
    const rng = new Rng(2);
    const ks = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const p = drawMidParams(rng, MID_FINETUNE);
      ks.add(p.steps[1]);
      expect(p.scale[0]).toBe(p.scale[1]);
      expect(p.scale[0]).toBe(p.scale[2]);
      for (const t of p.translation) {
        expect(t).toBeGreaterThanOrEqual(-0.25);
        expect(t).toBeLessThan(0.25);
      }
    }
    expect([...ks].sort((a, b) => a - b)).toEqual([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4]);
  });

  it('applies rotate -> translate -> scale (translation is scaled) and transforms normals by R then 1/s', () => {
    const pc = makePointCloud(new Float32Array([0.1, 0.2, 0.3]), { normals: new Float32Array([1, 0, 0]) });
    const params = {
      angles: [0, Math.PI / 2, 0] as [number, number, number],
      steps: [0, 90, 0] as [number, number, number],
      translation: [0.1, 0, -0.1] as [number, number, number],
      scale: [2, 1, 0.5] as [number, number, number],
    };
    const out = applyMidParams(pc, params);
    // Ry(90): (x,y,z) -> (z, y, -x) = (0.3, 0.2, -0.1); +t = (0.4, 0.2, -0.2); *s = (0.8, 0.2, -0.1)
    expect(out.points[0]).toBeCloseTo(0.8, 6);
    expect(out.points[1]).toBeCloseTo(0.2, 6);
    expect(out.points[2]).toBeCloseTo(-0.1, 6);
    // normal (1,0,0) -> (0,0,-1) -> *1/s = (0,0,-2) -> (0,0,-1)
    expect(out.normals![2]).toBeCloseTo(-1, 6);
  });

  it('is deterministic per seed, keeps points inside (-1,1)^3, keeps normals unit and labels aligned', () => {
    const pc = randomCloud(new Rng(5), 800, 0.57);
    const a = midTransform(pc, new Rng(9));
    const b = midTransform(pc, new Rng(9));
    expect(a.cloud.points).toEqual(b.cloud.points);
    expect(a.params).toEqual(b.params);
    for (const v of a.cloud.points) expect(Math.abs(v)).toBeLessThan(1);
    for (let i = 0; i < a.cloud.normals!.length; i += 3) {
      const n = a.cloud.normals!;
      expect(Math.hypot(n[i]!, n[i + 1]!, n[i + 2]!)).toBeCloseTo(1, 5);
    }
    expect(a.cloud.labels!.length).toBe(a.cloud.points.length / 3);
    const c = midTransform(pc, new Rng(10));
    expect(c.cloud.points).not.toEqual(a.cloud.points);
  });
});

describe('ocnn-pytorch transform', () => {
  it('draws inclusive angle ranges and clips to (-0.99, 0.99)', () => {
    const rng = new Rng(3);
    const ks = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const p = drawOcnnParams(rng, { ...OCNN_DEFAULTS, angle: [0, 0, 5], interval: [1, 1, 1], flip: [0.5, 0, 0] });
      expect(p.angles[0]).toBe(0);
      ks.add(Math.round((p.angles[2] * 180) / Math.PI));
      for (const t of p.translation) {
        expect(t).toBeGreaterThanOrEqual(-0.25);
        expect(t).toBeLessThan(0.25);
      }
      expect(p.flip[1]).toBe(false);
    }
    expect([...ks].sort((a, b) => a - b)).toEqual([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]);
    const pc = randomCloud(new Rng(4), 600, 0.95);
    const { cloud } = ocnnTransform(pc, new Rng(1), { orientNormal: 'xyz' });
    expect(cloud.points.length).toBeGreaterThan(0);
    for (const v of cloud.points) expect(Math.abs(v)).toBeLessThan(0.99);
    for (const v of cloud.normals!) expect(v).toBeGreaterThanOrEqual(0);
  });
  it('without distort only clips (and orients)', () => {
    const pc = makePointCloud(new Float32Array([0.5, 0, 0, 0.995, 0, 0]));
    const { cloud, params } = ocnnTransform(pc, new Rng(1), { distort: false });
    expect(params).toBeNull();
    expect([...cloud.points]).toEqual([0.5, 0, 0]);
  });
});
