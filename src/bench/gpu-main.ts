/**
 * The GPU speed run (scripts/gpu-bench): rq3d on webgpu on a GPU machine, bundled into one file with tfjs and
 * tfjs-backend-webgpu (the `webgpu` package's dawn.node beside it). Prints one JSON object on stdout:
 * matMul TFLOP/s, the conv-layer table and train / forward shapes/s of LeNet, ResNet and the MID HRNet (cpu and
 * paper presets) at batch 32, on the same synthetic inputs `--export DIR` writes for ocnn-pytorch
 * (scripts/gpu-bench/ocnn_gpu.py). Progress goes to stderr.
 *
 *   node bench.mjs [--tiny] [--reps N] [--only matmul,conv,models]   time (an explicit webgpu: no fallback)
 *   node bench.mjs --export DIR                                        write the inputs: {plain,rq30}.bin, table_<n>.bin
 *
 * --tiny: the smallest cases (a software adapter such as SwiftShader runs them in about a minute).
 */
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../backend.ts';
import { prepareSample, sampleSeed, type SampleSpec } from '../pipeline/sample.ts';
import { DEFAULT_CONV_CASES, runConvBench } from './conv-layer.ts';
import { timeMatMul } from './matmul.ts';
import { caseKey, runModelBench, tinyModelCases, type ModelCase } from './whole-model.ts';
import { syntheticShapes } from './octree.ts';
import { sphereShellTable } from './sphere-shell.ts';

const PARTS = ['matmul', 'conv', 'models'] as const;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The inputs the peer reads (the layout of shared/peer: per cloud int32 n, float32 xyz[3n], normals[3n]). */
function exportInputs(dir: string, tiny: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  const shapes = syntheticShapes(tiny ? 2 : 32, 1, 3000);
  for (const rq of [false, true]) {
    const spec: SampleSpec = {
      depth: 6,
      fullDepth: 2,
      transform: 'none',
      rq: rq ? { bins: 30, variant: 'random-random', p: 1 } : null,
      features: 'ND',
      nempty: false,
    };
    const parts: Buffer[] = [];
    shapes.forEach((cloud, i) => {
      const s = prepareSample(cloud, spec, sampleSeed(1, 0, i));
      const pts = s.points.points,
        nrm = s.points.normals!;
      const n = pts.length / 3;
      const head = Buffer.alloc(4);
      head.writeInt32LE(n);
      parts.push(head, Buffer.from(pts.buffer, pts.byteOffset, 12 * n), Buffer.from(nrm.buffer, nrm.byteOffset, 12 * n));
    });
    fs.writeFileSync(path.join(dir, `${rq ? 'rq30' : 'plain'}.bin`), Buffer.concat(parts));
  }
  for (const c of tiny ? [{ n: 256 }] : DEFAULT_CONV_CASES) {
    const t = sphereShellTable(c.n).idx;
    fs.writeFileSync(path.join(dir, `table_${c.n}.bin`), Buffer.from(t.buffer, t.byteOffset, t.byteLength));
  }
  process.stderr.write(`inputs written to ${dir}\n`);
}

/** LeNet and ResNet at depths 5 and 6, the MID HRNet's cpu preset (depth 5) and the paper's (depth 6), batch 32. */
function gpuModelCases(): ModelCase[] {
  const c = (model: ModelCase['model'], depth: number, preset?: ModelCase['preset']): ModelCase => ({
    model,
    depth,
    batch: 32,
    rq: false,
    pipeline: false,
    memory: false,
    ...(preset ? { preset } : {}),
  });
  return [c('lenet', 5), c('lenet', 6), c('resnet', 5), c('resnet', 6), c('hrnet', 5, 'cpu'), c('hrnet', 6, 'paper')];
}

async function main(): Promise<void> {
  const tiny = process.argv.includes('--tiny');
  const exportDir = arg('--export');
  if (exportDir) return exportInputs(exportDir, tiny);
  const only = (arg('--only') ?? PARTS.join(',')).split(',');
  const reps = Number(arg('--reps') ?? (tiny ? 1 : 5));
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const t0 = performance.now();
  const info = await initBackend({ backend: 'webgpu' });
  log(`gpu-bench: ${info.reason}`);
  const report: Record<string, unknown> = {
    backend: info.name,
    reason: info.reason,
    adapter: info.adapter,
    tiny,
    reps,
    node: process.versions.node,
    tfjs: info.versions.tfjs,
  };
  if (only.includes('matmul')) {
    const rows = [];
    for (const n of tiny ? [64] : [1024, 2048, 4096]) {
      const r = await timeMatMul(n, n, n, reps);
      rows.push({ n, ms: r.ms, tflops: Math.round(((2 * n ** 3) / (r.ms * 1e9)) * 1e6) / 1e6 });
      log(`matmul ${n}^3: ${r.ms} ms, ${rows[rows.length - 1]!.tflops} TFLOP/s (read-back included)`);
    }
    report.matmul = rows;
  }
  if (only.includes('conv')) {
    const cases = tiny ? [{ n: 256, cin: 8, cout: 8 }] : [...DEFAULT_CONV_CASES];
    const rows = await runConvBench({ cases, variants: ['fused'], reps });
    for (const r of rows) log(`conv N=${r.n} ${r.cin}->${r.cout}: fwd ${r.fwdMs} ms, fwd+bwd ${r.fwdBwdMs} ms`);
    report.conv = rows;
  }
  if (only.includes('models')) {
    const cases = tiny ? tinyModelCases() : gpuModelCases();
    const r = await runModelBench({ cases, reps, warmup: tiny ? 1 : 2, log, isolate: false });
    report.models = r.entries.map((e) => ({
      key: e.key,
      batch: e.batch,
      params: e.params,
      trainShapesPerSec: e.trainShapesPerSec,
      fwdShapesPerSec: e.fwdShapesPerSec,
      train: e.train,
      fwd: e.fwd,
      nodes: e.nodes,
    }));
    report.modelFailures = r.failures;
    report.caseKeys = cases.map(caseKey);
  }
  report.seconds = Math.round((performance.now() - t0) / 100) / 10;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`gpu-bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
