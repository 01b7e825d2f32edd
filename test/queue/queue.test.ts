import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids, freePort, isRunning, readTree, RedisServer, ROOT, Rq3d, sleep } from './helpers.ts';

/**
 * The job queue end to end, on experiments/smoke-grid.json (synthetic shapes, tiny HRNet, 2 backbones x
 * 2 ratios x 2 seeds): a queued grid gives the local grid's table, summary and plot byte for byte, also when
 * a worker is SIGKILLed mid-cell and when Redis restarts (losing its data) mid-grid; a cell that keeps failing
 * ends as failed and is reported; results under another config are never reused; `rq3d prepare` writes the
 * same cache bytes locally and over the queue. Redis is Debian's redis-server on a free port, no persistence.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-queue-'));
const env = { RQ3D_CACHE: path.join(tmp, 'cache') };
let server: RedisServer;
const workers: Rq3d[] = [];
const REPORT = ['table.md', 'summary.json', 'finetune.svg'];

/** The smoke grid with its pretraining folder shared by every run of this file (pretrained once). */
function smokeConfig(name: string, edit: (c: Record<string, any>) => void = () => undefined): string {
  const c = JSON.parse(fs.readFileSync(path.join(ROOT, 'experiments', 'smoke-grid.json'), 'utf8'));
  c.backbones.mid_rq.out = path.join(tmp, 'pretrain-mid_rq');
  edit(c);
  const file = path.join(tmp, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(c, null, 2));
  return file;
}

function worker(name: string): Rq3d {
  const w = new Rq3d(['worker', '--queue', server.url, '--name', name, '--lock-seconds', '2'], env);
  workers.push(w);
  return w;
}

function submit(config: string, out: string, ...extra: string[]): Rq3d {
  return new Rq3d(['fewshot', '--config', config, '--out', out, '--queue', server.url, ...extra], env);
}

const cellFiles = (out: string): string[] => [...readTree(path.join(out, 'cells')).keys()].sort();
const cell = (out: string, rel: string): Record<string, unknown> => {
  const { seconds: _s, ...rest } = JSON.parse(fs.readFileSync(path.join(out, 'cells', rel), 'utf8')) as Record<string, unknown>;
  return rest;
};
const jobRel = (id: string): string => {
  // cell.finetune_mid_rq_r0.10-s1.<hash> -> finetune/mid_rq/r0.10-s1.json
  const m = /^cell\.(finetune)_(.+)_(r\d\.\d\d-s\d+)\.[0-9a-f]{16}$/.exec(id)!;
  return `${m[1]}/${m[2]}/${m[3]}.json`;
};

const config = smokeConfig('smoke');
const local = path.join(tmp, 'local');

