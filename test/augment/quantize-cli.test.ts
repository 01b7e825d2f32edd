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
  const half = 2 ** (depth - 1), res = 2 ** depth;
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
      const a = rq3d('quantize', input, '--bins', '30', '--seed', '3', '--out', q, '--json');
      expect(a.code, a.stderr).toBe(0);
      const s = JSON.parse(a.stdout);
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['points', 'distinct', 'leavesBefore', 'leavesAfter']));
      expect(s.points).toBe(3000);
      for (const d of s.distinct) { expect(d).toBeLessThanOrEqual(30); expect(d).toBeGreaterThan(10); }
      expect(s.leavesAfter).toBeLessThan(s.leavesBefore);
      const out = parseShape(readFileSync(q), q).cloud!;
      expect(out.points.length).toBe(9000);
      expect(out.labels).toEqual(pc.labels);
      expect(out.normals).toEqual(pc.normals);
      for (const v of out.points) { expect(v).toBeGreaterThanOrEqual(-1); expect(v).toBeLessThan(1); }
      expect(cellCount(out, 6)).toBe(s.leavesAfter);

      const id = path.join(dir, 'id.ply');
      const b = JSON.parse(rq3d('quantize', input, '--p', '0', '--out', id, '--json').stdout);
      expect(b.applied).toBe(false);
      expect(b.leavesAfter).toBe(b.leavesBefore);
      expect(b.leavesBefore).toBe(s.leavesBefore);
      expect(cellCount(parseShape(readFileSync(id), id).cloud!, 6)).toBe(b.leavesBefore);

      expect(rq3d('quantize', input, '--bins', '30', '--seed', '3', '--json').stdout).toBe(JSON.stringify({ ...s, out: undefined }) + '\n');
      const c = JSON.parse(rq3d('quantize', input, '--seed', '4', '--depth', '5', '--variant', 'uniform-middle', '--json').stdout);
      expect(c.distinct).toEqual([30, 30, 30]);
      expect(c.depth).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options with a one-line error', () => {
    const r = rq3d('quantize', path.join(repoRoot, 'test/fixtures/data/tetra.ply'), '--variant', 'random-nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rq3d: --variant must be one of uniform-middle/);
    expect(rq3d('quantize', 'missing.ply').stderr).toMatch(/missing\.ply/);
  });
});
