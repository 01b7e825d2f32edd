/** Dense NN matMul throughput of the active tfjs backend. */
import * as tf from '@tensorflow/tfjs';
import { median, round, timeRuns } from './timing.ts';

export interface MatMulResult {
  backend: string;
  m: number;
  k: number;
  n: number;
  /** Median wall time of one product including the read-back. */
  ms: number;
  gflops: number;
  reps: number;
}

/** Times tf.matMul of [m,k] x [k,n] (median of `reps` after one warm-up). */
export async function timeMatMul(m: number, k: number, n: number, reps = 5): Promise<MatMulResult> {
  const a = tf.randomUniform([m, k], -1, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomUniform([k, n], -1, 1, 'float32', 2) as tf.Tensor2D;
  const runs = await timeRuns(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }, reps);
  tf.dispose([a, b]);
  const ms = median(runs);
  return { backend: tf.getBackend(), m, k, n, ms: round(ms, 2), gflops: round((2 * m * k * n) / (ms * 1e6), 2), reps };
}

/**
 * The backend's big-matMul peak: 2048^3 NN (1024^3 on the cpu backend, where 2048^3 takes ~20 s).
 */
export async function matmulPeak(reps = 5, sizeOverride?: number): Promise<MatMulResult> {
  const size = sizeOverride ?? (tf.getBackend() === 'cpu' ? 1024 : 2048);
  return timeMatMul(size, size, size, tf.getBackend() === 'cpu' ? Math.min(reps, 3) : reps);
}
