import * as tf from '@tensorflow/tfjs';
import type { Octree } from '../octree.ts';

/**
 * Int32 index tensors made from the octree's CPU tables. They are created per call, inside the caller's
 * tidy, so they are freed with the step; the tables themselves are cached on the octree, so the cost
 * per call is one copy of the index into the backend.
 */
export function indexTensor(idx: Int32Array): tf.Tensor1D {
  return tf.tensor1d(idx, 'int32');
}

/** Parent-of-row index for nearest upsampling: row r at depth+1 belongs to non-empty parent floor(r/8). */
export function upsampleIndex(octree: Octree, depth: number, inputNempty: boolean, outputNempty: boolean): Int32Array {
  const name = `up:${depth}:${inputNempty ? 1 : 0}:${outputNempty ? 1 : 0}`;
  let out = octree.cache.get(name);
  if (!out) {
    const rowsOut = outputNempty ? octree.nemptyIndex(depth + 1) : null;
    const n = rowsOut ? rowsOut.length : octree.nnum[depth + 1]!;
    const parentRows = inputNempty ? null : octree.nemptyIndex(depth);
    out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const p = (rowsOut ? rowsOut[i]! : i) >> 3;
      out[i] = parentRows ? parentRows[p]! : p;
    }
    octree.cache.set(name, out);
  }
  return out;
}

/** Rows expected at `depth`: all nodes or the non-empty ones. */
export function rowCount(octree: Octree, depth: number, nempty: boolean): number {
  return nempty ? octree.nnumNempty[depth]! : octree.nnum[depth]!;
}

export function checkRowsAt(data: tf.Tensor, octree: Octree, depth: number, nempty: boolean, op: string): void {
  const want = rowCount(octree, depth, nempty);
  if (data.rank !== 2 || data.shape[0] !== want) {
    throw new RangeError(
      `${op}: data at depth ${depth} must have ${want} rows (${nempty ? 'non-empty nodes' : 'all nodes'}), got shape [${data.shape.join(', ')}]`,
    );
  }
}
