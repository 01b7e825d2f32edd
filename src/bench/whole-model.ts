/**
 * Whole-model benchmarks on the inputs of shared/reference/peer-ocnn.md: batches of synthetic closed
 * surfaces (~3,000 points with normals, src/bench/octree.ts), full depth 2, input 'ND', all nodes.
 *
 * For each case (model x depth x RQ on/off) it times, as medians of `reps` steps after `warmup` steps:
 *  - train: forward + loss + backward + SGD-momentum step, octrees prebuilt (the peer's protocol);
 *  - fwd: forward in inference mode, octrees prebuilt;
 *  - inline (optional): the train step with the batch built in the same thread before each step;
 *  - pooled (optional): the train step with batches built by a WorkerPool (1 worker, prefetch 1), timed
 *    from the end of one step to the end of the next, so it includes any wait for the batch.
 * RQ's effect is measured on the same shapes: mean non-empty nodes per depth and step times with and
 * without RQ n=30 ('random-random') applied to the raw shapes before their octrees are built.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../../octree/index.ts';
import { backendInfo } from '../backend.ts';
import type { PointCloud } from '../data/pointcloud.ts';
import { OctreeLeNet } from '../models/lenet.ts';
import { OctreeResNet } from '../models/resnet.ts';
import { HRNET_PRESETS, MidHRNet, type HRNetConfig } from '../models/mid-hrnet.ts';
import type { Params } from '../models/params.ts';
import { buildPart, finishBatch } from '../pipeline/assemble.ts';
import { BatchPipeline } from '../pipeline/batch-pipeline.ts';
import { sampleSeed, type SampleSpec } from '../pipeline/sample.ts';
import type { WorkerPoolOptions } from '../pipeline/worker-pool.ts';
import { MemoryBank } from '../ssl/memory-bank.ts';
import { midLosses } from '../ssl/mid-loss.ts';
import { train, trainableVariables, type BatchSource, type StepTask, type TrainerHook } from '../train/trainer.ts';
import { SgdMomentum } from '../train/sgd.ts';
import { variableGrads } from '../train/tape-grads.ts';
import { syntheticShapes } from './octree.ts';
import { STORED_PEER, peerFiguresFor, type PeerModelFigures, type PeerSource } from './peer.ts';
import { median, round } from './timing.ts';

export type BenchModel = 'lenet' | 'resnet' | 'hrnet';

export interface ModelCase {
  model: BenchModel;
  depth: number;
  batch: number;
  rq: boolean;
  /** Also time the train step with the batch built inline and by the worker pool. */
  pipeline: boolean;
  /** Record peak memory (RSS samples and VmHWM, reset before the case when the kernel allows it). */
  memory: boolean;
  /** The HRNet preset (default 'cpu'; 'paper' is MID-Net's full width, for GPU benches). */
  preset?: 'cpu' | 'paper' | 'tiny';
}

/** Peak memory of one case. */
export interface MemoryPeak {
  /** Largest process.memoryUsage().rss seen between steps of the case. */
  peakRssMiB: number;
  /** VmHWM of /proc/self/status after the case (null when unreadable). */
  vmHwmMiB: number | null;
  /** True when VmHWM was reset before the case (/proc/self/clear_refs), i.e. it is this case's own peak;
   * false: it is the process's peak so far (earlier cases included). */
  vmHwmResetBeforeCase: boolean;
  /** tfjs's own count of bytes held by tensors after the case, and the wasm heap size. */
  tfjsBytes: number;
  wasmHeapMiB: number | null;
}

export interface StepTiming {
  /** Median ms of one step and the shapes/s it implies. */
  ms: number;
  shapesPerSec: number;
  /** Every timed run (ms), in order. */
  runs: number[];
}

export interface PipelineTiming extends StepTiming {
  /** Mean ms per step spent building the batch (inline) or waiting for it (pooled). */
  batchMs: number;
}

