/**
 * One octree conv layer, timed: out = matMulNN(reshape(octGather(x, idx), [N, 27·Cin]), W[27·Cin, Cout])
 * on real sphere-shell neighbourhoods (shared/reference/tfjs-eval.md §2), forward and forward+backward.
 *
 * Variants:
 *  - 'im2col': the composition matMulNN(reshape(octGather(x, idx)), W) under autodiff; the tape keeps the
 *    whole [N, 27·Cin] column matrix for the backward, which transposes it for dW.
 *  - 'fused': gatherMatMul(x, idx, W); nothing 27× is kept, dW uses the transposed gather (octGatherT).
 *  - 'blocked': gatherMatMul per block of rows whose column buffer is at most `blockBytes`, outputs
 *    concatenated (each block's dX is a full [N, Cin] scatter-add, summed by autodiff). Measured slower
 *    in fwd+bwd than 'fused' at 4 MiB blocks (the per-block full-size dX), so it stays a bench variant.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherMatMul, matMulNN, octGather } from '../../octree/ops/kernels/index.ts';
import { sphereShellTable, type NeighbourTable } from './sphere-shell.ts';
import { median, round } from './timing.ts';

export type ConvVariant = 'im2col' | 'fused' | 'blocked';
export const CONV_VARIANTS: readonly ConvVariant[] = ['im2col', 'fused', 'blocked'];

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
  /** Rows per block ('blocked' only). */
  blockRows?: number;
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
  /** Column-buffer budget per block for the 'blocked' variant. */
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
  table: NeighbourTable, cin: number, variant: ConvVariant, blockBytes = 4 * 1024 * 1024,
): { layer: (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D; blockRows?: number; tensors: tf.Tensor[] } {
  const n = table.n;
  if (variant === 'im2col') {
    const idx = tf.tensor1d(table.idx, 'int32');
    return {
      layer: (x, w) => matMulNN(tf.reshape(octGather(x, idx), [n, K * cin]), w),
      tensors: [idx],
    };
  }
  if (variant === 'fused') {
    const idx = tf.tensor1d(table.idx, 'int32');
    return { layer: (x, w) => gatherMatMul(x, idx, w), tensors: [idx] };
  }
  const blockRows = Math.max(1, Math.min(n, Math.floor(blockBytes / (K * cin * 4))));
  const blocks: Array<{ rows: number; idx: tf.Tensor1D }> = [];
  for (let start = 0; start < n; start += blockRows) {
    const rows = Math.min(blockRows, n - start);
    blocks.push({ rows, idx: tf.tensor1d(table.idx.subarray(start * K, (start + rows) * K), 'int32') });
  }
  return {
    layer: (x, w) => {
      const outs = blocks.map((b) => gatherMatMul(x, b.idx, w));
      return outs.length === 1 ? outs[0]! : tf.concat(outs, 0);
    },
    blockRows,
    tensors: blocks.map((b) => b.idx),
  };
}

/**
 * Times every variant of one case on the active backend. The variants are interleaved (one forward of
 * each, then one of each again, ...) so that load from other processes drifts over all of them alike.
 */
export async function benchConvCase(
  c: ConvCase, variants: readonly ConvVariant[], table: NeighbourTable, reps = 5, blockBytes?: number,
): Promise<ConvBenchResult[]> {
  const x = tf.randomUniform([c.n, c.cin], -1, 1, 'float32', 1) as tf.Tensor2D;
  const w = tf.randomUniform([K * c.cin, c.cout], -0.1, 0.1, 'float32', 2) as tf.Tensor2D;
  const dy = tf.randomUniform([c.n, c.cout], -1, 1, 'float32', 3) as tf.Tensor2D;
  const layers = variants.map((v) => makeConvLayer(table, c.cin, v, blockBytes));
  const fwdOnce = (i: number): void => {
    tf.tidy(() => {
      layers[i]!.layer(x, w).dataSync();
    });
  };
  const fwdBwdOnce = (i: number): void => {
    const layer = layers[i]!.layer;
    tf.tidy(() => {
      // d/d(x, w) of sum(layer(x, w) * dy) backpropagates exactly dy through the layer.
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layer(a as tf.Tensor2D, b as tf.Tensor2D), dy)))([x, w]);
      g[0]!.dataSync();
      g[1]!.dataSync();
    });
  };
  const fwdMs: number[][] = variants.map(() => []);
  const fwdBwdMs: number[][] = variants.map(() => []);
  for (const [once, into] of [[fwdOnce, fwdMs], [fwdBwdOnce, fwdBwdMs]] as const) {
    for (let i = 0; i < variants.length; i++) once(i); // warm-up
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < variants.length; i++) {
        const t0 = performance.now();
        once(i);
        into[i]!.push(performance.now() - t0);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  tf.dispose([x, w, dy, ...layers.flatMap((l) => l.tensors)]);
  const flops = 2 * c.n * K * c.cin * c.cout;
  return variants.map((variant, i) => {
    const f = median(fwdMs[i]!), fb = median(fwdBwdMs[i]!);
    const blockRows = layers[i]!.blockRows;
    return {
      backend: tf.getBackend(),
      variant,
      ...c,
      ...(blockRows !== undefined ? { blockRows } : {}),
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
