import type { SandboxedJob } from 'bullmq';
import type { Redis } from 'ioredis';
import { UserError } from '../util/errors.ts';
import { queueConnection } from './connection.ts';
import { runCellJob, type CellJobData } from './cell-job.ts';
import { runShardJob, type ShardJobData } from './shard-job.ts';

/**
 * The sandboxed processor: BullMQ runs it in a child process of `rq3d worker`, so a training step that holds
 * the event loop for seconds (tfjs runs synchronously) cannot stop the worker from renewing the job's lock.
 * The child reads the queue URL from RQ3D_QUEUE_URL (set by the worker) for checkpoint blobs.
 */
let client: Redis | null = null;
const redis = (): Redis => (client ??= queueConnection(process.env.RQ3D_QUEUE_URL ?? ''));

export default async function processor(job: SandboxedJob<CellJobData | ShardJobData>): Promise<unknown> {
  try {
    return job.data.kind === 'cell' ? await runCellJob(job.data, redis) : await runShardJob(job.data);
  } catch (e) {
    // a person's error (bad data, a broken checkpoint) keeps its one-line message as the job's failure reason
    if (e instanceof UserError) throw new Error(e.message);
    throw e;
  }
}
