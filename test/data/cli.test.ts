import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseShape } from '../../src/data/shape.ts';
import { readFileSync } from 'node:fs';
import { fixture, repoRoot } from './helpers.ts';

function rq3d(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rq3d info / convert (end to end)', () => {
  it('info --json prints exactly one object for a mesh and a labelled cloud', () => {
    const a = rq3d('info', fixture('cube.off'), '--json');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual({
      format: 'off',
      points: 8,
      hasNormals: false,
      hasLabels: false,
      labels: null,
      faces: 12,
      bbox: { min: [0, 0, 0], max: [1, 1, 1] },
    });
    const b = JSON.parse(rq3d('info', fixture('cloud-labels.ply'), '--json').stdout);
    expect(b).toMatchObject({ format: 'ply', points: 5, hasNormals: true, hasLabels: true, labels: 4, faces: null });
    expect(b.bbox).toEqual({ min: [-1, -2, -3], max: [1, 1, 0.5] });
    const text = rq3d('info', fixture('tetra.ply'));
    expect(text.stdout).toMatch(/format\s+ply \(mesh\)/);
    expect(text.stdout).toMatch(/faces\s+4 triangles/);
  });

  it('info on a bad file prints a one-line error naming the file, no stack', () => {
    const r = rq3d('info', fixture('cube.off') + '.missing');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rq3d: .*cube\.off\.missing: cannot read/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('convert samples a mesh, normalizes and writes a PLY with normals', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-convert-'));
    try {
      const out = path.join(dir, 'cube.ply');
      const r = rq3d('convert', fixture('cube.off'), out, '--sample', '300', '--normalize', 'bbox', '--seed', '4', '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ points: 300, hasNormals: true });
      const pc = parseShape(readFileSync(out), out).cloud!;
      expect(pc.points.length).toBe(900);
      expect(Math.max(...pc.points.map(Math.abs))).toBeLessThanOrEqual(1);
      const outA = path.join(dir, 'pts.ply');
      expect(rq3d('convert', fixture('points.xyz'), outA, '--normals', 'estimate', '--ascii').code).toBe(0);
      expect(readFileSync(outA, 'latin1')).toMatch(/^ply\nformat ascii 1.0\n/);
      expect(JSON.parse(rq3d('info', outA, '--json').stdout)).toMatchObject({ points: 3, hasNormals: true });
      const bad = rq3d('convert', fixture('cube.off'), path.join(dir, 'x.ply'), '--normalize', 'cube');
      expect(bad.code).toBe(2); // a bad flag: a usage error (issue 16)
      expect(bad.stderr).toMatch(/--normalize must be one of/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
