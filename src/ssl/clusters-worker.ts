import { parentPort, workerData } from 'node:worker_threads';
import { kmeans } from './kmeans.ts';

/**
 * One k-means worker: receives a slice of shapes (their xyz), returns the cluster ids of each, one reply per
 * shape so the caller can show progress. Started through src/data/datasets/worker-boot.mjs (tsx).
 */
const { k } = workerData as { k: number };
parentPort!.on('message', (msg: { index: number; points: Float32Array; seed: number }) => {
  const labels = kmeans(msg.points, k, { seed: msg.seed }).labels;
  parentPort!.postMessage({ index: msg.index, labels }, [labels.buffer as ArrayBuffer]);
});
parentPort!.postMessage({ ready: true });
