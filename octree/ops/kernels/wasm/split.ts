/**
 * Row kernels on two cores: the calling thread runs one half of the rows, a helper thread (a second
 * instance of the kernels module on the same shared wasm memory, ./helper-thread.ts in Node) the other.
 * XNNPACK already uses both cores for the products; these loops ran on one until now, and a 20,000-row
 * 32-channel im2col gather takes 6 instead of 13 ms split in two.
 *
 * Only kernels whose halves write disjoint memory are split: gather (rows), the transposed gather
 * (columns, through its row-stride argument), the sibling max of pooling and its gradient (parents), and
 * the MID losses' segment products and their transpose (rows), the weighted gather of interpolation (rows),
 * and the element-wise ReLU sum and ReLU gradient (halves of the elements).
 * Results are bit-identical to one thread: every output element is computed by the same loop.
 * This module is browser-safe (it knows the helper only through the RowHelper interface).
 */
import type { HeapKernels } from './heap-kernels.ts';

/** Exports of the kernels module the helper thread can run (all arguments i32). */
export const HELPER_OPS = ['gather', 'gatherT', 'siblingMax', 'siblingMaxGrad', 'segmentDot', 'segmentAxpy', 'weightedRows', 'addRelu', 'reluGrad'] as const;
export type HelperOp = (typeof HELPER_OPS)[number];

/** A second thread running the kernels module on the same memory, one job at a time. */
export interface RowHelper {
  /** False once the thread has failed or exited: the kernels then run on the calling thread alone. */
  available(): boolean;
  /** Starts `op` with i32 arguments on the helper thread and returns at once. */
  start(op: HelperOp, args: number[]): void;
  /** Blocks until the started job has ended; throws if it failed. */
  finish(): void;
}

/** Below this many floats of work a job runs on the calling thread: waking the helper costs ~10-50 µs. */
export const MIN_SPLIT_FLOATS = 1 << 16;

let splitting = true;

/** Turns the two-thread split on or off at run time (benchmarks compare both in one process). */
export function setRowSplitting(on: boolean): void {
  splitting = on;
}

let jobs = 0;

/** How many jobs have been split so far (tests check the helper thread really ran). */
export function splitJobCount(): number {
  return jobs;
}

/** Runs `mine` here while the helper runs its half; the helper is always waited for, even if `mine` throws. */
function both(helper: RowHelper, op: HelperOp, theirs: number[], mine: () => void): void {
  jobs++;
  helper.start(op, theirs);
  try {
    mine();
  } finally {
    helper.finish();
  }
}

export function splitKernels(k: HeapKernels, helper: RowHelper): HeapKernels {
  const worth = (floats: number): boolean => splitting && floats >= MIN_SPLIT_FLOATS && helper.available();
  return {
    ...k,
    gather(src, idx, m, dst, c) {
      if (!worth(m * c)) return k.gather(src, idx, m, dst, c);
      const h = m >> 1;
      both(helper, 'gather', [src, idx + 4 * h, m - h, dst + 4 * h * c, c], () => k.gather(src, idx, h, dst, c));
    },
    gatherT(src, idx, n, kk, dst, c, ld) {
      if (!worth(n * kk * c)) return k.gatherT(src, idx, n, kk, dst, c, ld);
      // a multiple of 4 rows for the first half keeps both halves on the 4-row SIMD path
      const h = (n >> 1) & ~3;
      both(helper, 'gatherT', [src, idx + 4 * h * kk, n - h, kk, dst + 4 * h, c, ld], () => k.gatherT(src, idx, h, kk, dst, c, ld));
    },
    siblingMax(x, p, c, out, arg) {
      if (!worth(8 * p * c)) return k.siblingMax(x, p, c, out, arg);
      const h = p >> 1;
      both(helper, 'siblingMax', [x + 32 * h * c, p - h, c, out + 4 * h * c, arg + 4 * h * c], () => k.siblingMax(x, h, c, out, arg));
    },
    segmentDot(x, n, d, protos, seg, kk, out) {
      if (!worth(n * kk * d)) return k.segmentDot(x, n, d, protos, seg, kk, out);
      const h = n >> 1;
      both(helper, 'segmentDot', [x + 4 * h * d, n - h, d, protos, seg + 4 * h, kk, out + 4 * h * kk], () => k.segmentDot(x, h, d, protos, seg, kk, out));
    },
    segmentAxpy(coef, n, kk, protos, seg, d, dx) {
      if (!worth(n * kk * d)) return k.segmentAxpy(coef, n, kk, protos, seg, d, dx);
      const h = n >> 1;
      both(helper, 'segmentAxpy', [coef + 4 * h * kk, n - h, kk, protos, seg + 4 * h, d, dx + 4 * h * d], () => k.segmentAxpy(coef, h, kk, protos, seg, d, dx));
    },
    weightedRows(x, offsets, src, weight, rows, c, out) {
      // (the work is the table's entries, ~8 per row for trilinear; rows·c is its lower bound)
      if (!worth(rows * c)) return k.weightedRows(x, offsets, src, weight, rows, c, out);
      const h = rows >> 1;
      // rows h.. read their entries through offsets + h: src and weight are indexed by absolute entry
      both(helper, 'weightedRows', [x, offsets + 4 * h, src, weight, rows - h, c, out + 4 * h * c], () => k.weightedRows(x, offsets, src, weight, h, c, out));
    },
    addRelu(a, b, n, y) {
      if (!worth(n)) return k.addRelu(a, b, n, y);
      const h = (n >> 1) & ~3;
      both(helper, 'addRelu', [a + 4 * h, b + 4 * h, n - h, y + 4 * h], () => k.addRelu(a, b, h, y));
    },
    reluGrad(dy, y, n, dx) {
      if (!worth(n)) return k.reluGrad(dy, y, n, dx);
      const h = (n >> 1) & ~3;
      both(helper, 'reluGrad', [dy + 4 * h, y + 4 * h, n - h, dx + 4 * h], () => k.reluGrad(dy, y, h, dx));
    },
    siblingMaxGrad(dy, arg, p, c, dx) {
      if (!worth(8 * p * c)) return k.siblingMaxGrad(dy, arg, p, c, dx);
      const h = p >> 1;
      both(helper, 'siblingMaxGrad', [dy + 4 * h * c, arg + 4 * h * c, p - h, c, dx + 32 * h * c], () => k.siblingMaxGrad(dy, arg, h, c, dx));
    },
  };
}
