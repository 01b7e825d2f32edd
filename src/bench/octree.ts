/**
 * Benchmark of the CPU side of a training step (octree build, merge, neighbour tables, the batch pipeline
 * and its overlap with training), on the inputs of reference/peer-ocnn.md: 32 synthetic closed surfaces
 * (spheres, boxes, tori, cylinders, box chairs, blobs) of ~3,000 points with normals, full depth 2.
 * The shapes come from the synthetic generator (src/data/synth/surfaces.ts) with a seeded Rng, so the figures
 * do not depend on any dataset; the peer's figures are in ./peer.ts, with the machine and date they are from.
 */
import os from 'node:os';
import { buildOctree, mergeOctrees, neighborTable, type Octree } from '../../octree/index.ts';
import type { PointCloud } from '../data/pointcloud.ts';
import { closedSurface, SURFACE_KINDS, type SurfaceKind } from '../data/synth/surfaces.ts';
import { randomizedQuantize, rqVariantOptions } from '../augment/randomized-quantization.ts';
import { BatchPipeline } from '../pipeline/batch-pipeline.ts';
import { buildPart, finishBatch } from '../pipeline/assemble.ts';
import { sampleSeed, type SampleSpec } from '../pipeline/sample.ts';
import { WorkerPool, type MergeSite } from '../pipeline/worker-pool.ts';
import { Rng } from '../util/rng.ts';
import { PEER_OCNN_OCTREE } from './peer.ts';
import { median, round } from './timing.ts';

/** The bench's inputs: `count` shapes cycling through the kinds, each from its own fork of `seed`. */
export function syntheticShapes(count = 32, seed = 1, n = 3000): PointCloud[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => closedSurface(SURFACE_KINDS[i % SURFACE_KINDS.length]!, rng.fork(i), n));
}

// ---------------------------------------------------------------------------------------------------------
// The benchmark.

export interface OctreeBenchOptions {
  shapes?: number;
  points?: number;
  fullDepth?: number;
  depths?: number[];
  reps?: number;
  /** Overlap loop: batches, depth, and the synthetic training step (ms; default = one inline batch). */
  overlapBatches?: number;
  overlapDepth?: number;
  /** Times each overlap loop is run (median reported). */
  overlapRepeats?: number;
  stepMs?: number;
  workers?: number;
  seed?: number;
}

export interface DepthBench {
  depth: number;
  /** Median ms of buildOctree on one raw shape (no transform), over all shapes and reps. */
  buildMsPerShape: number;
  /** Median ms to merge the batch's octrees / build the neighbour tables of all depths / both. */
  mergeMs: number;
  neighborsMs: number;
  mergeNeighborsMs: number;
  /** Median ms of one whole batch built inline: MID-Net transform (+ RQ n=30) + clip + build + merge + tables + features. */
  batchMs: { plain: number; rq30: number };
  shapesPerSec: { plain: number; rq30: number };
  /** Mean non-empty nodes per depth (0..depth) per shape, raw inputs and with RQ n=30 on the inputs. */
  nodes: { plain: number[]; rq30: number[] };
  /** Rows (all nodes, empty ones included) of the merged batch per depth. */
  batchRows: { plain: number[]; rq30: number[] };
  speedupVsPeer: { build: number; mergeNeighbors: number };
}

export interface OverlapRun {
  wallMs: number;
  /** Mean ms per batch the main thread spent getting its next batch (building it inline, or waiting). */
  batchWaitMs: number;
  /** Mean ms of one synthetic step in this run. */
  stepMs: number;
}

export interface OverlapBench {
  depth: number;
  batches: number;
  /** Target duration of the synthetic step (a fixed amount of work calibrated to this many ms). */
  stepMs: number;
  stepIterations: number;
  workers: number;
  repeats: number;
  /** (a) batches built inline, one after the other, between steps. */
  inline: OverlapRun;
  /** (b) worker pool with prefetch, the whole batch (merge, tables, features) built in the worker. */
  pooledMergeInWorker: OverlapRun;
  /** (b') worker pool with prefetch, samples built in the worker, merge and tables in the main thread. */
  pooledMergeInMain: OverlapRun;
  /** Fraction of the inline batch time hidden behind the steps: (inline wall - pooled wall) / (K x inline batchWaitMs). */
  overlapRatio: number;
  speedup: number;
}

