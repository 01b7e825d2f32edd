import type { Command } from 'commander';
import { resolvePretrainConfig } from '../train/config.ts';
import { UsageError } from '../util/errors.ts';
import { parseIntOption, parseNumberOption } from './options.ts';

/**
 * `rq3d worker` runs queue jobs (grid cells, preparation shards) on this machine; `rq3d prepare` builds the
 * preprocessing and cluster caches of a data folder, locally or as queue jobs.
 */
function positive(v: string, flag: string): number {
  return parseIntOption(v, flag, { min: 1 });
}

export function registerQueue(program: Command): void {
  program
    .command('worker')
    .description('run jobs of a BullMQ queue (rq3d fewshot --queue, rq3d prepare --queue), each in its own process')
    .requiredOption('--queue <url>', 'redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// (TLS)')
    .option('--concurrency <n>', 'jobs at a time on this machine', '1')
    .option('--lock-seconds <s>', 'a job whose worker is silent this long is handed to another worker', '30')
    .option('--name <name>', 'worker name in logs (default host:pid)')
    .option('--quiet', 'no log lines')
    .action(async (o: { queue: string; concurrency: string; lockSeconds: string; name?: string; quiet?: boolean }) => {
      const concurrency = positive(o.concurrency, '--concurrency');
      const lockMs = Math.round(1000 * parseNumberOption(o.lockSeconds, '--lock-seconds', { min: 1, max: 86_400 }));
      const { runWorker } = await import('../queue/worker.ts');
      await runWorker({ url: o.queue, concurrency, lockMs, name: o.name, quiet: o.quiet });
    });
  program
    .command('prepare')
    .description('build the preprocessing cache (sampled points, normals) and k-means cluster ids of a data folder')
    .requiredOption('--data <dir>', 'data folder (ModelNet tree, ShapeNet Part, modelnet40 txt/h5, folder of shapes) or modelnet10')
    .option('--config <preset|file>', 'the pretraining config whose points, clusters and seed to prepare for', 'cpu')
    .option('--queue <url>', 'run the shards as jobs on a BullMQ queue (workers: rq3d worker)')
    .option('--shard-size <n>', 'with --queue: shapes per job', '16')
    .option('--workers <n>', 'without --queue: worker threads (default min(cores, 4))')
    .option('--attempts <n>', 'with --queue: attempts per shard', '3')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as one JSON object')
    .action(
      async (o: { data: string; config: string; queue?: string; shardSize: string; workers?: string; attempts: string; quiet?: boolean; json?: boolean }) => {
        const cfg = resolvePretrainConfig(o.config);
        // every flag is checked, whichever mode uses it, before the queue or the data folder is touched
        const shardSize = positive(o.shardSize, '--shard-size');
        const attempts = positive(o.attempts, '--attempts');
        const workers = o.workers === undefined ? undefined : parseIntOption(o.workers, '--workers', { min: 0, max: 64 });
        if (o.data.trim() === '') throw new UsageError('--data: give a data folder');
        if (o.queue !== undefined) {
          // the queue is checked before the data folder is read
          const { checkReachable } = await import('../queue/connection.ts');
          await checkReachable(o.queue, '--queue');
        }
        const { planPrepare, prepareLocal } = await import('../data/prepare.ts');
        const plan = await planPrepare(o.data, cfg);
        const t0 = performance.now();
        let r: { computed: number; reused: number; shards?: number };
        if (o.queue !== undefined) {
          const { prepareQueued } = await import('../queue/prepare.ts');
          r = await prepareQueued(plan, { queue: o.queue, shardSize, attempts, quiet: o.quiet });
        } else {
          r = await prepareLocal(plan, { workers, quiet: o.quiet });
        }
        const seconds = (performance.now() - t0) / 1000;
        if (o.json)
          process.stdout.write(
            `${JSON.stringify({ dir: plan.dir, clusters: plan.clustersFile, shapes: plan.items.length, train: plan.train.length, ...r, seconds })}\n`,
          );
        else
          process.stdout.write(
            `prepared ${plan.items.length} shapes (${r.computed} computed, ${r.reused} already cached) in ${seconds.toFixed(1)} s: ${plan.dir}; cluster ids of ${plan.train.length} training shapes: ${plan.clustersFile}\n`,
          );
      },
    );
}
