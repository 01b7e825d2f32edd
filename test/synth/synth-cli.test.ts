import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseShape } from '../../src/data/shape.ts';
import { synthDataset } from '../../src/data/synth/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('rq3d synth (end to end)', () => {
  it('writes the dataset as binary PLY with normals and labels, classes.txt and parts.json', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-synth-'));
    try {
      const r = spawnSync(
        process.execPath,
        [
          path.join(repoRoot, 'bin/rq3d.js'),
          'synth',
          '--out',
          dir,
          '--per-class',
          '5',
          '--points',
          '300',
          '--seed',
          '9',
          '--categories',
          'mug,airplane',
          '--json',
        ],
        { cwd: repoRoot, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ classes: ['mug', 'airplane'], train: 8, test: 2 });
      expect(readFileSync(path.join(dir, 'classes.txt'), 'utf8')).toBe('mug\nairplane\n');
      const parts = JSON.parse(readFileSync(path.join(dir, 'parts.json'), 'utf8'));
      expect(parts.categories.map((c: { name: string }) => c.name)).toEqual(['mug', 'airplane']); // global order, global offsets
      expect(readdirSync(path.join(dir, 'mug', 'train')).sort()).toEqual(['mug_0000.ply', 'mug_0001.ply', 'mug_0002.ply', 'mug_0003.ply']);
      expect(existsSync(path.join(dir, 'airplane', 'test', 'airplane_0004.ply'))).toBe(true);
      const file = path.join(dir, 'airplane', 'train', 'airplane_0002.ply');
      const bytes = readFileSync(file);
      expect(bytes.subarray(0, 40).toString('latin1')).toMatch(/^ply\nformat binary_little_endian 1.0\n/);
      const shape = parseShape(bytes, file);
      const ds = synthDataset({ perClass: 5, seed: 9, points: 300, categories: ['mug', 'airplane'] });
      const want = await ds.load(ds.items.find((i) => i.id === 'airplane_0002')!);
      expect(shape.cloud!.points).toEqual(want.points);
      expect(shape.cloud!.normals).toEqual(want.normals);
      expect(shape.cloud!.labels).toEqual(want.labels);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
