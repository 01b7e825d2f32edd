import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { backboneEntry, buildBackbone, describeBackbone, backboneType } from '../models/backbones.ts';
import type { PipelineBatch, SampleSpec, WorkerPool } from '../pipeline/index.ts';
import { MemoryBank } from '../ssl/memory-bank.ts';
import { midLosses, predictionAccuracy, updateBanks, type MidBatchTargets } from '../ssl/mid-loss.ts';
import { shapeClusters } from '../ssl/clusters.ts';
import { Rng } from '../util/rng.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { backendRecord, initBackend, type BackendInfo } from '../backend.ts';
import { adapterLine } from '../gpu-adapter.ts';
import type { PretrainConfig } from './config.ts';
import { MetricsLog } from './metrics.ts';
import { lineChart, type Series } from './plot.ts';
import { createProgress } from '../util/progress.ts';
import { stepLr } from './sgd.ts';
import { cacheDir, loadShapes, type ShapeCollection } from '../data/sources.ts';
import { UserError } from '../util/errors.ts';
import { pipelineSource, train, type StepTask, type TrainerHook, type TrainState } from './trainer.ts';
import { checkpointHook, resumeHook } from './hooks/checkpoint.ts';
import { evaluationHook } from './hooks/evaluation.ts';
import { metricsHook } from './hooks/metrics.ts';
import { progressHook } from './hooks/progress.ts';
import { watchdogHook } from './hooks/watchdog.ts';
import { checkBatchFits, hasStepHeapEstimate, HEAP_HEADROOM } from './step-memory.ts';
import { prepareSample, sampleSeed } from '../pipeline/sample.ts';
import { knnMonitor } from './knn-monitor.ts';

/**
 * MID-Net pretraining (anchor-spec §3): per step, a batch of shapes gets MID's base augmentation, then
 * randomized quantization (when configured), then its octree, all built in worker threads ahead of the
 * step; the HRNet's shape and point heads are trained with the two instance-discrimination losses against
 * memory banks, which are updated after the step. Everything random is derived from (seed, epoch, index),
 * so a run resumed from a checkpoint continues exactly as the uninterrupted run would.
 */
export interface PretrainOptions {
  out: string;
  resume?: boolean;
  /** Stop after this many optimizer steps in total (with a checkpoint). */
  maxSteps?: number;
  quiet?: boolean;
  backend?: string;
  /** Shapes already loaded (tests, the main job); otherwise loaded from config.data. */
  shapes?: ShapeCollection;
  /** Stop the process when no step finishes for a long time (default on; see train/watchdog.ts). */
  watchdog?: boolean;
}

export interface PretrainResult {
  steps: number;
  epochs: number;
  last: StepMetrics | null;
  first: StepMetrics | null;
  seconds: number;
  shapesPerSec: number;
  checkpoint: string;
  backend: BackendInfo;
}

export interface StepMetrics {
  step: number;
  epoch: number;
  loss: number;
  shapeLoss: number;
  pointLoss: number;
  shapeAcc: number;
  pointAcc: number;
  lr: number;
  shapesPerSec: number;
  leaves: number;
  buildMs: number;
  /** Live tfjs tensors after the step (constant from step 1 on: nothing leaks). */
  tensors: number;
}

/**
 * The row `metrics.jsonl` gets at the end of every epoch (after that epoch's last step row, with the same
 * `step`): the epoch's mean instance accuracies with their chance levels, and the kNN monitor.
 */
export interface EpochMetrics {
  step: number;
  /** Epochs completed (1 after the first epoch). */
  epochsDone: number;
  /** Mean over the epoch's steps of the shape-level (instance) and point-level (cluster) accuracy. */
  epochShapeAcc: number;
  epochPointAcc: number;
  /** Chance levels: one instance among all shapes; one cluster among the clusters per shape. */
  shapeChance: number;
  pointChance: number;
  /** kNN monitor (absent when off or when the data has no class labels). */
  knnTop1?: number;
  knnChance?: number;
  knnK?: number;
  knnQueries?: number;
  monitorSeconds?: number;
  /** Live tfjs tensors after the monitor (equal to the step rows' count: the monitor leaks nothing). */
  tensors: number;
}

