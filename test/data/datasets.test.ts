import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import h5wasm from 'h5wasm/node';
import { modelNetH5, modelNetResampled, modelNetTree, openDataset, ratioCount, shapeNetPart, subsetByRatio } from '../../src/data/datasets/index.ts';
import type { DatasetItem } from '../../src/data/datasets/types.ts';
import { preprocessDataset } from '../../src/data/datasets/cache.ts';
import { encodePcd } from '../../src/data/formats/pcd.ts';
import { encodePly } from '../../src/data/formats/ply.ts';
import { Rng } from '../../src/util/rng.ts';
import { UserError } from '../../src/util/errors.ts';
import {
  PART_OFFSETS,
  PARTS_PER_CATEGORY,
  SHAPENET_PART_CATEGORIES,
  SHAPENET_PART_SYNSETS,
  categoryOfPart,
  globalToLocal,
  localToGlobal,
  OCNN_TEST_COUNTS,
  OCNN_TRAINVAL_COUNTS,
} from '../../src/data/shapenet-part-labels.ts';
import { fixture, sharedData } from './helpers.ts';

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rq3d-datasets-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cloud(n: number, seed: number, withNormals = false) {
  const rng = new Rng(seed);
  return {
    points: Float32Array.from({ length: 3 * n }, () => rng.range(-5, 5)),
    normals: withNormals ? Float32Array.from({ length: 3 * n }, () => rng.range(-1, 1)) : null,
    labels: null,
    features: null,
    featureChannels: 0,
  };
}

function write(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, data);
}

/** <root>/<class>/{train,test}/<class>_NNNN.pcd with counts per class. */
function makePcdTree(root: string, counts: Record<string, [number, number]>): void {
  let s = 0;
  for (const [cls, [ntr, nte]] of Object.entries(counts)) {
    for (const [split, n] of [
      ['train', ntr],
      ['test', nte],
    ] as const) {
      // Written in reverse so that listing order is not creation order.
      for (let i = n; i >= 1; i--) write(path.join(root, cls, split, `${cls}_${String(i).padStart(4, '0')}.pcd`), encodePcd(cloud(64, s++), 'binary'));
    }
  }
}

describe('ShapeNet Part table', () => {
  it('has 16 categories, 50 parts, offsets = prefix sums', () => {
    expect(SHAPENET_PART_CATEGORIES.length).toBe(16);
    expect(SHAPENET_PART_SYNSETS.length).toBe(16);
    expect(PARTS_PER_CATEGORY.reduce((a, b) => a + b, 0)).toBe(50);
    let acc = 0;
    PARTS_PER_CATEGORY.forEach((n, c) => {
      expect(PART_OFFSETS[c]).toBe(acc);
      acc += n;
    });
    expect(SHAPENET_PART_SYNSETS.slice().sort()).toEqual(SHAPENET_PART_SYNSETS);
    expect(OCNN_TRAINVAL_COUNTS.reduce((a, b) => a + b)).toBe(13971);
    expect(OCNN_TEST_COUNTS.reduce((a, b) => a + b)).toBe(2843);
  });
  it('converts local and global ids', () => {
    expect(categoryOfPart(0)).toBe(0);
    expect(categoryOfPart(35)).toBe(10);
    expect(categoryOfPart(49)).toBe(15);
    expect(globalToLocal(33, 10)).toBe(3);
    expect(localToGlobal(2, 15)).toBe(49);
    for (let g = 0; g < 50; g++) expect(localToGlobal(globalToLocal(g, categoryOfPart(g)), categoryOfPart(g))).toBe(g);
    expect(() => globalToLocal(4, 0)).toThrow(UserError);
  });
});

