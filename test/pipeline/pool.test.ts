import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { syntheticShapes } from '../../src/bench/octree.ts';
import { BatchPipeline, PipelineWorkerError, WorkerPool, type BatchPart, type PipelineBatch } from '../../src/pipeline/index.ts';
import type { PointCloud } from '../../src/data/pointcloud.ts';
import { SPEC, batchArrays, expectSameBatch, repoRoot, sameBits } from './helpers.ts';

const shapes = syntheticShapes(6, 3, 600);
const items = (seed0: number) => shapes.map((cloud, i) => ({ cloud, seed: seed0 + i }));
const pools: WorkerPool[] = [];
const pool = (workers: number, mergeIn: 'worker' | 'main' = 'worker'): WorkerPool => {
  const p = new WorkerPool({ workers, mergeIn });
  pools.push(p);
  return p;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('WorkerPool', () => {
  it('worker threads and the inline path give bit-identical batches (merge in worker and in main)', async () => {
    const inline = await pool(0).prepare(items(100), SPEC);
    const one = await pool(1).prepare(items(100), SPEC);
    const split = await pool(2, 'main').prepare(items(100), SPEC);
    expectSameBatch(inline, one);
    expectSameBatch(inline, split);
    // a batch carries its merged octree, the neighbour tables of every depth and the input features
    expect(inline.octree.batchSize).toBe(6);
    for (let d = 0; d <= SPEC.depth; d++) expect(inline.octree.cache.get(`neigh:${d}`)?.length).toBe(27 * inline.octree.nnum[d]!);
    expect(inline.features!.channels).toBe(4);
    expect(inline.features!.data.length).toBe(4 * inline.octree.nnum[SPEC.depth]!);
    expect(inline.clouds.reduce((s, c) => s + c.points.length / 3, 0)).toBe(inline.octree.pointToLeaf.length);
  });

  it('precomputes the requested conv index variants in the worker and brings them back', async () => {
    const queries = [{ depth: 5 }, { depth: 5, stride: 2 as const }, { depth: 4, nempty: true }];
    const w = await pool(1).prepare(items(9), SPEC, { queries });
    const i = await pool(0).prepare(items(9), SPEC, { queries });
    for (const name of ['nb:5:333:1:0', 'nb:5:333:2:0', 'nb:4:333:1:1']) {
      expect(w.octree.cache.has(name)).toBe(true);
      expect(sameBits(w.octree.cache.get(name)!, i.octree.cache.get(name)!)).toBe(true);
    }
    // the stride-1 all-rows 3x3x3 variant is the full table itself, also after the transfer
    expect(w.octree.cache.get('nb:5:333:1:0')).toBe(w.octree.cache.get('neigh:5'));
  });

  it('same seeds give the same batch, other seeds another one', async () => {
    const p = pool(1);
    const [a, b, c] = await Promise.all([p.prepare(items(1), SPEC), p.prepare(items(1), SPEC), p.prepare(items(2), SPEC)]);
    expectSameBatch(a!, b!);
    const differ = batchArrays(a!).filter(([, x], i) => !sameBits(x, batchArrays(c!)[i]![1]));
    expect(differ.map(([n]) => n)).toContain('points');
  });

  it('an error inside a worker rejects the batch with the worker message, and the pool keeps working', async () => {
    const p = pool(1);
    const empty: PointCloud = { points: new Float32Array(0), normals: new Float32Array(0), labels: null, features: null, featureChannels: 0 };
    const bad = p.prepare(
      [
        { cloud: shapes[0]!, seed: 1 },
        { cloud: empty, seed: 2 },
      ],
      SPEC,
    );
    await expect(bad).rejects.toBeInstanceOf(PipelineWorkerError);
    await expect(bad).rejects.toThrow(/^shape 1 of the batch \(seed 2\): OctreeError: cannot build an octree from an empty point cloud$/);
    const inlineErr = pool(0).prepare([{ cloud: empty, seed: 2 }], SPEC);
    await expect(inlineErr).rejects.toThrow(/cannot build an octree from an empty point cloud/);
    const ok: BatchPart = await p.prepare(items(5).slice(0, 2), SPEC);
    expect(ok.octree.batchSize).toBe(2);
    await expect(p.prepare(items(5), { ...SPEC, features: 'ZZ' })).rejects.toThrow(/features must be ocnn letters/);
  });

  it('rejects requests after close', async () => {
    const p = new WorkerPool({ workers: 1 });
    await p.prepare(items(1).slice(0, 1), SPEC);
    await p.close();
    await expect(p.prepare(items(1), SPEC)).rejects.toThrow(/closed/);
  });
});

describe('BatchPipeline', () => {
  it('yields the batches in order, built ahead of the consumer, identical to building them one by one', async () => {
    const loaded: number[] = [];
    const load = (i: number): PointCloud => {
      loaded.push(i);
      return shapes[i]!;
    };
    const batches = [
      [0, 1],
      [2, 3],
      [4, 5],
      [1, 0],
    ];
    const pipe = new BatchPipeline({ load, batches, spec: SPEC, pool: pool(1), seed: 42, epoch: 3, prefetch: 1 });
    const got: PipelineBatch[] = [];
    for await (const b of pipe) {
      expect(b.indices).toEqual(batches[b.batch]);
      // while batch b is being consumed, batch b+1 has already been requested
      if (b.batch + 1 < batches.length) expect(loaded).toEqual(batches.slice(0, b.batch + 2).flat());
      got.push(b);
    }
    expect(got.map((b) => b.batch)).toEqual([0, 1, 2, 3]);
    // batch 3 holds shapes 1 and 0 of the same epoch: each shape's sample depends on (epoch, index) only
    expect(sameBits(got[3]!.clouds[0]!.points, got[0]!.clouds[1]!.points)).toBe(true);
    const inline = new BatchPipeline({ load: (i) => shapes[i]!, batches, spec: SPEC, pool: pool(0), seed: 42, epoch: 3 });
    let k = 0;
    for await (const b of inline) expectSameBatch(b, got[k++]!);
    const nextEpoch = await new BatchPipeline({ load, batches, spec: SPEC, pool: pool(0), seed: 42, epoch: 4 }).build(0);
    expect(sameBits(nextEpoch.clouds[0]!.points, got[0]!.clouds[0]!.points)).toBe(false);
  });

  it('a failing load or build surfaces when its batch is consumed', async () => {
    const load = async (i: number): Promise<PointCloud> => {
      if (i === 3) throw new Error('cannot read shape 3');
      return shapes[i]!;
    };
    const pipe = new BatchPipeline({ load, batches: [[0], [3], [1]], spec: SPEC, pool: pool(1), seed: 1, prefetch: 2 });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const b of pipe) seen.push(b.batch);
      })(),
    ).rejects.toThrow('cannot read shape 3');
    expect(seen).toEqual([0]);
    const empty: PointCloud = { points: new Float32Array(0), normals: null, labels: null, features: null, featureChannels: 0 };
    const bad = new BatchPipeline({ load: (i) => (i === 9 ? empty : shapes[i]!), batches: [[0, 9]], spec: SPEC, pool: pool(1), seed: 1 });
    await expect(bad.build(0)).rejects.toThrow(/^batch 0 \(dataset indices 0, 9\): shape 1 of the batch \(seed \d+\): OctreeError: cannot build/);
  });
});