/** Epoch rows and step rows of a metrics.jsonl (epoch rows carry `epochsDone`). */
export function splitMetricRows<T extends Record<string, unknown>>(rows: readonly T[]): { steps: T[]; epochs: T[] } {
  return { steps: rows.filter((r) => r.epochsDone === undefined), epochs: rows.filter((r) => r.epochsDone !== undefined) };
}

/** The kNN monitor of the random initialization (`monitor-init.json`, written when a run starts), if any. */
export async function readMonitorInit(out: string): Promise<Record<string, number> | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(out, 'monitor-init.json'), 'utf8')) as Record<string, number>;
  } catch {
    return null;
  }
}

/** The step milestones of the lr schedule: `decayAt` fractions of the whole run (all epochs). */
export function pretrainMilestones(cfg: PretrainConfig, stepsPerEpoch: number): number[] {
  return cfg.optim.decayAt.map((f) => Math.round(f * cfg.optim.epochs * stepsPerEpoch));
}

/** The lr of (0-based) step `step`. */
export function pretrainLr(cfg: PretrainConfig, stepsPerEpoch: number, step: number): number {
  return stepLr(cfg.optim.lr, pretrainMilestones(cfg, stepsPerEpoch), step);
}

export function sampleSpecOf(cfg: PretrainConfig): SampleSpec {
  return {
    depth: cfg.model.depth,
    fullDepth: cfg.model.fullDepth,
    transform: 'midnet',
    rq: cfg.rq ? { bins: cfg.rq.bins, variant: cfg.rq.variant, p: cfg.rq.p } : null,
    features: 'ND',
    nempty: false,
  };
}

/**
 * Fails in seconds, before k-means and the workers, when a step of this batch cannot fit the wasm heap:
 * the octrees of the first batch's shapes (built here, ~1 ms each) give the node counts that the step's
 * memory estimate needs (./step-memory.ts). Growing the heap into its 4 GiB wasm32 limit instead took
 * minutes and then aborted or hung (docs/performance.md, "paper preset").
 */
