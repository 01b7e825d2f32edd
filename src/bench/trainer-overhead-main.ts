/**
 * The trainer's own cost per step: a trivial step loss (one 2-vector) run N steps through `train()` with
 * the hooks pretraining lists (no-op versions: they run but do nothing) and by a hand-written loop doing
 * the same tfjs work (variableGrads, SGD update, one asynchronous read-back, dispose), alternating, on the
 * cpu backend. Prints one JSON line: microseconds per step of each, per round, and their difference.
 *   node --import tsx src/bench/trainer-overhead-main.ts [steps=2000] [rounds=6]
 */
import * as tf from '@tensorflow/tfjs';
import { Params } from '../models/params.ts';
import { SgdMomentum } from './../train/sgd.ts';
import { variableGrads } from '../train/tape-grads.ts';
import { train, trainableVariables, type BatchSource, type TrainerHook } from '../train/trainer.ts';

const steps = Number(process.argv[2] ?? 2000),
  rounds = Number(process.argv[3] ?? 6);
await tf.setBackend('cpu');
const p = new Params('overhead');
p.add('w', [2], new Float32Array([0.5, -0.25]), true);
const w = p.variables.get('w')!;
const loss = (k: number): tf.Scalar => tf.sum(tf.square(tf.sub(w, tf.tensor1d([k, -k])))) as tf.Scalar;
const source: BatchSource<number> = {
  epochLength: (e) => (e < 10 ? steps / 10 : 0),
  async *batches(e, from, count) {
    for (let b = from; b < from + count; b++) yield e + b / 1000;
  },
};
// as many hooks as pretraining lists, each with every phase
const hooks: Array<TrainerHook<number>> = Array.from({ length: 8 }, (_, i) => ({
  name: `noop${i}`,
  beforeTrain: () => undefined,
  beforeEpoch: () => undefined,
  beforeStep: () => undefined,
  afterStep: () => undefined,
  afterEpoch: () => undefined,
  afterTrain: () => undefined,
  close: () => undefined,
}));
const viaTrainer = async (): Promise<number> => {
  const t0 = performance.now();
  await train({ params: p, task: { loss }, source, totalSteps: steps, lr: () => 0.01, momentum: 0.9, weightDecay: 1e-3, hooks });
  return ((performance.now() - t0) * 1000) / steps;
};
const byHand = async (): Promise<number> => {
  const t0 = performance.now();
  const opt = new SgdMomentum(0.9, 1e-3);
  const vars = trainableVariables(p);
  for (let e = 0; e < 10; e++) {
    for await (const k of source.batches(e, 0, steps / 10, null)) {
      const { value, grads } = variableGrads(() => loss(k), [...vars.values()]);
      opt.apply(vars, grads, 0.01);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
      tf.memory();
    }
  }
  opt.dispose();
  return ((performance.now() - t0) * 1000) / steps;
};
await viaTrainer();
await byHand();
const res = { trainerUs: [] as number[], handUs: [] as number[] };
for (let r = 0; r < rounds; r++) {
  for (const f of r % 2 ? [byHand, viaTrainer] : [viaTrainer, byHand]) (f === viaTrainer ? res.trainerUs : res.handUs).push(+(await f()).toFixed(1));
}
const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(
  JSON.stringify({
    steps,
    ...res,
    medTrainerUs: med(res.trainerUs),
    medHandUs: med(res.handUs),
    overheadUsPerStep: +(med(res.trainerUs) - med(res.handUs)).toFixed(1),
    tensorsLeft: tf.memory().numTensors - 1,
  }),
);
p.dispose();
