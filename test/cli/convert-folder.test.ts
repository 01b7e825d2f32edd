import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCliCaptured } from '../helpers/cli.ts';
import { parseShape } from '../../src/data/shape.ts';

/** Issue 16, items 4 and 7: `rq3d convert` takes a folder (with progress) and records its normalization. */
const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/data');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-convert-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = runCliCaptured;

describe('rq3d convert', () => {
  it('converts every shape under a folder into the same tree', async () => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'b'), { recursive: true });
    fs.copyFileSync(path.join(fixtures, 'cube.off'), path.join(src, 'a.off'));
    fs.copyFileSync(path.join(fixtures, 'cloud.pcd'), path.join(src, 'b', 'c.pcd'));
    fs.writeFileSync(path.join(src, 'README'), 'not a shape');
    const out = path.join(dir, 'out');
    const r = await cli('convert', src, out, '--sample', '200', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ files: 2, format: 'ply', normalize: 'none' });
    expect(fs.readdirSync(out, { recursive: true }).map(String).sort()).toEqual(['a.ply', 'b', path.join('b', 'c.ply')]);
    expect(parseShape(fs.readFileSync(path.join(out, 'a.ply')), 'a.ply').cloud!.points.length).toBe(600);
    expect((await cli('convert', src, path.join(dir, 'x.ply'))).stderr).toMatch(/a folder input needs an output folder/);
    expect((await cli('convert', src, path.join(src, 'inner'))).stderr).toMatch(/must not be the input folder or inside it/);
  });

  it('keeps the input frame by default and records center and scale when it normalizes', async () => {
    const a = await cli(
      'convert',
      path.join(fixtures, 'cube.off'),
      path.join(dir, 'n.ply'),
      '--sample',
      '100',
      '--normalize',
      'bbox',
      '--scale',
      '0.5',
      '--json',
    );
    expect(a.code, a.stderr).toBe(0);
    const s = JSON.parse(a.stdout);
    expect(s.center).toHaveLength(3);
    expect(s.scale).toBeGreaterThan(0);
    const text = fs.readFileSync(path.join(dir, 'n.ply'));
    expect(text.subarray(0, text.indexOf('end_header')).toString('latin1')).toMatch(
      /comment rq3d convert cube\.off; frame normalized: normalize bbox center \S+ \S+ \S+ scale \S+/,
    );
    const b = JSON.parse((await cli('convert', path.join(fixtures, 'cube.off'), path.join(dir, 'i.ply'), '--sample', '100', '--json')).stdout);
    expect(b.normalize).toBe('none');
    expect(b.center).toBeUndefined();
  });
});