export interface OctreeBenchResult {
  shapes: number;
  pointsPerShape: number;
  fullDepth: number;
  reps: number;
  kinds: readonly SurfaceKind[];
  depths: DepthBench[];
  overlap: OverlapBench;
  peer: typeof PEER_OCNN_OCTREE;
  cpus: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  node: string;
}

const meanNodes = (octs: readonly Octree[]): number[] =>
  octs[0]!.nnumNempty.map((_, d) => round(octs.reduce((s, o) => s + o.nnumNempty[d]!, 0) / octs.length, 1));

/**
 * A fixed amount of arithmetic standing in for a training step on the main thread. It is work, not a
 * wall-clock wait, so that on a shared machine the step and the batch building slow down alike.
 */
export function busyWork(iterations: number): number {
  let acc = 0;
  for (let i = 0; i < iterations; i++) acc = (acc * 1.0000001 + i) % 1e9;
  return acc;
}

/** Iterations of busyWork that take about `ms` now (median of a few calibration runs). */
export function calibrateWork(ms: number): number {
  const probe = 200_000;
  busyWork(probe);
  const t: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    busyWork(probe);
    t.push(performance.now() - t0);
  }
  return Math.max(1, Math.round((probe * ms) / median(t)));
}

function benchDepth(shapes: readonly PointCloud[], depth: number, fullDepth: number, reps: number, seed: number): DepthBench {
  const build: number[] = [];
  let octs: Octree[] = [];
  for (let r = 0; r <= reps; r++) {
    octs = shapes.map((s) => {
      const t0 = performance.now();
      const o = buildOctree(s, { depth, fullDepth });
      if (r > 0) build.push(performance.now() - t0); // rep 0 warms up
      return o;
    });
  }
  const merge: number[] = [];
  const neigh: number[] = [];
  const both: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    const m = mergeOctrees(octs);
    const t1 = performance.now();
    for (let d = 0; d <= depth; d++) neighborTable(m, d);
    const t2 = performance.now();
    if (r > 0) {
      merge.push(t1 - t0);
      neigh.push(t2 - t1);
      both.push(t2 - t0);
    }
  }
  const rng = new Rng(seed).fork(`rq${depth}`);
  const rqOcts = shapes.map((s) => {
    const q = randomizedQuantize(s, rng.fork('shape'), rqVariantOptions('random-random', { bins: 30 })).cloud;
    return buildOctree(q, { depth, fullDepth, bounds: 'clamp' });
  });
  const batch = (rq: boolean): { ms: number; rows: number[] } => {
    const spec: SampleSpec = {
      depth,
      fullDepth,
      transform: 'midnet',
      rq: rq ? { bins: 30, variant: 'random-random', p: 1 } : null,
      features: 'ND',
      nempty: false,
    };
    const ms: number[] = [];
    let rows: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const items = shapes.map((cloud, i) => ({ cloud, seed: sampleSeed(seed, r, i) }));
      const t0 = performance.now();
      const part = finishBatch(buildPart(items, spec), spec);
      if (r > 0) ms.push(performance.now() - t0);
      rows = part.octree.nnum;
    }
    return { ms: median(ms), rows };
  };
  const plain = batch(false);
  const rq30 = batch(true);
  const buildMs = median(build);
  const mn = median(both);
  return {
    depth,
    buildMsPerShape: round(buildMs, 3),
    mergeMs: round(median(merge)),
    neighborsMs: round(median(neigh)),
    mergeNeighborsMs: round(mn),
    batchMs: { plain: round(plain.ms), rq30: round(rq30.ms) },
    shapesPerSec: { plain: round((1000 * shapes.length) / plain.ms), rq30: round((1000 * shapes.length) / rq30.ms) },
    nodes: { plain: meanNodes(octs), rq30: meanNodes(rqOcts) },
    batchRows: { plain: plain.rows, rq30: rq30.rows },
    speedupVsPeer: {
      build: round((PEER_OCNN_OCTREE.buildMsPerShape[depth] ?? NaN) / buildMs, 2),
      mergeNeighbors: round((PEER_OCNN_OCTREE.mergeNeighborsMs[depth] ?? NaN) / mn, 2),
    },
  };
}

