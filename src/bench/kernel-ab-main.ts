/**
 * In-process A/B of one model-bench train step on the wasm backend (the bench's batch, net and SGD),
 * alternating step by step between two kernel sets, so machine drift hits both alike (it decides on a
 * loaded machine where separate runs cannot). Prints one JSON line: step ms per round, medians, old ÷ new
 * per round, and the wasm heap (it only grows: the peak of both sides together).
 *   RQ3D_THREADS=2 node --import tsx src/bench/kernel-ab-main.ts MODEL DEPTH BATCH ROUNDS RQ(0|1) [SWITCHES]
 * SWITCHES (comma-separated, default all) name what the old side takes back:
 *   rows     the weighted gather, ReLU sum and ReLU gradient as JS loops on heap views (before SIMD)
 *   bnrun    batch norm's running statistics as composed tfjs ops (Rq3dBatchNormRunning unregistered)
 *   block    the conv's column blocks at 2^24 floats (64 MB, the budget before) instead of the default 2^22
 *   tape     tf.variableGrads, which keeps the whole tape to the end of the backward pass, instead of
 *            rq3d's variableGrads (src/train/tape-grads.ts), which releases it as it goes
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.ts';
import { benchTrainStep, type BenchModel } from './whole-model.ts';
import { variableGrads } from '../train/tape-grads.ts';
import { heapKernels, type HeapKernels, type WasmModuleLike } from '../../octree/ops/kernels/wasm/index.ts';
import { weightedRowsLoop } from '../../octree/ops/kernels/fused-loops.ts';
import { addReluRows, reluGradRows } from '../../octree/ops/kernels/row-loops.ts';
import { BATCH_NORM_RUNNING } from '../../octree/ops/index.ts';
import { DEFAULT_BLOCK_ELEMENTS, setDefaultBlockElements } from '../../octree/ops/kernels/gather-matmul.ts';

const [model = 'hrnet', depthArg = '5', batchArg = '16', roundsArg = '6', rqArg = '0', switchArg = 'rows,bnrun'] = process.argv.slice(2);
const depth = Number(depthArg),
  B = Number(batchArg),
  rounds = Number(roundsArg),
  rq = rqArg === '1';
const switches = new Set(switchArg.split(','));
const info = await initBackend();
if (info.name !== 'wasm') throw new Error(`kernel-ab-main: needs the wasm backend, got ${info.name}`);
const mod = (tf.backend() as unknown as { wasm: WasmModuleLike & { HEAPU8: Uint8Array } }).wasm;
const memory = mod.wasmMemory!;
const k = heapKernels(mod);
if (!k) throw new Error('kernel-ab-main: rq3d wasm kernels are off');

// 'rows': the exports the hosts call, swapped for the JS loops they replaced (same arguments)
type RowExports = Pick<HeapKernels, 'weightedRows' | 'addRelu' | 'reluGrad'>;
const simd: RowExports = { weightedRows: k.weightedRows, addRelu: k.addRelu, reluGrad: k.reluGrad };
const f = (): Float32Array => new Float32Array(memory.buffer),
  i = (): Int32Array => new Int32Array(memory.buffer);
const loops: RowExports = {
  weightedRows: (x, offsets, src, weight, rows, c, out) =>
    weightedRowsLoop(f(), x >>> 2, i(), offsets >>> 2, i(), src >>> 2, f(), weight >>> 2, rows, c, f(), out >>> 2),
  addRelu: (a, b, n, y) => addReluRows(f(), a >>> 2, f(), b >>> 2, n, f(), y >>> 2),
  reluGrad: (dy, y, n, dx) => reluGradRows(f(), dy >>> 2, f(), y >>> 2, n, f(), dx >>> 2),
};

const bnRunning = tf.getKernel(BATCH_NORM_RUNNING, 'wasm')!;

let grads = variableGrads;
function mode(m: 'old' | 'new'): void {
  if (switches.has('tape')) grads = m === 'old' ? tf.variableGrads : variableGrads;
  if (switches.has('rows')) Object.assign(k!, m === 'old' ? loops : simd);
  if (switches.has('block')) setDefaultBlockElements(m === 'old' ? 1 << 24 : DEFAULT_BLOCK_ELEMENTS);
  if (switches.has('bnrun')) {
    if (tf.getKernel(BATCH_NORM_RUNNING, 'wasm')) tf.unregisterKernel(BATCH_NORM_RUNNING, 'wasm');
    if (m === 'new') tf.registerKernel(bnRunning);
  }
}

const { net, step: trainStep } = benchTrainStep({ model: model as BenchModel, depth, batch: B, rq, pipeline: false, memory: false });
// CPU time of the process per step as well as wall time: on a shared machine it moves less with the load
const cpu: Record<'old' | 'new', number[]> = { old: [], new: [] };
let lastCpuMs = 0;
const step = async (): Promise<number> => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await trainStep(grads);
  const c1 = process.cpuUsage(c0);
  lastCpuMs = (c1.user + c1.system) / 1000;
  return performance.now() - t0;
};
const res: Record<'old' | 'new', number[]> = { old: [], new: [] };
for (const m of ['old', 'new'] as const) {
  mode(m);
  await step();
  await step();
}
for (let r = 0; r < rounds; r++) {
  for (const m of (r % 2 ? ['new', 'old'] : ['old', 'new']) as ('old' | 'new')[]) {
    mode(m);
    res[m].push(await step());
    cpu[m].push(lastCpuMs);
  }
}
mode('new');
const med = (a: number[]): number => {
  const v = [...a].sort((x, y) => x - y);
  return v[v.length >> 1]!;
};
console.log(
  JSON.stringify({
    model,
    depth,
    B,
    rq,
    switches: [...switches],
    oldMs: res.old.map(Math.round),
    newMs: res.new.map(Math.round),
    medOld: Math.round(med(res.old)),
    medNew: Math.round(med(res.new)),
    speedupPerRound: res.old.map((v, j) => +(v / res.new[j]!).toFixed(2)),
    cpuMedOld: Math.round(med(cpu.old)),
    cpuMedNew: Math.round(med(cpu.new)),
    cpuRatioPerRound: cpu.old.map((v, j) => +(v / cpu.new[j]!).toFixed(2)),
    heapMiB: Math.round(mod.HEAPU8.buffer.byteLength / 2 ** 20),
    load: (await import('node:os')).loadavg().map((v) => +v.toFixed(1)),
  }),
);
net.dispose();
process.exit(0);
