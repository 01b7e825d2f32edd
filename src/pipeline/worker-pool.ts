/**
 * A pool of worker threads that builds training batches off the main thread (DESIGN.md: everything before
 * the network is plain typed arrays built in workers in parallel with the step). Octree data comes back
 * by transfer, not copy. With 0 workers the same code runs inline in the calling thread.
 */
import { Worker } from 'node:worker_threads';
import type { NeighborQuery } from '../../octree/index.ts';
import { buildPart, finishBatch, fromWire, mergeParts, type BatchPart, type SampleItem } from './assemble.ts';
import { checkSampleSpec, type SampleSpec } from './sample.ts';
import type { WorkerReply, WorkerRequest } from './batch-worker.ts';

/**
 * Where the shapes of a batch are merged and its tables built:
 * - 'worker': the whole batch goes to one worker, which also merges and builds neighbour tables and input
 *   features (the main thread only receives transferred buffers; several batches are built in parallel
 *   when there are several workers);
 * - 'main': the batch is split over the workers, each returns its merged part, and the main thread merges
 *   the parts and builds the tables (lower latency for one batch, but the expensive part runs on the main
 *   thread while it should be training).
 */
export type MergeSite = 'worker' | 'main';

export interface WorkerPoolOptions {
  /** Worker threads; 0 = build inline in the calling thread. Default 1. */
  workers?: number;
  mergeIn?: MergeSite;
}

export interface PrepareOptions {
  /** Conv index variants to precompute besides the full neighbour table of every depth. */
  queries?: readonly NeighborQuery[];
}

/** An error thrown while a worker built a batch; the message is the worker's. */
export class PipelineWorkerError extends Error {
  constructor(
    message: string,
    readonly workerStack = '',
  ) {
    super(message);
    this.name = 'PipelineWorkerError';
  }
}

interface Pending {
  resolve: (p: BatchPart) => void;
  reject: (e: Error) => void;
}

class PoolWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  dead: Error | null = null;

  constructor() {
    this.worker = new Worker(new URL('./batch-worker-boot.js', import.meta.url));
    // Idle workers must not keep the process alive; a worker with work in flight does (see send).
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => this.receive(reply));
    this.worker.on('error', (e: Error) => this.fail(new PipelineWorkerError(`pipeline worker crashed: ${e.message}`, e.stack ?? '')));
    this.worker.on('exit', (code) => this.fail(new PipelineWorkerError(`pipeline worker exited (code ${code})`)));
  }

  get load(): number {
    return this.pending.size;
  }

  send(req: WorkerRequest): Promise<BatchPart> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<BatchPart>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(req.id, { resolve, reject });
      this.worker.postMessage(req);
    });
  }

  private receive(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) p.resolve(fromWire(reply.part));
    else p.reject(new PipelineWorkerError(reply.message, reply.stack));
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async terminate(): Promise<void> {
    this.fail(new PipelineWorkerError('worker pool closed'));
    await this.worker.terminate();
  }
}

export class WorkerPool {
  readonly size: number;
  readonly mergeIn: MergeSite;
  private workers: PoolWorker[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: WorkerPoolOptions = {}) {
    const n = opts.workers ?? 1;
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`workers must be an integer >= 0, got ${n}`);
    this.size = n;
    this.mergeIn = opts.mergeIn ?? 'worker';
  }

  /** Workers start on first use, and a crashed one is replaced on the next request. */
  private worker(): PoolWorker {
    this.workers = this.workers.filter((w) => !w.dead);
    if (this.workers.length < this.size) {
      const w = new PoolWorker();
      this.workers.push(w);
      return w;
    }
    return this.workers.reduce((a, b) => (b.load < a.load ? b : a));
  }

  /**
   * Build one batch: every shape's sample (by its own seed), the merged octree with its neighbour tables
   * of all depths cached on it, and the input features.
   */
  async prepare(items: readonly SampleItem[], spec: SampleSpec, opts: PrepareOptions = {}): Promise<BatchPart> {
    if (this.closed) throw new Error('prepare() called on a closed WorkerPool');
    if (items.length === 0) throw new RangeError('a batch needs at least one shape');
    checkSampleSpec(spec);
    const queries = [...(opts.queries ?? [])];
    if (this.size === 0) return finishBatch(buildPart(items, spec), spec, queries);
    const request = (part: readonly SampleItem[], finish: boolean): Promise<BatchPart> =>
      this.worker().send({ id: this.nextId++, items: [...part], spec, finish, queries });
    if (this.mergeIn === 'worker') return request(items, true);
    const chunks = Math.min(this.size, items.length);
    const per = Math.ceil(items.length / chunks);
    const parts: Promise<BatchPart>[] = [];
    for (let i = 0; i < items.length; i += per) parts.push(request(items.slice(i, i + per), false));
    return finishBatch(mergeParts(await Promise.all(parts)), spec, queries);
  }

  /** Stop every worker; requests still in flight are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
