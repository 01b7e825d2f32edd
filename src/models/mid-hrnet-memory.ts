import type { HRNetConfig } from './presets.ts';

/**
 * How much wasm heap one MID HRNet pretraining step needs, from the architecture (MID HRNet's
 * `stepHeapBytes` hook in src/models/backbones.ts; src/train/step-memory.ts checks a batch against the
 * wasm32 limit with it).
 *
 * The estimate counts the float activations the forward keeps for the backward, per row of each depth
 * (rows of all nodes; the point head's rows are the non-empty finest nodes), in three parts (the front at
 * the finest depth, the branches, the point head), each scaled by a factor measured on this code: the
 * losses, im2col blocks, the backward's transient gradients and allocator slack live beside the saved
 * activations, and not in the same proportion in each part. The backward frees the tape as it goes
 * (src/train/tape-grads.ts), so the peak is the forward's own. See docs/performance.md, "paper preset".
 */

/**
 * Measured by src/bench/step-heap-main.ts (one step, fresh process; paper batch 4 and 8, cpu batch 16 and
 * 32, with and without RQ30): a least-squares fit of the heap above BASE_BYTES to the three parts' bytes.
 * The estimate is within 0.95-1.08 of the measured heap on all seven cases.
 */
const HEAP_PER_BYTE = { front: 2.1, branches: 0.79, pointRows: 1.93 };
/** The heap before the first step (tfjs, variables, the wasm module's own). */
const BASE_BYTES = 64 * 2 ** 20;

/** Floats kept per row, by depth d = D - k (k = 0 front, 1..3 branches), and per non-empty finest row. */
function floatsPerRow(cfg: HRNetConfig): { front: number; branch: [number, number, number]; pointRow: number } {
  const [c0, c1, c2] = cfg.channels;
  const f = cfg.frontChannels;
  const r = cfg.resblocks;
  // a bottleneck block keeps its 1x1/3x3/1x1 outputs and batch norms (4 at c/b), the last 1x1 and BN, the
  // sum and the ReLU (3 at c): ~5c for b = 4
  const block = (c: number): number => 5 * c;
  const cat = c0 + c1 + c2;
  return {
    front: cfg.inChannels + 2 * f,
    branch: [
      // front2 (pool f, conv + BN c0), 3r blocks, transition 2's upsampled input + sum + ReLU, the point
      // head's upsampled branches and their concatenation
      f + 2 * c0 + 3 * r * block(c0) + 3 * c0 + (c1 + c2) + cat,
      // 2r blocks, transitions 1 and 2 (pooled input, 1x1 + BN, sum, ReLU), branch 2 upsampled once, the
      // shape head's pooled branch 0
      2 * r * block(c1) + 2 * (c0 + 3 * c1) + c2 + c0,
      // r blocks, transition 2 (pooled inputs, 1x1 + BN, sum, ReLU), the shape head's concat, conv and BN
      r * block(c2) + (c0 + c1 + 3 * c2) + cat + 2 * cfg.fc1,
    ],
    // depad + trilinear of the concatenation, the front rows, their concatenation, fc1 + BN, fc2
    pointRow: 2 * (cat + f) + 2 * cfg.pointHidden + cfg.pointOut,
  };
}

/**
 * Estimated peak wasm heap bytes of one MID HRNet training step on a merged batch with these node counts per
 * depth (nnum: all nodes; nnumNempty: non-empty), whole batch.
 */
export function midHrnetStepHeapBytes(cfg: HRNetConfig, nnum: ArrayLike<number>, nnumNempty: ArrayLike<number>): number {
  const D = cfg.depth;
  const w = floatsPerRow(cfg);
  const branches = w.branch[0] * nnum[D - 1]! + w.branch[1] * nnum[D - 2]! + w.branch[2] * nnum[D - 3]!;
  const bytes = HEAP_PER_BYTE.front * w.front * nnum[D]! + HEAP_PER_BYTE.branches * branches + HEAP_PER_BYTE.pointRows * w.pointRow * nnumNempty[D]!;
  return BASE_BYTES + 4 * bytes;
}