export interface ModelBenchEntry {
  key: string;
  model: BenchModel;
  /** The model as constructed (for the record). */
  config: string;
  depth: number;
  fullDepth: number;
  batch: number;
  points: number;
  rq: { bins: number; variant: 'random-random' } | null;
  params: number;
  /** Mean non-empty nodes per shape at depths 0..D of the timed batch. */
  nodes: number[];
  /** Rows (all nodes, empty included) of the merged batch per depth. */
  rows: number[];
  trainShapesPerSec: number;
  fwdShapesPerSec: number;
  /** Median seconds per train step (prebuilt octrees). */
  secondsPerStep: number;
  train: StepTiming;
  fwd: StepTiming;
  inline: PipelineTiming | null;
  pooled: PipelineTiming | null;
  memory: MemoryPeak | null;
  /** Live tfjs tensors before and after the case (equal: nothing leaked). */
  tensors: { before: number; after: number };
  peer: PeerModelFigures | null;
  /** ours / peer (train, fwd); null without a peer figure. */
  vsPeer: { train: number; fwd: number; trainVsTunedAlloc: number | null } | null;
}

/** RQ's measured effect on one model and depth: the same shapes with and without RQ n=30. */
export interface RqEffect {
  key: string;
  model: BenchModel;
  depth: number;
  nodesPlain: number[];
  nodesRq: number[];
  /** Finest-depth non-empty nodes with RQ / without. */
  leafRatio: number;
  secondsPerStepPlain: number;
  secondsPerStepRq: number;
  /** Train step speed-up from RQ (plain seconds / RQ seconds) and the forward one. */
  trainSpeedup: number;
  fwdSpeedup: number;
  /** The peer's train speed-up for the same model and depth, when measured there. */
  peerTrainSpeedup: number | null;
}

export interface ModelBenchOptions {
  cases?: ModelCase[];
  points?: number;
  fullDepth?: number;
  reps?: number;
  warmup?: number;
  seed?: number;
  /** A progress line per case (the CLI sends it to stderr). */
  log?: (line: string) => void;
  /** Run each case in a child process of its own (see model-case-main.ts); default false. */
  isolate?: boolean;
  /** With isolate: a case still running after this many seconds is killed and recorded as failed (default 1200). */
  caseTimeoutSec?: number;
  /** The peer figures to compare with (default: the stored ones, measured on another machine). */
  peer?: PeerSource;
}

/** The settings every case of a run shares. */
export interface CaseSettings {
  points: number;
  fullDepth: number;
  reps: number;
  warmup: number;
  seed: number;
}

export interface ModelBenchResult {
  backend: string;
  reps: number;
  warmup: number;
  points: number;
  fullDepth: number;
  entries: ModelBenchEntry[];
  /** Cases that failed (e.g. the wasm heap ran out), with the error. */
  failures: Array<{ key: string; batch: number; error: string }>;
  isolated: boolean;
  rq: RqEffect[];
}

export const CLASSES = 40;
export const RQ = { bins: 30, variant: 'random-random' as const };
/** MID-Net pretraining's k-means clusters per shape in the cpu preset; here spatial cells stand in. */
export const HRNET_CLUSTERS = 50;

export function caseKey(c: Pick<ModelCase, 'model' | 'depth' | 'rq' | 'preset'>): string {
  return `${c.model}${c.preset && c.preset !== 'cpu' ? `_${c.preset}` : ''}_d${c.depth}${c.rq ? 'rq' : ''}`;
}

/**
 * A correctness smoke run for slow backends (a software GPU adapter): each model at its smallest depth,
 * batch 2 (the figures mean nothing).
 */
export function tinyModelCases(): ModelCase[] {
  const c = (model: BenchModel, depth: number): ModelCase => ({ model, depth, batch: 2, rq: false, pipeline: false, memory: false });
  return [c('lenet', 4), c('resnet', 4), { ...c('hrnet', 5), preset: 'tiny' }];
}