beforeAll(async () => {
  server = new RedisServer(await freePort());
  await server.start();
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(2000)));
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('rq3d fewshot --queue', () => {
  it('runs the smoke grid locally (the reference for the queued runs)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'rq3d.js'), 'fewshot', '--config', config, '--out', local, '--quiet'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(cellFiles(local)).toHaveLength(8);
  });

  const queued = path.join(tmp, 'queued');
  it('a worker SIGKILLed mid-cell: another worker retries the cell, one result is kept, the report equals the local one', async () => {
    const a = worker('wA');
    const b = worker('wB');
    await Promise.all([a.waitFor(/waiting for jobs/), b.waitFor(/waiting for jobs/)]);
    const s = submit(config, queued);
    const [, id] = await a.waitFor(/started cell (\S+)/);
    // the worker process alone dies (as when the kernel kills it), not its sandboxed child. BullMQ logs 'active'
    // before it forks the child (after an await), so on a loaded machine the child can appear a little later
    let children = childPids(a.proc.pid!);
    for (const deadline = Date.now() + 20_000; children.length === 0 && Date.now() < deadline; children = childPids(a.proc.pid!)) await sleep(50);
    expect(children.length).toBeGreaterThan(0);
    a.killLeader('SIGKILL');
    expect(await s.exited, s.output).toBe(0);
    // the killed worker's cell was taken over by the other worker after its lock expired
    expect(b.output).toContain(`started cell ${id}`);
    expect(b.output).toContain(`finished cell ${id}`);
    // the orphaned child noticed and exited instead of computing on
    expect(children.filter(isRunning)).toEqual([]);
    const conn = new Redis(server.url, { maxRetriesPerRequest: null });
    const q = new Queue('rq3d', { connection: conn });
    const job = await q.getJob(id!);
    expect([await job!.getState(), job!.processedBy]).toEqual(['completed', 'wB']);
    await q.close();
    conn.disconnect();
    expect(cellFiles(queued)).toEqual(cellFiles(local));
    expect(fs.readdirSync(path.join(queued, 'cells', 'finetune', 'mid_rq')).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(cell(queued, jobRel(id!))).toEqual(cell(local, jobRel(id!)));
    for (const f of REPORT) expect(fs.readFileSync(path.join(queued, f)), f).toEqual(fs.readFileSync(path.join(local, f)));
    // progress: cells done / running / failed
    expect(s.output).toMatch(/grid smoke-grid 8\/8 cells .*running=0 failed=0/);
  });

  it('re-submitting is idempotent: a lost result file comes back from the finished job, with no worker running', async () => {
    await Promise.all(workers.map((w) => w.stop(2000)));
    const conn = new Redis(server.url, { maxRetriesPerRequest: null });
    const q = new Queue('rq3d', { connection: conn });
    const before = await q.getJobCounts();
    const rel = 'finetune/scratch/r1.00-s1.json';
    const kept = fs.readFileSync(path.join(queued, 'cells', rel));
    fs.rmSync(path.join(queued, 'cells', rel));
    const s = submit(config, queued, '--quiet');
    expect(await s.exited, s.output).toBe(0);
    expect(fs.readFileSync(path.join(queued, 'cells', rel))).toEqual(kept);
    expect(await q.getJobCounts()).toEqual(before);
    await q.close();
    conn.disconnect();
  });

  it('never reuses a result computed under another config (the job id carries the config hash)', async () => {
    const w = worker('wC');
    const rel = 'finetune/scratch/r1.00-s0.json';
    const old = cell(queued, rel);
    const changed = smokeConfig('smoke-changed', (c) => {
      c.finetune.baseSteps = 10;
      c.finetune.minSteps = 10;
    });
    const s = submit(changed, queued, '--backbones', 'scratch', '--ratios', '1', '--seeds', '0', '--quiet');
    expect(await s.exited, s.output).toBe(0);
    const now = cell(queued, rel);
    expect(now.steps).toBe(10);
    expect(old.steps).toBe(12);
    expect(now.configHash).not.toBe(old.configHash);
    expect(w.output).toMatch(new RegExp(`started cell cell\\.finetune_scratch_r1\\.00-s0\\.${now.configHash as string}`));
    // the old config's cell is stale for the old config's next run too: it is computed again, not taken from the new file
    const again = submit(config, queued, '--backbones', 'scratch', '--ratios', '1', '--seeds', '0', '--quiet');
    expect(await again.exited, again.output).toBe(0);
    expect(cell(queued, rel)).toEqual(old);
  });

  it('Redis restarted mid-grid (losing its data): workers and submitter reconnect and the grid finishes', async () => {
    const w = workers.find((x) => x.alive)!;
    const out = path.join(tmp, 'restart');
    // other seeds: cells no earlier test has run (the same cells would come straight from their finished jobs)
    const seeds = smokeConfig('smoke-seeds', (c) => {
      c.seeds = [5, 6];
    });
    const from = w.output.length;
    const s = submit(seeds, out, '--backbones', 'scratch');
    // Redis goes down while the worker is on its second cell of this grid
    await w.waitFor(/finished cell[^]*started cell/, 60_000, from);
    await server.stop();
    await sleep(1500);
    await server.start();
    expect(await s.exited, s.output).toBe(0);
    expect(w.output.slice(from)).toContain('reconnected to Redis');
    // the restarted Redis had no data: the submitter put the unfinished cells in again
    expect(s.output, `${s.output}\n---\n${w.output}`).toMatch(/Redis no longer had \d unfinished cells .*: submitted them again/);
    expect(cellFiles(out)).toEqual([
      'finetune/scratch/r0.10-s5.json',
      'finetune/scratch/r0.10-s6.json',
      'finetune/scratch/r1.00-s5.json',
      'finetune/scratch/r1.00-s6.json',
    ]);
  });

  it('a cell that keeps failing ends as failed with its error after N attempts; the others finish; the report lists it', async () => {
    // a backbone whose checkpoint is damaged (weights.bin cut short): bad data for every cell that uses it
    const bad = path.join(tmp, 'bad-checkpoint');
    fs.cpSync(path.join(tmp, 'pretrain-mid_rq', 'checkpoint'), bad, { recursive: true });
    const weights = path.join(bad, 'weights.bin');
    fs.truncateSync(weights, Math.floor(fs.statSync(weights).size / 2));
    const cfgFile = smokeConfig('smoke-bad', (c) => {
      c.backbones = { scratch: { from: 'scratch' }, bad: { checkpoint: bad } };
    });
    const out = path.join(tmp, 'failing');
    const s = submit(cfgFile, out, '--ratios', '0.1', '--attempts', '2');
    expect(await s.exited).toBe(1);
    const lastLine = s.output.trim().split('\n').pop()!;
    expect(lastLine).toMatch(/^rq3d: 2 cells failed after 2 attempts .*truncated/);
    expect(cellFiles(out)).toEqual(['finetune/scratch/r0.10-s0.json', 'finetune/scratch/r0.10-s1.json']);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as { failed: Array<{ cell: string; error: string; attempts: number }> };
    expect(summary.failed.map((f) => f.cell).sort()).toEqual(['finetune/bad/r0.10-s0', 'finetune/bad/r0.10-s1']);
    for (const f of summary.failed) {
      expect(f.attempts).toBe(2);
      expect(f.error).toMatch(/weights\.bin: truncated/);
    }
    const table = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(table).toContain('## Failed cells');
    expect(table).toContain('`finetune/bad/r0.10-s0` (2 attempts)');
  });

  it('user errors are one line naming --queue, within seconds', async () => {
    const closed = await freePort();
    const cases: Array<[string[], RegExp]> = [
      [
        ['fewshot', '--config', config, '--out', path.join(tmp, 'err'), '--queue', 'http://127.0.0.1:1'],
        /^rq3d: --queue http:\/\/127\.0\.0\.1:1\/?: the scheme must be redis:\/\/ or rediss:\/\//,
      ],
      [
        ['fewshot', '--config', config, '--out', path.join(tmp, 'err'), '--queue', `redis://127.0.0.1:${closed}`],
        /^rq3d: --queue redis:\/\/127\.0\.0\.1:\d+\/?: cannot reach Redis \(.*\); start redis-server/,
      ],
      [['worker', '--queue', `redis://:secret@127.0.0.1:${closed}/0`], /^rq3d: --queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: cannot reach Redis/],
      [['prepare', '--data', tmp, '--queue', 'redis://127.0.0.1:6379/x'], /^rq3d: --queue .*: the path must be a database number/],
    ];
    // the four commands run at once; each must end by itself (a reconnect loop would hang it)
    const runs = cases.map(([args]) => new Rq3d(args, env));
    const t = setTimeout(() => runs.forEach((r) => r.kill('SIGKILL')), 30_000);
    const codes = await Promise.all(runs.map((r) => r.exited));
    clearTimeout(t);
    cases.forEach(([, re], i) => {
      expect(codes[i], runs[i]!.output).toBe(1);
      expect(runs[i]!.output.trim().split('\n')).toHaveLength(1);
      expect(runs[i]!.output).toMatch(re);
    });
  });
});

