/**
 * `rq3d bench`: the whole-model, conv-layer and octree benchmarks in one run, beside the peer's
 * yardsticks (ocnn-pytorch on PyTorch CPU, shared/reference/peer-ocnn.md). runBench runs the parts, keeps
 * the machine record and assembles the report (the JSON of `rq3d bench --json`; ./format.ts writes it for
 * reading). Figures are wall-clock medians: the machine record (load average, CPU used by other processes
 * meanwhile) says how quiet the machine was. The command itself (flags, stdout) is src/cli/bench.ts.
 */
import type { BackendInfo } from '../backend.ts';
import { CONV_VARIANTS, type ConvVariant } from './cases.ts';
import type { ConvBenchResult } from './conv-layer.ts';
import type { MachineInfo } from './machine.ts';
import type { MatMulResult } from './matmul.ts';
import type { BenchModel, ModelBenchEntry, RqEffect } from './whole-model.ts';
import type { OctreeBenchResult } from './octree.ts';
import type { PEER_YARDSTICKS, PeerConvFigures, PeerSource } from './peer.ts';
import { round } from './timing.ts';

// tfjs and the benchmarks load only when runBench runs (the CLI imports this module, and rq3d --help stays fast)

export const BENCH_PARTS = ['models', 'conv', 'octree'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];
export const BENCH_MODELS: readonly BenchModel[] = ['lenet', 'resnet', 'hrnet'];
export const BENCH_CONV_VARIANTS: readonly ConvVariant[] = CONV_VARIANTS;

export interface BenchOptions {
  quick?: boolean;
  /** A correctness smoke run for slow (software GPU) backends: tiny models, conv and matMul cases, 1 rep. */
  tiny?: boolean;
  only?: BenchPart[];
  models?: BenchModel[];
  /** Timed repetitions (median reported); default 5 (2 with quick). */
  reps?: number;
  backend?: string;
  threads?: number;
  convVariants?: ConvVariant[];
  /** Each model case in a child process of its own (default: on, except with quick). */
  isolate?: boolean;
  log?: (line: string) => void;
  /** A side-by-side result JSON (../shared/peer/side-by-side) whose peer figures replace the stored ones. */
  peer?: string;
}

export interface ConvRow {
  N: number;
  Cin: number;
  Cout: number;
  variant: ConvVariant;
  fwdMs: number;
  trainMs: number;
  fwdGflops: number;
  /** 3x the forward flops over the fwd+bwd time. */
  trainGflops: number;
  emptyFraction: number;
  /** PyTorch 2 threads on the same case (tfjs-eval.md §2) and ours relative to it (>1: faster). */
  peerFwdMs: number | null;
  peerTrainMs: number | null;
  vsPeerTrain: number | null;
}

export interface BenchReport {
  backend: string;
  threads: number;
  simd: boolean;
  backendReason: string;
  quick: boolean;
  parts: BenchPart[];
  machine: MachineInfo;
  lenet?: Record<string, ModelBenchEntry>;
  resnet?: Record<string, ModelBenchEntry>;
  hrnet?: Record<string, ModelBenchEntry>;
  /** Model cases that failed, with the error (e.g. the wasm heap ran out). */
  modelFailures?: Array<{ key: string; batch: number; error: string }>;
  /** Whether each model case ran in a child process of its own. */
  modelsIsolated?: boolean;
  /** Peak memory of the depth-6 LeNet run against the 4 GiB goal. */
  memory?: { case: string; peakRssMiB: number; vmHwmMiB: number | null; vmHwmResetBeforeCase: boolean; goalMiB: number; withinGoal: boolean } | null;
  conv?: ConvRow[];
  matmulPeakGflops?: number;
  matmulPeak?: MatMulResult;
  octree?: OctreeBenchResult;
  rq?: { models: RqEffect[]; octree: Array<{ depth: number; nodesPlain: number[]; nodesRq: number[]; leafRatio: number }> };
  peer: typeof PEER_YARDSTICKS;
  /** What the model ratios are against: stored figures (another machine) or a side-by-side result. */
  peerSource: { kind: PeerSource['kind']; machine: string; date: string; source: string };
  settings: { reps: number; warmup: number; batch: number; points: number; fullDepth: number };
}

function byModel(entries: readonly ModelBenchEntry[], model: BenchModel): Record<string, ModelBenchEntry> {
  const out: Record<string, ModelBenchEntry> = {};
  for (const e of entries) if (e.model === model) out[e.key.slice(model.length + 1)] = e;
  return out;
}

