/**
 * `rq3d bench`: the whole-model, conv-layer and octree benchmarks in one run, beside the peer's
 * yardsticks (ocnn-pytorch on PyTorch CPU, shared/reference/peer-ocnn.md). With --json, stdout is one JSON
 * object; progress lines always go to stderr. Figures are wall-clock medians: the machine record (load
 * average, CPU used by other processes meanwhile) says how quiet the machine was.
 */
import type { Command } from 'commander';
import type { BackendInfo } from '../backend.ts';
import type { ConvBenchResult, ConvVariant } from '../bench/conv-layer.ts';
import type { MachineInfo } from '../bench/machine.ts';
import type { MatMulResult } from '../bench/matmul.ts';
import type { BenchModel, ModelBenchEntry, RqEffect } from '../bench/whole-model.ts';
import type { OctreeBenchResult } from '../bench/octree.ts';
import type { PEER_YARDSTICKS, PeerConvFigures, PeerSource } from '../bench/peer.ts';
import { UsageError } from '../util/errors.ts';
import { checkBackend } from './backend-flag.ts';
import { positiveIntOption } from './options.ts';

// tfjs and the benchmarks load only when the command runs (rq3d --help stays fast)

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

export const BENCH_PARTS = ['models', 'conv', 'octree'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];
const MODELS: readonly BenchModel[] = ['lenet', 'resnet', 'hrnet'];
const CONV_VARIANTS: readonly ConvVariant[] = ['im2col', 'fused', 'whole'];

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
  const models = opts.models ?? [...MODELS];
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
    import('../bench/conv-layer.ts'),
    import('../bench/machine.ts'),
    import('../bench/matmul.ts'),
    import('../bench/whole-model.ts'),
    import('../bench/octree.ts'),
    import('../bench/peer.ts'),
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

// ---------------------------------------------------------------------------------------------------------
// The readable report.