describe('worker threads under other launchers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rq3d-pool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const src = (close: boolean): string => `
import { WorkerPool } from ${JSON.stringify(path.join(repoRoot, 'src/pipeline/worker-pool.ts'))};
import { syntheticShapes } from ${JSON.stringify(path.join(repoRoot, 'src/bench/octree.ts'))};
const pool = new WorkerPool({ workers: 2, mergeIn: 'main' });
const shapes = syntheticShapes(3, 1, 300);
const b = await pool.prepare(shapes.map((cloud, i) => ({ cloud, seed: i })),
  { depth: 4, fullDepth: 2, transform: 'midnet', rq: null, features: 'ND', nempty: false });
console.log(JSON.stringify({ nnum: b.octree.nnum, channels: b.features.channels }));
${close ? 'await pool.close();' : "// no close(): idle workers are unref'd, so the process still exits"}
`;
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });

  it('starts and exits under npx tsx (with and without close)', () => {
    for (const close of [true, false]) {
      const file = path.join(dir, `pool-${close}.mts`);
      writeFileSync(file, src(close));
      const r = run('npx', ['tsx', file]);
      expect(r.error, 'the child hung or could not start').toBeUndefined();
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ channels: 4 });
    }
  });

  it('starts and exits under plain node with tsx registered like bin/rq3d.js', () => {
    const ts = path.join(dir, 'pool-bin.mts');
    writeFileSync(ts, src(false));
    const boot = path.join(dir, 'boot.mjs');
    writeFileSync(
      boot,
      `import { register } from ${JSON.stringify(path.join(repoRoot, 'node_modules/tsx/dist/esm/api/index.mjs'))};\nregister();\nawait import(${JSON.stringify(ts)});\n`,
    );
    const r = run(process.execPath, [boot]);
    expect(r.error, 'the child hung or could not start').toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).nnum).toHaveLength(5);
  });
});
