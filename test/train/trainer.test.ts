import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Params } from '../../src/models/params.ts';
import { MetricsLog } from '../../src/train/metrics.ts';
import { disposeLoaded, loadCheckpoint } from '../../src/train/checkpoint.ts';
import { checkpointHook, resumeHook } from '../../src/train/hooks/checkpoint.ts';
import { evaluationHook } from '../../src/train/hooks/evaluation.ts';
import { metricsHook } from '../../src/train/hooks/metrics.ts';
import { train, trainableVariables, type BatchSource, type StepTask, type TrainerHook, type TrainerOptions } from '../../src/train/trainer.ts';

/**
 * The trainer on a toy problem: w (2 values) fitted to targets by SGD, a batch is a number k and its loss
 * is ||w - t_k||^2 with t_k = (k, -k) / 10. Epochs of 2 batches; batch b of epoch e is k = 2e + b.
 */
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rq3d-trainer-'));

function toyParams(): Params {
  const p = new Params('toy');
  p.add('w', [2], new Float32Array([0.5, -0.25]), true);
  p.add('frozen', [2], new Float32Array([1, 1]), true);
  p.add('stats', [1], new Float32Array([0]), false);
  return p;
}

const source = (epochs: number): BatchSource<number> => ({
  epochLength: (e) => (e < epochs ? 2 : 0),
  async *batches(e, from, count) {
    for (let b = from; b < from + count; b++) yield 2 * e + b;
  },
});

const toyTask = (p: Params): StepTask<number> => ({
  loss: (k) => tf.sum(tf.square(tf.sub(p.variables.get('w')!, tf.tensor1d([k / 10, -k / 10])))) as tf.Scalar,
});

function options(
  p: Params,
  hooks: Array<TrainerHook<number>>,
  over: Partial<TrainerOptions<number, { loss: number }>> = {},
): TrainerOptions<number, { loss: number }> {
  return {
    params: p,
    include: (n) => n !== 'frozen',
    task: toyTask(p),
    source: source(3),
    totalSteps: 6,
    lr: (s) => (s < 3 ? 0.1 : 0.01),
    momentum: 0.9,
    weightDecay: 1e-3,
    hooks,
    ...over,
  };
}

const values = async (p: Params): Promise<Map<string, number[]>> =>
  new Map(await Promise.all([...p.variables].map(async ([n, v]): Promise<[string, number[]]> => [n, Array.from(await v.data())])));

/** A hook that writes down every phase it sees. */
function recorder(name: string, log: string[]): TrainerHook<number> {
  return {
    name,
    beforeTrain: ({ state }) => void log.push(`${name}:beforeTrain@${state.step}`),
    beforeEpoch: ({ state }) => void log.push(`${name}:beforeEpoch ${state.epoch}`),
    beforeStep: ({ state }, k) => void log.push(`${name}:beforeStep ${state.step} k${k}`),
    afterStep: ({ state }, k) => void log.push(`${name}:afterStep ${state.step} k${k}${state.epochEnd ? ' end' : ''}`),
    afterEpoch: ({ state }) => void log.push(`${name}:afterEpoch ${state.epoch}`),
    afterTrain: ({ state }) => void log.push(`${name}:afterTrain@${state.step}`),
    close: () => void log.push(`${name}:close`),
  };
}

