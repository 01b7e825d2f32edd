/**
 * `rq3d doctor`: what rq3d will compute with on this machine (backend, threads, SIMD and why), the
 * versions, cores and memory, and a quick 512^3 matMul throughput figure.
 */
import type { Command } from 'commander';
import os from 'node:os';
import type { BackendInfo } from '../backend.ts';
import type { GpuAdapterReport } from '../gpu-adapter.ts';
import type { MatMulResult } from '../bench/matmul.ts';
import { adapterLine } from '../gpu-adapter.ts';
import { checkBackend } from './backend-flag.ts';
import { positiveIntOption } from './options.ts';

export interface DoctorReport {
  backend: string;
  threads: number;
  simd: boolean;
  reason: string;
  /** Which implementation runs rq3d's octree row kernels (gathers, scatter-add, batch norm, pooling). */
  octreeKernels: string;
  versions: BackendInfo['versions'];
  /** The GPU adapter on webgpu: vendor, architecture, and whether it is a software / fallback adapter. */
  adapter?: GpuAdapterReport;
  cores: number;
  cpuModel: string;
  memory: { totalMiB: number; freeMiB: number; processRssMiB: number };
  loadAverage: number[];
  matmul512: Pick<MatMulResult, 'ms' | 'gflops' | 'reps'>;
}

export interface DoctorOptions {
  backend?: string;
  threads?: number;
}

const MIB = 1024 * 1024;

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  // tfjs loads only when the command runs, so the rest of the CLI starts fast
  const { initBackend } = await import('../backend.ts');
  const { timeMatMul } = await import('../bench/matmul.ts');
  const info = await initBackend(opts);
  const mm = await timeMatMul(512, 512, 512, 5);
  const octreeKernels = await octreeKernelsInUse(info.name);
  const cpus = os.cpus();
  return {
    backend: info.name,
    threads: info.threads,
    simd: info.simd,
    reason: info.reason,
    octreeKernels,
    versions: info.versions,
    ...(info.adapter ? { adapter: info.adapter } : {}),
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memory: {
      totalMiB: Math.round(os.totalmem() / MIB),
      freeMiB: Math.round(os.freemem() / MIB),
      processRssMiB: Math.round(process.memoryUsage().rss / MIB),
    },
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    matmul512: { ms: mm.ms, gflops: mm.gflops, reps: mm.reps },
  };
}

/** Runs one tiny gather (the wasm kernels load on first use) and says which implementation ran it. */
async function octreeKernelsInUse(backend: string): Promise<string> {
  const tf = await import('@tensorflow/tfjs');
  const { octGather, kernelRegistered, OCT_GATHER } = await import('../../octree/ops/kernels/index.ts');
  const { heapKernelsStatus } = await import('../../octree/ops/kernels/wasm/index.ts');
  const t = tf.tidy(() => octGather(tf.zeros([1, 1]) as import('@tensorflow/tfjs').Tensor2D, tf.tensor1d([0], 'int32')));
  await t.data();
  t.dispose();
  if (!kernelRegistered(OCT_GATHER)) return 'built-in tfjs ops (reference path)';
  if (backend === 'wasm') return `rq3d WebAssembly kernels ${heapKernelsStatus()}`;
  if (backend === 'webgpu') return 'rq3d WGSL kernels';
  return 'rq3d JS loops';
}

export function formatDoctor(r: DoctorReport): string {
  const rows: Array<[string, string]> = [
    ['backend', r.backend],
    ['threads', String(r.threads)],
    ['SIMD', r.simd ? 'yes' : 'no'],
    ['reason', r.reason],
    ['octree kernels', r.octreeKernels],
    ...(r.adapter ? ([['GPU adapter', adapterLine(r.adapter)]] as Array<[string, string]>) : []),
    ['tfjs', r.versions.tfjs],
    ['node', r.versions.node],
    ['cores', `${r.cores} (${r.cpuModel})`],
    ['memory', `${r.memory.freeMiB} MiB free of ${r.memory.totalMiB} MiB; this process ${r.memory.processRssMiB} MiB`],
    ['load average', r.loadAverage.join(' ')],
    ['matMul 512^3', `${r.matmul512.gflops} GFLOP/s (${r.matmul512.ms} ms, median of ${r.matmul512.reps})`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show the compute backend, threads, SIMD, versions, cores, memory and a quick matMul speed')
    .option('--json', 'print one JSON object')
    .option('--backend <name>', 'backend (auto, wasm, cpu, webgpu, tensorflow, ...); default: RQ3D_BACKEND or auto')
    .option('--threads <n>', 'wasm threads (default: RQ3D_THREADS or 2)', positiveIntOption('--threads'))
    .action(async (o: { json?: boolean; backend?: string; threads?: number }) => {
      if (o.backend !== undefined) await checkBackend(o.backend);
      const report = await runDoctor({ backend: o.backend, threads: o.threads });
      process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatDoctor(report));
    });
}