function checkStepFitsWasm(cfg: PretrainConfig, shapes: ShapeCollection, B: number, quiet?: boolean): void {
  // the estimate is the backbone's registry hook (stepHeapBytes); a type without one runs unchecked, and says so
  const model = cfg.model;
  if (!hasStepHeapEstimate(model)) {
    if (!quiet)
      process.stderr.write(
        `pretrain: backbone ${backboneType(model)} has no wasm heap estimate (stepHeapBytes in its registry entry), so batch ${B} is not checked against the wasm32 heap limit\n`,
      );
    return;
  }
  const spec = sampleSpecOf(cfg);
  const first = epochBatches(shapes.clouds.length, B, cfg.seed, 0)[0] ?? [];
  const D = cfg.model.depth;
  const nnum = new Array<number>(D + 1).fill(0),
    nnumNempty = new Array<number>(D + 1).fill(0);
  for (const i of first) {
    const o = prepareSample(shapes.clouds[i]!, spec, sampleSeed(cfg.seed, 0, i)).octree;
    for (let d = 0; d <= D; d++) {
      nnum[d]! += o.nnum[d]!;
      nnumNempty[d]! += o.nnumNempty[d]!;
    }
  }
  const fit = checkBatchFits(model, nnum, nnumNempty, first.length, B);
  if (fit.fits) return;
  const gib = (b: number): string => (b / 2 ** 30).toFixed(1);
  const size = backboneEntry(model).describeSize?.(model);
  throw new UserError(
    `pretrain: a step of batch ${B} at depth ${D}${size ? ` (${size})` : ''} needs about ${gib(fit.estimatedBytes)} GiB of wasm heap${fit.estimatedBytes <= fit.limitBytes ? ` (${gib(fit.neededBytes)} with the estimate's ${Math.round((HEAP_HEADROOM - 1) * 100)} % margin)` : ''}, over the ${gib(fit.limitBytes)} GiB wasm32 limit; ` +
      (fit.largestBatch > 0
        ? `the largest batch that fits is about ${fit.largestBatch}: pass --batch-size ${fit.largestBatch} (or set optim.batchSize in a config file)`
        : 'not even one shape fits: use a smaller model or depth'),
  );
}

/** Batches of one epoch: a seeded permutation of the training shapes, last partial batch dropped. */
export function epochBatches(n: number, batchSize: number, seed: number, epoch: number): number[][] {
  const perm = new Rng(`${seed}/epoch/${epoch}`).permutation(n);
  const out: number[][] = [];
  for (let s = 0; s + batchSize <= n; s += batchSize) out.push(Array.from(perm.subarray(s, s + batchSize)));
  return out;
}

export async function pretrain(cfg: PretrainConfig, opts: PretrainOptions): Promise<PretrainResult> {
  const backend = await initBackend({ backend: opts.backend });
  const out = path.resolve(opts.out);
  const ckptDir = path.join(out, 'checkpoint');
  const shapes =
    opts.shapes ??
    (await loadShapes(cfg.data.source, {
      split: 'train',
      normalize: cfg.data.normalize,
      points: cfg.data.points,
      synthPerClass: cfg.data.synthPerClass,
      seed: cfg.seed,
      quiet: opts.quiet,
      upAxis: cfg.data.upAxis,
      skipMissing: cfg.data.skipMissing,
    }));
  const N = shapes.clouds.length;
  const B = Math.min(cfg.optim.batchSize, N);
  if (N < 2) throw new UserError(`pretraining needs at least 2 shapes, ${shapes.name} has ${N}`);
  if (backend.name === 'wasm') checkStepFitsWasm(cfg, shapes, B, opts.quiet);

  // canonical clouds carry their k-means cluster ids as per-point labels
  const clusterBar = createProgress('k-means clusters', N, { quiet: opts.quiet, unit: 'shapes' });
  const clusterIds = await shapeClusters(shapes.clouds, cfg.clusters, {
    key: shapes.key,
    cacheDir: cacheDir(),
    seed: cfg.seed,
    onProgress: (d) => clusterBar.update(d),
  });
  clusterBar.stop();
  const clouds = shapes.clouds.map((c, i) => ({ ...c, labels: clusterIds[i]! }));

  // any registered backbone (src/models/backbones.ts); the config's model names its type ('mid-hrnet' if none)
  const model = buildBackbone(cfg.model, cfg.seed, cfg.name);
  const modelName = describeBackbone(cfg.model, cfg.name);
  if (!opts.quiet) {
    process.stderr.write(
      `${modelName}: ${model.params.count().toLocaleString('en-US')} trainable parameters; ` +
        `${N} shapes, batch ${B}, ${cfg.rq ? `RQ n=${cfg.rq.bins} (${cfg.rq.variant})` : 'no RQ'}, backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'})\n`,
    );
  }
  if (backend.adapter?.software)
    process.stderr.write(
      `warning: training on a software GPU adapter (${adapterLine(backend.adapter)}): correct but slow; for speed use a hardware GPU or --backend wasm\n`,
    );
  const shapeBank = new MemoryBank(N, cfg.model.projection, `${cfg.seed}/shape-bank`);
  const pointBank = new MemoryBank(N * cfg.clusters, cfg.model.pointOut, `${cfg.seed}/point-bank`);

  const stepsPerEpoch = Math.floor(N / B);
  const totalSteps = Math.min(cfg.optim.epochs * stepsPerEpoch, opts.maxSteps ?? Infinity);
  const milestones = pretrainMilestones(cfg, stepsPerEpoch);
  const metrics = new MetricsLog(path.join(out, 'metrics.jsonl'));
  await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify({ kind: 'pretrain', ...cfg, backend: backendRecord(backend) }, null, 2)}\n`);

  const knn = cfg.monitor.knn;
  const hasClassLabels = shapes.classes.length >= 2 && shapes.items.length === N;
  if (knn && !hasClassLabels && !opts.quiet) process.stderr.write(`kNN monitor skipped: ${shapes.name} has no class labels\n`);
  const monitorLabels = shapes.items.map((it) => it.label);
  const monitorOn = Boolean(knn && hasClassLabels);
  const monitor = (pool: WorkerPool | null): ReturnType<typeof knnMonitor> => {
    if (!knn || !pool) throw new Error("the kNN monitor runs only when configured, in the trainer's pool");
    return knnMonitor(model, shapes.clouds, monitorLabels, { k: knn.k, holdout: knn.holdout, seed: cfg.seed, pool, batchSize: B });
  };
  const meta = (s: TrainState): Record<string, unknown> & { step: number } => ({
    kind: 'pretrain',
    step: s.step,
    epoch: Math.floor(s.step / stepsPerEpoch),
    stepsPerEpoch,
    model: cfg.model,
    config: cfg,
    backend: backend.name,
  });

  // the step loss: MID-Net's two instance-discrimination losses against the memory banks; the banks are
  // updated from the step's one (asynchronous) read-back, before the next step
  const D = cfg.model.depth;
  let targets: MidBatchTargets | null = null;
  let labelled: Int32Array = new Int32Array(0);
  const task: StepTask<PipelineBatch, StepMetrics> = {
    inputs(batch) {
      const oct = batch.octree;
      targets = { ids: Int32Array.from(batch.indices), nodeLabels: oct.labels!, nodeShape: oct.batchIdNempty(D), clusters: cfg.clusters };
      return [tf.tensor2d(batch.features.data, [oct.nnum[D]!, batch.features.channels])];
    },
    loss(batch, _s, [x]) {
      const oct = batch.octree;
      model.training = true;
      const feat = model.forward(x as tf.Tensor2D, oct);
      const fc2 = model.projections.shape.apply(feat.global);
      const pointOut = model.projections.point.apply(feat.point);
      const l = midLosses(fc2, pointOut, targets!, shapeBank, pointBank, cfg.temperature);
      labelled = l.labelled;
      const [ws, wp] = cfg.lossWeights;
      return {
        loss: tf.add(tf.mul(l.shapeLoss, ws), tf.mul(l.pointLoss, wp)) as tf.Scalar,
        keep: [l.f, l.g, l.shapeLogits, l.pointLogits, l.shapeLoss, l.pointLoss],
      };
    },
    async read(value, kept, batch, s) {
      const t = targets!;
      const oct = batch.octree;
      const [f, g, shapeLogits, pointLogits, shapeLoss, pointLoss] = kept as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Scalar, tf.Scalar];
      const pointTargets = new Int32Array(labelled.length);
      for (let i = 0; i < labelled.length; i++) pointTargets[i] = t.nodeLabels[labelled[i]!]!;
      // the step's one read-back, asynchronous: losses, predictions and the bank features together
      const preds = [tf.argMax(shapeLogits, 1), tf.argMax(pointLogits, 1)];
      const [lossV, shapeLossV, pointLossV, shapePred, pointPred, fV, gV] = await Promise.all(
        [value, shapeLoss, pointLoss, ...preds, f, g].map((x) => x.data()),
      );
      tf.dispose(preds);
      const m: StepMetrics = {
        step: s.step + 1,
        epoch: s.epoch,
        loss: lossV![0]!,
        shapeLoss: shapeLossV![0]!,
        pointLoss: pointLossV![0]!,
        shapeAcc: predictionAccuracy(shapePred!, t.ids),
        pointAcc: predictionAccuracy(pointPred!, pointTargets),
        lr: s.lr,
        shapesPerSec: 0,
        leaves: oct.nnumNempty[D]! / oct.batchSize,
        buildMs: batch.timings.buildMs + batch.timings.mergeMs + batch.timings.tablesMs,
        tensors: 0,
      };
      updateBanks(fV as Float32Array, gV as Float32Array, labelled, t, shapeBank, pointBank, cfg.bankMomentum);
      return m;
    },
  };

  // the current epoch's step accuracies so far (a resumed run reads them back: its epoch row matches), the
  // first and last step rows and the run's clock
  const epochAcc = { shape: 0, point: 0, n: 0 };
  let first: StepMetrics | null = null;
  let last: StepMetrics | null = null;
  let t0 = performance.now();
  const runState: TrainerHook<PipelineBatch, StepMetrics> = {
    name: 'pretrain-epoch-accuracy',
    async beforeTrain({ state }) {
      t0 = performance.now();
      if (state.step % stepsPerEpoch === 0) return;
      const cur = Math.floor(state.step / stepsPerEpoch);
      for (const r of splitMetricRows(await MetricsLog.read(metrics.file).catch(() => [])).steps) {
        if (r.epoch !== cur) continue;
        epochAcc.shape += r.shapeAcc ?? 0;
        epochAcc.point += r.pointAcc ?? 0;
        epochAcc.n++;
      }
    },
    afterStep(_ctx, _batch, { row }) {
      first ??= row;
      last = row;
      epochAcc.shape += row.shapeAcc;
      epochAcc.point += row.pointAcc;
      epochAcc.n++;
    },
    afterEpoch() {
      epochAcc.shape = epochAcc.point = epochAcc.n = 0;
    },
  };
  // the monitor at the random initialization, the level pretraining has to beat (kept beside metrics.jsonl,
  // whose rows are the steps and epochs of training)
  const monitorInit: TrainerHook<PipelineBatch, StepMetrics> = {
    name: 'knn-monitor-init',
    async beforeTrain({ state, pool }) {
      if (!monitorOn || state.step !== 0) return;
      const r = await monitor(pool);
      await writeFileAtomic(
        path.join(out, 'monitor-init.json'),
        `${JSON.stringify({ step: 0, epochsDone: 0, knnTop1: r.top1, knnChance: r.chance, knnK: r.k, knnQueries: r.queries, monitorSeconds: r.seconds }, null, 2)}\n`,
      );
    },
  };
  const knnEval = evaluationHook({ epochs: monitorOn, end: 'never' }, ({ pool }) => monitor(pool));
  const hooks: Array<TrainerHook<PipelineBatch, StepMetrics>> = [
    ...(opts.resume
      ? [
          resumeHook({
            dir: ckptDir,
            model: model.params.variables,
            restore: (ck) => {
              const sb = ck.arrays.get('shape_bank');
              const pb = ck.arrays.get('point_bank');
              if (!sb || !pb || sb.length !== shapeBank.data.length || pb.length !== pointBank.data.length) {
                throw new UserError(`${ckptDir}: the checkpoint's memory banks do not match this dataset and config`);
              }
              shapeBank.data.set(sb);
              pointBank.data.set(pb);
            },
            onResumed: (s) => {
              if (!opts.quiet) process.stderr.write(`resuming ${out} from step ${s.step}\n`);
            },
          }),
        ]
      : []),
    monitorInit,
    knnEval,
    metricsHook<PipelineBatch, StepMetrics>(metrics, {
      step: (_ctx, batch, { row, ms, tensors }) => {
        row.tensors = tensors;
        row.shapesPerSec = batch.octree.batchSize / (ms / 1000);
        return { ...row };
      },
      // end of an epoch: its row (and the monitor) before the checkpoint, so a run killed in between
      // resumes from the previous checkpoint and writes the row again
      epoch: ({ state }) => {
        const row: EpochMetrics = {
          step: state.step,
          epochsDone: state.step / stepsPerEpoch,
          epochShapeAcc: epochAcc.shape / epochAcc.n,
          epochPointAcc: epochAcc.point / epochAcc.n,
          shapeChance: 1 / N,
          pointChance: 1 / cfg.clusters,
          tensors: 0,
        };
        const r = knnEval.last;
        if (r) Object.assign(row, { knnTop1: r.top1, knnChance: r.chance, knnK: r.k, knnQueries: r.queries, monitorSeconds: r.seconds });
        row.tensors = tf.memory().numTensors;
        return { ...row };
      },
    }),
    progressHook('pretrain', { quiet: opts.quiet, fields: ({ state }, { row }) => ({ loss: row.loss, sAcc: row.shapeAcc, pAcc: row.pointAcc, lr: state.lr }) }),
    runState,
    ...(opts.watchdog === false
      ? []
      : [
          watchdogHook(
            (min, s) =>
              `rq3d pretrain: no step finished for ${min} min after step ${s.step}; the process looks stuck and is stopped. Resume with: RQ3D_THREADS=1 rq3d pretrain ... --out ${opts.out} --resume`,
          ),
        ]),
    checkpointHook({
      dir: ckptDir,
      every: cfg.checkpointEvery,
      model: model.params.variables,
      meta,
      arrays: () => ({ shape_bank: shapeBank.data, point_bank: pointBank.data }),
      saveWhenIdle: true,
      keep: {
        epochs: cfg.keepEpochs,
        dir: (done) => path.join(out, `checkpoint-e${done}`),
        meta: (s) => ({
          kind: 'pretrain',
          kept: true,
          step: s.step,
          epoch: s.step / stepsPerEpoch,
          stepsPerEpoch,
          model: cfg.model,
          config: cfg,
          backend: backend.name,
        }),
      },
    }),
  ];
  const run = await train<PipelineBatch, StepMetrics>({
    params: model.params,
    task,
    source: pipelineSource({ load: (i) => clouds[i]!, epochBatches: (e) => epochBatches(N, B, cfg.seed, e), spec: sampleSpecOf(cfg), seed: cfg.seed }),
    totalSteps,
    lr: (step) => stepLr(cfg.optim.lr, milestones, step),
    momentum: cfg.optim.momentum,
    weightDecay: cfg.optim.weightDecay,
    pool: { workers: cfg.workers },
    hooks,
  });
  const seconds = (performance.now() - t0) / 1000;
  await writePretrainPlots(out);
  model.dispose();
  return {
    steps: run.steps,
    epochs: run.steps / stepsPerEpoch,
    first,
    last,
    seconds,
    shapesPerSec: ((run.steps - run.startStep) * B) / Math.max(seconds, 1e-9),
    checkpoint: ckptDir,
    backend,
  };
}

