import * as tf from '@tensorflow/tfjs';

/**
 * SGD with momentum and L2 weight decay, PyTorch/TF-MomentumOptimizer style: g' = g + wd·w (the gradient of
 * wd·Σ‖w‖²/2, which is how the reference adds weight decay), v <- μ·v + g', w <- w - lr·v.
 * The velocity buffers are plain state here so checkpoints can save and restore them exactly.
 */
export class SgdMomentum {
  readonly velocity = new Map<string, tf.Variable>();
  constructor(
    public momentum = 0.9,
    public weightDecay = 0,
  ) {}

  /**
   * Creates the zero velocity of every variable of `vars` now, not at the first update (the same values).
   * On wasm, whose heap only grows, velocity buffers made in the first update land between that step's
   * activations and fragment the heap for every later step: MID HRNet batch 16 held a 594 MiB heap from
   * its second step on with lazy velocities, 545 MiB with velocities made before the first step.
   */
  init(vars: ReadonlyMap<string, tf.Variable>): void {
    for (const [name, w] of vars)
      if (!this.velocity.has(name))
        this.velocity.set(
          name,
          tf.tidy(() => tf.variable(tf.zerosLike(w), false)),
        );
  }

  /**
   * One update of `vars` (parameter name -> variable) with `grads` keyed by the tfjs variable name (what
   * tf.variableGrads returns) at learning rate `lr`, optionally scaled per parameter (fine-tuning).
   */
  apply(vars: ReadonlyMap<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number, lrScale?: (name: string) => number): void {
    tf.tidy(() => {
      for (const [name, w] of vars) {
        const g = grads[w.name];
        if (!g) continue;
        let v = this.velocity.get(name);
        if (!v) {
          v = tf.variable(tf.zerosLike(w), false);
          this.velocity.set(name, v);
        }
        const gd = this.weightDecay > 0 ? tf.add(g, tf.mul(w, this.weightDecay)) : g;
        v.assign(tf.add(tf.mul(v, this.momentum), gd));
        const rate = lr * (lrScale ? lrScale(name) : 1);
        if (rate !== 0) w.assign(tf.sub(w, tf.mul(v, rate)));
      }
    });
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}

/** Step schedule: lr = base · gamma^(number of milestones passed). Milestones in steps. */
export function stepLr(base: number, milestones: readonly number[], step: number, gamma = 0.1): number {
  let lr = base;
  for (const m of milestones) if (step >= m) lr *= gamma;
  return lr;
}
