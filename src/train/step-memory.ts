import { backboneEntry, type BackboneSpec } from '../models/backbones.ts';

/**
 * Whether one pretraining step fits the wasm heap, estimated before anything is allocated, so a batch that
 * cannot fit fails in seconds with the limit and the largest batch that fits, instead of growing the heap for
 * minutes until tfjs-backend-wasm aborts (wasm32 addresses at most 4 GiB; the heap never shrinks). The
 * estimate is the backbone's own (its registry entry's `stepHeapBytes`; MID HRNet's is
 * src/models/mid-hrnet-memory.ts); a backbone without one is not checked.
 */
export const WASM32_HEAP_LIMIT_BYTES = 4 * 2 ** 30;

/** Whether the backbone a config names has a heap estimate (a registry entry with `stepHeapBytes`). */
export function hasStepHeapEstimate(cfg: BackboneSpec): boolean {
  return backboneEntry(cfg).stepHeapBytes !== undefined;
}

/**
 * Estimated peak wasm heap bytes of one training step of the backbone `cfg` names, on a merged batch with
 * these node counts per depth (nnum: all nodes; nnumNempty: non-empty), whole batch.
 */
export function estimateStepHeapBytes(cfg: BackboneSpec, nnum: ArrayLike<number>, nnumNempty: ArrayLike<number>): number {
  const estimate = backboneEntry(cfg).stepHeapBytes;
  if (!estimate) throw new Error(`estimateStepHeapBytes: backbone '${cfg.type}' has no stepHeapBytes hook (check hasStepHeapEstimate first)`);
  return estimate(cfg, nnum, nnumNempty);
}

export interface BatchFit {
  batch: number;
  estimatedBytes: number;
  /** The estimate with its headroom (HEAP_HEADROOM): what must stay under the limit. */
  neededBytes: number;
  limitBytes: number;
  fits: boolean;
  /** The largest batch whose estimate is under the limit, at the same nodes per shape (0: not even one). */
  largestBatch: number;
}

/**
 * Whether a batch of `batch` shapes fits, from the node counts of a sample of shapes (e.g. the first
 * batch, or its first shapes): per-shape means scaled to `batch`.
 */
/**
 * A batch fits when its estimate times this stays under the limit: the estimate is within 0.95-1.08 of the
 * measured heap (src/models/mid-hrnet-memory.ts), and an allocation failure near the cap is not a clean
 * error in tfjs-backend-wasm (docs/performance.md), so a batch at the edge is refused rather than tried.
 */
export const HEAP_HEADROOM = 1.1;

export function checkBatchFits(
  cfg: BackboneSpec,
  sampleNnum: ArrayLike<number>,
  sampleNnumNempty: ArrayLike<number>,
  sampleShapes: number,
  batch: number,
  limitBytes = WASM32_HEAP_LIMIT_BYTES,
): BatchFit {
  const scaled = (a: ArrayLike<number>, b: number): number[] => Array.from(a, (v) => (v / sampleShapes) * b);
  const at = (b: number): number => estimateStepHeapBytes(cfg, scaled(sampleNnum, b), scaled(sampleNnumNempty, b));
  let largest = 0;
  while (largest < 4096 && at(largest + 1) * HEAP_HEADROOM <= limitBytes) largest++;
  const estimatedBytes = at(batch);
  const neededBytes = estimatedBytes * HEAP_HEADROOM;
  return { batch, estimatedBytes, neededBytes, limitBytes, fits: neededBytes <= limitBytes, largestBatch: largest };
}
