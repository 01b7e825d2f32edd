import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adapterLine, describeAdapter } from '../../src/gpu-adapter.ts';
import type { DoctorReport } from '../../src/cli/doctor.ts';
import { initWebGpu } from '../helpers/webgpu.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const limits = { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30 };

describe('the webgpu backend and its adapter', () => {
  it('starts on the adapter this machine has and says whether it is software (SwiftShader here)', async () => {
    const info = await initWebGpu();
    expect(info.adapter).toBeDefined();
    if (/swiftshader/i.test(info.adapter!.architecture)) {
      expect(info.adapter!.software).toBe(true);
      expect(info.reason).toMatch(/webgpu requested \(option\): google swiftshader .*software/);
    }
  });

  it('tells hardware from software adapters (auto never picks a software one)', () => {
    const nvidia = describeAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200', isFallbackAdapter: false }, limits });
    expect(nvidia.software).toBe(false);
    expect(adapterLine(nvidia)).toBe('nvidia hopper (NVIDIA H200; hardware)');
    for (const a of [
      { info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true }, limits },
      { info: { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, limits },
      { isFallbackAdapter: true, limits },
    ])
      expect(describeAdapter(a).software).toBe(true);
  });

  it('rq3d doctor --backend webgpu names the adapter and the WGSL kernels', () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/rq3d.js'), 'doctor', '--json', '--backend', 'webgpu'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as DoctorReport;
    expect(d.backend).toBe('webgpu');
    expect(d.octreeKernels).toBe('rq3d WGSL kernels');
    expect(typeof d.adapter?.vendor).toBe('string');
    expect(typeof d.adapter?.software).toBe('boolean');
    expect(d.matmul512.gflops).toBeGreaterThan(0);
  });
});
