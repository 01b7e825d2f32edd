import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { formatDoctor, registerDoctor, type DoctorReport } from '../../src/cli/doctor.ts';

describe('rq3d doctor', () => {
  it('--json prints exactly one JSON object with the backend, versions, machine and a matMul figure', async () => {
    const program = new Command().exitOverride();
    registerDoctor(program);
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['doctor', '--json', '--backend', 'wasm', '--threads', '1'], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    const text = out.join('');
    expect(text.trim().split('\n')).toHaveLength(1);
    const r = JSON.parse(text) as DoctorReport;
    expect(r.backend).toBe('wasm');
    expect(r.threads).toBe(1);
    expect(r.simd).toBe(true);
    expect(r.reason).toMatch(/wasm requested/);
    // one thread: the unshared heap of the SIMD build, no helper thread for the row loops
    expect(r.octreeKernels).toBe('rq3d WebAssembly kernels on (unshared memory)');
    expect(r.versions.node).toBe(process.versions.node);
    expect(r.cores).toBeGreaterThan(0);
    expect(r.memory.totalMiB).toBeGreaterThan(0);
    expect(r.matmul512.gflops).toBeGreaterThan(0);
    expect(Number.isFinite(r.matmul512.gflops)).toBe(true);
    const human = formatDoctor(r);
    for (const label of ['backend', 'threads', 'SIMD', 'reason', 'octree kernels', 'tfjs', 'node', 'cores', 'memory', 'matMul 512^3']) {
      expect(human).toContain(label);
    }
  });

  it('rejects a bad --threads', async () => {
    const program = new Command().exitOverride();
    registerDoctor(program);
    await expect(program.parseAsync(['doctor', '--threads', 'two'], { from: 'user' })).rejects.toThrow(/--threads/);
  });
});
