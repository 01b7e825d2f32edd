import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-octree-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rq3d(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The hand case of anchor-spec §2.4, each point with a normal. */
const HAND: number[][] = [
  [-1, -1, -1, 0, 0, -1],
  [0, 0, -1, 0, 0, -1],
  [0.0625, 0.0625, -1, 0, 0.6, -0.8],
];

type Encoding = 'ascii' | 'binary_little_endian' | 'binary_big_endian';

function writePly(name: string, rows: number[][], encoding: Encoding): string {
  const header = [
    'ply',
    `format ${encoding} 1.0`,
    'comment rq3d octree CLI test',
    `element vertex ${rows.length}`,
    ...['x', 'y', 'z', 'nx', 'ny', 'nz'].map((p) => `property float ${p}`),
    'end_header',
    '',
  ].join('\n');
  let body: Buffer;
  if (encoding === 'ascii') {
    body = Buffer.from(rows.map((r) => r.join(' ')).join('\n') + '\n', 'latin1');
  } else {
    body = Buffer.alloc(rows.length * 6 * 4);
    rows.flat().forEach((v, i) => (encoding === 'binary_little_endian' ? body.writeFloatLE(v, 4 * i) : body.writeFloatBE(v, 4 * i)));
  }
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat([Buffer.from(header, 'latin1'), body]));
  return file;
}

const BASE = ['--depth', '5', '--full-depth', '1', '--normalize', 'none', '--json'];

describe('rq3d octree (end to end)', () => {
  it('builds the anchor-spec hand case: node counts and leaf cells', () => {
    const r = rq3d('octree', writePly('hand.ply', HAND, 'ascii'), ...BASE);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({
      depth: 5,
      fullDepth: 1,
      nnum: [1, 8, 16, 16, 16, 16],
      nnumNempty: [1, 2, 2, 2, 2, 3],
      leaves: [
        [0, 0, 0],
        [16, 16, 0],
        [17, 17, 0],
      ],
    });
  });

  it('--features ND gives 4 channels per leaf: the normal, then the displacement', () => {
    const r = rq3d('octree', writePly('hand-nd.ply', HAND, 'ascii'), ...BASE, '--features', 'ND');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { features: number[][] };
    expect(out.features).toHaveLength(3);
    for (const row of out.features) expect(row).toHaveLength(4);
    // leaf order is Morton order, which here is the input order; each leaf holds one point
    out.features.forEach((row, i) => HAND[i]!.slice(3).forEach((n, a) => expect(row[a]).toBeCloseTo(n, 6)));
    // every point sits on a cell corner: local position (-0.5, -0.5, -0.5), D = -0.5 (nx+ny+nz) * 2/sqrt(3)
    out.features.forEach((row, i) => {
      const [, , , nx, ny, nz] = HAND[i]!;
      expect(row[3]).toBeCloseTo((-0.5 * (nx! + ny! + nz!) * 2) / Math.sqrt(3), 5);
    });
  });

  it('a point outside the box with --normalize none exits 1 naming the point, without a stack trace', () => {
    const r = rq3d('octree', writePly('outside.ply', [...HAND, [1.5, 0, 0, 1, 0, 0]], 'ascii'), ...BASE);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/outside\.ply: point 3 \(1\.5, 0, 0\) is outside the octree box/);
    expect(r.stderr).toMatch(/--normalize bbox or sphere/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('binary little- and big-endian PLY give the same octree as ASCII', () => {
    const ascii = rq3d('octree', writePly('a.ply', HAND, 'ascii'), ...BASE, '--features', 'ND');
    const le = rq3d('octree', writePly('le.ply', HAND, 'binary_little_endian'), ...BASE, '--features', 'ND');
    const be = rq3d('octree', writePly('be.ply', HAND, 'binary_big_endian'), ...BASE, '--features', 'ND');
    expect([ascii.code, le.code, be.code]).toEqual([0, 0, 0]);
    expect(JSON.parse(le.stdout)).toEqual(JSON.parse(ascii.stdout));
    expect(JSON.parse(be.stdout)).toEqual(JSON.parse(ascii.stdout));
    expect(JSON.parse(be.stdout).leaves).toEqual([
      [0, 0, 0],
      [16, 16, 0],
      [17, 17, 0],
    ]);
  });
});