/** The full bench: LeNet and ResNet at depths 5 and 6 with and without RQ, the cpu-preset HRNet at its depth (batch 16). */
export function defaultModelCases(quick = false): ModelCase[] {
  const B = quick ? 8 : 32;
  const cases: ModelCase[] = [];
  const lenet = (depth: number, rq: boolean, pipeline: boolean, memory = false): ModelCase => ({ model: 'lenet', depth, batch: B, rq, pipeline, memory });
  // depth 6 first so its memory figure is not raised by anything earlier in this bench
  cases.push(lenet(6, false, !quick, true), lenet(6, true, !quick), lenet(5, false, true), lenet(5, true, !quick));
  for (const depth of quick ? [5] : [5, 6])
    for (const rq of [false, true]) cases.push({ model: 'resnet', depth, batch: B, rq, pipeline: false, memory: false });
  const hd = HRNET_PRESETS.cpu.depth;
  // batch 16, not the preset's 32: on 3,000-point shapes the step needs ~125 MiB of wasm heap per shape, and
  // batch 32 overflows the 4 GiB wasm32 heap (docs/performance.md)
  for (const rq of [false, true]) cases.push({ model: 'hrnet', depth: hd, batch: quick ? 4 : 16, rq, pipeline: false, memory: false });
  return cases;
}

/** One bench network: its parameters, its train loss and inference forward (also used by kernel-ab-main.ts). */
export interface Net {
  params: Params;
  config: string;
  /** The scalar loss of a training forward (inside variableGrads). */
  loss(x: tf.Tensor2D, octree: Octree, step: number): tf.Scalar;
  /** An inference forward; returns what would be read back. */
  infer(x: tf.Tensor2D, octree: Octree): tf.Tensor[];
  dispose(): void;
}

export function makeNet(c: ModelCase, seed: number): Net {
  const labels = (b: number): tf.Tensor2D =>
    tf.oneHot(
      tf.tensor1d(
        Int32Array.from({ length: b }, (_, i) => (i * 7) % CLASSES),
        'int32',
      ),
      CLASSES,
    ) as tf.Tensor2D;
  if (c.model === 'lenet' || c.model === 'resnet') {
    const m = c.model === 'lenet' ? new OctreeLeNet(4, CLASSES, c.depth, seed) : new OctreeResNet(4, CLASSES, c.depth, { resblocks: 2, seed });
    return {
      params: m.params,
      config: c.model === 'lenet' ? `OctreeLeNet(4, ${CLASSES}, ${c.depth})` : `OctreeResNet(4, ${CLASSES}, ${c.depth}, {resblocks: 2})`,
      loss: (x, o, step) => tf.losses.softmaxCrossEntropy(labels(o.batchSize), m.forward(x, o, { training: true, dropoutSeed: step })) as tf.Scalar,
      infer: (x, o) => [m.forward(x, o, { training: false })],
      dispose: () => m.params.dispose(),
    };
  }
  const preset = c.preset ?? 'cpu';
  const cfg: HRNetConfig = { ...HRNET_PRESETS[preset], depth: c.depth };
  const m = new MidHRNet(cfg, seed);
  // fixed banks sized to the batch: the loss has MID-Net's shape (both heads against banks), the bank update is left out
  const shapeBank = new MemoryBank(c.batch, cfg.projection, `${seed}/shape-bank`);
  const pointBank = new MemoryBank(c.batch * HRNET_CLUSTERS, cfg.pointOut, `${seed}/point-bank`);
  return {
    params: m.params,
    config: `MidHRNet(HRNET_PRESETS.${preset}${c.depth === HRNET_PRESETS[preset].depth ? '' : `, depth ${c.depth}`}) + shape and point heads, MID losses`,
    loss: (x, o) => {
      const ctx = { training: true };
      const bb = m.backbone(x, o, ctx);
      // the extra outputs (f, g, logits) are disposed with the rest of the tape by variableGrads
      return midLosses(m.shapeHead(bb, o, ctx).fc2, m.pointHead(bb, o, ctx).out, hrnetTargets(o, c.depth), shapeBank, pointBank).loss;
    },
    infer: (x, o) => {
      const ctx = { training: false };
      const bb = m.backbone(x, o, ctx);
      return [m.shapeHead(bb, o, ctx).fc2, m.pointHead(bb, o, ctx).out];
    },
    dispose: () => m.dispose(),
  };
}

function hrnetTargets(o: Octree, depth: number): { ids: Int32Array; nodeLabels: Int32Array; nodeShape: Int32Array; clusters: number } {
  return {
    ids: Int32Array.from({ length: o.batchSize }, (_, i) => i),
    nodeLabels: o.labels ?? new Int32Array(o.nnumNempty[depth]!).fill(-1),
    nodeShape: o.batchIdNempty(depth),
    clusters: HRNET_CLUSTERS,
  };
}

