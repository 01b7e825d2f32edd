import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { OctreeLeNet } from '../models/lenet.ts';
import { OctreeResNet } from '../models/resnet.ts';
import type { Params, ForwardContext } from '../models/params.ts';
import type { Octree } from '../../octree/octree.ts';
import { BatchPipeline, type WorkerPool, type SampleSpec } from '../pipeline/index.ts';
import { MetricsLog } from '../train/metrics.ts';
import { pipelineSource, train, type TrainerHook } from '../train/trainer.ts';
import { checkpointHook, resumeHook } from '../train/hooks/checkpoint.ts';
import { evaluationHook } from '../train/hooks/evaluation.ts';
import { metricsHook } from '../train/hooks/metrics.ts';
import { progressHook } from '../train/hooks/progress.ts';
import { UserError } from '../util/errors.ts';
import { backendInfo, backendRecord } from '../backend.ts';
import { lineChart } from '../train/plot.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { ShapeCollection } from '../data/sources.ts';
import { chunks, trainingEpochs } from './batches.ts';
import { confusionMatrix, meanClassAccuracy, overallAccuracy, perClassAccuracy } from './metrics.ts';
import { confusionSvg, confusionTable } from './confusion.ts';

/**
 * Supervised baseline (ocnn-pytorch's classification recipe): an O-CNN ResNet or LeNet trained from
 * scratch on all labels with light augmentation (small y-rotation, scale, translation), SGD with momentum
 * 0.9, weight decay 5e-4 and a cosine learning-rate schedule; test accuracy and a resumable checkpoint
 * after every epoch.
 */
export interface SupervisedOptions {
  model: 'resnet' | 'lenet';
  depth: number;
  fullDepth: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  resblocks: number;
  widthScale: number;
  seed: number;
  workers: number;
  out: string;
  /** Continue from the run folder's checkpoint (saved after every epoch). */
  resume?: boolean;
  /** The resolved config to save as config.json (the CLI's, after presets, extends and --set); default these options. */
  config?: Record<string, unknown>;
  quiet?: boolean;
}

interface Net {
  params: Params;
  forward(x: tf.Tensor2D, octree: Octree, ctx: ForwardContext): tf.Tensor2D;
}

