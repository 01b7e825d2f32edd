/** Kernel names rq3d registers with tfjs; prefixed so they cannot clash with built-ins. */
export const OCT_GATHER = 'Rq3dOctGather';
export const OCT_SCATTER_ADD = 'Rq3dOctScatterAdd';
export const MATMUL_NN = 'Rq3dMatMulNN';
export const OCT_GATHER_T = 'Rq3dOctGatherT';
export const GATHER_MATMUL = 'Rq3dGatherMatMul';
export const GATHER_T_MATMUL = 'Rq3dGatherTMatMul';
export const BATCH_NORM = 'Rq3dBatchNorm';
export const BATCH_NORM_GRAD = 'Rq3dBatchNormGrad';
export const SIBLING_MAX = 'Rq3dSiblingMax';
export const SIBLING_MAX_GRAD = 'Rq3dSiblingMaxGrad';
export const WEIGHTED_GATHER = 'Rq3dWeightedGather';
/** The MID losses' rows, column concatenation and residual ReLU sums (./row-kernels.ts). */
export const L2_NORMALIZE = 'Rq3dL2Normalize';
export const L2_NORMALIZE_GRAD = 'Rq3dL2NormalizeGrad';
export const SEGMENT_SOFTMAX_CE = 'Rq3dSegmentSoftmaxCE';
export const SEGMENT_SOFTMAX_CE_GRAD = 'Rq3dSegmentSoftmaxCEGrad';
export const CONCAT_COLS = 'Rq3dConcatCols';
export const SLICE_COLS = 'Rq3dSliceCols';
export const ADD_RELU = 'Rq3dAddRelu';
export const RELU_GRAD = 'Rq3dReluGrad';
/** Batch norm's running statistics updated in place from a step's statistics (./row-kernels.ts, ../update.ts). */
export const BATCH_NORM_RUNNING = 'Rq3dBatchNormRunning';
