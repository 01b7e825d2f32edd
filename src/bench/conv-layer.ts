/**
 * One octree conv layer, timed: out = Σ_k x[idx[·,k]] · W_k on real sphere-shell neighbourhoods
 * (shared/reference/tfjs-eval.md §2), forward and forward+backward (exactly dy backpropagated).
 *
 * Variants:
 *  - 'fused': what octreeConv runs — gatherMatMul in row blocks of at most 64 MB, dW by blocked transposed
 *    gathers, dX through the mirrored (symmetric) table from MIRROR_MIN_CIN input channels on.
 *  - 'whole': gatherMatMul on the whole [N, 27·Cin] column matrix at once, dX = scatter-add of dy·Wᵀ (the
 *    conv before the row blocks and the mirrored dX).
 *  - 'im2col': the composition matMulNN(reshape(octGather(x, idx), [N, 27·Cin]), W) under autodiff; the tape
 *    keeps the whole column matrix for the backward.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherMatMul, matMulNN, octGather } from '../../octree/ops/kernels/index.ts';
import { blockRowsFor } from '../../octree/ops/kernels/gather-matmul.ts';
import { MIRROR_MIN_CIN } from '../../octree/ops/conv.ts';
import { sphereShellTable, type NeighbourTable } from './sphere-shell.ts';
import { median, round } from './timing.ts';

import { CONV_VARIANTS, type ConvVariant } from './cases.ts';
export { CONV_VARIANTS, type ConvVariant };

export interface ConvCase {
  n: number;
  cin: number;
  cout: number;
}

export interface ConvBenchResult {
  backend: string;
  variant: ConvVariant;
  n: number;
  cin: number;
  cout: number;
  /** Rows per block of the column matrix ('fused' only). */
  blockRows?: number;
  /** Whether dX went through the mirrored table ('fused' only). */
  mirror?: boolean;
  emptyFraction: number;
  fwdMs: number;
  fwdBwdMs: number;
  /** 2·N·27·Cin·Cout / fwd time. */
  fwdGflops: number;
  /** 3× the forward flops / fwd+bwd time. */
  fwdBwdGflops: number;
  reps: number;
}

export interface ConvBenchOptions {
  cases?: ConvCase[];
  variants?: ConvVariant[];
  /** Timed repetitions per figure (median reported), after one warm-up. */
  reps?: number;
  /** Column-matrix bytes per block for 'fused' (default: the conv's own rule). */
  blockBytes?: number;
}

export const DEFAULT_CONV_CASES: readonly ConvCase[] = [
  { n: 20000, cin: 32, cout: 32 },
  { n: 5000, cin: 64, cout: 64 },
  { n: 1000, cin: 256, cout: 256 },
  { n: 100000, cin: 4, cout: 32 },
];

const K = 27;

/** Builds the layer function for a variant; the index tensors it closes over are returned for disposal. */
export function makeConvLayer(
  table: NeighbourTable,
  cin: number,
  cout: number,
  variant: ConvVariant,
  blockBytes = 0,
): { layer: (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D; blockRows?: number; mirror?: boolean; tensors: tf.Tensor[] } {
  const n = table.n;
  const idx = tf.tensor1d(table.idx, 'int32');
  if (variant === 'im2col') {
    return { layer: (x, w) => matMulNN(tf.reshape(octGather(x, idx), [n, K * cin]), w), tensors: [idx] };
  }
  if (variant === 'whole') {
    return { layer: (x, w) => gatherMatMul(x, idx, w, { blockElements: n * K * cin }), tensors: [idx] };
  }
  const blockElements = Math.floor(blockBytes / 4);
  const mirror = cin >= MIRROR_MIN_CIN;
  return {
    layer: (x, w) => gatherMatMul(x, idx, w, { mirror, blockElements }),
    blockRows: Math.min(n, blockRowsFor(K * cin, cout, blockElements)),
    mirror,
    tensors: [idx],
  };
}

/**
 * Times every variant of one case on the active backend. The variants are interleaved (one forward of
 * each, then one of each again, ...) so that load from other processes drifts over all of them alike.
 */
export async function benchConvCase(
  c: ConvCase,
  variants: readonly ConvVariant[],
  table: NeighbourTable,
  reps = 5,
  blockBytes?: number,
): Promise<ConvBenchResult[]> {
  const x = tf.randomUniform([c.n, c.cin], -1, 1, 'float32', 1) as tf.Tensor2D;
  const w = tf.randomUniform([K * c.cin, c.cout], -0.1, 0.1, 'float32', 2) as tf.Tensor2D;
  const dy = tf.randomUniform([c.n, c.cout], -1, 1, 'float32', 3) as tf.Tensor2D;
  const layers = variants.map((v) => makeConvLayer(table, c.cin, c.cout, v, blockBytes));
  // results are read asynchronously (a device backend has no synchronous read-back in Node)
  const fwdOnce = async (i: number): Promise<void> => {
    const y = tf.tidy(() => layers[i]!.layer(x, w));
    await y.data();
    y.dispose();
  };
  const fwdBwdOnce = async (i: number): Promise<void> => {
    const layer = layers[i]!.layer;
    // dy is backpropagated through the layer as it is (no loss ops around it)
    const g = tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => layer(a as tf.Tensor2D, b as tf.Tensor2D))([x, w], dy));
    await Promise.all(g.map((t) => t.data()));
    tf.dispose(g);
  };
  const fwdMs: number[][] = variants.map(() => []);
  const fwdBwdMs: number[][] = variants.map(() => []);
  for (const [once, into] of [
    [fwdOnce, fwdMs],
    [fwdBwdOnce, fwdBwdMs],
  ] as const) {
    for (let i = 0; i < variants.length; i++) await once(i); // warm-up
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < variants.length; i++) {
        const t0 = performance.now();
        await once(i);
        into[i]!.push(performance.now() - t0);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  tf.dispose([x, w, dy, ...layers.flatMap((l) => l.tensors)]);
  const flops = 2 * c.n * K * c.cin * c.cout;
  return variants.map((variant, i) => {
    const f = median(fwdMs[i]!),
      fb = median(fwdBwdMs[i]!);
    const { blockRows, mirror } = layers[i]!;
    return {
      backend: tf.getBackend(),
      variant,
      ...c,
      ...(blockRows !== undefined ? { blockRows } : {}),
      ...(mirror !== undefined ? { mirror } : {}),
      emptyFraction: round(table.emptyFraction, 3),
      fwdMs: round(f, 1),
      fwdBwdMs: round(fb, 1),
      fwdGflops: round(flops / (f * 1e6), 1),
      fwdBwdGflops: round((3 * flops) / (fb * 1e6), 1),
      reps,
    };
  });
}

/** Every case × variant on the active backend (call initBackend first). */
export async function runConvBench(opts: ConvBenchOptions = {}): Promise<ConvBenchResult[]> {
  const cases = opts.cases ?? DEFAULT_CONV_CASES;
  const variants = opts.variants ?? CONV_VARIANTS;
  const results: ConvBenchResult[] = [];
  for (const c of cases) {
    results.push(...(await benchConvCase(c, variants, sphereShellTable(c.n), opts.reps ?? 5, opts.blockBytes)));
  }
  return results;
}
