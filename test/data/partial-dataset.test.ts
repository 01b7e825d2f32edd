import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadShapes } from '../../src/data/sources.ts';
import { runCli } from '../../src/cli/main.ts';

/**
 * Issue 16, item 7: partial datasets get one policy. Shapes a dataset lists (here the split lists of
 * modelnet40_normal_resampled) whose files are absent are an error listing them, or skipped with --skip-missing.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-partial-'));
process.env.RQ3D_CACHE = path.join(dir, 'cache');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const root = path.join(dir, 'modelnet40_normal_resampled');
const ids = { train: ['box_0001', 'box_0002', 'rod_0001', 'rod_0002'], test: ['box_0003', 'rod_0003'] };
fs.mkdirSync(path.join(root, 'box'), { recursive: true });
fs.mkdirSync(path.join(root, 'rod'), { recursive: true });
fs.writeFileSync(path.join(root, 'modelnet40_shape_names.txt'), 'box\nrod\n');
fs.writeFileSync(path.join(root, 'modelnet40_train.txt'), ids.train.join('\n') + '\n');
fs.writeFileSync(path.join(root, 'modelnet40_test.txt'), ids.test.join('\n') + '\n');
for (const id of [...ids.train, ...ids.test]) {
  const rows: string[] = [];
  for (let i = 0; i < 64; i++)
    rows.push([Math.sin(i), Math.cos(i * 1.3), (i % 7) / 7, 0, 0, 1].map((v) => (id.startsWith('rod') ? v * 0.2 : v).toFixed(5)).join(','));
  fs.writeFileSync(path.join(root, id.replace(/_\d+$/, ''), `${id}.txt`), rows.join('\n') + '\n');
}
fs.rmSync(path.join(root, 'rod', 'rod_0002.txt'));

describe('partial datasets', () => {
  it('are an error naming the missing files by default', async () => {
    await expect(loadShapes(root, { quiet: true })).rejects.toThrow(
      /1 of 6 shapes listed by .* have no file \(rod\/rod_0002\.txt\); restore them, or pass --skip-missing/,
    );
  });
  it('go on without them with skipMissing', async () => {
    const s = await loadShapes(root, { quiet: true, skipMissing: true });
    expect(s.items.map((i) => i.id).sort()).toEqual(['box_0001', 'box_0002', 'box_0003', 'rod_0001', 'rod_0003']);
  });
  it('--skip-missing reaches the loader from the CLI; without it the command fails in one line', async () => {
    const ew = process.stderr.write.bind(process.stderr);
    let err = '';
    process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
    try {
      expect(await runCli(['pretrain', '--config', 'tiny', '--data', root, '--out', path.join(dir, 'pt'), '--quiet'])).toBe(1);
      expect(err).toMatch(/^rq3d: 1 of 4 shapes listed by .* have no file \(rod\/rod_0002\.txt\)/);
      expect(fs.existsSync(path.join(dir, 'pt'))).toBe(false);
    } finally {
      process.stderr.write = ew;
    }
  });
});