describe('the trainer', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs the hooks in list order in every phase, afterEpoch only after a whole epoch, close last hook first', async () => {
    const p = toyParams();
    const log: string[] = [];
    const r = await train(options(p, [recorder('a', log), recorder('b', log)], { totalSteps: 3 }));
    expect(r).toEqual({ steps: 3, startStep: 0, resumed: false });
    const a = log.filter((l) => l.startsWith('a:'));
    expect(a).toEqual([
      'a:beforeTrain@0',
      'a:beforeEpoch 0',
      'a:beforeStep 0 k0',
      'a:afterStep 1 k0',
      'a:beforeStep 1 k1',
      'a:afterStep 2 k1 end',
      'a:afterEpoch 0',
      'a:beforeEpoch 1',
      'a:beforeStep 2 k2',
      // the run stops inside epoch 1: no afterEpoch for it
      'a:afterStep 3 k2',
      'a:afterTrain@3',
      'a:close',
    ]);
    // in every phase a before b; close in reverse
    expect(log.slice(0, 4)).toEqual(['a:beforeTrain@0', 'b:beforeTrain@0', 'a:beforeEpoch 0', 'b:beforeEpoch 0']);
    expect(log.slice(-2)).toEqual(['b:close', 'a:close']);
    p.dispose();
  });

  it('trains only the trainable variables that `include` admits, with momentum, weight decay and the lr schedule', async () => {
    const p = toyParams();
    expect([...trainableVariables(p, (n) => n !== 'frozen').keys()]).toEqual(['w']);
    expect([...trainableVariables(p).keys()]).toEqual(['w', 'frozen']);
    await train(options(p, [], { totalSteps: 4 }));
    // the same updates written out: g = 2 (w - t) + wd w, v = 0.9 v + g, w -= lr v
    const w = [0.5, -0.25];
    const v = [0, 0];
    for (let s = 0; s < 4; s++) {
      const k = 2 * Math.floor(s / 2) + (s % 2);
      const t = [k / 10, -k / 10];
      for (let j = 0; j < 2; j++) {
        v[j] = 0.9 * v[j]! + (2 * (w[j]! - t[j]!) + 1e-3 * w[j]!);
        w[j]! -= (s < 3 ? 0.1 : 0.01) * v[j]!;
      }
    }
    const got = await values(p);
    got.get('w')!.forEach((x, j) => expect(x).toBeCloseTo(w[j]!, 5));
    expect(got.get('frozen')).toEqual([1, 1]);
    expect(got.get('stats')).toEqual([0]);
    p.dispose();
  });

  it('resumes through its hooks exactly where an uninterrupted run stands (weights, velocities, metrics rows)', async () => {
    const run = async (dir: string, totalSteps: number, resume: boolean): Promise<Params> => {
      const p = toyParams();
      const metrics = new MetricsLog(path.join(dir, 'metrics.jsonl'));
      const hooks: Array<TrainerHook<number>> = [
        ...(resume ? [resumeHook({ dir: path.join(dir, 'checkpoint'), model: p.variables })] : []),
        metricsHook<number, { loss: number }>(metrics, { step: ({ state }, k, out) => ({ step: state.step, k, loss: out.row.loss }) }),
        checkpointHook({ dir: path.join(dir, 'checkpoint'), every: 1, model: p.variables, meta: (s) => ({ kind: 'toy', step: s.step }) }),
      ];
      const r = await train(options(p, hooks, { totalSteps }));
      expect(r.resumed).toBe(resume);
      return p;
    };
    const straight = tmp();
    const a = await run(straight, 5, false);
    const cut = tmp();
    (await run(cut, 3, false)).dispose();
    // a killed run may have written rows past its checkpoint: the resumed run drops them
    fs.appendFileSync(path.join(cut, 'metrics.jsonl'), `${JSON.stringify({ step: 4, k: 99, loss: 0 })}\n`);
    const b = await run(cut, 5, true);
    expect(await values(b)).toEqual(await values(a));
    const [ca, cb] = await Promise.all([loadCheckpoint(path.join(straight, 'checkpoint')), loadCheckpoint(path.join(cut, 'checkpoint'))]);
    expect(cb.meta).toEqual({ kind: 'toy', step: 5 });
    const velocity = (c: typeof ca): number[][] => [...c.groups.get('optimizer')!.values()].map((t) => Array.from(t.dataSync()));
    expect(velocity(cb)).toEqual(velocity(ca));
    expect(velocity(cb)).toHaveLength(1);
    disposeLoaded(ca);
    disposeLoaded(cb);
    expect(fs.readFileSync(path.join(cut, 'metrics.jsonl'), 'utf8')).toBe(fs.readFileSync(path.join(straight, 'metrics.jsonl'), 'utf8'));
    const rows = (await MetricsLog.read(path.join(cut, 'metrics.jsonl'))).map((r) => [r.step, r.k]);
    // step 4 is batch 1 of epoch 1 (k = 3), step 5 the first of epoch 2 (k = 4)
    expect(rows).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 4],
    ]);
    a.dispose();
    b.dispose();
  });

  it('makes the inputs before the tape, keeps what the loss asks for until read, then disposes every tensor of the step; the count stays flat', async () => {
    const p = toyParams();
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const seen: number[] = [];
    await train<number, { loss: number }>({
      ...options(p, [{ name: 'count', afterStep: (_c, _k, out) => void counts.push(out.tensors) }]),
      task: {
        // an input made before the tape, a tensor kept past it: the trainer disposes both after the step
        inputs: (k) => [tf.tensor1d([k, -k])],
        loss: (_k, _s, [t]) => {
          const d = tf.sub(p.variables.get('w')!, t!);
          return { loss: tf.sum(tf.square(d)) as tf.Scalar, keep: [d] };
        },
        read: async (value, kept) => {
          const [v, d] = await Promise.all([value.data(), kept[0]!.data()]);
          seen.push(d.length);
          return { loss: v[0]! };
        },
      },
    });
    expect(seen).toEqual([2, 2, 2, 2, 2, 2]);
    // the first step creates the momentum buffer; after it, nothing grows
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
  });

  it('closes every hook and runs no afterTrain when a step fails; evaluation runs at the end when asked', async () => {
    const p = toyParams();
    const log: string[] = [];
    const toy = toyTask(p);
    const failing: StepTask<number> = {
      loss: (k, state) => {
        if (k === 3) throw new Error('bad batch');
        return toy.loss(k, state, []);
      },
    };
    await expect(train({ ...options(p, [recorder('a', log)]), task: failing })).rejects.toThrow('bad batch');
    expect(log.at(-1)).toBe('a:close');
    expect(log.some((l) => l.includes('afterTrain'))).toBe(false);
    const ev = evaluationHook({ epochs: true, end: 'if-none' }, async ({ state }) => state.step);
    await train(options(p, [ev], { totalSteps: 4 }));
    expect([ev.last, ev.runs]).toEqual([4, 2]);
    const atEnd = evaluationHook({ epochs: false, end: 'always' }, async ({ state }) => state.step);
    await train(options(p, [atEnd], { totalSteps: 1 }));
    expect([atEnd.last, atEnd.runs]).toEqual([1, 1]);
    p.dispose();
  });
});