describe('rq3d prepare', () => {
  it('writes the same cache bytes with worker threads and over the queue', async () => {
    const data = path.join(tmp, 'data');
    const bin = path.join(ROOT, 'bin', 'rq3d.js');
    expect(spawnSync(process.execPath, [bin, 'synth', '--out', data, '--per-class', '5', '--points', '700'], { cwd: ROOT, encoding: 'utf8' }).status).toBe(0);
    const threads = spawnSync(process.execPath, [bin, 'prepare', '--data', data, '--config', 'tiny', '--workers', '2', '--json'], {
      cwd: ROOT,
      env: { ...process.env, RQ3D_CACHE: path.join(tmp, 'prep-threads') },
      encoding: 'utf8',
    });
    expect(threads.status, threads.stderr).toBe(0);
    if (!workers.some((w) => w.alive)) worker('wP');
    const q = new Rq3d(['prepare', '--data', data, '--config', 'tiny', '--queue', server.url, '--shard-size', '7', '--json'], {
      RQ3D_CACHE: path.join(tmp, 'prep-queue'),
    });
    expect(await q.exited, q.output).toBe(0);
    const a = readTree(path.join(tmp, 'prep-threads'));
    const b = readTree(path.join(tmp, 'prep-queue'));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    // 50 shapes, spec.json and one cluster file
    expect(a.size).toBe(52);
    for (const [k, v] of a) expect(b.get(k)!.equals(v), k).toBe(true);
    const r = JSON.parse(q.output.trim().split('\n').pop()!) as { shards: number; computed: number; train: number };
    expect(r).toMatchObject({ shards: 8, computed: 50, train: 40 });
  });
});