async function overlapRun(
  shapes: readonly PointCloud[],
  spec: SampleSpec,
  batches: number,
  iterations: number,
  workers: number,
  mergeIn: MergeSite,
  seed: number,
): Promise<OverlapRun> {
  const pool = new WorkerPool({ workers, mergeIn });
  try {
    const all = shapes.map((_, i) => i);
    const list = Array.from({ length: batches }, () => all);
    // warm up (thread start, tsx, JIT) outside the timed loop: two whole batches on every worker
    for (let r = 0; r < 2; r++)
      await Promise.all(
        Array.from({ length: Math.max(1, workers) }, (_, w) =>
          pool.prepare(
            shapes.map((cloud, i) => ({ cloud, seed: 1000 * r + 100 * w + i })),
            spec,
          ),
        ),
      );
    const pipe = new BatchPipeline({ load: (i) => shapes[i]!, batches: list, spec, pool, seed, prefetch: workers });
    let sink = 0;
    let wait = 0;
    let step = 0;
    const t0 = performance.now();
    let t = t0;
    for await (const b of pipe) {
      const t1 = performance.now();
      wait += t1 - t;
      sink += busyWork(iterations) + b.features.data.length;
      t = performance.now();
      step += t - t1;
    }
    const wallMs = performance.now() - t0;
    if (sink === -1) console.log(sink);
    return { wallMs: round(wallMs), batchWaitMs: round(wait / batches), stepMs: round(step / batches) };
  } finally {
    await pool.close();
  }
}

export async function runOctreeBench(opts: OctreeBenchOptions = {}): Promise<OctreeBenchResult> {
  const count = opts.shapes ?? 32;
  const points = opts.points ?? 3000;
  const fullDepth = opts.fullDepth ?? 2;
  const reps = opts.reps ?? 5;
  const seed = opts.seed ?? 1;
  const workers = opts.workers ?? 1;
  const loadavgBefore = os.loadavg().map((x) => round(x, 2));
  const shapes = syntheticShapes(count, seed, points);
  benchDepth(shapes, 4, fullDepth, 2, seed); // JIT warm-up, discarded
  const depths = (opts.depths ?? [5, 6]).map((d) => benchDepth(shapes, d, fullDepth, reps, seed));
  const od = opts.overlapDepth ?? 5;
  const spec: SampleSpec = { depth: od, fullDepth, transform: 'midnet', rq: null, features: 'ND', nempty: false };
  const K = opts.overlapBatches ?? 8;
  const stepMs = round(opts.stepMs ?? depths.find((d) => d.depth === od)?.batchMs.plain ?? 100);
  const iterations = calibrateWork(stepMs);
  // the three loops take turns, `overlapRepeats` times, and each reports its median run (by wall time),
  // so a burst of load from other processes does not land on one of them only
  const runs: OverlapRun[][] = [[], [], []];
  for (let r = 0; r < (opts.overlapRepeats ?? 3); r++) {
    runs[0]!.push(await overlapRun(shapes, spec, K, iterations, 0, 'worker', seed));
    runs[1]!.push(await overlapRun(shapes, spec, K, iterations, workers, 'worker', seed));
    runs[2]!.push(await overlapRun(shapes, spec, K, iterations, workers, 'main', seed));
  }
  const mid = (xs: OverlapRun[]): OverlapRun => [...xs].sort((a, b) => a.wallMs - b.wallMs)[(xs.length - 1) >> 1]!;
  const [inline, inWorker, inMain] = runs.map(mid) as [OverlapRun, OverlapRun, OverlapRun];
  const best = Math.min(inWorker.wallMs, inMain.wallMs);
  return {
    shapes: count,
    pointsPerShape: points,
    fullDepth,
    reps,
    kinds: SURFACE_KINDS,
    depths,
    overlap: {
      depth: od,
      batches: K,
      stepMs,
      stepIterations: iterations,
      workers,
      repeats: runs[0]!.length,
      inline,
      pooledMergeInWorker: inWorker,
      pooledMergeInMain: inMain,
      overlapRatio: round((inline.wallMs - best) / (K * inline.batchWaitMs), 2),
      speedup: round(inline.wallMs / best, 2),
    },
    peer: PEER_OCNN_OCTREE,
    cpus: os.cpus().length,
    loadavgBefore,
    loadavgAfter: os.loadavg().map((x) => round(x, 2)),
    node: process.version,
  };
}
