import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectSample, stageSpec } from '../../src/pipeline/inspect.ts';
import { encodePly } from '../../src/data/formats/ply.ts';
import { boundingBox, makePointCloud } from '../../src/data/pointcloud.ts';
import { parseShape } from '../../src/data/shape.ts';
import { prepareSample } from '../../src/pipeline/sample.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { Rng } from '../../src/util/rng.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHAIR = path.join(repoRoot, 'test/fixtures/data/modelnet-tree/chair/train/chair_0001.off');
let dir = '';
let savedCache: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-sample-cli-'));
  savedCache = process.env.RQ3D_CACHE;
  process.env.RQ3D_CACHE = path.join(dir, 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.RQ3D_CACHE;
  else process.env.RQ3D_CACHE = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

function rq3d(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readPly(file: string): { points: Float32Array; comments: string[] } {
  const bytes = new Uint8Array(readFileSync(file));
  const head = Buffer.from(bytes).toString('latin1').split('end_header')[0]!;
  return { points: parseShape(bytes, file).cloud!.points, comments: head.split('\n').filter((l) => l.startsWith('comment ')) };
}

function distinct(points: Float32Array): number[] {
  return [0, 1, 2].map((a) => new Set(points.filter((_, i) => i % 3 === a)).size);
}

/** A z-up cloud with normals (no mesh sampling, no normal estimation): a tall box's surface points. */
function tallBoxCloud(n: number, seed: number) {
  const rng = new Rng(seed);
  const points = new Float32Array(3 * n);
  const normals = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const face = i % 6,
      axis = face >> 1,
      side = face & 1;
    const ext = [0.4, 0.5, 1.6];
    for (let a = 0; a < 3; a++) points[3 * i + a] = a === axis ? (side ? ext[a]! : 0) : rng.range(0, ext[a]!);
    points[3 * i] += 3; // off-centre, so the normalization moves it
    normals[3 * i + axis] = side ? 1 : -1;
  }
  return makePointCloud(points, { normals });
}

describe('rq3d sample', () => {
  it("--json on a fixture: RQ bounds the distinct values, the clip only drops points, the PLY is the octree's cloud", () => {
    const out = path.join(dir, 'norm.ply');
    const r = rq3d('sample', CHAIR, '--stage', 'pretrain', '--rq-bins', '30', '--seed', '3', '--depth', '5', '--frame', 'normalized', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['pointsIn', 'pointsKept', 'distinct', 'leaves', 'upAxis', 'rq']));
    expect(s.upAxis).toBe('z'); // a file in <class>/train/ of a ModelNet tree
    expect(s.pointsKept).toBeLessThanOrEqual(s.pointsIn);
    expect(s.pointsKept).toBeGreaterThan(0);
    for (const d of s.distinct) expect(d).toBeLessThanOrEqual(30);
    expect(s.leaves).toBeLessThanOrEqual(Math.min(s.pointsKept, 30 ** 3));
    for (let a = 0; a < 3; a++) {
      expect(s.rq.lo[a]).toBeGreaterThan(-1);
      expect(s.rq.hi[a]).toBeLessThan(1);
      expect(s.rq.lo[a]).toBeLessThan(s.rq.hi[a]);
    }
    const ply = readPly(out);
    expect(ply.points.length / 3).toBe(s.pointsKept);
    expect(distinct(ply.points)).toEqual(s.distinct);
    expect(ply.points.every((v) => v > -1 && v < 1)).toBe(true);
    expect(ply.comments.some((c) => c.startsWith(`comment centre ${s.centre.join(' ')}`))).toBe(true);
    expect(ply.comments).toContain(`comment scale ${s.scale}`);
    // --no-rq: rq null, and (the clip aside) every point keeps its own coordinates
    const plain = JSON.parse(rq3d('sample', CHAIR, '--no-rq', '--seed', '3', '--depth', '5', '--json').stdout);
    expect(plain.rq).toBeNull();
    expect(plain.pointsKept).toBe(s.pointsKept); // RQ does not change what the clip keeps
    expect(Math.min(...plain.distinct)).toBeGreaterThan(30);
  });

  it("--frame input maps the cloud back to the file's frame: without augmentation it has the file's bbox", () => {
    const out = path.join(dir, 'input.ply');
    const r = rq3d('sample', CHAIR, '--stage', 'eval', '--no-rq', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.pointsKept).toBe(s.pointsIn); // a box in the unit ball: nothing touches the box faces
    const bb = boundingBox(readPly(out).points);
    const want = { min: [0, 0, 0], max: [0.5, 0.55, 1] }; // the OFF file's vertices (z-up)
    for (let a = 0; a < 3; a++) {
      expect(bb.min[a]).toBeCloseTo(want.min[a]!, 5);
      expect(bb.max[a]).toBeCloseTo(want.max[a]!, 5);
    }
    // the same cloud in the octree's frame is y-up: the chair's height is along y
    expect(rq3d('sample', CHAIR, '--stage', 'eval', '--no-rq', '--frame', 'normalized', '--out', out).code).toBe(0);
    const nb = boundingBox(readPly(out).points);
    const ext = [0, 1, 2].map((a) => nb.max[a]! - nb.min[a]!);
    expect(ext[1]).toBeGreaterThan(Math.max(ext[0]!, ext[2]!));
  });

  it('runs the training pipeline: the same clouds and octree as prepareSample on the loaded dataset', async () => {
    const root = path.join(dir, 'tree');
    mkdirSync(path.join(root, 'box', 'train'), { recursive: true });
    const file = path.join(root, 'box', 'train', 'box_0001.ply');
    writeFileSync(file, encodePly(tallBoxCloud(900, 1)));
    const shapes = await loadShapes(root, { quiet: true });
    for (const stage of ['pretrain', 'finetune'] as const) {
      const { summary, cloud } = await inspectSample(file, { stage, rqBins: 30, seed: 5, depth: 5, frame: 'normalized' });
      const train = prepareSample(shapes.clouds[0]!, stageSpec(stage, 30, 5), 5);
      expect(cloud.points, stage).toEqual(train.points.points);
      expect(cloud.normals, stage).toEqual(train.points.normals);
      expect(summary.leaves).toBe(train.octree.nnumNempty[5]);
      expect(summary.rq).toEqual({ lo: train.params.rq!.lo, hi: train.params.rq!.hi });
      expect(summary.upAxis).toBe(shapes.upAxis);
    }
  });

  it('bad flags and files are one-line errors naming them', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--stage', 'train'], /^rq3d: --stage must be pretrain, finetune or eval, got 'train'\n$/],
      [['--rq-bins', '0'], /^rq3d: --rq-bins must be in 1\.\.4096, got 0\n$/],
      [['--frame', 'world'], /^rq3d: --frame must be input or normalized, got 'world'\n$/],
      [['--up-axis', 'up'], /^rq3d: --up-axis \(data\.upAxis\) must be one of .*got 'up'\n$/],
      [['--out', path.join(dir, 'x.txt')], /^rq3d: .*x\.txt: --out must end in \.ply\n$/],
    ];
    for (const [args, re] of cases) {
      const r = rq3d('sample', CHAIR, ...args);
      expect(r.code, args.join(' ')).toBe(2); // bad flags are usage errors: exit 2 (issue 16)
      expect(r.stderr).toMatch(re);
    }
    const missing = rq3d('sample', CHAIR + '.nope', '--json');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^rq3d: .*chair_0001\.off\.nope: cannot read the file/);
    expect(missing.stdout).toBe('');
  });
});
