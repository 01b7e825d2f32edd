import * as os from 'node:os';
import { Worker, type Job } from 'bullmq';
import { checkReachable, queueConnection, QUEUE_NAME, redactUrl } from './connection.ts';

/**
 * `rq3d worker`: takes jobs (grid cells, preparation shards) from the queue and runs each in a sandboxed
 * child process (processor-boot.mjs), `concurrency` at a time. Results go back through the queue; the worker
 * writes only into its own cache folder and never serves files. Stops on SIGINT/SIGTERM after the jobs it
 * is running (a second signal stops at once; the queue hands those jobs to another worker).
 */
export interface WorkerOptions {
  url: string;
  concurrency: number;
  /** How long a job's lock lasts without renewal before another worker may take the job over. */
  lockMs: number;
  name?: string;
  quiet?: boolean;
}

export async function runWorker(opts: WorkerOptions): Promise<void> {
  await checkReachable(opts.url, '--queue');
  const name = opts.name ?? `${os.hostname()}:${process.pid}`;
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(`worker ${name}: ${s}\n`);
  };
  // the sandboxed children read the URL from the environment (not from job data stored in Redis)
  process.env.RQ3D_QUEUE_URL = opts.url;
  const connection = queueConnection(opts.url);
  let down = false;
  connection.on('error', (e: Error) => {
    if (!down) log(`lost Redis at ${redactUrl(opts.url)} (${e.message}); reconnecting`);
    down = true;
  });
  connection.on('ready', () => {
    if (down) log('reconnected to Redis');
    down = false;
  });
  const worker = new Worker(QUEUE_NAME, new URL('./processor-boot.mjs', import.meta.url), {
    connection,
    concurrency: opts.concurrency,
    name,
    lockDuration: opts.lockMs,
    stalledInterval: opts.lockMs,
    // a job whose worker vanished is handed on twice before it counts as failed
    maxStalledCount: 2,
    // after a lost connection, try again soon (the default waits 15 s)
    runRetryDelay: 2000,
    useWorkerThreads: false,
  });
  const label = (job: Job): string => `${job.name} ${job.id}`;
  worker.on('active', (job) => log(`started ${label(job)} (attempt ${job.attemptsMade + 1})`));
  worker.on('completed', (job) => log(`finished ${label(job)}`));
  worker.on('failed', (job, err) => log(`failed ${job ? label(job) : '?'}: ${err.message.split('\n')[0]}`));
  worker.on('error', (e) => {
    if (!down) log(`error: ${e.message.split('\n')[0]}`);
  });
  log(`waiting for jobs on ${redactUrl(opts.url)} (concurrency ${opts.concurrency})`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) process.exit(130);
      stopping = true;
      log('stopping after the running jobs (signal again to stop now)');
      void worker.close().then(() => {
        connection.disconnect();
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
