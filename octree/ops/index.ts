/**
 * Octree ops as tfjs ops with gradients. Importing this module registers rq3d's kernels.
 * Every op takes node data as a [rows, C] float32 tensor of one depth (all rows, or the non-empty rows
 * with `nempty`) plus the octree and depth, and returns a tensor of the same form.
 */
export * from './kernels/index.ts';
export { octreeConv, octreeConvReference, octreeDeconv, im2colMatMul, convOutputDepth, type ConvOptions } from './conv.ts';
export { octreePad, octreeDepad } from './pad.ts';
export { octreeMaxPool, octreeMaxPoolWithIndices, octreeMaxUnpool, octreeAvgPool, octreeGlobalPool, octreeGlobalMaxPool, octreeToDense } from './pool.ts';
export { octreeInterp, octreeUpsample, applyInterpTable, pointInterpTable, leafPointsWithBatch } from './interp.ts';
export { batchNormTrain, batchNormInfer, octreeGroupNorm, octreeInstanceNorm } from './norm.ts';
export { siblingMax, siblingArgMax, fusedBatchNorm, weightedGather, type BatchNormStats } from './fused.ts';
export { batchNormRunningReference, updateBatchNormRunning, type BatchNormRunning } from './update.ts';
export {
  addRelu,
  l2Normalize,
  l2NormalizeReference,
  segmentSoftmaxCrossEntropy,
  segmentSoftmaxCrossEntropyReference,
  concatColumns,
  type SegmentSoftmaxCE,
} from './rows.ts';
