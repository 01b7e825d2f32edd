/**
 * Worker-thread side of the pool: builds batch parts on request. Started through batch-worker-boot.js,
 * which registers tsx first so this TypeScript module loads under plain node, tsx and vitest alike.
 */
import { parentPort } from 'node:worker_threads';
import type { NeighborQuery } from '../../octree/index.ts';
import { buildPart, finishBatch, toWire, type SampleItem, type WirePart } from './assemble.ts';
import type { SampleSpec } from './sample.ts';

export interface WorkerRequest {
  id: number;
  items: SampleItem[];
  spec: SampleSpec;
  /** The items are a whole batch: also build its neighbour tables and input features. */
  finish: boolean;
  queries: NeighborQuery[];
}

export type WorkerReply = { id: number; ok: true; part: WirePart } | { id: number; ok: false; message: string; stack: string };

if (!parentPort) throw new Error('batch-worker.ts must run in a worker thread');
const port = parentPort;

port.on('message', (req: WorkerRequest) => {
  try {
    const part = buildPart(req.items, req.spec);
    if (req.finish) finishBatch(part, req.spec, req.queries);
    const { wire, transfer } = toWire(part);
    const reply: WorkerReply = { id: req.id, ok: true, part: wire };
    port.postMessage(reply, transfer);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const reply: WorkerReply = {
      id: req.id,
      ok: false,
      message: err.name === 'SampleError' || err.name === 'Error' ? err.message : `${err.name}: ${err.message}`,
      stack: err.stack ?? '',
    };
    port.postMessage(reply);
  }
});
