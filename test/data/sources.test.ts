import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadShapes } from '../../src/data/sources.ts';

process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));

describe('loadShapes', () => {
  it('reads a ShapeNetCore-like folder of meshes (synset/model/model.obj), samples them and gives unit normals', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-snc-'));
    const cube = [
      'v -1 -1 -1',
      'v 1 -1 -1',
      'v 1 1 -1',
      'v -1 1 -1',
      'v -1 -1 1',
      'v 1 -1 1',
      'v 1 1 1',
      'v -1 1 1',
      'f 1 3 2',
      'f 1 4 3',
      'f 5 6 7',
      'f 5 7 8',
      'f 1 2 6',
      'f 1 6 5',
      'f 2 3 7',
      'f 2 7 6',
      'f 3 4 8',
      'f 3 8 7',
      'f 4 1 5',
      'f 4 5 8',
    ].join('\n');
    for (const [syn, model] of [
      ['02691156', 'a1'],
      ['02691156', 'a2'],
      ['03001627', 'c1'],
    ]) {
      fs.mkdirSync(path.join(root, syn, model), { recursive: true });
      fs.writeFileSync(path.join(root, syn, model, 'model.obj'), cube);
    }
    const s = await loadShapes(root, { points: 500, quiet: true });
    expect(s.classes).toEqual(['02691156', '03001627']);
    expect(s.items.map((i) => i.label)).toEqual([0, 0, 1]);
    expect(s.clouds[0]!.points.length).toBe(1500);
    const n = s.clouds[0]!.normals!;
    for (let i = 0; i < n.length; i += 3) expect(Math.hypot(n[i]!, n[i + 1]!, n[i + 2]!)).toBeCloseTo(1, 4);
    // sphere normalization: every point inside the unit ball
    const p = s.clouds[2]!.points;
    for (let i = 0; i < p.length; i += 3) expect(Math.hypot(p[i]!, p[i + 1]!, p[i + 2]!)).toBeLessThanOrEqual(1 + 1e-5);
  });

  it('names the problem for a missing or empty folder', async () => {
    await expect(loadShapes('/nonexistent/rq3d', { quiet: true })).rejects.toThrow(/no such data folder/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-empty-'));
    await expect(loadShapes(empty, { quiet: true })).rejects.toThrow(/no shape files/);
  });
});
