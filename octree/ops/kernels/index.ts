/**
 * Low-level differentiable kernels the octree ops are built on. Importing this module registers the
 * kernels and gradients with tfjs (once), so import it before running any op.
 *
 *   octGather(x [R,C], idx [M] int32)            -> [M,C]   (idx -1 -> zero row)
 *   octScatterAdd(y [M,C], idx [M] int32, R)      -> [R,C]   (idx < 0 skipped)
 *   matMulNN(a [M,K], b [K,N])                   -> [M,N]   (gradients use NN products only)
 *
 * An octree conv is `matMulNN(reshape(octGather(x, neigh.flat), [N, K*C]), W[K*C, Cout])`.
 * The *Reference functions compute the same with built-in ops (tests; non-cpu/wasm backends).
 */
import { registerOctKernels } from './register.ts';

registerOctKernels();

export { octGather, octScatterAdd, matMulNN, octGatherReference, octScatterAddReference, matMulReference } from './ops.ts';
export { registerOctKernels, ensureMatMulNN } from './register.ts';
export { OCT_GATHER, OCT_SCATTER_ADD, MATMUL_NN } from './names.ts';