describe('ratio subsets', () => {
  const mk = (label: number, name: string): DatasetItem => ({ id: name, file: `/x/${name}.pcd`, label, split: 'train' });
  it('per-class: first ceil(n*ratio) by sorted file name, classes in label order', () => {
    const items = [mk(1, 'b_0003'), mk(0, 'a_0002'), mk(1, 'b_0001'), mk(0, 'a_0010'), mk(0, 'a_0001'), mk(1, 'b_0002')];
    expect(subsetByRatio(items, 0.5, 'per-class').map((i) => i.id)).toEqual(['a_0001', 'a_0002', 'b_0001', 'b_0002']);
    expect(subsetByRatio(items, 0.01, 'per-class').map((i) => i.id)).toEqual(['a_0001', 'b_0001']);
    expect(subsetByRatio(items, 1, 'per-class')).toHaveLength(6);
  });
  it('first: list order; ceil in double precision like Python math.ceil', () => {
    const items = Array.from({ length: 100 }, (_, i) => mk(0, `s${99 - i}`));
    expect(subsetByRatio(items, 0.07, 'first')).toHaveLength(8); // 100 * 0.07 = 7.000000000000001
    expect(subsetByRatio(items, 0.1, 'first').map((i) => i.id)).toEqual(items.slice(0, 10).map((i) => i.id));
    expect(ratioCount(2348, 0.01)).toBe(24);
    expect(() => subsetByRatio(items, 0, 'first')).toThrow(UserError);
  });
  it('a draw: the same counts per class from a seeded order, deterministic, its own per draw, nested across ratios', () => {
    // two classes of 40 and 60, given out of order
    const items = [
      ...Array.from({ length: 40 }, (_, i) => mk(1, `b_${String(i).padStart(4, '0')}`)),
      ...Array.from({ length: 60 }, (_, i) => mk(0, `a_${String(i).padStart(4, '0')}`)),
    ].reverse();
    const ids = (r: number, draw?: string) => subsetByRatio(items, r, 'per-class', draw).map((i) => i.id);
    const perClass = (l: string[]) => [l.filter((x) => x.startsWith('a')).length, l.filter((x) => x.startsWith('b')).length];
    for (const r of [0.05, 0.1, 0.5]) expect(perClass(ids(r, 'seed 0'))).toEqual(perClass(ids(r)));
    expect(ids(0.1, 'seed 0')).toEqual(ids(0.1, 'seed 0'));
    expect(ids(0.1, 'seed 0')).not.toEqual(ids(0.1, 'seed 1'));
    expect(ids(0.1, 'seed 0')).not.toEqual(ids(0.1));
    // within a draw the smaller ratio's shapes are among the larger's
    const big = new Set(ids(0.5, 'seed 1'));
    expect(ids(0.1, 'seed 1').every((x) => big.has(x))).toBe(true);
    // classes stay in label order; at ratio 1 every shape, whatever the draw
    expect(
      ids(0.1, 'seed 2')
        .slice(0, 6)
        .every((x) => x.startsWith('a')),
    ).toBe(true);
    expect(new Set(ids(1, 'seed 2'))).toEqual(new Set(ids(1)));
    // 'first': a shuffled prefix of the list
    const first = subsetByRatio(items, 0.1, 'first', 'seed 0').map((i) => i.id);
    expect(first).toHaveLength(10);
    expect(first).not.toEqual(subsetByRatio(items, 0.1, 'first').map((i) => i.id));
    expect(first.every((x) => subsetByRatio(items, 0.3, 'first', 'seed 0').some((i) => i.id === x))).toBe(true);
  });
});

