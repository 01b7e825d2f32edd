import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRETRAIN_PRESETS } from '../../src/train/config.ts';
import { pretrain } from '../../src/train/pretrain.ts';
import { loadShapes } from '../../src/data/sources.ts';
import { finetuneClassifier, trainLinearProbe } from '../../src/downstream/classify.ts';
import { segmentCategory } from '../../src/downstream/segment.ts';
import { HRNET_PRESETS } from '../../src/models/mid-hrnet.ts';
import { Rng } from '../../src/util/rng.ts';
import {
  ADD_RELU,
  CONCAT_COLS,
  L2_NORMALIZE,
  L2_NORMALIZE_GRAD,
  RELU_GRAD,
  SEGMENT_SOFTMAX_CE,
  SEGMENT_SOFTMAX_CE_GRAD,
  SLICE_COLS,
} from '../../octree/ops/index.ts';
import { countKernels, countReadSync, initWebGpu } from '../helpers/webgpu.ts';

// Pretraining, the linear probe, fine-tuning and segmentation end to end on webgpu (SwiftShader on a CPU-only
// machine), each against a cpu run of the same seed. The two differ only in summation order (matMul tiles,
// batch-norm tree sums, the atomic scatter-add), so after a few SGD steps losses agree to LOSS_TOL relative.
process.env.RQ3D_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-cache-'));
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-webgpu-'));
const LOSS_TOL = 1e-3;
const tiny = { ...HRNET_PRESETS.tiny, depth: 5, fullDepth: 2 };

let software = false;
beforeAll(async () => {
  software = (await initWebGpu()).adapter?.software ?? false;
});

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-6, Math.abs(b));

/** The fused row kernels of MID-Net's losses and heads (octree/ops/rows.ts) and their gradients. */
const FUSED = [L2_NORMALIZE, L2_NORMALIZE_GRAD, SEGMENT_SOFTMAX_CE, SEGMENT_SOFTMAX_CE_GRAD, CONCAT_COLS, SLICE_COLS, ADD_RELU, RELU_GRAD];

/** Runs f on cpu, then on webgpu counting synchronous read-backs there; counts the fused kernels run on each. */
async function cpuAndGpu<T>(
  f: () => Promise<T>,
): Promise<{ cpu: T; gpu: T; reads: number; fused: { cpu: Record<string, number>; gpu: Record<string, number> } }> {
  await tf.setBackend('cpu');
  const { result: cpu, counts: cpuCounts } = await countKernels(FUSED, f);
  await tf.setBackend('webgpu');
  let gpu: T | undefined;
  let gpuCounts: Record<string, number> = {};
  const reads = await countReadSync(async () => {
    ({ result: gpu, counts: gpuCounts } = await countKernels(FUSED, f));
  });
  return { cpu, gpu: gpu!, reads, fused: { cpu: cpuCounts, gpu: gpuCounts } };
}