export async function trainSupervised(
  shapes: ShapeCollection,
  o: SupervisedOptions,
): Promise<{ oa: number; macc: number; bestOa: number; seconds: number; epochs: number }> {
  const t0 = performance.now();
  const classes = shapes.classes.length;
  const net: Net =
    o.model === 'resnet'
      ? new OctreeResNet(4, classes, o.depth, { resblocks: o.resblocks, seed: o.seed, widthScale: o.widthScale })
      : new OctreeLeNet(4, classes, o.depth, o.seed);
  const trainIdx = shapes.items.flatMap((it, i) => (it.split === 'train' ? [i] : []));
  const testIdx = shapes.items.flatMap((it, i) => (it.split === 'test' ? [i] : []));
  if (trainIdx.length === 0 || testIdx.length === 0)
    throw new UserError(`${shapes.key}: the supervised baseline needs a train and a test split (found ${trainIdx.length} / ${testIdx.length} shapes)`);
  const labels = shapes.items.map((it) => it.label);
  const stepsPerEpoch = Math.max(1, Math.floor(trainIdx.length / o.batchSize));
  const total = stepsPerEpoch * o.epochs;
  const epochs = trainingEpochs(trainIdx, o.batchSize, total, o.seed);
  const spec: SampleSpec = { depth: o.depth, fullDepth: o.fullDepth, transform: 'finetune', rq: null, features: 'ND', nempty: false };
  const evalSpec: SampleSpec = { ...spec, transform: 'none' };
  const ckptDir = path.join(o.out, 'checkpoint');
  const metrics = new MetricsLog(path.join(o.out, 'metrics.jsonl'));
  let last = { oa: 0, macc: 0 };
  let bestOa = 0;
  let priorSeconds = 0;
  let startEpoch = 0;
  let confusion: number[][] | null = null;
  const evaluate = async (pool: WorkerPool): Promise<{ oa: number; macc: number }> => {
    const pred: number[] = [];
    const pipe = new BatchPipeline({ load: (i) => shapes.clouds[i]!, batches: chunks(testIdx, 32), spec: evalSpec, pool, seed: 0 });
    for await (const b of pipe) {
      const x = tf.tensor2d(b.features.data, [b.octree.nnum[o.depth]!, b.features.channels]);
      const p = tf.tidy(() => tf.argMax(net.forward(x, b.octree, { training: false }), 1));
      pred.push(...(await p.data()));
      tf.dispose([x, p]);
    }
    const truth = testIdx.map((i) => labels[i]!);
    confusion = confusionMatrix(pred, truth, classes);
    return { oa: overallAccuracy(pred, truth), macc: meanClassAccuracy(pred, truth, classes) };
  };
  const seconds = (): number => priorSeconds + (performance.now() - t0) / 1000;
  // the epoch's mean step loss
  const epochLoss = { sum: 0, n: 0 };
  const { resume: _resume, quiet: _quiet, config, ...recorded } = o;
  const hooks: TrainerHook[] = [
    ...(o.resume
      ? [
          resumeHook({
            dir: ckptDir,
            model: net.params.variables,
            restore: (ck) => {
              if (ck.meta.kind !== 'supervised' || ck.meta.model !== o.model || ck.meta.depth !== o.depth || ck.meta.totalSteps !== total) {
                throw new UserError(
                  `${ckptDir}: this checkpoint is from another supervised run (model, depth or length differ); use another --out or drop --resume`,
                );
              }
              bestOa = Number(ck.meta.bestOa);
              last = ck.meta.last as { oa: number; macc: number };
              priorSeconds = Number(ck.meta.seconds ?? 0);
              startEpoch = Number(ck.meta.epoch);
            },
            onResumed: () => {
              if (!o.quiet) process.stderr.write(`resuming ${o.out} after epoch ${startEpoch}\n`);
            },
          }),
        ]
      : []),
    {
      // after the resume check, so a refused resume leaves the run's config as it was
      name: 'supervised-config',
      async beforeTrain() {
        const used = backendInfo();
        await writeFileAtomic(
          path.join(o.out, 'config.json'),
          `${JSON.stringify({ kind: 'supervised', ...(config ?? { data: shapes.key, ...recorded }), ...(used ? { backend: backendRecord(used) } : {}) }, null, 2)}\n`,
        );
      },
    },
    evaluationHook({ epochs: true, end: 'if-none' }, async ({ pool }) => {
      last = await evaluate(pool!);
      return last;
    }),
    metricsHook(metrics, {
      epoch: ({ state }) => {
        return { step: state.step, epoch: state.epoch + 1, loss: epochLoss.sum / Math.max(1, epochLoss.n), lr: state.lr, testOa: last.oa, testMacc: last.macc };
      },
    }),
    {
      name: 'supervised-report',
      beforeEpoch() {
        epochLoss.sum = epochLoss.n = 0;
      },
      afterStep(_ctx, _b, { row }) {
        epochLoss.sum += row.loss;
        epochLoss.n++;
      },
      async afterEpoch({ state }) {
        bestOa = Math.max(bestOa, last.oa);
        if (!o.quiet) process.stderr.write(`epoch ${state.epoch + 1}: test OA ${(100 * last.oa).toFixed(2)} %, mAcc ${(100 * last.macc).toFixed(2)} %\n`);
        await writeFileAtomic(
          path.join(o.out, 'accuracy.svg'),
          accuracyChart(path.join(o.out, 'metrics.jsonl'), `supervised ${o.model} d${o.depth} on ${shapes.name}`),
        );
      },
    },
    progressHook(`supervised ${o.model}`, { quiet: o.quiet, showStart: true, fields: ({ state }) => ({ loss: epochLoss.sum / epochLoss.n, lr: state.lr }) }),
    // every epoch: an interrupted run resumes here with --resume
    checkpointHook({
      dir: ckptDir,
      every: 'epoch',
      model: net.params.variables,
      meta: (st) => ({
        kind: 'supervised',
        model: o.model,
        depth: o.depth,
        classes: shapes.classes,
        epoch: st.epoch + 1,
        step: st.step,
        totalSteps: total,
        oa: last.oa,
        last,
        bestOa,
        seconds: seconds(),
      }),
    }),
  ];
  try {
    await train({
      params: net.params,
      task: {
        inputs: (b) => [
          tf.tensor2d(b.features.data, [b.octree.nnum[o.depth]!, b.features.channels]),
          tf.tidy(() =>
            tf.oneHot(
              tf.tensor1d(
                Int32Array.from(b.indices, (i) => labels[i]!),
                'int32',
              ),
              classes,
            ),
          ),
        ],
        loss: (b, st, [x, y]) =>
          tf.losses.softmaxCrossEntropy(y!, net.forward(x as tf.Tensor2D, b.octree, { training: true, dropoutSeed: o.seed * 1000003 + st.step })) as tf.Scalar,
      },
      source: pipelineSource({ load: (i) => shapes.clouds[i]!, epochBatches: (e) => (e < o.epochs ? epochs[e]! : []), spec, seed: o.seed }),
      totalSteps: total,
      lr: (step) => 0.5 * o.lr * (1 + Math.cos((Math.PI * step) / total)),
      momentum: 0.9,
      weightDecay: o.weightDecay,
      pool: { workers: o.workers },
      hooks,
    });
  } finally {
    net.params.dispose();
  }
  const cm = confusion as number[][] | null;
  const perClass = cm ? Object.fromEntries(perClassAccuracy(cm).map((a, c) => [shapes.classes[c]!, a])) : null;
  const result = {
    oa: last.oa,
    macc: last.macc,
    bestOa,
    seconds: seconds(),
    epochs: o.epochs,
    model: o.model,
    depth: o.depth,
    perClass,
    confusion: cm,
    classes: shapes.classes,
  };
  await writeFileAtomic(path.join(o.out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (cm) {
    await writeFileAtomic(
      path.join(o.out, 'confusion.svg'),
      confusionSvg(cm, shapes.classes, `supervised ${o.model} d${o.depth} on ${shapes.name}: test confusion`),
    );
    await writeFileAtomic(path.join(o.out, 'confusion.md'), `${confusionTable(cm, shapes.classes).join('\n')}\n`);
  }
  return { ...last, bestOa, seconds: result.seconds, epochs: o.epochs };
}

/** Test OA and mAcc (%) per epoch from the run's metrics log. */
export function accuracyChart(metricsFile: string, title: string): string {
  const rows = fs
    .readFileSync(metricsFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { epoch: number; testOa: number; testMacc: number });
  return lineChart(
    [
      { name: 'test OA', points: rows.map((r) => ({ x: r.epoch, y: 100 * r.testOa })) },
      { name: 'test mAcc', points: rows.map((r) => ({ x: r.epoch, y: 100 * r.testMacc })) },
    ],
    { title, xLabel: 'epoch', yLabel: 'accuracy (%)' },
  );
}
