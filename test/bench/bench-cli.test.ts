import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBench } from '../../src/bench/format.ts';
import type { BenchReport } from '../../src/bench/run.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function rq3d(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('rq3d bench', () => {
  // the cheapest subset that still exercises every code path of the model bench and the conv bench:
  // LeNet at depths 5 and 6 with and without RQ (prebuilt, inline and pooled batches), matMul peak, conv layer
  const run = rq3d('bench', '--json', '--quick', '--only', 'models,conv', '--models', 'lenet');

  it('prints exactly one JSON object on stdout and its progress on stderr', () => {
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(() => JSON.parse(lines[0]!)).not.toThrow();
    expect(run.stderr).toMatch(/models: lenet_d6 batch 8: train/);
  });

  const r = JSON.parse(run.stdout || '{}') as BenchReport;

  it('records the backend and the machine', () => {
    expect(typeof r.backend).toBe('string');
    expect(r.threads).toBeGreaterThanOrEqual(1);
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(r.machine.cpuModel.length).toBeGreaterThan(0);
    expect(r.machine.loadAverageBefore).toHaveLength(3);
    expect(r.machine.loadAverageAfter).toHaveLength(3);
    expect(r.parts).toEqual(['models', 'conv']);
    expect(r.resnet).toBeUndefined();
    expect(r.octree).toBeUndefined();
  });

  it('has LeNet figures at depth 5 and 6, with and without RQ, all positive and finite', () => {
    expect(Object.keys(r.lenet ?? {}).sort()).toEqual(['d5', 'd5rq', 'd6', 'd6rq']);
    for (const [k, e] of Object.entries(r.lenet!)) {
      expect(positive(e.trainShapesPerSec), k).toBe(true);
      expect(positive(e.fwdShapesPerSec), k).toBe(true);
      expect(positive(e.secondsPerStep), k).toBe(true);
      expect(e.train.runs.every(positive), k).toBe(true);
      expect(e.batch).toBe(8);
      expect(e.nodes).toHaveLength(e.depth + 1);
      expect(e.nodes[0]).toBe(1);
      expect(e.rq !== null).toBe(k.endsWith('rq'));
      // nothing leaks across a case
      expect(e.tensors.after).toBe(e.tensors.before);
    }
    const d5 = r.lenet!.d5!;
    for (const t of [d5.inline, d5.pooled]) {
      expect(t).not.toBeNull();
      expect(positive(t!.shapesPerSec)).toBe(true);
      expect(t!.batchMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('measures RQ on the same shapes: fewer finest nodes, step times on both sides', () => {
    const keys = r.rq!.models.map((q) => q.key).sort();
    expect(keys).toEqual(['lenet_d5', 'lenet_d6']);
    for (const q of r.rq!.models) {
      expect(q.nodesRq[q.depth]!).toBeLessThan(q.nodesPlain[q.depth]!);
      expect(q.leafRatio).toBeGreaterThan(0);
      expect(q.leafRatio).toBeLessThan(1);
      expect(positive(q.secondsPerStepPlain) && positive(q.secondsPerStepRq) && positive(q.trainSpeedup)).toBe(true);
    }
  });

  it('reports the depth-6 LeNet peak memory', () => {
    expect(r.memory).toBeTruthy();
    expect(positive(r.memory!.peakRssMiB)).toBe(true);
    expect(r.memory!.goalMiB).toBe(4096);
  });

  it('has conv rows and the matMul peak', () => {
    expect(r.conv!.length).toBeGreaterThanOrEqual(4);
    for (const c of r.conv!) {
      for (const f of [c.N, c.Cin, c.Cout, c.fwdGflops, c.trainGflops, c.fwdMs, c.trainMs]) expect(positive(f)).toBe(true);
    }
    expect(positive(r.matmulPeakGflops)).toBe(true);
  });

  it('carries the peer yardsticks and prints them beside ours in the table', () => {
    expect(r.peer.models.lenet_d6!.trainShapesPerSec).toBe(28.89);
    expect(r.peer.conv).toHaveLength(4);
    const text = formatBench(r);
    expect(text).toMatch(/lenet_d6rq/);
    expect(text).toMatch(/RQ n=30/);
    expect(text).toMatch(/Conv layer/);
    expect(text).toMatch(/load average before/);
    // stored figures say where they come from: not this machine
    expect(r.peerSource).toMatchObject({ kind: 'stored', machine: 'AMD EPYC (AVX-512), 2 vCPUs', date: '2026-11-26' });
    expect(text).toMatch(/peer: stored figures measured on ANOTHER machine \(AMD EPYC/);
  });

  it('rejects an unknown part with a message and exit code 1', () => {
    const bad = rq3d('bench', '--only', 'models,gpu');
    expect(bad.code).toBe(2); // a bad flag: a usage error (issue 16)
    expect(bad.stderr).toMatch(/--only: unknown 'gpu'/);
  });
});
