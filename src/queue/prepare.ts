import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { itemFileName } from '../data/datasets/cache.ts';
import { missingWork, openPlanFolder, type PreparePlan } from '../data/prepare.ts';
import { stableJson } from '../downstream/cell-id.ts';
import { clusterSeed, writeClusters } from '../ssl/clusters.ts';
import { createProgress } from '../util/progress.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { checkReachable, queueConnection, QUEUE_NAME } from './connection.ts';
import type { ShardJobData, ShardResult } from './shard-job.ts';

/**
 * `rq3d prepare --queue URL`: the dataset is cut into shards of consecutive items; a shard is a job whose id
 * names the cache and the shard's items (re-submitting adds nothing twice). The submitter writes every file
 * it receives into its cache folder (the same names and bytes as a local run), removes the collected job
 * (the files are the durable copy; shard results are large), and writes the cluster-id file once all
 * training shapes are in. Re-adding lost jobs after a Redis restart works as for grids.
 */
export interface QueuedPrepareOptions {
  queue: string;
  shardSize: number;
  attempts?: number;
  quiet?: boolean;
  pollMs?: number;
}

export async function prepareQueued(plan: PreparePlan, opts: QueuedPrepareOptions): Promise<{ computed: number; reused: number; shards: number }> {
  await checkReachable(opts.queue, '--queue');
  await openPlanFolder(plan);
  const missing = missingWork(plan);
  const trainIndex = new Map(plan.train.map((it, i) => [it.id, i]));
  const labels: Array<Int32Array | null> = plan.train.map(() => null);
  // a shard is needed when one of its items has no file, or the cluster file is missing and it holds training items
  const shards: ShardJobData[] = [];
  for (let s = 0; s < plan.items.length; s += opts.shardSize) {
    const items = plan.items.slice(s, s + opts.shardSize);
    const need = items.some((it) => missing.items.has(it.id)) || (missing.clusters && items.some((it) => trainIndex.has(it.id)));
    if (!need) continue;
    shards.push({
      kind: 'shard',
      source: plan.source,
      spec: plan.spec,
      clusters: plan.clusters,
      items: items.map((item) => ({ item, trainIndex: trainIndex.get(item.id) ?? null })),
    });
  }
  const idOf = (d: ShardJobData): string =>
    `shard.${createHash('sha256')
      .update(stableJson({ source: d.source, spec: d.spec, clusters: d.clusters, items: d.items }))
      .digest('hex')
      .slice(0, 24)}`;
  const connection = queueConnection(opts.queue);
  const queue = new Queue(QUEUE_NAME, { connection });
  queue.on('error', () => undefined);
  let computed = 0;
  try {
    const submit = async (d: ShardJobData): Promise<void> => {
      const job = await queue.add('shard', d, { jobId: idOf(d), attempts: opts.attempts ?? 3, backoff: { type: 'exponential', delay: 2000 } });
      if ((await job.getState()) === 'failed') await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    };
    for (const d of shards) await submit(d);
    const bar = createProgress(`preparing ${plan.ds.name}`, shards.length, { quiet: opts.quiet, unit: 'shards', every: 1 });
    let open = [...shards];
    let done = 0;
    while (open.length > 0) {
      const still: ShardJobData[] = [];
      let running = 0;
      let lost = 0;
      for (const d of open) {
        const job = (await queue.getJob(idOf(d))) as Job<ShardJobData, ShardResult> | undefined;
        if (!job) {
          lost++;
          await submit(d);
          still.push(d);
          continue;
        }
        const state = await job.getState();
        if (state === 'failed')
          throw new UserError(`shard ${job.id} (${d.items[0]!.item.id} …) failed after ${job.attemptsMade} attempts: ${job.failedReason}`);
        if (state !== 'completed' || !job.returnvalue) {
          if (state === 'active') running++;
          still.push(d);
          continue;
        }
        for (const r of job.returnvalue.items) {
          const item = d.items.find((x) => x.item.id === r.id)!;
          const file = path.join(plan.dir, itemFileName(item.item));
          if (!fs.existsSync(file)) {
            await writeFileAtomic(file, Buffer.from(r.points, 'base64'));
            computed++;
          }
          if (r.labels !== null && item.trainIndex !== null) {
            const b = Buffer.from(r.labels, 'base64');
            labels[item.trainIndex] = new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
          }
        }
        await job.remove();
        done++;
      }
      if (lost > 0 && !opts.quiet)
        process.stderr.write(`Redis no longer had ${lost} unfinished shards (restarted without persistence?): submitted them again\n`);
      open = still;
      bar.update(done, { running, queued: open.length - running });
      if (open.length > 0) await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    }
    bar.stop();
  } finally {
    await queue.close();
    connection.disconnect();
  }
  if (missing.clusters) {
    const missingLabels = labels.findIndex((l) => l === null);
    if (missingLabels >= 0)
      throw new Error(`no cluster ids came back for training shape ${plan.train[missingLabels]!.id} (seed ${clusterSeed(plan.clusters.seed, missingLabels)})`);
    await writeClusters(plan.clustersFile, labels as Int32Array[]);
  }
  return { computed, reused: plan.items.length - computed, shards: shards.length };
}
