import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePly } from '../../src/data/formats/ply.ts';
import { parseShape } from '../../src/data/shape.ts';
import type { PointCloud } from '../../src/data/pointcloud.ts';
import { generateShape } from '../../src/data/synth/index.ts';
import { Rng } from '../../src/util/rng.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function rq3d(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Non-empty cells at a depth, counted directly: distinct floor((p+1)·2^(depth−1)) triples. */
function cellCount(pc: PointCloud, depth: number): number {
  const half = 2 ** (depth - 1),
    res = 2 ** depth;
  const s = new Set<number>();
  for (let i = 0; i < pc.points.length; i += 3) {
    const c = [0, 1, 2].map((a) => Math.min(res - 1, Math.floor(Math.fround(pc.points[i + a]! + 1) * half)));
    s.add((c[0]! * res + c[1]!) * res + c[2]!);
  }
  return s.size;
}

describe('rq3d quantize (end to end)', () => {
  it('prints one JSON object; leaves before/after match a direct cell count; same seed same output', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-quantize-'));
    try {
      const input = path.join(dir, 'chair.ply');
      // offset and scaled, so that the command's normalization matters
      const pc = generateShape('chair', new Rng(4), { points: 3000 });
      for (let i = 0; i < pc.points.length; i++) pc.points[i] = pc.points[i]! * 5 + 2;
      writeFileSync(input, encodePly(pc));

      const q = path.join(dir, 'q.ply');
      // the normalized frame and depth 6 explicitly (the defaults are now the input's frame and the pipeline's depth 5)
      const N = ['--frame', 'normalized', '--depth', '6'];
      const a = rq3d('quantize', input, '--bins', '30', '--seed', '3', '--out', q, '--json', ...N);
      expect(a.code, a.stderr).toBe(0);
      const s = JSON.parse(a.stdout);
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['points', 'distinct', 'leavesBefore', 'leavesAfter']));
      expect(s.points).toBe(3000);
      for (const d of s.distinct) {
        expect(d).toBeLessThanOrEqual(30);
        expect(d).toBeGreaterThan(10);
      }
      expect(s.leavesAfter).toBeLessThan(s.leavesBefore);
      const out = parseShape(readFileSync(q), q).cloud!;
      expect(out.points.length).toBe(9000);
      expect(out.labels).toEqual(pc.labels);
      expect(out.normals).toEqual(pc.normals);
      for (const v of out.points) {
        expect(v).toBeGreaterThanOrEqual(-1);
        expect(v).toBeLessThan(1);
      }
      expect(cellCount(out, 6)).toBe(s.leavesAfter);

      const id = path.join(dir, 'id.ply');
      const b = JSON.parse(rq3d('quantize', input, '--p', '0', '--out', id, '--json', ...N).stdout);
      expect(b.applied).toBe(false);
      expect(b.leavesAfter).toBe(b.leavesBefore);
      expect(b.leavesBefore).toBe(s.leavesBefore);
      expect(cellCount(parseShape(readFileSync(id), id).cloud!, 6)).toBe(b.leavesBefore);

      expect(rq3d('quantize', input, '--bins', '30', '--seed', '3', '--json', ...N).stdout).toBe(JSON.stringify({ ...s, out: undefined }) + '\n');
      const c = JSON.parse(rq3d('quantize', input, '--seed', '4', '--depth', '5', '--variant', 'uniform-middle', '--json').stdout);
      expect(c.distinct).toEqual([30, 30, 30]);
      expect(c.depth).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options with a one-line error', () => {
    const r = rq3d('quantize', path.join(repoRoot, 'test/fixtures/data/tetra.ply'), '--variant', 'random-nope');
    // a bad flag is a usage error: exit 2 (issue 16; it was 1 before the CLI had one error policy)
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rq3d: --variant must be one of uniform-middle/);
    expect(rq3d('quantize', 'missing.ply').stderr).toMatch(/missing\.ply/);
  });

  it('writes --out in the input frame by default, with center and scale in the PLY header and the JSON', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-quantize-frame-'));
    try {
      const input = path.join(dir, 'far.ply');
      // a small shape far from the origin (as a scanned bunny, a ModelNet chair)
      const pc = generateShape('mug', new Rng(2), { points: 2000 });
      for (let i = 0; i < pc.points.length; i++) pc.points[i] = pc.points[i]! * 0.075 + [17.5, -3, 40][i % 3]!;
      writeFileSync(input, encodePly(pc));
      const q = path.join(dir, 'q.ply');
      const s = JSON.parse(rq3d('quantize', input, '--seed', '1', '--out', q, '--json').stdout);
      expect(s.frame).toBe('input');
      expect(s.normalize).toBe('sphere');
      expect(s.depth).toBe(5);
      const text = readFileSync(q);
      const header = text.subarray(0, text.indexOf('end_header')).toString('latin1');
      expect(header).toMatch(/comment .*frame input; normalize sphere center [-\d.e]+ [-\d.e]+ [-\d.e]+ scale [\d.e]+/);
      const out = parseShape(text, q).cloud!;
      // same bounding box as the input, up to the quantization (values stay inside each axis' range)
      for (let a = 0; a < 3; a++) {
        const ax = (p: Float32Array): number[] => Array.from(p).filter((_, i) => i % 3 === a);
        const lo = Math.min(...ax(pc.points)),
          hi = Math.max(...ax(pc.points));
        const qa = ax(out.points);
        expect(Math.min(...qa)).toBeGreaterThanOrEqual(lo - 1e-3);
        expect(Math.max(...qa)).toBeLessThanOrEqual(hi + 1e-3);
      }
      // mapped with the recorded center and scale, the output is the normalized frame's output
      const nq = path.join(dir, 'nq.ply');
      rq3d('quantize', input, '--seed', '1', '--out', nq, '--frame', 'normalized', '--json');
      const norm = parseShape(readFileSync(nq), nq).cloud!;
      for (let i = 0; i < out.points.length; i += 97) expect((out.points[i]! - s.center[i % 3]) * s.scale).toBeCloseTo(norm.points[i]!, 4);
      // --normalize none works on a shape outside [-1, 1): RQ in the input's own frame, leaves not counted
      const none = rq3d('quantize', input, '--normalize', 'none', '--out', path.join(dir, 'none.ply'), '--json');
      expect(none.code, none.stderr).toBe(0);
      const ns = JSON.parse(none.stdout);
      expect([ns.leavesBefore, ns.leavesAfter, ns.applied]).toEqual([null, null, true]);
      expect(ns.distinct.every((d: number) => d <= 30 && d > 10)).toBe(true);
      expect(rq3d('quantize', input, '--normalize', 'none').stdout).toMatch(/not counted \(the shape lies outside the octree box/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
