import * as tf from '@tensorflow/tfjs';
import { octGather } from './kernels/index.ts';
import { weightedGather } from './fused.ts';
import type { Octree } from '../octree.ts';
import { linearTable, nearestTable, type InterpTable } from '../search.ts';
import { checkRowsAt, indexTensor, upsampleIndex } from './tables.ts';

/**
 * Applies an interpolation table (octree/search.ts) to node data: out[i] = Σ_j w[i,j]·data[idx[i,j]], as one
 * fused op whose gradient is the weighted scatter-add into the nodes.
 */
export function applyInterpTable(data: tf.Tensor2D, table: InterpTable): tf.Tensor2D {
  return weightedGather(data, table.index, table.weight, table.width);
}

/**
 * Features at arbitrary points (ocnn's OctreeInterp): `pts` are (x, y, z, batch) with x, y, z in [-1, 1]
 * (they are scaled to cell units of `depth` here; the caller's array is not modified, unlike the
 * reference), method 'nearest' or 'linear' (trilinear from node centres).
 */
export function octreeInterp(
  data: tf.Tensor2D,
  octree: Octree,
  depth: number,
  pts: Float32Array,
  opts: { method?: 'nearest' | 'linear'; nempty?: boolean } = {},
): tf.Tensor2D {
  const nempty = opts.nempty ?? false;
  checkRowsAt(data, octree, depth, nempty, 'octreeInterp');
  return applyInterpTable(data, pointInterpTable(octree, depth, pts, opts.method ?? 'linear', nempty));
}

export function pointInterpTable(octree: Octree, depth: number, pts: Float32Array, method: 'nearest' | 'linear', nempty: boolean): InterpTable {
  const scale = 2 ** (depth - 1);
  const scaled = new Float32Array(pts.length);
  for (let i = 0; i < pts.length; i += 4) {
    scaled[i] = (pts[i]! + 1) * scale;
    scaled[i + 1] = (pts[i + 1]! + 1) * scale;
    scaled[i + 2] = (pts[i + 2]! + 1) * scale;
    scaled[i + 3] = pts[i + 3]!;
  }
  return method === 'nearest' ? nearestTable(octree, depth, scaled, nempty) : linearTable(octree, depth, scaled, nempty);
}

/** The input points of the octree as (x, y, z, batch) in [-1, 1]: the leaf mean points, per shape. */
export function leafPointsWithBatch(octree: Octree): Float32Array {
  const n = octree.nnumNempty[octree.depth]!;
  const bid = octree.batchIdNempty(octree.depth);
  const out = new Float32Array(4 * n);
  const s = 2 ** (1 - octree.depth);
  for (let i = 0; i < n; i++) {
    out[4 * i] = octree.points[3 * i]! * s - 1;
    out[4 * i + 1] = octree.points[3 * i + 1]! * s - 1;
    out[4 * i + 2] = octree.points[3 * i + 2]! * s - 1;
    out[4 * i + 3] = bid[i]!;
  }
  return out;
}

/**
 * Upsampling depth -> depth+1. 'nearest' copies each parent's row to its 8 children (ocnn's
 * OctreeUpsample); 'linear' evaluates trilinear interpolation of depth's node data at the centres of the
 * depth+1 nodes (MID-Net's octree_bilinear).
 */
export function octreeUpsample(data: tf.Tensor2D, octree: Octree, depth: number, opts: { method?: 'nearest' | 'linear'; nempty?: boolean } = {}): tf.Tensor2D {
  const nempty = opts.nempty ?? false;
  checkRowsAt(data, octree, depth, nempty, 'octreeUpsample');
  if ((opts.method ?? 'nearest') === 'nearest') {
    return tf.tidy(() => octGather(data, indexTensor(upsampleIndex(octree, depth, nempty, nempty))));
  }
  return applyInterpTable(data, childCentreTable(octree, depth, nempty));
}

function childCentreTable(octree: Octree, depth: number, nempty: boolean): InterpTable {
  const cells = octree.cellCoords(depth + 1, nempty);
  const bid = nempty ? octree.batchIdNempty(depth + 1) : octree.batchId(depth + 1);
  const n = bid.length;
  const pts = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    pts[4 * i] = (cells[3 * i]! + 0.5) / 2;
    pts[4 * i + 1] = (cells[3 * i + 1]! + 0.5) / 2;
    pts[4 * i + 2] = (cells[3 * i + 2]! + 0.5) / 2;
    pts[4 * i + 3] = bid[i]!;
  }
  return linearTable(octree, depth, pts, nempty);
}
