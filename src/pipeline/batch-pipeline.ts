/**
 * Batches for a training loop, built ahead of time: while the caller trains on batch i, batches
 * i+1..i+prefetch are being loaded and built by the worker pool.
 */
import type { NeighborQuery, Octree } from '../../octree/index.ts';
import type { PointCloud } from '../data/pointcloud.ts';
import type { BatchPart, BatchTimings, InputFeatures } from './assemble.ts';
import { sampleSeed, type SampleParams, type SampleSpec } from './sample.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface PipelineBatch {
  /** Position of the batch in `batches`. */
  batch: number;
  /** Dataset indices of its shapes, in octree order. */
  indices: number[];
  /** The merged octree, neighbour tables of every depth already cached on it. */
  octree: Octree;
  /** Each shape's transformed, quantized and clipped cloud (octree.pointToLeaf indexes their concatenation). */
  clouds: PointCloud[];
  params: SampleParams[];
  /** Input features of the merged octree (spec.features, spec.nempty). */
  features: InputFeatures;
  timings: BatchTimings;
}

export interface BatchPipelineOptions {
  load: (index: number) => Promise<PointCloud> | PointCloud;
  /** Dataset indices of each batch, in the order they are consumed. */
  batches: ReadonlyArray<readonly number[]>;
  spec: SampleSpec;
  pool: WorkerPool;
  epoch?: number;
  /** A run seed (then shape i of epoch e gets sampleSeed(seed, e, i)) or the seed function itself. */
  seed: number | ((epoch: number, index: number) => number);
  /** Batches built ahead of the one being consumed; default pool.size (0 inline: building ahead in the
   * consumer's own thread would only delay the current batch). */
  prefetch?: number;
  queries?: readonly NeighborQuery[];
}

export class BatchPipeline implements AsyncIterable<PipelineBatch> {
  private readonly seedOf: (epoch: number, index: number) => number;

  constructor(private readonly opts: BatchPipelineOptions) {
    const s = opts.seed;
    this.seedOf = typeof s === 'number' ? (e, i) => sampleSeed(s, e, i) : s;
    const prefetch = opts.prefetch ?? 0;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`prefetch must be an integer >= 0, got ${prefetch}`);
  }

  get length(): number {
    return this.opts.batches.length;
  }

  /** Build batch b (loads its shapes, then hands them to the pool). */
  async build(b: number): Promise<PipelineBatch> {
    const { batches, load, spec, pool, queries } = this.opts;
    const epoch = this.opts.epoch ?? 0;
    const indices = [...batches[b]!];
    const clouds = await Promise.all(indices.map((i) => load(i)));
    const items = clouds.map((cloud, j) => ({ cloud, seed: this.seedOf(epoch, indices[j]!) }));
    let part: BatchPart;
    try {
      part = await pool.prepare(items, spec, { queries });
    } catch (e) {
      if (e instanceof Error) e.message = `batch ${b} (dataset indices ${indices.join(', ')}): ${e.message}`;
      throw e;
    }
    return {
      batch: b,
      indices,
      octree: part.octree,
      clouds: part.clouds,
      params: part.params,
      features: part.features!,
      timings: part.timings,
    };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<PipelineBatch> {
    const ahead = this.opts.prefetch ?? this.opts.pool.size;
    const inflight: Promise<PipelineBatch>[] = [];
    let next = 0;
    const start = (): void => {
      const p = this.build(next++);
      // a batch that fails while an earlier one is being consumed is reported when its turn comes
      p.catch(() => undefined);
      inflight.push(p);
    };
    while (next < this.length || inflight.length > 0) {
      if (inflight.length === 0) start();
      const current = inflight.shift()!;
      while (inflight.length < ahead && next < this.length) start();
      yield await current;
    }
  }
}
