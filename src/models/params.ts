import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';

/**
 * The variables of a model, by hierarchical name ("stage1/branch0/block0/conv1/weights"). Trainable
 * weights and non-trainable buffers (batch-norm running statistics) live here, so checkpoints, weight decay
 * and partial restores (fine-tuning) work by name. Initial values come from a seeded Rng: the same seed
 * gives the same network.
 */
export class Params {
  readonly variables = new Map<string, tf.Variable>();
  readonly trainable = new Set<string>();
  private readonly rng: Rng;

  constructor(seed: number | string) {
    this.rng = new Rng(seed);
  }

  scope(prefix: string): Scope {
    return new Scope(this, prefix);
  }

  add(name: string, shape: number[], values: Float32Array, trainable: boolean): tf.Variable {
    if (this.variables.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape), trainable, `${name}_${Params.uid++}`));
    this.variables.set(name, v);
    if (trainable) this.trainable.add(name);
    return v;
  }

  /** Xavier/Glorot uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)). */
  xavier(name: string, shape: number[], fanIn: number, fanOut: number): tf.Variable {
    const a = Math.sqrt(6 / (fanIn + fanOut));
    const n = shape.reduce((s, v) => s * v, 1);
    const values = new Float32Array(n);
    const r = this.rng.fork(name);
    for (let i = 0; i < n; i++) values[i] = r.range(-a, a);
    return this.add(name, shape, values, true);
  }

  constant(name: string, shape: number[], value: number, trainable: boolean): tf.Variable {
    const n = shape.reduce((s, v) => s * v, 1);
    return this.add(name, shape, new Float32Array(n).fill(value), trainable);
  }

  trainableVariables(filter?: (name: string) => boolean): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const [name, v] of this.variables) if (this.trainable.has(name) && (!filter || filter(name))) out.push(v);
    return out;
  }

  /** Trainable parameter count. */
  count(filter?: (name: string) => boolean): number {
    return this.trainableVariables(filter).reduce((s, v) => s + v.size, 0);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
    this.trainable.clear();
  }

  static uid = 0;
}

export class Scope {
  constructor(
    readonly params: Params,
    readonly prefix: string,
  ) {}
  name(n: string): string {
    return this.prefix ? `${this.prefix}/${n}` : n;
  }
  scope(n: string): Scope {
    return new Scope(this.params, this.name(n));
  }
}

/** What a forward pass needs besides the data: training mode drives batch norm and dropout. */
export interface ForwardContext {
  training: boolean;
  /** Seed for dropout masks of this step (deterministic runs). */
  dropoutSeed?: number;
}
