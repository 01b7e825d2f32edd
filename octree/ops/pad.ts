import * as tf from '@tensorflow/tfjs';
import { octGather } from './kernels/index.ts';
import type { Octree } from '../octree.ts';
import { checkRowsAt, indexTensor } from './tables.ts';

/**
 * octree_pad: non-empty rows -> all rows of `depth`, empty rows filled with `value` (0 by default).
 * A gather through children[depth] (which is -1 on empty rows), so its gradient is a scatter-add.
 */
export function octreePad(data: tf.Tensor2D, octree: Octree, depth: number, value = 0): tf.Tensor2D {
  checkRowsAt(data, octree, depth, true, 'octreePad');
  return tf.tidy(() => {
    const out = octGather(data, indexTensor(octree.children[depth]!));
    if (value === 0) return out;
    const ch = octree.children[depth]!;
    const fill = new Float32Array(ch.length);
    for (let r = 0; r < ch.length; r++) if (ch[r]! < 0) fill[r] = value;
    return tf.add(out, tf.tensor2d(fill, [ch.length, 1])) as tf.Tensor2D;
  });
}

/** octree_depad: all rows of `depth` -> the non-empty rows, in order. */
export function octreeDepad(data: tf.Tensor2D, octree: Octree, depth: number): tf.Tensor2D {
  checkRowsAt(data, octree, depth, false, 'octreeDepad');
  return tf.tidy(() => octGather(data, indexTensor(octree.nemptyIndex(depth))));
}