/** Per-point cluster ids for the HRNet's point loss: a 4x4x4 grid over the box, folded into 50 ids. */
/**
 * One train step of the model bench outside its loop, for the in-process scripts (kernel-ab-main.ts,
 * step-heap-main.ts): the bench's batch of synthetic 3,000-point shapes (grid part labels for the HRNet's
 * point loss), the net, SGD with momentum; `step` runs one step with the given gradient function (default
 * rq3d's tape-releasing one) and resolves after its read-back, every tensor it made disposed.
 */
export function benchTrainStep(c: ModelCase): {
  batch: Batch;
  net: Net;
  step: (grads?: typeof variableGrads) => Promise<void>;
} {
  const shapes = syntheticShapes(c.batch, 1, 3000);
  const batch = buildBatch(c.model === 'hrnet' ? shapes.map(withGridLabels) : shapes, specOf(c, 2), 1, 0);
  const net = makeNet(c, 1);
  const opt = new SgdMomentum(0.9, 5e-4);
  const trainable = trainableVariables(net.params);
  opt.init(trainable);
  let s = 0;
  const step = async (grads: typeof variableGrads = variableGrads): Promise<void> => {
    const o = batch.octree;
    const x = tf.tensor2d(batch.features.data, [o.nnum[c.depth]!, batch.features.channels]);
    const { value, grads: g } = grads(() => net.loss(x, o, s++), [...trainable.values()]);
    opt.apply(trainable, g, 0.01);
    await value.data();
    tf.dispose([x, value, ...Object.values(g)]);
  };
  return { batch, net, step };
}

export function withGridLabels(pc: PointCloud): PointCloud {
  const n = pc.points.length / 3;
  const labels = new Int32Array(n);
  const cell = (v: number): number => Math.min(3, Math.max(0, Math.floor((v + 1) * 2)));
  for (let i = 0; i < n; i++) labels[i] = (16 * cell(pc.points[3 * i]!) + 4 * cell(pc.points[3 * i + 1]!) + cell(pc.points[3 * i + 2]!)) % HRNET_CLUSTERS;
  return { ...pc, labels };
}

export interface Batch {
  octree: Octree;
  features: { data: Float32Array; channels: number };
}

export function specOf(c: ModelCase, fullDepth: number): SampleSpec {
  // transform 'none': the peer builds octrees of the raw shapes; RQ (when on) acts on them directly
  return { depth: c.depth, fullDepth, transform: 'none', rq: c.rq ? { ...RQ, p: 1 } : null, features: 'ND', nempty: false };
}

export function buildBatch(shapes: readonly PointCloud[], spec: SampleSpec, seed: number, epoch: number): Batch {
  const part = finishBatch(
    buildPart(
      shapes.map((cloud, i) => ({ cloud, seed: sampleSeed(seed, epoch, i) })),
      spec,
    ),
    spec,
  );
  return { octree: part.octree, features: part.features! };
}

/** Peak-memory probe: RSS sampled between steps; VmHWM from /proc, reset when the kernel lets us. */
class MemoryProbe {
  peakRss = 0;
  readonly reset: boolean;
  constructor() {
    this.reset = resetHighWaterMark();
    this.sample();
  }
  sample(): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss);
  }
  result(): MemoryPeak {
    this.sample();
    const heap = wasmHeapBytes();
    return {
      peakRssMiB: round(this.peakRss / 2 ** 20, 1),
      vmHwmMiB: vmHwmBytes() === null ? null : round(vmHwmBytes()! / 2 ** 20, 1),
      vmHwmResetBeforeCase: this.reset,
      tfjsBytes: tf.memory().numBytes,
      wasmHeapMiB: heap === null ? null : round(heap / 2 ** 20, 1),
    };
  }
}