describe('ModelNet folder trees', () => {
  it('PCD tree: sorted class labels, items, load', async () => {
    const root = path.join(tmp, 'mn-pcd');
    makePcdTree(root, { sofa: [3, 1], bed: [2, 2], chair: [4, 0] });
    const ds = await modelNetTree(root);
    expect(ds.classes).toEqual(['bed', 'chair', 'sofa']);
    expect(ds.items.filter((i) => i.split === 'train')).toHaveLength(9);
    expect(ds.items.filter((i) => i.split === 'test')).toHaveLength(3);
    const sofa = ds.items.filter((i) => i.label === 2 && i.split === 'train').map((i) => i.id);
    expect(sofa).toEqual(['sofa/train/sofa_0001', 'sofa/train/sofa_0002', 'sofa/train/sofa_0003']);
    const pc = await ds.load(ds.items[0]!);
    expect(pc.points.length).toBe(3 * 64);
    const sub = subsetByRatio(
      ds.items.filter((i) => i.split === 'train'),
      0.5,
      'per-class',
    );
    expect(sub.map((i) => i.id)).toEqual([
      'bed/train/bed_0001',
      'chair/train/chair_0001',
      'chair/train/chair_0002',
      'sofa/train/sofa_0001',
      'sofa/train/sofa_0002',
    ]);
  });

  it('OFF tree: meshes are sampled reproducibly per item', async () => {
    const root = path.join(tmp, 'mn-off');
    for (const cls of ['cube', 'box'])
      for (const split of ['train', 'test']) {
        mkdirSync(path.join(root, cls, split), { recursive: true });
        copyFileSync(fixture('cube.off'), path.join(root, cls, split, `${cls}_0001.off`));
      }
    const ds = await modelNetTree(root);
    expect(ds.classes).toEqual(['box', 'cube']);
    const a = await ds.load(ds.items[0]!, { sample: 200 });
    const b = await ds.load(ds.items[0]!, { sample: 200 });
    const c = await ds.load(ds.items[1]!, { sample: 200 });
    expect(a.points.length).toBe(600);
    expect(Array.from(a.points)).toEqual(Array.from(b.points));
    expect(Array.from(a.points)).not.toEqual(Array.from(c.points));
    expect(a.normals).not.toBeNull();
  });

  it('PLY tree with ocnn-pytorch filelists', async () => {
    const base = path.join(tmp, 'ModelNet40');
    const root = path.join(base, 'ModelNet40.ply.normalize');
    const files = ['airplane/train/airplane_0001.ply', 'bed/train/bed_0002.ply', 'bed/test/bed_0100.ply'];
    files.forEach((f, i) => write(path.join(root, f), encodePly(cloud(10, i, true))));
    write(path.join(base, 'filelist/m40_train.txt'), 'bed/train/bed_0002.ply 1\nairplane/train/airplane_0001.ply 0\n');
    write(path.join(base, 'filelist/m40_test.txt'), 'bed/test/bed_0100.ply 1\n');
    const ds = await modelNetTree(root);
    expect(ds.items.map((i) => [i.id, i.label, i.split])).toEqual([
      ['bed/train/bed_0002', 1, 'train'],
      ['airplane/train/airplane_0001', 0, 'train'],
      ['bed/test/bed_0100', 1, 'test'],
    ]);
    expect((await ds.load(ds.items[2]!)).normals).not.toBeNull();
  });

  it('missing roots are UserErrors', async () => {
    await expect(modelNetTree(path.join(tmp, 'nope'))).rejects.toBeInstanceOf(UserError);
  });

  const mn10 = path.join(sharedData, 'modelnet10');
  it.skipIf(!existsSync(mn10))('real ModelNet10: 4,899 shapes, 3,991 train / 908 test, per-class counts', async () => {
    const ds = await modelNetTree(mn10);
    expect(ds.classes).toEqual(['bathtub', 'bed', 'chair', 'desk', 'dresser', 'monitor', 'night_stand', 'sofa', 'table', 'toilet']);
    expect(ds.items).toHaveLength(4899);
    const train = ds.items.filter((i) => i.split === 'train');
    expect(train).toHaveLength(3991);
    expect(ds.items.filter((i) => i.split === 'test')).toHaveLength(908);
    const perClass = ds.classes.map((_, c) => [train.filter((i) => i.label === c).length, ds.items.filter((i) => i.label === c && i.split === 'test').length]);
    expect(perClass).toEqual([
      [106, 50],
      [515, 100],
      [889, 100],
      [200, 86],
      [200, 86],
      [465, 100],
      [200, 86],
      [680, 100],
      [392, 100],
      [344, 100],
    ]);
    // Few-shot subsets: sum over classes of ceil(n_c * r).
    expect(subsetByRatio(train, 0.01, 'per-class')).toHaveLength(perClass.reduce((s, [n]) => s + Math.ceil(n! * 0.01), 0));
    expect(subsetByRatio(train, 0.01, 'per-class')[0]!.id).toBe('bathtub/train/bathtub_0001');
    const pc = await ds.load(train[0]!);
    expect(pc.points.length).toBe(3 * 1024);
  });
});

describe('modelnet40_normal_resampled', () => {
  it('reads shape names, split lists and comma-separated txt with normals', async () => {
    const root = path.join(tmp, 'modelnet40_normal_resampled');
    write(path.join(root, 'modelnet40_shape_names.txt'), 'airplane\nnight_stand\n');
    write(path.join(root, 'modelnet40_train.txt'), 'night_stand_0001\nairplane_0001\n');
    write(path.join(root, 'modelnet40_test.txt'), 'airplane_0627\n');
    for (const id of ['night_stand_0001', 'airplane_0001', 'airplane_0627']) {
      const cls = id.replace(/_\d+$/, '');
      write(path.join(root, cls, `${id}.txt`), '0.1,0.2,0.3,0,0,1\n-0.1,-0.2,-0.3,0,1,0\n');
    }
    const ds = await modelNetResampled(root);
    expect(ds.classes).toEqual(['airplane', 'night_stand']);
    expect(ds.items.map((i) => [i.id, i.label, i.split])).toEqual([
      ['night_stand_0001', 1, 'train'],
      ['airplane_0001', 0, 'train'],
      ['airplane_0627', 0, 'test'],
    ]);
    const pc = await ds.load(ds.items[0]!);
    expect(Array.from(pc.normals!)).toEqual([0, 0, 1, 0, 1, 0]);
    expect((await openDataset(ds.source!)).items).toHaveLength(3);
  });
});

