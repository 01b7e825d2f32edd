/**
 * Benchmark of the CPU side of a training step (octree build, merge, neighbour tables, the batch pipeline
 * and its overlap with training), on the inputs of reference/peer-ocnn.md: 32 synthetic closed surfaces
 * (spheres, boxes, tori, cylinders, box chairs, blobs) of ~3,000 points with normals, full depth 2.
 * The shapes are generated here, from a seeded Rng, so the figures do not depend on any dataset.
 */
import os from 'node:os';
import { buildOctree, mergeOctrees, neighborTable, type Octree } from '../../octree/index.ts';
import type { PointCloud } from '../data/pointcloud.ts';
import { randomizedQuantize, rqVariantOptions } from '../augment/randomized-quantization.ts';
import { BatchPipeline } from '../pipeline/batch-pipeline.ts';
import { buildPart, finishBatch } from '../pipeline/assemble.ts';
import { sampleSeed, type SampleSpec } from '../pipeline/sample.ts';
import { WorkerPool, type MergeSite } from '../pipeline/worker-pool.ts';
import { Rng } from '../util/rng.ts';
import { median, round } from './timing.ts';

// ---------------------------------------------------------------------------------------------------------
// Synthetic closed surfaces with exact outward normals.

export type SurfaceKind = 'sphere' | 'box' | 'torus' | 'cylinder' | 'chair' | 'blob';
export const SURFACE_KINDS: readonly SurfaceKind[] = ['sphere', 'box', 'torus', 'cylinder', 'chair', 'blob'];

type V3 = [number, number, number];

interface Patch {
  area: number;
  /** Writes a uniform point of the patch and its outward normal. */
  sample(rng: Rng, p: V3, n: V3): void;
  /** Points of this patch inside another solid of the union are dropped (unions of spheres / boxes). */
  inside?(p: V3): boolean;
}

function boxPatches(c: V3, h: V3): { patches: Patch[]; inside: (p: V3) => boolean } {
  const inside = (p: V3): boolean => Math.abs(p[0] - c[0]) < h[0] - 1e-9 && Math.abs(p[1] - c[1]) < h[1] - 1e-9 && Math.abs(p[2] - c[2]) < h[2] - 1e-9;
  const patches: Patch[] = [];
  for (let a = 0; a < 3; a++) {
    const u = (a + 1) % 3;
    const v = (a + 2) % 3;
    for (const s of [-1, 1]) {
      patches.push({
        area: 4 * h[u] * h[v],
        sample(rng, p, n) {
          p[a] = c[a] + s * h[a];
          p[u] = c[u] + rng.range(-h[u], h[u]);
          p[v] = c[v] + rng.range(-h[v], h[v]);
          n[0] = n[1] = n[2] = 0;
          n[a] = s;
        },
      });
    }
  }
  return { patches, inside };
}

