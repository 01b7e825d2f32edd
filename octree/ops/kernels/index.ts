/**
 * Low-level differentiable kernels the octree ops are built on. Importing this module registers the
 * kernels and gradients with tfjs (once), so import it before running any op.
 *
 *   octGather(x [R,C], idx [M] int32)            -> [M,C]   (idx -1 -> zero row)
 *   octScatterAdd(y [M,C], idx [M] int32, R)      -> [R,C]   (idx < 0 skipped)
 *   matMulNN(a [M,K], b [K,N])                   -> [M,N]   (gradients use NN products only)
 *   octGatherT(x [R,C], idx [N·K], K)             -> [K·C,N] (transposed im2col, one pass)
 *   gatherMatMul(x [R,C], idx [N·K], w [K·C,Co])  -> [N,Co]  (fused im2col·W; columns not kept for bwd)
 *
 * An octree conv is `matMulNN(reshape(octGather(x, neigh.flat), [N, K*C]), W[K*C, Cout])`, or the same
 * as gatherMatMul(x, neigh.flat, W): about as fast in fwd+bwd (src/bench/conv-layer.ts), but the tape keeps
 * no [N, K*C] column matrix between forward and backward, and dX is skipped when x needs no gradient.
 * The *Reference functions compute the same with built-in ops (tests; backends without rq3d's kernels).
 */
import { registerOctKernels } from './register.ts';

registerOctKernels();

export { octGather, octScatterAdd, matMulNN, octGatherT, gatherMatMul, octGatherReference, octScatterAddReference, matMulReference } from './row-ops.ts';
export { registerOctKernels, ensureMatMulNN } from './register.ts';
export {
  OCT_GATHER,
  OCT_SCATTER_ADD,
  MATMUL_NN,
  OCT_GATHER_T,
  GATHER_MATMUL,
  GATHER_T_MATMUL,
  BATCH_NORM,
  BATCH_NORM_GRAD,
  SIBLING_MAX,
  SIBLING_MAX_GRAD,
  WEIGHTED_GATHER,
  L2_NORMALIZE,
  L2_NORMALIZE_GRAD,
  SEGMENT_SOFTMAX_CE,
  SEGMENT_SOFTMAX_CE_GRAD,
  CONCAT_COLS,
  SLICE_COLS,
  ADD_RELU,
  RELU_GRAD,
  BATCH_NORM_RUNNING,
} from './names.ts';
export { kernelRegistered } from './dispatch.ts';
export { hostBackends } from './host.ts';
