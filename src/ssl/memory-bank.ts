import { Rng } from '../util/rng.ts';

/**
 * MID-Net's memory banks (anchor-spec §3.4), kept in plain Float32Arrays outside tfjs: the shape bank
 * (instances x dim) is small enough to upload whole each step, the point bank (instances x clusters x dim,
 * 1.5 GB for ShapeNet) is only ever read and written for the rows of the current batch.
 * Initialization is Xavier-uniform like the reference (not normalized); updates are
 * m <- normalize(momentum·m + (1-momentum)·v).
 */
export class MemoryBank {
  readonly data: Float32Array;
  constructor(
    readonly rows: number,
    readonly dim: number,
    seed: number | string,
    data?: Float32Array,
  ) {
    if (data) {
      if (data.length !== rows * dim) throw new RangeError(`memory bank data has ${data.length} values, expected ${rows} x ${dim}`);
      this.data = data;
    } else {
      this.data = new Float32Array(rows * dim);
      const a = Math.sqrt(6 / (rows + dim));
      const rng = new Rng(seed);
      for (let i = 0; i < this.data.length; i++) this.data[i] = rng.range(-a, a);
    }
  }

  /** Rows `ids` as one contiguous block (ids.length x dim). */
  gather(ids: ArrayLike<number>): Float32Array {
    const out = new Float32Array(ids.length * this.dim);
    for (let i = 0; i < ids.length; i++) out.set(this.data.subarray(ids[i]! * this.dim, (ids[i]! + 1) * this.dim), i * this.dim);
    return out;
  }

  /** The bank transposed (dim x rows), the right operand of f · Mᵀ as a plain (NN) matMul. */
  transposed(): Float32Array {
    const out = new Float32Array(this.rows * this.dim);
    for (let r = 0; r < this.rows; r++) for (let c = 0; c < this.dim; c++) out[c * this.rows + r] = this.data[r * this.dim + c]!;
    return out;
  }

  /**
   * Momentum update of row `id` with vector v (already the new observation): row <- normalize(m·row + (1-m)·v).
   * A missing observation (v = null) only renormalizes the row, as in the reference.
   */
  update(id: number, v: ArrayLike<number> | null, momentum: number): void {
    const o = id * this.dim;
    let norm = 0;
    for (let c = 0; c < this.dim; c++) {
      const x = momentum * this.data[o + c]! + (v ? (1 - momentum) * v[c]! : 0);
      this.data[o + c] = x;
      norm += x * x;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let c = 0; c < this.dim; c++) this.data[o + c] *= inv;
  }
}