function spherePatch(c: V3, r: number): { patch: Patch; inside: (p: V3) => boolean } {
  return {
    patch: {
      area: 4 * Math.PI * r * r,
      sample(rng, p, n) {
        const z = rng.range(-1, 1);
        const t = rng.range(0, 2 * Math.PI);
        const s = Math.sqrt(1 - z * z);
        n[0] = s * Math.cos(t);
        n[1] = s * Math.sin(t);
        n[2] = z;
        for (let a = 0; a < 3; a++) p[a] = c[a] + r * n[a];
      },
    },
    inside: (p) => (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2 < r * r - 1e-9,
  };
}

/** Surface of a union of solids: sample the pieces by area, drop points inside another piece. */
function sampleUnion(pieces: Array<{ patches: Patch[]; inside: (p: V3) => boolean }>, n: number, rng: Rng): PointCloud {
  const flat = pieces.flatMap((pc, i) => pc.patches.map((patch) => ({ patch, owner: i })));
  const total = flat.reduce((s, f) => s + f.patch.area, 0);
  const pts = new Float32Array(3 * n);
  const nrm = new Float32Array(3 * n);
  const p: V3 = [0, 0, 0];
  const q: V3 = [0, 0, 0];
  for (let i = 0, guard = 0; i < n && guard < 100 * n; guard++) {
    let u = rng.uniform() * total;
    let k = 0;
    while (k < flat.length - 1 && u >= flat[k]!.patch.area) u -= flat[k++]!.patch.area;
    flat[k]!.patch.sample(rng, p, q);
    if (pieces.some((pc, j) => j !== flat[k]!.owner && pc.inside(p))) continue;
    pts.set(p, 3 * i);
    nrm.set(q, 3 * i);
    i++;
  }
  return { points: pts, normals: nrm, labels: null, features: null, featureChannels: 0 };
}

function torus(R: number, r: number, n: number, rng: Rng): PointCloud {
  const pts = new Float32Array(3 * n);
  const nrm = new Float32Array(3 * n);
  for (let i = 0; i < n; ) {
    const u = rng.range(0, 2 * Math.PI);
    const v = rng.range(0, 2 * Math.PI);
    // area element ∝ R + r cos v: rejection keeps the sampling uniform on the surface
    if (rng.uniform() * (R + r) > R + r * Math.cos(v)) continue;
    const nx = Math.cos(v) * Math.cos(u);
    const ny = Math.sin(v);
    const nz = Math.cos(v) * Math.sin(u);
    pts.set([(R + r * Math.cos(v)) * Math.cos(u), r * ny, (R + r * Math.cos(v)) * Math.sin(u)], 3 * i);
    nrm.set([nx, ny, nz], 3 * i);
    i++;
  }
  return { points: pts, normals: nrm, labels: null, features: null, featureChannels: 0 };
}

function cylinder(r: number, h: number, n: number, rng: Rng): PointCloud {
  const side: Patch = {
    area: 2 * Math.PI * r * 2 * h,
    sample(g, p, q) {
      const t = g.range(0, 2 * Math.PI);
      q[0] = Math.cos(t);
      q[1] = 0;
      q[2] = Math.sin(t);
      p[0] = r * q[0];
      p[1] = g.range(-h, h);
      p[2] = r * q[2];
    },
  };
  const cap = (s: number): Patch => ({
    area: Math.PI * r * r,
    sample(g, p, q) {
      const rr = r * Math.sqrt(g.uniform());
      const t = g.range(0, 2 * Math.PI);
      p[0] = rr * Math.cos(t);
      p[1] = s * h;
      p[2] = rr * Math.sin(t);
      q[0] = 0;
      q[1] = s;
      q[2] = 0;
    },
  });
  return sampleUnion([{ patches: [side, cap(-1), cap(1)], inside: () => false }], n, rng);
}

/** Rotate randomly and scale into the unit ball (radius `radius`) so every point is inside (-1, 1)^3. */
function placeInBall(pc: PointCloud, rng: Rng, radius: number): PointCloud {
  const [ax, ay, az] = [rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI)];
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(ax), Math.sin(ax), Math.cos(ay), Math.sin(ay), Math.cos(az), Math.sin(az)];
  // Rz·Ry·Rx
  const m = [
    cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
    sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
    -sy, cy * sx, cy * cx,
  ];
  const rot = (a: Float32Array): void => {
    for (let i = 0; i < a.length; i += 3) {
      const x = a[i]!, y = a[i + 1]!, z = a[i + 2]!;
      a[i] = m[0]! * x + m[1]! * y + m[2]! * z;
      a[i + 1] = m[3]! * x + m[4]! * y + m[5]! * z;
      a[i + 2] = m[6]! * x + m[7]! * y + m[8]! * z;
    }
  };
  rot(pc.points);
  if (pc.normals) rot(pc.normals);
  const c = [0, 0, 0];
  const N = pc.points.length / 3;
  for (let i = 0; i < pc.points.length; i++) c[i % 3]! += pc.points[i]! / N;
  let r = 0;
  for (let i = 0; i < pc.points.length; i += 3) r = Math.max(r, Math.hypot(pc.points[i]! - c[0]!, pc.points[i + 1]! - c[1]!, pc.points[i + 2]! - c[2]!));
  for (let i = 0; i < pc.points.length; i++) pc.points[i] = ((pc.points[i]! - c[i % 3]!) / r) * radius;
  return pc;
}

