import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthDataset } from '../../src/data/synth/index.ts';

/**
 * The single-protocol commands end to end, on datasets laid out as the paper's downloads are: ModelNet40
 * (modelnet40_normal_resampled: shape names, split lists, comma-separated xyz+normal text) for `rq3d linear`
 * and `rq3d finetune`, ShapeNet Part (v0_normal: synset folders, split JSONs, global part ids) for
 * `rq3d segment`. The shapes are the bundled synthetic chairs and airplanes, written in those formats.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-downstream-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rq3d(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, RQ3D_BACKEND: 'cpu', RQ3D_CACHE: path.join(dir, 'cache') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const synth = synthDataset({ perClass: 6, seed: 3, points: 384, categories: ['chair', 'airplane'] });
const rows = (item: (typeof synth.items)[number], sep: string, labelOffset?: number): string => {
  const pc = synth.loadSync(item);
  const out: string[] = [];
  for (let i = 0; i < pc.points.length / 3; i++) {
    const v = [pc.points[3 * i]!, pc.points[3 * i + 1]!, pc.points[3 * i + 2]!, pc.normals![3 * i]!, pc.normals![3 * i + 1]!, pc.normals![3 * i + 2]!].map(
      (x) => x.toFixed(6),
    );
    if (labelOffset !== undefined) v.push((labelOffset + pc.labels![i]!).toFixed(6));
    out.push(v.join(sep));
  }
  return out.join('\n') + '\n';
};
const trainCount = synth.items.filter((i) => i.split === 'train').length;
const perClassTrain = ['chair', 'airplane'].map((c) => synth.items.filter((i) => i.split === 'train' && i.category === c).length);
const testCount = synth.items.filter((i) => i.split === 'test').length;

describe('rq3d linear / finetune on a ModelNet40 download (modelnet40_normal_resampled)', () => {
  const root = path.join(dir, 'modelnet40_normal_resampled');
  write(path.join(root, 'modelnet40_shape_names.txt'), 'airplane\nchair\n');
  write(
    path.join(root, 'modelnet40_train.txt'),
    synth.items
      .filter((i) => i.split === 'train')
      .map((i) => i.id)
      .join('\n') + '\n',
  );
  write(
    path.join(root, 'modelnet40_test.txt'),
    synth.items
      .filter((i) => i.split === 'test')
      .map((i) => i.id)
      .join('\n') + '\n',
  );
  for (const item of synth.items) write(path.join(root, item.category, `${item.id}.txt`), rows(item, ','));

  for (const cmd of ['linear', 'finetune'] as const) {
    it(`rq3d ${cmd} --from scratch trains every ratio and scores the whole test split`, () => {
      const out = path.join(dir, `out-${cmd}`);
      const r = rq3d(
        cmd,
        '--from',
        'scratch',
        '--model',
        'tiny',
        '--data',
        root,
        '--points',
        '384',
        '--ratios',
        '0.5,1',
        '--base-steps',
        '6',
        '--min-steps',
        '3',
        '--workers',
        '0',
        '--out',
        out,
        '--quiet',
        '--json',
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const res = JSON.parse(r.stdout) as { cells: { protocol: string; ratio: number; trainShapes: number; steps: number; oa: number }[] };
      expect(res.cells.map((c) => [c.protocol, c.ratio])).toEqual([
        [cmd, 0.5],
        [cmd, 1],
      ]);
      // per-class subsets: ceil(n_c * 0.5) of each class, then all
      expect(res.cells.map((c) => c.trainShapes)).toEqual([perClassTrain.reduce((s, n) => s + Math.ceil(n * 0.5), 0), trainCount]);
      expect(res.cells.map((c) => c.steps)).toEqual([3, 6]);
      for (const c of res.cells) {
        // accuracy over the whole test split: a multiple of 1/testCount
        expect(Math.abs(c.oa * testCount - Math.round(c.oa * testCount))).toBeLessThan(1e-9);
      }
      expect(existsSync(path.join(out, 'table.md'))).toBe(true);
      expect(existsSync(path.join(out, `${cmd}.svg`))).toBe(true);
    }, 240_000);
  }

  it('names the bad option', () => {
    const r = rq3d('linear', '--from', 'scratch', '--data', root, '--base-steps', 'ten');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--base-steps');
  });
});

describe('rq3d segment on a ShapeNet Part download (v0_normal)', () => {
  const root = path.join(dir, 'shapenetcore_partanno_segmentation_benchmark_v0_normal');
  const synset: Record<string, string> = { airplane: '02691156', chair: '03001627' };
  // ShapeNet Part's global part ids: Airplane 0-3, Chair 12-15 (both 4 parts, as the synthetic ones)
  const offset: Record<string, number> = { airplane: 0, chair: 12 };
  write(path.join(root, 'synsetoffset2category.txt'), `Airplane\t${synset.airplane}\nChair\t${synset.chair}\n`);
  const list = (split: string): string => JSON.stringify(synth.items.filter((i) => i.split === split).map((i) => `shape_data/${synset[i.category]}/${i.id}`));
  write(path.join(root, 'train_test_split/shuffled_train_file_list.json'), list('train'));
  write(path.join(root, 'train_test_split/shuffled_val_file_list.json'), '[]');
  write(path.join(root, 'train_test_split/shuffled_test_file_list.json'), list('test'));
  for (const item of synth.items) write(path.join(root, synset[item.category]!, `${item.id}.txt`), rows(item, ' ', offset[item.category]));

  it('trains one model per category on local part ids and reports both IoU conventions', () => {
    const out = path.join(dir, 'out-segment');
    const r = rq3d(
      'segment',
      '--from',
      'scratch',
      '--model',
      'tiny',
      '--mode',
      'finetune',
      '--data',
      root,
      '--ratios',
      '1',
      '--base-steps',
      '3',
      '--min-steps',
      '3',
      '--workers',
      '0',
      '--out',
      out,
      '--quiet',
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as {
      cells: {
        protocol: string;
        trainShapes: number;
        cmiou: number;
        imiou: number;
        cmiouPointNet: number;
        imiouPointNet: number;
        perCategory: Record<string, number>;
      }[];
    };
    expect(res.cells).toHaveLength(1);
    const c = res.cells[0]!;
    expect(c.protocol).toBe('finetune');
    expect(c.trainShapes).toBe(trainCount);
    // only the categories present in the folder (not all 16 of the benchmark)
    expect(Object.keys(c.perCategory).sort()).toEqual(['Airplane', 'Chair']);
    for (const v of [c.cmiou, c.imiou, c.cmiouPointNet, c.imiouPointNet]) expect(v).toBeGreaterThanOrEqual(0);
    for (const v of [c.cmiou, c.imiou, c.cmiouPointNet, c.imiouPointNet]) expect(v).toBeLessThanOrEqual(1);
    // the PointNet convention counts parts absent from both truth and prediction as 1: never below the reference's
    expect(c.cmiouPointNet).toBeGreaterThanOrEqual(c.cmiou - 1e-12);
    // one saved model per category, under the ShapeNet Part category names, with 4 local parts each
    for (const cat of ['Airplane', 'Chair']) {
      const meta = JSON.parse(readFileSync(path.join(out, 'models', 'finetune', 'scratch', cat, 'model.json'), 'utf8')) as Record<string, unknown>;
      expect(JSON.stringify(meta)).toContain('"parts":4');
    }
  }, 240_000);
});