describe('modelnet40_ply_hdf5_2048', () => {
  it('reads h5 files written with h5wasm', async () => {
    await h5wasm.ready;
    const root = path.join(tmp, 'modelnet40_ply_hdf5_2048');
    mkdirSync(root, { recursive: true });
    const P = 16;
    const mk = (name: string, n: number, labels: number[]): void => {
      const f = new h5wasm.File(path.join(root, name), 'w');
      f.create_dataset({ name: 'data', data: Float32Array.from({ length: n * P * 3 }, (_, i) => i / 1000), shape: [n, P, 3] });
      f.create_dataset({ name: 'label', data: Uint8Array.from(labels), shape: [n, 1] });
      f.close();
    };
    mk('ply_data_train0.h5', 3, [2, 0, 1]);
    mk('ply_data_test0.h5', 1, [1]);
    write(path.join(root, 'shape_names.txt'), 'a\nb\nc\n');
    write(path.join(root, 'train_files.txt'), 'data/modelnet40_ply_hdf5_2048/ply_data_train0.h5\n');
    write(path.join(root, 'test_files.txt'), 'data/modelnet40_ply_hdf5_2048/ply_data_test0.h5\n');
    const ds = await modelNetH5(root);
    expect(ds.items.map((i) => [i.label, i.split])).toEqual([
      [2, 'train'],
      [0, 'train'],
      [1, 'train'],
      [1, 'test'],
    ]);
    const pc = await ds.load(ds.items[1]!);
    expect(pc.points.length).toBe(P * 3);
    expect(pc.points[0]).toBeCloseTo((P * 3) / 1000, 6);
    write(path.join(root, 'broken.h5'), 'not an hdf5 file');
    write(path.join(root, 'test_files.txt'), 'broken.h5\n');
    await expect(modelNetH5(root)).rejects.toBeInstanceOf(UserError);
  });
});

describe('ShapeNet Part', () => {
  const air = '02691156';
  const table = '04379243';
  function splits(root: string): void {
    write(path.join(root, 'train_test_split/shuffled_train_file_list.json'), JSON.stringify([`shape_data/${table}/t1`, `shape_data/${air}/a2`]));
    write(path.join(root, 'train_test_split/shuffled_val_file_list.json'), JSON.stringify([`shape_data/${air}/a1`]));
    write(path.join(root, 'train_test_split/shuffled_test_file_list.json'), JSON.stringify([`shape_data/${table}/t2`]));
    write(path.join(root, 'synsetoffset2category.txt'), `Airplane\t${air}\nTable\t${table}\n`);
  }
  it('v0_normal layout: splits (train = train + val), global and local labels', async () => {
    const root = path.join(tmp, 'shapenetcore_partanno_segmentation_benchmark_v0_normal');
    splits(root);
    for (const [syn, id, lab] of [
      [air, 'a1', 3],
      [air, 'a2', 0],
      [table, 't1', 48],
      [table, 't2', 49],
    ] as const) {
      write(path.join(root, syn, `${id}.txt`), `0.1 0.2 0.3 0 0 1 ${lab}.000000\n0.3 0.2 0.1 0 1 0 ${lab}.000000\n`);
    }
    const ds = await shapeNetPart(root);
    expect(ds.items.map((i) => [i.id, i.label, i.split])).toEqual([
      [`${table}/t1`, 15, 'train'],
      [`${air}/a2`, 0, 'train'],
      [`${air}/a1`, 0, 'train'],
      [`${table}/t2`, 15, 'test'],
    ]);
    expect(Array.from((await ds.load(ds.items[0]!)).labels!)).toEqual([48, 48]);
    const local = await shapeNetPart(root, 'local');
    expect(Array.from((await local.load(local.items[0]!)).labels!)).toEqual([1, 1]);
    expect(
      subsetByRatio(
        ds.items.filter((i) => i.split === 'train'),
        0.5,
        'first',
      ).map((i) => i.id),
    ).toEqual([`${table}/t1`, `${air}/a2`]);
  });
  it('v0 layout: .pts + 1-based local .seg', async () => {
    const root = path.join(tmp, 'shapenetcore_partanno_segmentation_benchmark_v0');
    splits(root);
    for (const [syn, id] of [
      [air, 'a1'],
      [air, 'a2'],
      [table, 't1'],
      [table, 't2'],
    ] as const) {
      write(path.join(root, syn, 'points', `${id}.pts`), '0.1 0.2 0.3\n0.3 0.2 0.1\n0 0 0\n');
      write(path.join(root, syn, 'points_label', `${id}.seg`), '1\n3\n2\n');
    }
    const ds = await shapeNetPart(root);
    expect(ds.name).toBe('shapenet_part_v0');
    expect(Array.from((await ds.load(ds.items[0]!)).labels!)).toEqual([47, 49, 48]);
    expect(Array.from((await ds.load(ds.items[1]!)).labels!)).toEqual([0, 2, 1]);
    const local = await shapeNetPart(root, 'local');
    expect(Array.from((await local.load(local.items[0]!)).labels!)).toEqual([0, 2, 1]);
    write(path.join(root, table, 'points_label', 't2.seg'), '1\n9\n2\n');
    await expect(ds.load(ds.items[3]!)).rejects.toThrow(/t2\.seg:2: label "9" is outside 1\.\.3/);
  });
});

