import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheKey } from '../../src/data/datasets/cache.ts';
import { modelNetTree, openDataFolder } from '../../src/data/datasets/index.ts';
import { boundingBox, makePointCloud } from '../../src/data/pointcloud.ts';
import { fromYUp, toYUp, upRotation, UP_AXES } from '../../src/data/up-axis.ts';
import { validatePretrainConfig, PRETRAIN_PRESETS } from '../../src/train/config.ts';
import { loadFewshotConfig } from '../../src/downstream/fewshot-config.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { UserError } from '../../src/util/errors.ts';
import { fixture, repoRoot } from './helpers.ts';

const TREE = fixture('modelnet-tree');

function rq3d(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function extents(points: Float32Array): number[] {
  const b = boundingBox(points);
  return [0, 1, 2].map((a) => b.max[a]! - b.min[a]!);
}

let tmp = '';
let savedCache: string | undefined;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rq3d-up-'));
  savedCache = process.env.RQ3D_CACHE;
  process.env.RQ3D_CACHE = path.join(tmp, 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.RQ3D_CACHE;
  else process.env.RQ3D_CACHE = savedCache;
  rmSync(tmp, { recursive: true, force: true });
});

describe('up axis', () => {
  it('every rotation is right-handed and maps its up axis to +y; fromYUp inverts toYUp exactly', () => {
    for (const up of UP_AXES) {
      const m = upRotation(up);
      const det = m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
      expect(det, up).toBe(1);
      const axis = 'xyz'.indexOf(up.slice(-1));
      const v = [0, 0, 0];
      v[axis] = up.startsWith('-') ? -1 : 1;
      const pc = toYUp(makePointCloud(Float32Array.from(v), { normals: Float32Array.from(v) }), up);
      expect(Array.from(pc.points), up).toEqual([0, 1, 0]);
      expect(Array.from(pc.normals!), up).toEqual([0, 1, 0]);
      const cloud = makePointCloud(Float32Array.from([0.1, -0.7, 0.3, 0.9, 0.2, -0.4]));
      expect(fromYUp(toYUp(cloud, up), up).points).toEqual(cloud.points);
    }
    // +z is the reference's y-up remap (x, y, z) -> (y, z, x)
    expect(Array.from(toYUp(makePointCloud(Float32Array.from([1, 2, 3])), 'z').points)).toEqual([2, 3, 1]);
  });

  it('a z-up box becomes y-up: tall along y after loading; the ModelNet tree declares z; the override is used', async () => {
    const ds = await modelNetTree(TREE);
    expect(ds.upAxis).toBe('z');
    expect((await openDataFolder(TREE)).upAxis).toBe('z');
    const shapes = await loadShapes(TREE, { quiet: true, points: 600 });
    expect(shapes.upAxis).toBe('z');
    shapes.items.forEach((it, i) => {
      const [ex, ey, ez] = extents(shapes.clouds[i]!.points);
      if (it.id.startsWith('chair')) {
        // a chair (1.0 tall along z in the file) is now tallest along y
        expect(ey).toBeGreaterThan(ex);
        expect(ey).toBeGreaterThan(ez);
      } else {
        // a bed (flat along z in the file) is now flat along y
        expect(ey).toBeLessThan(ex);
        expect(ey).toBeLessThan(ez);
      }
    });
    // data.upAxis 'y' says the files are y-up already: nothing is turned, the chair stays tall along z
    const asIs = await loadShapes(TREE, { quiet: true, points: 600, upAxis: 'y' });
    expect(asIs.upAxis).toBe('y');
    expect(asIs.key).not.toBe(shapes.key);
    const chair = asIs.items.findIndex((it) => it.id.startsWith('chair'));
    const [ex, ey, ez] = extents(asIs.clouds[chair]!.points);
    expect(ez).toBeGreaterThan(Math.max(ex, ey));
  });

  it('the cache key changes with the up axis (the override and the declared axis alike)', async () => {
    const ds = await modelNetTree(TREE);
    const spec = { normalize: 'none' as const, normals: 'auto' as const };
    const declared = cacheKey(ds, spec);
    expect(cacheKey(ds, { ...spec, upAxis: 'z' })).toBe(declared);
    expect(cacheKey(ds, { ...spec, upAxis: '+z' })).toBe(declared);
    expect(cacheKey(ds, { ...spec, upAxis: 'y' })).not.toBe(declared);
    expect(cacheKey(ds, { ...spec, upAxis: '-z' })).not.toBe(declared);
    expect(cacheKey({ ...ds, upAxis: 'y' }, spec)).not.toBe(declared);
  });

  it('data.upAxis is validated by the config schemas; a bad value is a one-line error naming data.upAxis', () => {
    const base = structuredClone(PRETRAIN_PRESETS.tiny!);
    expect(validatePretrainConfig({ ...base, data: { ...base.data, upAxis: 'z' } }).data.upAxis).toBe('z');
    expect(validatePretrainConfig(base).data.upAxis).toBeUndefined();
    let msg = '';
    try {
      validatePretrainConfig({ ...base, data: { ...base.data, upAxis: 'up' } }, 'cfg.json');
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^cfg\.json: data\.upAxis: /);
    expect(msg.split('\n')).toHaveLength(1);
    const file = path.join(tmp, 'grid.json');
    const grid = {
      name: 'g',
      task: 'classification',
      data: { source: 'synth', upAxis: 'w' },
      model: 'tiny',
      backbones: { s: { from: 'scratch' } },
      protocols: ['linear'],
      ratios: [1],
      seeds: [0],
      linear: {
        lr: 1,
        momentum: 0.9,
        weightDecay: 0,
        batchSize: 4,
        baseSteps: 2,
        minSteps: 1,
        multipliers: {},
        decayAt: [],
        backboneLrScale: 1,
        headOnlyBelow: 0,
      },
    };
    writeFileSync(file, JSON.stringify(grid));
    expect(() => loadFewshotConfig(file)).toThrow(/grid\.json: data\.upAxis: /);
    writeFileSync(file, JSON.stringify({ ...grid, data: { source: 'synth', upAxis: '-x' } }));
    expect(loadFewshotConfig(file).data.upAxis).toBe('-x');
  });

  it('rq3d info DIR --json summarizes a ModelNet tree with its up axis; --up-axis overrides; a bad one is one line', () => {
    const r = rq3d('info', TREE, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({
      layout: 'modelnet-tree',
      name: 'modelnet2',
      classes: ['bed', 'chair'],
      splits: { train: 4, test: 2 },
      pointsPerShape: { min: 8, median: 8, max: 8, measured: 6, meshes: 6 },
      normals: 'none',
      upAxis: 'z',
      upAxisFrom: 'reader',
      missing: [],
      missingCount: 0,
    });
    expect(JSON.parse(rq3d('info', TREE, '--json', '--up-axis', 'y').stdout)).toMatchObject({ upAxis: 'y', upAxisFrom: 'override' });
    const text = rq3d('info', TREE);
    expect(text.stdout).toMatch(/up axis\s+z/);
    expect(text.stdout).toMatch(/splits\s+train 4, test 2/);
    const bad = rq3d('info', TREE, '--up-axis', 'w');
    expect(bad.code).toBe(2); // a bad flag is a usage error: exit 2 (issue 16)
    expect(bad.stderr).toMatch(/^rq3d: --up-axis \(data\.upAxis\) must be one of .*got 'w'\n$/);
    // the same check on a training command (before anything is loaded or written)
    const train = rq3d('linear', '--from', 'scratch', '--data', TREE, '--up-axis', 'north', '--out', path.join(tmp, 'never'));
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(/^rq3d: --up-axis \(data\.upAxis\) must be one of .*got 'north'\n$/);
  });
});
