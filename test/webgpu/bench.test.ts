import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../../src/bench/run.ts';

// `rq3d bench` end to end on webgpu: the tiny LeNet case (train and forward), the matMul peak and one conv
// layer, on SwiftShader here (the figures mean nothing on a software adapter: they must exist). ResNet and
// the HRNet run the same kernels (test/webgpu/training.test.ts trains the HRNet); SwiftShader takes ~10 s
// per tiny step of each, so they are left out here.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('rq3d bench --backend webgpu', () => {
  const r = spawnSync(
    process.execPath,
    [path.join(repoRoot, 'bin/rq3d.js'), 'bench', '--json', '--tiny', '--only', 'models,conv', '--models', 'lenet', '--backend', 'webgpu'],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 600_000,
    },
  );

  it('runs the tiny LeNet case, the matMul peak and the conv layer on webgpu, without failures', () => {
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as BenchReport;
    expect(report.backend).toBe('webgpu');
    expect(report.backendReason).toMatch(/webgpu requested \(option\)/);
    expect(report.modelFailures ?? []).toEqual([]);
    const entries = Object.values(report.lenet ?? {});
    expect(entries).toHaveLength(1);
    for (const e of entries) {
      expect(e.train.runs.length).toBeGreaterThan(0);
      expect(e.train.runs.every((ms) => ms > 0)).toBe(true);
      expect(Number.isFinite(e.fwdShapesPerSec)).toBe(true);
    }
    expect(report.matmulPeak?.ms).toBeGreaterThan(0);
    expect(report.conv?.[0]?.trainMs).toBeGreaterThan(0);
  });

  it('refuses `--backend webgpu` with one line naming the reason when no adapter can start', () => {
    const bad = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), 'doctor', '--backend', 'webgpu'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' },
    });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toBe('');
    // (Dawn's own Vulkan warnings go to stderr too; rq3d's message is one line)
    const lines = bad.stderr.split('\n').filter((l) => l.includes('--backend webgpu'));
    expect(lines, bad.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^rq3d: --backend webgpu: backend cannot start: no WebGPU adapter found \(VK_ICD_FILENAMES=\/nonexistent\/icd.json\)/);
  });
});