describe('preprocessing cache', () => {
  it('computes in worker threads with progress, reuses on the next run, matches the in-thread result', async () => {
    const root = path.join(tmp, 'mn-cache');
    makePcdTree(root, { a: [4, 2], b: [3, 1] });
    const ds = await modelNetTree(root);
    const cacheDir = path.join(tmp, 'cache');
    const spec = { normalize: 'sphere' as const, sample: 48, normals: 'estimate' as const, k: 8, seed: 3 };
    const progress: number[] = [];
    const first = await preprocessDataset(ds, spec, { cacheDir, workers: 2, onProgress: (d, t) => progress.push(d / t) });
    expect(first.computed).toBe(10);
    expect(progress[progress.length - 1]).toBe(1);
    expect(progress.length).toBe(11);
    const files = readdirSync(first.dir).filter((f) => f.endsWith('.points'));
    expect(files).toHaveLength(10);
    expect(readdirSync(first.dir).some((f) => f.includes('.tmp-'))).toBe(false);
    const pc = await first.load(ds.items[0]!);
    expect(pc.points.length).toBe(48 * 3);
    expect(pc.normals!.length).toBe(48 * 3);
    let maxR = 0;
    for (let i = 0; i < 48; i++) maxR = Math.max(maxR, Math.hypot(pc.points[3 * i]!, pc.points[3 * i + 1]!, pc.points[3 * i + 2]!));
    expect(maxR).toBeLessThanOrEqual(1 + 1e-5);

    const again = await preprocessDataset(ds, spec, { cacheDir, workers: 2 });
    expect(again.computed).toBe(0);
    expect(again.reused).toBe(10);
    expect(again.dir).toBe(first.dir);

    const inThread = await preprocessDataset(ds, spec, { cacheDir: path.join(tmp, 'cache-inthread'), workers: 0 });
    expect(inThread.computed).toBe(10);
    for (const it of ds.items) expect(readFileSync(inThread.fileOf(it)).equals(readFileSync(first.fileOf(it)))).toBe(true);

    const other = await preprocessDataset(ds, { ...spec, normalize: 'bbox' }, { cacheDir, workers: 1, items: ds.items.slice(0, 2) });
    expect(other.dir).not.toBe(first.dir);
    expect(other.computed).toBe(2);
  });
  it('a corrupt item fails with a UserError naming the file', async () => {
    const root = path.join(tmp, 'mn-bad');
    makePcdTree(root, { a: [2, 0] });
    writeFileSync(path.join(root, 'a/train/a_0002.pcd'), 'VERSION 0.7\nFIELDS x y z\nPOINTS 5\nDATA ascii\n1 2 3\n');
    const ds = await modelNetTree(root);
    await expect(preprocessDataset(ds, { normalize: 'bbox', normals: 'keep' }, { cacheDir: path.join(tmp, 'cache-bad'), workers: 1 })).rejects.toThrow(
      /a_0002\.pcd.*5 points/,
    );
    await expect(preprocessDataset(ds, { normalize: 'bbox', normals: 'keep' }, { cacheDir: path.join(tmp, 'cache-bad2'), workers: 1 })).rejects.toBeInstanceOf(
      UserError,
    );
  });
});
