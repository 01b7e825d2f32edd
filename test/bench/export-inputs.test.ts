import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticShapes } from '../../src/bench/octree.ts';
import { sphereShellTable } from '../../src/bench/sphere-shell.ts';
import { prepareSample, sampleSeed } from '../../src/pipeline/sample.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Parses a clouds file: per cloud int32 n, float32 xyz[3n], float32 normals[3n]. */
function readClouds(file: string): Array<{ points: Float32Array; normals: Float32Array }> {
  const b = fs.readFileSync(file);
  const out: Array<{ points: Float32Array; normals: Float32Array }> = [];
  let off = 0;
  while (off < b.length) {
    const n = b.readInt32LE(off);
    off += 4;
    const f = (k: number): Float32Array => Float32Array.from({ length: 3 * n }, (_, i) => b.readFloatLE(off + 4 * (k * 3 * n + i)));
    out.push({ points: f(0), normals: f(1) });
    off += 24 * n;
  }
  expect(off).toBe(b.length);
  return out;
}

describe('rq3d bench --export-inputs DIR', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-export-'));
  const help = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), 'bench', '--help'], { cwd: repoRoot, encoding: 'utf8' });
  const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), 'bench', '--export-inputs', dir], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });

  it('is listed by bench --help and writes the files the peer harness reads, and nothing half-written', () => {
    expect(help.stdout).toContain('--export-inputs');
    expect(run.status, run.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'manifest.json',
      'plain.bin',
      'rq30.bin',
      'table_1000.bin',
      'table_100000.bin',
      'table_20000.bin',
      'table_5000.bin',
    ]);
  });

  it("clouds: the bench's 32 inputs exactly, after RQ n=30 in rq30.bin", () => {
    const plain = readClouds(path.join(dir, 'plain.bin'));
    const rq = readClouds(path.join(dir, 'rq30.bin'));
    expect(plain).toHaveLength(32);
    expect(rq).toHaveLength(32);
    const shapes = syntheticShapes(32, 1, 3000);
    for (const i of [0, 17, 31]) {
      const spec = {
        depth: 6,
        fullDepth: 2,
        transform: 'none' as const,
        rq: { bins: 30, variant: 'random-random' as const, p: 1 },
        features: 'ND' as const,
        nempty: false,
      };
      const expected = prepareSample(shapes[i]!, spec, sampleSeed(1, 0, i)).points;
      expect(rq[i]!.points).toEqual(expected.points);
      expect(rq[i]!.normals).toEqual(expected.normals);
      const expectedPlain = prepareSample(shapes[i]!, { ...spec, rq: null }, sampleSeed(1, 0, i)).points;
      expect(plain[i]!.points).toEqual(expectedPlain.points);
    }
    // RQ moved the points (to 30 levels per axis)
    expect(rq[0]!.points).not.toEqual(plain[0]!.points);
    expect(new Set(Array.from(rq[0]!.points.filter((_, j) => j % 3 === 0))).size).toBeLessThanOrEqual(30);
  });

  it('tables: int32 n x 27 of the conv bench, -1 for empty neighbours; the manifest names every case', () => {
    for (const n of [20000, 5000, 1000, 100000]) {
      const b = fs.readFileSync(path.join(dir, `table_${n}.bin`));
      expect(b.length).toBe(n * 27 * 4);
      if (n === 1000) {
        const t = sphereShellTable(n);
        const got = Int32Array.from({ length: n * 27 }, (_, i) => b.readInt32LE(4 * i));
        expect(got).toEqual(t.idx);
        expect(got.includes(-1)).toBe(true);
      }
    }
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(m.kind).toBe('rq3d-bench-inputs');
    expect(m.step.optimizer).toEqual({ kind: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const keys = m.cases.map((c: { key: string }) => c.key);
    expect(keys).toEqual(expect.arrayContaining(['lenet_d6', 'resnet_d6rq', 'hrnet_d5', 'hrnet_d5rq']));
    expect(m.cases.find((c: { key: string }) => c.key === 'hrnet_d5').batch).toBe(16);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
