/**
 * In-process A/B of one MID HRNet train step (the model bench's step: cpu preset, fixed banks, SGD) on the
 * wasm backend, alternating step by step between
 *   old: the composition of tfjs ops that issue 14 replaced (per-shape matMul losses with one-hots, the
 *        composed l2-normalize, tf.concat, relu(add), and wasm's copying Identity),
 *        obtained by unregistering rq3d's row kernels (the ops then take their reference paths);
 *   new: the fused row kernels (octree/ops/kernels/row-kernels.ts) and the shared Identity.
 * Same process, same batch, same weights' shapes: machine drift hits both alike, so it decides on a loaded
 * machine where separate runs cannot. Prints one JSON line (step ms per round, medians, old/new per round).
 *   RQ3D_THREADS=2 node --import tsx src/bench/glue-ab-main.ts [depth=5] [batch=16] [rounds=6] [rq=0|1]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.ts';
import { syntheticShapes } from './octree.ts';
import { specOf, withGridLabels } from './whole-model.ts';
import { buildPart, finishBatch } from '../pipeline/assemble.ts';
import { sampleSeed } from '../pipeline/sample.ts';
import { SgdMomentum } from '../train/sgd.ts';
import { trainableVariables } from '../train/trainer.ts';
import { HRNET_PRESETS, MidHRNet } from '../models/mid-hrnet.ts';
import { MemoryBank } from '../ssl/memory-bank.ts';
import { midLosses } from '../ssl/mid-loss.ts';
import { ADD_RELU, CONCAT_COLS, L2_NORMALIZE, SEGMENT_SOFTMAX_CE, octGather } from '../../octree/ops/index.ts';

const depth = Number(process.argv[2] ?? 5),
  B = Number(process.argv[3] ?? 16),
  rounds = Number(process.argv[4] ?? 6),
  rq = process.argv[5] === '1';
const info = await initBackend();
if (info.name !== 'wasm') throw new Error(`glue-ab-main: needs the wasm backend, got ${info.name}`);
const saved = new Map([tf.Identity, CONCAT_COLS, L2_NORMALIZE, SEGMENT_SOFTMAX_CE, ADD_RELU].map((n) => [n, tf.getKernel(n, 'wasm')!]));
// the wasm backend's own (copying) Identity, as registered before rq3d replaced it
interface WasmCopy {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}
const copyingIdentity: tf.KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as WasmCopy;
  const x = inputs.x!;
  const out = b.makeOutput([...x.shape], x.dtype);
  b.typedArrayFromHeap(out).set(b.typedArrayFromHeap(x));
  return out;
};
function mode(m: 'old' | 'new'): void {
  for (const [n] of saved) {
    if (tf.getKernel(n, 'wasm')) tf.unregisterKernel(n, 'wasm');
  }
  if (m === 'new') for (const [, k] of saved) tf.registerKernel(k);
  else tf.registerKernel({ kernelName: tf.Identity, backendName: 'wasm', kernelFunc: copyingIdentity });
}
// the model bench's HRNet input: its shapes with grid cluster labels, its sample spec
const shapes = syntheticShapes(B, 1, 3000).map(withGridLabels);
const spec = specOf({ model: 'hrnet', depth, batch: B, rq, pipeline: false, memory: false }, 2);
const part = finishBatch(
  buildPart(
    shapes.map((cloud, i) => ({ cloud, seed: sampleSeed(1, 0, i) })),
    spec,
  ),
  spec,
);
const o = part.octree;
const hr = new MidHRNet({ ...HRNET_PRESETS.cpu, depth }, 1);
const opt = new SgdMomentum(0.9, 5e-4);
const trainable = trainableVariables(hr.params);
const shapeBank = new MemoryBank(B, 128, '1/shape-bank');
const pointBank = new MemoryBank(B * 50, 64, '1/point-bank');
const targets = {
  ids: Int32Array.from({ length: B }, (_, i) => i),
  nodeLabels: o.labels ?? new Int32Array(o.nnumNempty[depth]!).fill(-1),
  nodeShape: o.batchIdNempty(depth),
  clusters: 50,
};
// the old loss: per-shape products (as before the fused ops), on the same code path otherwise
function oldLoss(fc2: tf.Tensor2D, pointOut: tf.Tensor2D): tf.Scalar {
  const K = 50,
    dim = pointOut.shape[1];
  const rows: number[] = [];
  const per = new Array(B).fill(0);
  targets.nodeLabels.forEach((l, i) => {
    if (l >= 0) {
      rows.push(i);
      per[targets.nodeShape[i]!]++;
    }
  });
  const norm = (x: tf.Tensor2D) => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
  const f = norm(fc2);
  const sl = tf.div(tf.matMul(f, tf.tensor2d(shapeBank.transposed(), [128, B])), 0.1);
  const shapeLoss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(targets.ids, 'int32'), B), sl);
  const g = norm(octGather(pointOut, tf.tensor1d(rows, 'int32')));
  const parts: tf.Tensor[] = [];
  let start = 0;
  for (let b = 0; b < B; b++) {
    if (!per[b]) continue;
    const blk = pointBank.gather(Array.from({ length: K }, (_, k) => b * K + k));
    const bt = new Float32Array(K * dim);
    for (let k = 0; k < K; k++) for (let c = 0; c < dim; c++) bt[c * K + k] = blk[k * dim + c]!;
    parts.push(tf.matMul(tf.slice(g, [start, 0], [per[b], dim]), tf.tensor2d(bt, [dim, K])));
    start += per[b];
  }
  const labels = rows.map((r) => targets.nodeLabels[r]!);
  const pl = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), K), tf.div(tf.concat(parts, 0), 0.1));
  return tf.add(shapeLoss, pl) as tf.Scalar;
}
let cur: 'old' | 'new' = 'new';
const step = (): number => {
  const t0 = performance.now();
  const x = tf.tensor2d(part.features!.data, [o.nnum[depth]!, part.features!.channels]);
  const { value, grads } = tf.variableGrads(() => {
    const ctx = { training: true };
    const bb = hr.backbone(x, o, ctx);
    const fc2 = hr.shapeHead(bb, o, ctx).fc2,
      out = hr.pointHead(bb, o, ctx).out;
    return cur === 'new' ? midLosses(fc2, out, targets, shapeBank, pointBank).loss : oldLoss(fc2, out);
  }, [...trainable.values()]);
  opt.apply(trainable, grads, 0.01);
  value.dataSync();
  tf.dispose([x, value, ...Object.values(grads)]);
  return performance.now() - t0;
};
const peak = (): number => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength / 2 ** 20;
const res: Record<string, number[]> = { old: [], new: [] };
for (const m of ['old', 'new'] as const) {
  mode(m);
  cur = m;
  step();
  step();
}
for (let r = 0; r < rounds; r++) {
  for (const m of (r % 2 ? ['new', 'old'] : ['old', 'new']) as ('old' | 'new')[]) {
    mode(m);
    cur = m;
    res[m]!.push(step());
  }
}
const med = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1]!;
};
const ratios = res.old!.map((v, i) => v / res.new![i]!);
console.log(
  JSON.stringify({
    depth,
    B,
    rq,
    nodesD: o.nnumNempty[depth],
    oldMs: res.old!.map(Math.round),
    newMs: res.new!.map(Math.round),
    medOld: Math.round(med(res.old!)),
    medNew: Math.round(med(res.new!)),
    speedupPerRound: ratios.map((v) => +v.toFixed(2)),
    processHeapPeakMiB: Math.round(peak()),
    load: (await import('node:os')).loadavg()[0],
  }),
);
process.exit(0);