function convRow(r: ConvBenchResult, peers: readonly PeerConvFigures[]): ConvRow {
  const peer = peers.find((p) => p.n === r.n && p.cin === r.cin && p.cout === r.cout) ?? null;
  return {
    N: r.n,
    Cin: r.cin,
    Cout: r.cout,
    variant: r.variant,
    fwdMs: r.fwdMs,
    trainMs: r.fwdBwdMs,
    fwdGflops: r.fwdGflops,
    trainGflops: r.fwdBwdGflops,
    emptyFraction: r.emptyFraction,
    peerFwdMs: peer?.fwdMs ?? null,
    peerTrainMs: peer?.fwdBwdMs ?? null,
    vsPeerTrain: peer ? round(peer.fwdBwdMs / r.fwdBwdMs, 2) : null,
  };
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const tiny = opts.tiny ?? false;
  const quick = (opts.quick ?? false) || tiny;
  const parts = opts.only ?? [...BENCH_PARTS];
  const models = opts.models ?? [...BENCH_MODELS];
  const reps = opts.reps ?? (tiny ? 1 : quick ? 2 : 5);
  const warmup = quick ? 1 : 2;
  const log = opts.log ?? ((): void => undefined);
  const [
    { initBackend },
    { runConvBench, DEFAULT_CONV_CASES },
    { watchMachine },
    { matmulPeak },
    { caseKey, defaultModelCases, runModelBench, tinyModelCases },
    { runOctreeBench },
    { PEER_TORCH_CONV, PEER_YARDSTICKS, STORED_PEER, readSideBySide },
  ] = await Promise.all([
    import('../backend.ts'),
    import('./conv-layer.ts'),
    import('./machine.ts'),
    import('./matmul.ts'),
    import('./whole-model.ts'),
    import('./octree.ts'),
    import('./peer.ts'),
  ]);
  // read before anything runs: a bad --peer file fails in a second, not after the benches
  const peerSource = opts.peer !== undefined ? readSideBySide(opts.peer) : STORED_PEER;
  const watch = watchMachine();
  const info: BackendInfo = await initBackend({ backend: opts.backend, threads: opts.threads });
  log(`bench: backend ${info.name}, ${info.threads} thread(s), ${quick ? 'quick' : 'full'} run of ${parts.join(', ')}`);
  const cases = (tiny ? tinyModelCases() : defaultModelCases(quick)).filter((c) => models.includes(c.model));
  const report: Omit<BenchReport, 'machine'> = {
    backend: info.name,
    threads: info.threads,
    simd: info.simd,
    backendReason: info.reason,
    quick,
    parts,
    peer: PEER_YARDSTICKS,
    peerSource: { kind: peerSource.kind, machine: peerSource.machine, date: peerSource.date, source: peerSource.source },
    settings: { reps, warmup, batch: quick ? 8 : 32, points: 3000, fullDepth: 2 },
  };

  // models first: the depth-6 LeNet's memory figure should not include buffers the other benches grew
  let modelRq: RqEffect[] = [];
  if (parts.includes('models')) {
    const r = await runModelBench({ cases, reps, warmup, log, isolate: opts.isolate ?? !quick, peer: peerSource });
    report.modelFailures = r.failures;
    report.modelsIsolated = r.isolated;
    for (const m of models) {
      const rec = byModel(r.entries, m);
      if (Object.keys(rec).length > 0) report[m] = rec;
    }
    modelRq = r.rq;
    const d6 = r.entries.find((e) => e.key === caseKey({ model: 'lenet', depth: 6, rq: false }));
    report.memory = d6?.memory
      ? {
          case: `lenet_d6 batch ${d6.batch}`,
          peakRssMiB: d6.memory.peakRssMiB,
          vmHwmMiB: d6.memory.vmHwmMiB,
          vmHwmResetBeforeCase: d6.memory.vmHwmResetBeforeCase,
          goalMiB: 4096,
          withinGoal: Math.max(d6.memory.peakRssMiB, d6.memory.vmHwmMiB ?? 0) < 4096,
        }
      : null;
  }
  if (parts.includes('conv')) {
    log('conv: matMul peak');
    const peak = await matmulPeak(reps, tiny ? 128 : undefined);
    report.matmulPeak = peak;
    report.matmulPeakGflops = peak.gflops;
    const convCases = tiny
      ? [{ n: 256, cin: 8, cout: 8 }]
      : quick
        ? DEFAULT_CONV_CASES.map((c) => ({ ...c, n: Math.ceil(c.n / 10) }))
        : [...DEFAULT_CONV_CASES];
    const rows: ConvRow[] = [];
    for (const c of convCases) {
      const r = await runConvBench({ cases: [c], variants: opts.convVariants ?? ['fused'], reps });
      rows.push(...r.map((x) => convRow(x, PEER_TORCH_CONV)));
      for (const x of r) log(`conv: N=${x.n} ${x.cin}->${x.cout} ${x.variant}: fwd ${x.fwdMs} ms, fwd+bwd ${x.fwdBwdMs} ms`);
    }
    report.conv = rows;
  }
  if (parts.includes('octree')) {
    log('octree: build, merge, neighbour tables, batch pipeline');
    report.octree = await runOctreeBench(
      tiny
        ? { shapes: 2, reps: 1, overlapBatches: 1, overlapRepeats: 1 }
        : quick
          ? { shapes: 8, reps: 1, overlapBatches: 2, overlapRepeats: 1 }
          : { reps, overlapBatches: 8, overlapRepeats: 3 },
    );
    for (const d of report.octree.depths)
      log(`octree: depth ${d.depth}: build ${d.buildMsPerShape} ms/shape, merge+tables ${d.mergeNeighborsMs} ms, batch ${d.batchMs.plain} ms`);
  }
  if (parts.includes('models') || parts.includes('octree')) {
    report.rq = {
      models: modelRq,
      octree: (report.octree?.depths ?? []).map((d) => ({
        depth: d.depth,
        nodesPlain: d.nodes.plain,
        nodesRq: d.nodes.rq30,
        leafRatio: round(d.nodes.rq30[d.depth]! / d.nodes.plain[d.depth]!, 3),
      })),
    };
  }
  const machine = watch.finish();
  log(`bench: done in ${machine.elapsedSec} s; load average ${machine.loadAverageBefore.join(' ')} -> ${machine.loadAverageAfter.join(' ')}`);
  return { ...report, machine };
}
