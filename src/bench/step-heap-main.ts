/**
 * Calibration of the step-heap estimate (src/models/mid-hrnet-memory.ts): one MID HRNet training step of
 * the model bench (its batch of synthetic 3,000-point shapes, MID losses against banks, rq3d's
 * variableGrads and SGD) in a fresh process, then the wasm heap (it never shrinks, so it is the step's
 * peak) beside the estimate on the same batch's node counts. Prints one JSON line.
 *   RQ3D_THREADS=2 node --import tsx src/bench/step-heap-main.ts PRESET BATCH [RQ(0|1)]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.ts';
import { HRNET_PRESETS } from '../models/presets.ts';
import { estimateStepHeapBytes } from '../train/step-memory.ts';
import { benchTrainStep, type ModelCase } from './whole-model.ts';

const [presetArg = 'cpu', batchArg = '16', rqArg = '0'] = process.argv.slice(2);
const preset = presetArg as 'cpu' | 'paper' | 'tiny';
if (!['cpu', 'paper', 'tiny'].includes(preset)) throw new Error(`step-heap-main: unknown HRNet preset '${presetArg}' (cpu, paper, tiny)`);
const info = await initBackend();
if (info.name !== 'wasm') throw new Error(`step-heap-main: needs the wasm backend, got ${info.name}`);
const heap = (): number => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;

const cfg = HRNET_PRESETS[preset];
const c: ModelCase = { model: 'hrnet', preset, depth: cfg.depth, batch: Number(batchArg), rq: rqArg === '1', pipeline: false, memory: false };
const heapBefore = heap();
// the batch is built in JS memory: the heap grows with the net, the velocities and the step
const { batch, net, step } = benchTrainStep(c);
const o = batch.octree;
await step();
const nnum = Array.from(o.nnum);
const nnumNempty = Array.from(o.nnumNempty);
const estimate = estimateStepHeapBytes(cfg, nnum, nnumNempty);
const MiB = 2 ** 20;
console.log(
  JSON.stringify({
    preset,
    batch: c.batch,
    rq: c.rq,
    nnum,
    nnumNempty,
    heapBeforeNetMiB: Math.round(heapBefore / MiB),
    heapMiB: Math.round(heap() / MiB),
    estimateMiB: Math.round(estimate / MiB),
    estimateOverHeap: +(estimate / heap()).toFixed(3),
  }),
);
net.dispose();
process.exit(0);