/** One synthetic closed surface of `kind`, with `n` points and unit normals, inside the ball of radius 0.95. */
export function syntheticSurface(kind: SurfaceKind, rng: Rng, n = 3000): PointCloud {
  const U = (lo: number, hi: number): number => rng.range(lo, hi);
  let pc: PointCloud;
  if (kind === 'sphere') {
    pc = sampleUnion([(({ patch, inside }) => ({ patches: [patch], inside }))(spherePatch([0, 0, 0], 1))], n, rng);
  } else if (kind === 'box') {
    pc = sampleUnion([boxPatches([0, 0, 0], [U(0.3, 1), U(0.3, 1), U(0.3, 1)])], n, rng);
  } else if (kind === 'torus') {
    pc = torus(1, U(0.15, 0.45), n, rng);
  } else if (kind === 'cylinder') {
    pc = cylinder(U(0.3, 0.8), U(0.4, 1), n, rng);
  } else if (kind === 'chair') {
    const w = U(0.4, 0.6);
    const seatY = U(-0.1, 0.1);
    const t = 0.05;
    const leg = U(0.04, 0.08);
    const boxes: Array<[V3, V3]> = [
      [[0, seatY, 0], [w, t, w]],
      [[0, seatY + U(0.4, 0.7), -w + t], [w, U(0.35, 0.6), t]],
    ];
    for (const sx of [-1, 1]) for (const sz of [-1, 1]) boxes.push([[sx * (w - leg), seatY - 0.5, sz * (w - leg)], [leg, 0.5 - t, leg]]);
    pc = sampleUnion(boxes.map(([c, h]) => boxPatches(c, h)), n, rng);
  } else {
    // a chain of overlapping spheres (each centre 0.3-0.5 from the previous one) is one connected blob
    const k = rng.int(3, 5);
    const centres: V3[] = [[0, 0, 0]];
    for (let i = 1; i < k; i++) {
      const z = U(-1, 1);
      const t = U(0, 2 * Math.PI);
      const d = U(0.3, 0.5);
      const s = Math.sqrt(1 - z * z);
      const c = centres[i - 1]!;
      centres.push([c[0] + d * s * Math.cos(t), c[1] + d * s * Math.sin(t), c[2] + d * z]);
    }
    const spheres = centres.map((c) => spherePatch(c, U(0.35, 0.6)));
    pc = sampleUnion(spheres.map(({ patch, inside }) => ({ patches: [patch], inside })), n, rng);
  }
  return placeInBall(pc, rng, 0.95);
}

/** The bench's inputs: `count` shapes cycling through the kinds, each from its own fork of `seed`. */
export function syntheticShapes(count = 32, seed = 1, n = 3000): PointCloud[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => syntheticSurface(SURFACE_KINDS[i % SURFACE_KINDS.length]!, rng.fork(i), n));
}

// ---------------------------------------------------------------------------------------------------------
// The benchmark.

/** reference/peer-ocnn.md: ocnn-pytorch on this machine kind (2 threads). */
export const PEER_OCNN = {
  buildMsPerShape: { 5: 0.71, 6: 1.0 } as Record<number, number>,
  mergeNeighborsMs: { 5: 43, 6: 178 } as Record<number, number>,
  nodes: {
    5: [1, 8, 37, 144, 534, 1522],
    6: [1, 8, 37, 144, 534, 1522, 2475],
    rq30d6: [1, 8, 35, 138, 446, 926, 1259],
  } as Record<string, number[]>,
};

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
  peer: typeof PEER_OCNN;
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
    const spec: SampleSpec = { depth, fullDepth, transform: 'midnet', rq: rq ? { bins: 30, variant: 'random-random', p: 1 } : null, features: 'ND', nempty: false };
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
      build: round((PEER_OCNN.buildMsPerShape[depth] ?? NaN) / buildMs, 2),
      mergeNeighbors: round((PEER_OCNN.mergeNeighborsMs[depth] ?? NaN) / mn, 2),
    },
  };
}

async function overlapRun(
  shapes: readonly PointCloud[], spec: SampleSpec, batches: number, iterations: number, workers: number, mergeIn: MergeSite, seed: number,
): Promise<OverlapRun> {
  const pool = new WorkerPool({ workers, mergeIn });
  try {
    const all = shapes.map((_, i) => i);
    const list = Array.from({ length: batches }, () => all);
    // warm up (thread start, tsx, JIT) outside the timed loop: two whole batches on every worker
    for (let r = 0; r < 2; r++) await Promise.all(Array.from({ length: Math.max(1, workers) }, (_, w) => pool.prepare(shapes.map((cloud, i) => ({ cloud, seed: 1000 * r + 100 * w + i })), spec)));
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
    peer: PEER_OCNN,
    cpus: os.cpus().length,
    loadavgBefore,
    loadavgAfter: os.loadavg().map((x) => round(x, 2)),
    node: process.version,
  };
}