function table(head: string[], rows: Array<Array<string | number | null>>): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (c === null || (typeof c === 'number' && !Number.isFinite(c)) ? '-' : String(c))))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(cells[0]!), w.map((x) => '-'.repeat(x)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const ratio = (a: number | null | undefined, b: number | null | undefined): string | null =>
  a === null || a === undefined || b === null || b === undefined || !(b > 0) ? null : `${round(a / b, 2)}x`;

export function formatBench(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`rq3d bench (${r.quick ? 'quick' : 'full'}): backend ${r.backend}, ${r.threads} thread(s)${r.simd ? ', SIMD' : ''}`);
  out.push(`machine: ${m.cpuModel}, ${m.cores} cores, ${m.totalMemMiB} MiB, node ${m.node}`);
  out.push(
    `load average before ${m.loadAverageBefore.join(' ')}, after ${m.loadAverageAfter.join(' ')}; other processes used ${m.otherProcessesCores ?? '?'} cores on average, this run ${m.ownCores ?? '?'}; ${m.elapsedSec} s`,
  );
  const ps = r.peerSource;
  out.push(
    ps.kind === 'stored'
      ? `peer: stored figures measured on ANOTHER machine (${ps.machine}, ${ps.date}; ${ps.source}); for this machine run ../shared/peer/side-by-side and pass its JSON with --peer FILE`
      : `peer: side-by-side result of ${ps.date} on ${ps.machine} (${ps.source})`,
  );
  const entries = [r.lenet, r.resnet, r.hrnet].flatMap((x) => (x ? Object.values(x) : []));
  if (entries.length > 0) {
    out.push('', `Models (median of ${r.settings.reps} after ${r.settings.warmup} warm-up(s); shapes/s; octrees prebuilt unless noted):`);
    out.push(
      table(
        ['case', 'batch', 'leaves', 'train', 'peer', 'ratio', 'vs tuned', 'fwd', 'peer', 'ratio', 's/step', 'inline', 'pooled'],
        entries.map((e) => [
          e.key,
          e.batch,
          e.nodes[e.depth]!,
          e.trainShapesPerSec,
          e.peer?.trainShapesPerSec ?? null,
          ratio(e.trainShapesPerSec, e.peer?.trainShapesPerSec),
          ratio(e.trainShapesPerSec, e.peer?.trainShapesPerSecTunedAlloc),
          e.fwdShapesPerSec,
          e.peer?.fwdShapesPerSec ?? null,
          ratio(e.fwdShapesPerSec, e.peer?.fwdShapesPerSec),
          e.secondsPerStep,
          e.inline?.shapesPerSec ?? null,
          e.pooled?.shapesPerSec ?? null,
        ]),
      ),
    );
    for (const f of r.modelFailures ?? []) out.push(`${f.key} batch ${f.batch}: FAILED: ${f.error}`);
    if (ps.kind === 'stored')
      out.push(
        `(stored peer HRNet is ocnn's classification HRNet d6 batch 8 on ${r.peer.machine}, ${r.peer.date}: ${r.peer.hrnet.trainShapesPerSec} train / ${r.peer.hrnet.fwdShapesPerSec} fwd shapes/s; a different net, no ratio)`,
      );
  }
  if (r.memory) {
    out.push(
      '',
      `Memory, ${r.memory.case}: peak RSS ${r.memory.peakRssMiB} MiB, VmHWM ${r.memory.vmHwmMiB ?? '?'} MiB${r.memory.vmHwmResetBeforeCase ? '' : ' (process peak so far)'}; goal < ${r.memory.goalMiB} MiB: ${r.memory.withinGoal ? 'met' : 'NOT met'}`,
    );
  }
  if (r.rq && (r.rq.models.length > 0 || r.rq.octree.length > 0)) {
    out.push('', 'RQ n=30 (random-random) on the same shapes:');
    if (r.rq.models.length > 0) {
      out.push(
        table(
          ['case', 'leaves plain', 'leaves RQ', 'ratio', 's/step plain', 's/step RQ', 'train speed-up', 'fwd speed-up', 'peer speed-up'],
          r.rq.models.map((q) => [
            q.key,
            q.nodesPlain[q.depth]!,
            q.nodesRq[q.depth]!,
            q.leafRatio,
            q.secondsPerStepPlain,
            q.secondsPerStepRq,
            `${q.trainSpeedup}x`,
            `${q.fwdSpeedup}x`,
            q.peerTrainSpeedup === null ? null : `${q.peerTrainSpeedup}x`,
          ]),
        ),
      );
      for (const q of r.rq.models) out.push(`  ${q.key} nodes per depth: ${q.nodesPlain.join(' / ')}  ->  RQ ${q.nodesRq.join(' / ')}`);
    }
    for (const q of r.rq.octree)
      out.push(`  octree bench depth ${q.depth} nodes: ${q.nodesPlain.join(' / ')}  ->  RQ ${q.nodesRq.join(' / ')} (leaves x${q.leafRatio})`);
  }
  if (r.conv) {
    out.push(
      '',
      `Conv layer (one octree conv, sphere-shell neighbourhoods; matMul peak ${r.matmulPeakGflops} GFLOP/s; torch figures stored from ${r.peer.machine}, ${r.peer.date}: sgemm ${r.peer.sgemmGflops.join('-')} GFLOP/s):`,
    );
    out.push(
      table(
        ['N', 'Cin', 'Cout', 'variant', 'fwd ms', 'GFLOP/s', 'fwd+bwd ms', 'GFLOP/s', 'torch ms', 'torch fwd+bwd', 'speed vs torch'],
        r.conv.map((c) => [
          c.N,
          c.Cin,
          c.Cout,
          c.variant,
          c.fwdMs,
          c.fwdGflops,
          c.trainMs,
          c.trainGflops,
          c.peerFwdMs,
          c.peerTrainMs,
          c.vsPeerTrain === null ? null : `${c.vsPeerTrain}x`,
        ]),
      ),
    );
  }
  if (r.octree) {
    const o = r.octree;
    out.push('', `Octree (${o.shapes} shapes of ${o.pointsPerShape} points, full depth ${o.fullDepth}):`);
    out.push(
      table(
        ['depth', 'build ms/shape', 'peer', 'merge+tables ms', 'peer', 'batch ms', 'batch ms RQ', 'shapes/s'],
        // the peer's merge figure is for a batch of 32
        o.depths.map((d) => [
          d.depth,
          d.buildMsPerShape,
          o.peer.buildMsPerShape[d.depth] ?? null,
          d.mergeNeighborsMs,
          o.shapes === 32 ? (o.peer.mergeNeighborsMs[d.depth] ?? null) : null,
          d.batchMs.plain,
          d.batchMs.rq30,
          d.shapesPerSec.plain,
        ]),
      ),
    );
    const v = o.overlap;
    out.push(
      `pipeline overlap at depth ${v.depth}, ${v.batches} batches, ${v.stepMs} ms synthetic step: inline ${v.inline.wallMs} ms, pooled (merge in worker) ${v.pooledMergeInWorker.wallMs} ms, (merge in main) ${v.pooledMergeInMain.wallMs} ms; speed-up ${v.speedup}x, overlap ${v.overlapRatio}`,
    );
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------

function listOption<T extends string>(allowed: readonly T[], flag: string): (v: string) => T[] {
  return (v) => {
    const xs = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const x of xs) if (!allowed.includes(x as T)) throw new UsageError(`${flag}: unknown '${x}'; choose from ${allowed.join(', ')}`);
    if (xs.length === 0) throw new UsageError(`${flag}: give at least one of ${allowed.join(', ')}`);
    return xs as T[];
  };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark whole models (LeNet, ResNet, MID HRNet, with and without RQ), one conv layer and the octree pipeline against ocnn-pytorch')
    .option('--json', 'print exactly one JSON object on stdout (progress goes to stderr)')
    .option('--quick', 'a 1-2 minute smoke run: batch 8, fewer repetitions, smaller conv and octree cases')
    .option('--tiny', 'a correctness smoke run for slow backends (a software GPU adapter): batch 2, smallest depths, one tiny conv case')
    .option('--only <parts>', `comma-separated subset of ${BENCH_PARTS.join(',')}`, listOption(BENCH_PARTS, '--only'))
    .option('--models <names>', `models of the model bench (${MODELS.join(',')})`, listOption(MODELS, '--models'))
    .option('--reps <n>', 'timed repetitions per figure (default 5; 2 with --quick)', positiveIntOption('--reps'))
    .option(
      '--conv-variants <names>',
      `conv layer variants (${CONV_VARIANTS.join(',')}; default fused, the one the models use)`,
      listOption(CONV_VARIANTS, '--conv-variants'),
    )
    .option('--in-process', 'run every model case in this process (default with --quick; otherwise each case gets a child process)')
    .option('--backend <name>', 'tfjs backend (default: RQ3D_BACKEND or automatic)')
    .option('--threads <n>', 'wasm threads (default: RQ3D_THREADS or 2)', positiveIntOption('--threads'))
    .option(
      '--peer <file>',
      'compare the models with a side-by-side result (the JSON ../shared/peer/side-by-side prints) instead of the stored figures of another machine',
    )
    .option(
      '--export-inputs <dir>',
      "write the benches' exact inputs (plain.bin, rq30.bin, table_<n>.bin) and manifest.json into DIR for an external harness, and run nothing else",
    )
    .action(
      async (o: {
        json?: boolean;
        quick?: boolean;
        tiny?: boolean;
        only?: BenchPart[];
        models?: BenchModel[];
        reps?: number;
        convVariants?: ConvVariant[];
        backend?: string;
        threads?: number;
        inProcess?: boolean;
        exportInputs?: string;
        peer?: string;
      }) => {
        if (o.backend !== undefined) await checkBackend(o.backend);
        if (o.exportInputs !== undefined && o.exportInputs.trim() === '') throw new UsageError('--export-inputs: give a folder');
        if (o.peer !== undefined && o.peer.trim() === '') throw new UsageError('--peer: give a side-by-side result file');
        if (o.exportInputs !== undefined) {
          const { exportBenchInputs } = await import('../bench/export-inputs.ts');
          const r = await exportBenchInputs(o.exportInputs);
          process.stderr.write(
            `bench inputs written to ${r.dir}: ${r.files.join(', ')} (mean non-empty depth-6 leaves: plain ${r.meanLeavesD6.plain}, rq30 ${r.meanLeavesD6.rq30})\n`,
          );
          if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const report = await runBench({
          quick: o.quick,
          tiny: o.tiny,
          only: o.only,
          models: o.models,
          reps: o.reps,
          convVariants: o.convVariants,
          isolate: o.inProcess ? false : undefined,
          backend: o.backend,
          threads: o.threads,
          peer: o.peer,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : formatBench(report));
      },
    );
}
