import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { tapeInternalsAvailable, variableGrads } from '../../src/train/tape-grads.ts';
import { syntheticShapes } from '../../src/bench/octree.ts';
import { buildBatch, makeNet, specOf, withGridLabels, type BenchModel } from '../../src/bench/whole-model.ts';
import { trainableVariables } from '../../src/train/trainer.ts';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

type Grads = typeof tf.variableGrads;

interface Run {
  value: Float32Array;
  grads: Map<string, Float32Array>;
  /** The most bytes held by tensors at any point of the backward pass (sampled at every gradient call). */
  peakBytes: number;
  tensorsBefore: number;
  tensorsAfter: number;
}

/** One gradient computation with `grads`, its results read back, everything it made disposed. */
function run(grads: Grads, f: () => tf.Scalar, vars: tf.Variable[]): Run {
  let peakBytes = 0;
  const sample = (): void => {
    peakBytes = Math.max(peakBytes, tf.memory().numBytes);
  };
  const tensorsBefore = tf.memory().numTensors;
  const { value, grads: g } = grads(() => {
    const y = f();
    // count what is live while each gradient function runs (wrapped before variableGrads wraps the nodes)
    const tape = (tf.engine() as unknown as { state: { activeTape: { gradient?: (dys: unknown) => Record<string, () => tf.Tensor> }[] } }).state.activeTape;
    for (const node of tape) {
      const inner = node.gradient;
      if (!inner) continue;
      node.gradient = (dys) => {
        sample();
        const thunks = inner(dys);
        return Object.fromEntries(
          Object.entries(thunks).map(([k, t]) => [
            k,
            () => {
              const dx = t();
              sample();
              return dx;
            },
          ]),
        );
      };
    }
    return y;
  }, vars);
  const out: Run = {
    value: value.dataSync() as Float32Array,
    grads: new Map(Object.entries(g).map(([k, t]) => [k, t.dataSync() as Float32Array])),
    peakBytes,
    tensorsBefore,
    tensorsAfter: 0,
  };
  tf.dispose([value, ...Object.values(g)]);
  out.tensorsAfter = tf.memory().numTensors;
  return out;
}

function expectSameBits(a: Run, b: Run): void {
  expect(b.value).toEqual(a.value);
  expect([...b.grads.keys()]).toEqual([...a.grads.keys()]);
  for (const [k, v] of a.grads) expect(b.grads.get(k), k).toEqual(v);
}

describe.each(['cpu', 'wasm'])('variableGrads releasing the tape on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('finds the tfjs internals it relies on', () => {
    expect(tapeInternalsAvailable()).toBe(true);
  });

  it.each([
    ['hrnet', 5, 2, 400],
    ['resnet', 5, 1, 100],
  ] as const)('a %s training loss: the same value and gradients bit for bit, a lower peak, no tensor left', (model, depth, batch, points) => {
    const c = { model: model as BenchModel, depth, batch, rq: false, pipeline: false, memory: false, preset: 'tiny' as const };
    const shapes = syntheticShapes(batch, 3, points);
    const b = buildBatch(model === 'hrnet' ? shapes.map(withGridLabels) : shapes, specOf(c, 2), 1, 0);
    const net = makeNet(c, 1);
    const vars = [...trainableVariables(net.params).values()];
    const x = tf.tensor2d(b.features.data, [b.octree.nnum[depth]!, b.features.channels]);
    const f = (): tf.Scalar => net.loss(x, b.octree, 0);
    const before = run(tf.variableGrads, f, vars);
    const after = run(variableGrads, f, vars);
    expectSameBits(before, after);
    expect(after.tensorsAfter).toBe(after.tensorsBefore);
    expect(before.tensorsAfter).toBe(before.tensorsBefore);
    // tfjs holds every gradient and saved activation to the end; released early the peak is the forward's
    expect(after.peakBytes).toBeLessThan(0.8 * before.peakBytes);
    x.dispose();
    net.dispose();
  });

  it('gradients that alias: a dy or saved tensor passed through, one tensor for two inputs, an input used twice', () => {
    const w = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25, 1.5, -0.75], [3, 2]), true, `tg-w-${backend}`);
    const v = tf.variable(tf.tensor1d([0.3, -0.2]), true, `tg-v-${backend}`);
    // gradient of `a` is dy itself, of `b` a tensor saved in the forward (made before the backward ran)
    const passThrough = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const s = tf.mul(b, 3);
      save([s]);
      return { value: tf.add(a, tf.mul(b, 3)), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [dy, tf.mul(dy, saved[0]!)] };
    });
    // one gradient tensor returned for both inputs
    const shared = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [a, b] = args as [tf.Tensor, tf.Tensor];
      return {
        value: tf.add(a, b),
        gradFunc: (dy: tf.Tensor) => {
          const g = tf.mul(dy, 2);
          return [g, g];
        },
      };
    });
    const f = (): tf.Scalar =>
      tf.tidy(() => {
        const h = tf.relu(tf.matMul(w, tf.reshape(v, [2, 1])));
        const sq = tf.mul(h, h); // the same input twice
        const p = passThrough(sq, tf.sin(h)) as tf.Tensor;
        const q = shared(p, tf.cos(sq)) as tf.Tensor;
        return tf.sum(tf.add(tf.mul(q, tf.sum(w, 1, true)), tf.sum(v))) as tf.Scalar; // w and v used twice
      });
    const before = run(tf.variableGrads, f, [w, v]);
    const after = run(variableGrads, f, [w, v]);
    expectSameBits(before, after);
    expect(after.tensorsAfter).toBe(after.tensorsBefore);
    tf.dispose([w, v]);
  });
});
