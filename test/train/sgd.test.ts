import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import { SgdMomentum } from '../../src/train/sgd.ts';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1 });
});

describe('SgdMomentum.init', () => {
  it('makes zero velocities before the first update: the same updates bit for bit as lazy ones, and keeps existing ones', () => {
    const make = (): Map<string, tf.Variable> =>
      new Map<string, tf.Variable>([
        ['a', tf.variable(tf.tensor2d([1, -2, 3, 0.5, 4, -1], [3, 2]))],
        ['b', tf.variable(tf.tensor1d([0.25, -0.75]))],
      ]);
    const lazyVars = make(),
      eagerVars = make();
    const lazy = new SgdMomentum(0.9, 5e-4),
      eager = new SgdMomentum(0.9, 5e-4);
    eager.init(eagerVars);
    expect([...eager.velocity.keys()]).toEqual(['a', 'b']);
    expect(eager.velocity.get('a')!.dataSync()).toEqual(new Float32Array(6));
    for (let step = 0; step < 3; step++) {
      for (const [vars, opt] of [
        [lazyVars, lazy],
        [eagerVars, eager],
      ] as const) {
        const grads = tf.tidy(() => Object.fromEntries([...vars.values()].map((w) => [w.name, tf.mul(tf.sin(w), step + 1)])));
        opt.apply(vars, grads, 0.1);
        tf.dispose(Object.values(grads));
      }
    }
    for (const name of ['a', 'b']) {
      expect(eagerVars.get(name)!.dataSync()).toEqual(lazyVars.get(name)!.dataSync());
      expect(eager.velocity.get(name)!.dataSync()).toEqual(lazy.velocity.get(name)!.dataSync());
    }
    const v = eager.velocity.get('a')!.dataSync().slice();
    eager.init(eagerVars);
    expect(eager.velocity.get('a')!.dataSync()).toEqual(v);
    for (const vars of [lazyVars, eagerVars]) for (const w of vars.values()) w.dispose();
    lazy.dispose();
    eager.dispose();
  });
});