/**
 * Curves of a pretraining run as SVG in the run folder: `accuracy.svg` and `loss.svg` per step (smoothed),
 * and `monitor.svg` per epoch: the epoch's mean instance accuracies and the kNN monitor, each with its
 * chance level as a dashed line of the same colour.
 */
export async function writePretrainPlots(out: string): Promise<void> {
  let all: Array<Record<string, number>>;
  try {
    all = await MetricsLog.read(path.join(out, 'metrics.jsonl'));
  } catch {
    return;
  }
  const { steps: rows, epochs } = splitMetricRows(all);
  if (rows.length === 0) return;
  const init = await readMonitorInit(out);
  const smooth = (key: string): Array<{ x: number; y: number }> => {
    const w = Math.max(1, Math.round(rows.length / 50));
    const pts: Array<{ x: number; y: number }> = [];
    for (let i = 0; i < rows.length; i += w) {
      const chunk = rows.slice(i, i + w);
      pts.push({ x: chunk[chunk.length - 1]!.step!, y: chunk.reduce((s, r) => s + (r[key] ?? 0), 0) / chunk.length });
    }
    return pts;
  };
  const knnRows = epochs.filter((r) => r.knnTop1 !== undefined);
  await writeFileAtomic(
    path.join(out, 'accuracy.svg'),
    lineChart(
      [
        { name: 'shape-level (instance)', points: smooth('shapeAcc') },
        { name: 'point-level (cluster)', points: smooth('pointAcc') },
        ...(knnRows.length ? [{ name: 'kNN top-1 (held-out shapes)', points: knnRows.map((r) => ({ x: r.step!, y: r.knnTop1! })) }] : []),
      ],
      { title: 'MID-Net instance discrimination accuracy', xLabel: 'step', yLabel: 'accuracy', yMin: 0, yMax: 1 },
    ),
  );
  await writeFileAtomic(
    path.join(out, 'loss.svg'),
    lineChart(
      [
        { name: 'shape loss', points: smooth('shapeLoss') },
        { name: 'point loss', points: smooth('pointLoss') },
      ],
      { title: 'MID-Net losses', xLabel: 'step', yLabel: 'cross-entropy' },
    ),
  );
  if (epochs.length === 0) return;
  const per = (key: string): Array<{ x: number; y: number }> =>
    [...(init && key.startsWith('knn') ? [init] : []), ...epochs].filter((r) => r[key] !== undefined).map((r) => ({ x: r.epochsDone!, y: r[key]! }));
  const series: Series[] = [
    { name: 'instance (shape-level)', points: per('epochShapeAcc'), color: '#1f77b4' },
    { name: 'instance chance', points: per('shapeChance'), color: '#1f77b4', dashed: true },
    { name: 'cluster (point-level)', points: per('epochPointAcc'), color: '#d62728' },
    { name: 'cluster chance', points: per('pointChance'), color: '#d62728', dashed: true },
  ];
  if (knnRows.length) {
    series.push({
      name: `kNN top-1 (k = ${knnRows[0]!.knnK}, ${knnRows[0]!.knnQueries} held-out; epoch 0 = random init)`,
      points: per('knnTop1'),
      color: '#2ca02c',
    });
    series.push({ name: 'kNN chance (majority class)', points: per('knnChance'), color: '#2ca02c', dashed: true });
  }
  await writeFileAtomic(
    path.join(out, 'monitor.svg'),
    lineChart(series, { title: 'MID-Net per epoch: instance accuracies and kNN monitor', xLabel: 'epoch', yLabel: 'accuracy', yMin: 0, yMax: 1 }),
  );
}