/** VmHWM (peak resident set) of this process in bytes, or null off Linux. */
export function vmHwmBytes(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0). */
function resetHighWaterMark(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function benchCase(c: ModelCase, shapes: readonly PointCloud[], opts: CaseSettings): Promise<ModelBenchEntry> {
  const { reps, warmup, seed, fullDepth, points } = opts;
  const tensorsBefore = tf.memory().numTensors;
  const probe = c.memory ? new MemoryProbe() : null;
  const spec = specOf(c, fullDepth);
  const input = c.model === 'hrnet' ? shapes.map(withGridLabels) : shapes;
  const batch = buildBatch(input, spec, seed, 0);
  const net = makeNet(c, seed);
  // the dropout seed runs on across the three timed trainings, as one step counter
  let step = 0;
  const task: StepTask<Batch> = {
    inputs: (b) => [tf.tensor2d(b.features.data, [b.octree.nnum[b.octree.depth]!, b.features.channels])],
    loss: (b, _s, [x]) => net.loss(x as tf.Tensor2D, b.octree, step++),
  };
  // train steps through the trainer (losses read asynchronously: a device backend has no synchronous read-back in Node)
  const trainTimed = (source: BatchSource<Batch>, timing: StepTimer, pool?: WorkerPoolOptions, before?: TrainerHook<Batch>): Promise<unknown> =>
    train({
      params: net.params,
      task,
      source,
      totalSteps: warmup + reps,
      lr: () => 0.01,
      momentum: 0.9,
      weightDecay: 5e-4,
      pool,
      hooks: [...(before ? [before] : []), timing.hook],
    });
  const inferOn = async (b: Batch): Promise<void> => {
    const D = b.octree.depth;
    const outs = tf.tidy(() => {
      const x = tf.tensor2d(b.features.data, [b.octree.nnum[D]!, b.features.channels]);
      return net.infer(x, b.octree);
    });
    await Promise.all(outs.map((t) => t.data()));
    tf.dispose(outs);
    probe?.sample();
  };
  const timed = async (f: (i: number) => void | Promise<void>): Promise<StepTiming> => {
    const runs: number[] = [];
    for (let i = 0; i < warmup + reps; i++) {
      const t0 = performance.now();
      await f(i);
      if (i >= warmup) runs.push(round(performance.now() - t0, 1));
      await tick();
    }
    return stepTiming(runs, c.batch);
  };

  // a step timed alone (the batch prebuilt), then the forward alone
  const trainTimer = stepTimer(warmup, { from: 'step', tick: true, probe });
  await trainTimed(
    repeatSource(warmup + reps, () => batch),
    trainTimer,
  );
  const trainT = stepTiming(trainTimer.runs, c.batch);
  const fwd = await timed(() => inferOn(batch));

  let inline: PipelineTiming | null = null;
  let pooled: PipelineTiming | null = null;
  if (c.pipeline) {
    // the batch built in this thread before each step: timed from the end of the step before
    let buildMs = 0;
    const inlineTimer = stepTimer(warmup, { from: 'previous', tick: true, probe });
    await trainTimed(
      repeatSource(warmup + reps, (i) => {
        const t0 = performance.now();
        const b = buildBatch(input, spec, seed, i + 1);
        if (i >= warmup) buildMs += performance.now() - t0;
        return b;
      }),
      inlineTimer,
    );
    inline = { ...stepTiming(inlineTimer.runs, c.batch), batchMs: round(buildMs / reps, 1) };
    pooled = await pooledTiming(c, input, spec, seed, warmup, reps, (source, timer, pool, before) => trainTimed(source, timer, pool, before), probe);
  }
  const memory = probe?.result() ?? null;
  net.dispose();
  const D = c.depth;
  const o = batch.octree;
  return {
    key: caseKey(c),
    model: c.model,
    config: net.config,
    depth: D,
    fullDepth,
    batch: c.batch,
    points,
    rq: c.rq ? { ...RQ } : null,
    params: [...trainableVariables(net.params).values()].reduce((s, v) => s + v.size, 0),
    nodes: o.nnumNempty.map((n) => round(n / o.batchSize, 1)),
    rows: [...o.nnum],
    trainShapesPerSec: trainT.shapesPerSec,
    fwdShapesPerSec: fwd.shapesPerSec,
    secondsPerStep: round(trainT.ms / 1000, 3),
    train: trainT,
    fwd,
    inline,
    pooled,
    memory,
    tensors: { before: tensorsBefore, after: tf.memory().numTensors },
    // set by runModelBench from its peer source (the case may have run in a child process)
    peer: null,
    vsPeer: null,
  };
}

/** The entry compared with the peer's figures for the same case and batch (none: another batch is not compared). */
function withPeer(e: ModelBenchEntry, src: PeerSource): ModelBenchEntry {
  const peer = peerFiguresFor(src, e.key, e.batch);
  return {
    ...e,
    peer,
    vsPeer: peer
      ? {
          train: round(e.trainShapesPerSec / peer.trainShapesPerSec, 2),
          fwd: round(e.fwdShapesPerSec / peer.fwdShapesPerSec, 2),
          trainVsTunedAlloc: peer.trainShapesPerSecTunedAlloc === null ? null : round(e.trainShapesPerSec / peer.trainShapesPerSecTunedAlloc, 2),
        }
      : null,
  };
}

/** Median of the timed runs and the shapes/s it implies. */
function stepTiming(runs: number[], batch: number): StepTiming {
  const ms = median(runs);
  return { ms: round(ms, 1), shapesPerSec: round((1000 * batch) / ms, 2), runs };
}

/** `n` batches, `make(i)` each, as one epoch of the trainer. */
function repeatSource(n: number, make: (i: number) => Batch): BatchSource<Batch> {
  return {
    epochLength: (e) => (e === 0 ? n : 0),
    async *batches(_e, from, count) {
      for (let i = from; i < from + count; i++) yield make(i);
    },
  };
}

interface StepTimer {
  hook: TrainerHook<Batch>;
  /** Timed runs (ms) after the warm-up steps. */
  runs: number[];
  /** Total ms spent waiting for batches (from 'previous': end of a step to the next batch's arrival). */
  waitMs: number;
}

/**
 * Times every step: from its start (`'step'`, the batch prebuilt) or from the end of the step before
 * (`'previous'`: batch building or waiting included); `tick` yields to the event loop after each step,
 * outside the timing.
 */
function stepTimer(warmup: number, o: { from: 'step' | 'previous'; tick: boolean; probe: MemoryProbe | null }): StepTimer {
  let i = 0;
  let t = 0;
  const timer: StepTimer = {
    runs: [],
    waitMs: 0,
    hook: {
      name: 'bench-timer',
      beforeTrain: () => void (t = performance.now()),
      beforeStep: () => {
        const now = performance.now();
        if (i >= warmup) timer.waitMs += now - t;
        if (o.from === 'step') t = now;
      },
      afterStep: async () => {
        o.probe?.sample();
        if (i >= warmup) timer.runs.push(round(performance.now() - t, 1));
        i++;
        if (o.tick) await tick();
        t = performance.now();
      },
    },
  };
  return timer;
}

async function pooledTiming(
  c: ModelCase,
  input: readonly PointCloud[],
  spec: SampleSpec,
  seed: number,
  warmup: number,
  reps: number,
  trainTimed: (source: BatchSource<Batch>, timer: StepTimer, pool: WorkerPoolOptions, before: TrainerHook<Batch>) => Promise<unknown>,
  probe: MemoryProbe | null,
): Promise<PipelineTiming> {
  // batches built by one worker, one ahead, timed from the end of one step to the end of the next
  const timer = stepTimer(warmup, { from: 'previous', tick: false, probe });
  const all = input.map((_, i) => i);
  const source: BatchSource<Batch> = {
    epochLength: (e) => (e === 0 ? warmup + reps : 0),
    batches: (_e, _from, count, pool) =>
      new BatchPipeline({ load: (i) => input[i]!, batches: Array.from({ length: count }, () => all), spec, pool: pool!, seed, epoch: 1, prefetch: 1 }),
  };
  // start the worker (thread, tsx, JIT) outside the timed loop
  const warm: TrainerHook<Batch> = {
    name: 'bench-warm-worker',
    beforeTrain: async ({ pool }) =>
      void (await pool!.prepare(
        input.map((cloud, i) => ({ cloud, seed: i })),
        spec,
      )),
  };
  await trainTimed(source, timer, { workers: 1, mergeIn: 'worker' }, warm);
  return { ...stepTiming(timer.runs, c.batch), batchMs: round(timer.waitMs / reps, 1) };
}

function rqEffects(entries: readonly ModelBenchEntry[], src: PeerSource): RqEffect[] {
  const out: RqEffect[] = [];
  for (const p of entries) {
    if (p.rq) continue;
    const q = entries.find((e) => e.rq && e.model === p.model && e.depth === p.depth && e.batch === p.batch);
    if (!q) continue;
    const peerPlain = peerFiguresFor(src, p.key, p.batch);
    const peerRq = peerFiguresFor(src, q.key, q.batch);
    out.push({
      key: p.key,
      model: p.model,
      depth: p.depth,
      nodesPlain: p.nodes,
      nodesRq: q.nodes,
      leafRatio: round(q.nodes[p.depth]! / p.nodes[p.depth]!, 3),
      secondsPerStepPlain: p.secondsPerStep,
      secondsPerStepRq: q.secondsPerStep,
      trainSpeedup: round(p.train.ms / q.train.ms, 2),
      fwdSpeedup: round(p.fwd.ms / q.fwd.ms, 2),
      peerTrainSpeedup: peerPlain && peerRq ? round(peerRq.trainShapesPerSec / peerPlain.trainShapesPerSec, 2) : null,
    });
  }
  return out;
}

/** Runs every case on the active backend (call initBackend first). */
export async function runModelBench(opts: ModelBenchOptions = {}): Promise<ModelBenchResult> {
  const o: CaseSettings = {
    points: opts.points ?? 3000,
    fullDepth: opts.fullDepth ?? 2,
    reps: opts.reps ?? 5,
    warmup: opts.warmup ?? 2,
    seed: opts.seed ?? 1,
  };
  const cases = opts.cases ?? defaultModelCases();
  const isolate = opts.isolate ?? false;
  const all = isolate ? [] : syntheticShapes(Math.max(...cases.map((c) => c.batch)), o.seed, o.points);
  const entries: ModelBenchEntry[] = [];
  const failures: ModelBenchResult['failures'] = [];
  for (const c of cases) {
    const t0 = performance.now();
    let e: ModelBenchEntry;
    try {
      e = isolate ? await benchCaseInChild(c, o, opts.caseTimeoutSec ?? 1200) : await benchCase(c, all.slice(0, c.batch), o);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      failures.push({ key: caseKey(c), batch: c.batch, error });
      opts.log?.(`models: ${caseKey(c)} batch ${c.batch} FAILED: ${error}`);
      continue;
    }
    e = withPeer(e, opts.peer ?? STORED_PEER);
    entries.push(e);
    opts.log?.(
      `models: ${e.key} batch ${e.batch}: train ${e.trainShapesPerSec} shapes/s, fwd ${e.fwdShapesPerSec} shapes/s` +
        (e.inline ? `, inline ${e.inline.shapesPerSec}, pooled ${e.pooled?.shapesPerSec}` : '') +
        (e.memory ? `, peak RSS ${e.memory.peakRssMiB} MiB` : '') +
        ` (${round((performance.now() - t0) / 1000, 1)} s)`,
    );
  }
  return {
    backend: tf.getBackend(),
    reps: o.reps,
    warmup: o.warmup,
    points: o.points,
    fullDepth: o.fullDepth,
    entries,
    failures,
    isolated: isolate,
    rq: rqEffects(entries, opts.peer ?? STORED_PEER),
  };
}

/** Runs one case in `node --import tsx model-case-main.ts` with the same backend settings. */
function benchCaseInChild(c: ModelCase, options: CaseSettings, timeoutSec: number): Promise<ModelBenchEntry> {
  const script = fileURLToPath(new URL('./model-case-main.ts', import.meta.url));
  const info = backendInfo();
  const env = {
    ...process.env,
    ...(info ? { RQ3D_BACKEND: info.name === 'tensorflow' ? 'tensorflow' : info.name, RQ3D_THREADS: String(Math.max(1, info.threads)) } : {}),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, JSON.stringify({ case: c, options })], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timedOut = false;
    // a case whose wasm heap got corrupted can spin forever instead of failing
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutSec * 1000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`timed out after ${timeoutSec} s (killed)`));
        return;
      }
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) {
        resolve(JSON.parse(line) as ModelBenchEntry);
        return;
      }
      // the last meaningful stderr line (a wasm abort prints the whole minified module before it)
      const why = err
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && l.length < 400)
        .slice(-3)
        .join(' | ');
      reject(new Error(`child exited with ${signal ?? `code ${code}`}: ${why}`));
    });
  });
}