describe('training end to end on webgpu', async () => {
  const shapes = await loadShapes('synth:3', { points: 256, quiet: true, scale: 0.95 });
  const train = shapes.items.flatMap((it, i) => (it.split === 'train' ? [i] : []));
  const test = shapes.items.flatMap((it, i) => (it.split === 'test' ? [i] : []));
  const data = { clouds: shapes.clouds, labels: shapes.items.map((i) => i.label), classes: shapes.classes.length };

  it(`pretrains (tiny MID HRNet, 3 steps): per-step losses equal cpu within ${LOSS_TOL} relative, no synchronous read-back`, async () => {
    const cfg = structuredClone(PRETRAIN_PRESETS.tiny!);
    cfg.optim.epochs = 1;
    const pre = await loadShapes('synth:2', { split: 'train', points: 256, quiet: true });
    const run = async (): Promise<Array<{ loss: number; shapeLoss: number; pointLoss: number }>> => {
      const out = tmp();
      await pretrain(cfg, { out, quiet: true, shapes: pre, maxSteps: 3 });
      return fs
        .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { loss: number; shapeLoss: number; pointLoss: number });
    };
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    let result: Awaited<ReturnType<typeof cpuAndGpu<Awaited<ReturnType<typeof run>>>>>;
    try {
      result = await cpuAndGpu(run);
    } finally {
      process.stderr.write = write;
    }
    const { cpu, gpu, reads, fused } = result;
    expect(reads).toBe(0);
    // webgpu runs the fused kernels (forward and gradient) as often as cpu does: no op fell back to the
    // composed reference path
    for (const k of FUSED) {
      expect(tf.getKernel(k, 'webgpu'), k).toBeDefined();
      expect(fused.gpu[k], k).toBeGreaterThan(0);
      expect(fused.gpu[k], k).toBe(fused.cpu[k]);
    }
    // one line on a software adapter (the process's one initBackend call is webgpu's, so the cpu run warns too)
    const warnings = written.filter((l) => /^warning: training on a software GPU adapter \(/.test(l));
    expect(warnings.length).toBe(software ? 2 : 0);
    expect(gpu).toHaveLength(3);
    for (let s = 0; s < 3; s++) {
      for (const k of ['loss', 'shapeLoss', 'pointLoss'] as const) expect(rel(gpu[s]![k], cpu[s]![k]), `step ${s + 1} ${k}`).toBeLessThan(LOSS_TOL);
    }
  });

  it('fits the linear probe to the same accuracy and weights', async () => {
    const rng = new Rng(2);
    const make = (n: number): { x: Float32Array; y: number[] } => {
      const x = new Float32Array(n * 8),
        y: number[] = [];
      for (let i = 0; i < n; i++) {
        y.push(i % 4);
        for (let d = 0; d < 8; d++) x[i * 8 + d] = rng.normal() * 0.5 + (d === i % 4 ? 1 : 0);
      }
      return { x, y };
    };
    const tr = make(64),
      te = make(64);
    const o = { lr: 0.1, momentum: 0.9, weightDecay: 0, batchSize: 16, steps: 10, decayAt: [0.7], seed: 0 };
    const { cpu, gpu, reads } = await cpuAndGpu(() => trainLinearProbe(tr, te, 8, 4, o));
    expect(reads).toBe(0);
    expect(gpu.oa).toBe(cpu.oa);
    expect(gpu.macc).toBe(cpu.macc);
  });

  it(`fine-tunes a classifier (3 steps): final loss equal cpu within ${LOSS_TOL} relative`, async () => {
    const { cpu, gpu, reads } = await cpuAndGpu(() =>
      finetuneClassifier(tiny, data, train, test, {
        init: 'scratch',
        mode: 'full',
        steps: 3,
        lr: 0.05,
        backboneLrScale: 0.1,
        momentum: 0.9,
        weightDecay: 5e-4,
        batchSize: 4,
        decayAt: [],
        seed: 0,
        workers: 0,
        quiet: true,
      }),
    );
    expect(reads).toBe(0);
    expect(gpu.steps).toBe(3);
    expect(rel(gpu.finalLoss, cpu.finalLoss)).toBeLessThan(LOSS_TOL);
  });

  it(`segments one category (2 steps): same IoUs as cpu within ${LOSS_TOL}`, async () => {
    const c = shapes.classes.indexOf('chair');
    const tr = train.filter((i) => shapes.items[i]!.label === c),
      te = test.filter((i) => shapes.items[i]!.label === c);
    const { cpu, gpu, reads } = await cpuAndGpu(() =>
      segmentCategory(tiny, shapes.clouds, shapes.parts!.chair!.length, tr, te, {
        init: 'scratch',
        mode: 'finetune',
        steps: 2,
        lr: 0.05,
        backboneLrScale: 0.1,
        momentum: 0.9,
        weightDecay: 5e-4,
        batchSize: 2,
        decayAt: [],
        seed: 0,
        workers: 0,
        quiet: true,
        saveDir: tmp(),
        category: 'chair',
        partNames: shapes.parts!.chair,
      }),
    );
    expect(reads).toBe(0);
    expect(gpu.ious).toHaveLength(cpu.ious.length);
    expect(rel(gpu.finalLoss, cpu.finalLoss)).toBeLessThan(LOSS_TOL);
    for (let i = 0; i < cpu.ious.length; i++) expect(Math.abs(gpu.ious[i]! - cpu.ious[i]!)).toBeLessThan(LOSS_TOL);
  });
});
