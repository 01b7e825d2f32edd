import * as path from 'node:path';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { cellName, type CellCoords } from '../downstream/cell-id.ts';
import { cellFile, type CellResult } from '../downstream/cells.ts';
import type { FewshotConfig } from '../downstream/fewshot-config.ts';
import { listGridCells, resolveBackbone, selectGrid, type FewshotOptions } from '../downstream/fewshot.ts';
import { updateHeadline } from '../downstream/headline.ts';
import { writeFewshotReport, type FailedCell } from '../downstream/report.ts';
import { createProgress } from '../util/progress.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { putCheckpoint } from './blobs.ts';
import { checkReachable, queueConnection, QUEUE_NAME } from './connection.ts';
import type { CellJobData } from './cell-job.ts';

/**
 * `rq3d fewshot --queue URL`: the grid's unfinished cells become BullMQ jobs whose id is the cell's name and
 * the hash of its resolved config, so submitting again adds nothing twice and never reuses a result computed
 * under another config. The submitter waits, showing cells done / running / failed with an ETA, and writes
 * each result it receives (the job's return value) into the run folder: it is the folder's only writer,
 * workers need no shared storage. Backbones that are pretraining recipes are pretrained here first; their
 * checkpoints go to the workers through Redis.
 */
export interface QueuedFewshotOptions extends FewshotOptions {
  queue: string;
  /** Attempts per cell before it counts as failed (default 3). */
  attempts?: number;
  /** First retry delay, doubled for each further attempt (default 2000 ms). */
  backoffMs?: number;
  /** How often job states are read (default 1000 ms). */
  pollMs?: number;
}

export interface QueuedFewshotResult {
  results: CellResult[];
  failed: FailedCell[];
}

const KEEP_SECONDS = 7 * 24 * 3600;

/** Job ids: the cell's name with characters BullMQ reserves replaced, then the config hash. */
export function cellJobId(cell: CellCoords, hash: string): string {
  return `cell.${cellName(cell).replace(/[^A-Za-z0-9_.-]+/g, '_')}.${hash}`;
}

export async function runFewshotQueued(cfg: FewshotConfig, opts: QueuedFewshotOptions): Promise<QueuedFewshotResult> {
  const out = path.resolve(opts.out);
  const quiet = opts.quiet ?? false;
  const attempts = opts.attempts ?? 3;
  const { backbones } = selectGrid(cfg, opts.only);
  await checkReachable(opts.queue, '--queue');
  await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  // a data folder given relative to here means the same absolute folder on every worker
  const data = /^(synth(:\d+)?|modelnet10)$/.test(cfg.data.source) ? cfg.data : { ...cfg.data, source: path.resolve(cfg.data.source) };
  const sent: FewshotConfig = { ...cfg, data };
  const checkpoints = new Map<string, string | null>();
  for (const [name, spec] of backbones) {
    if ('from' in spec) checkpoints.set(name, null);
    else if ('checkpoint' in spec) checkpoints.set(name, spec.checkpoint);
    else checkpoints.set(name, (await resolveBackbone(name, spec, cfg, out, quiet)).checkpoint);
  }
  const cells = listGridCells(cfg, out, opts.only);
  const results = new Map<string, CellResult>();
  for (const c of cells) if (c.result) results.set(cellJobId(c.cell, c.hash), c.result);
  const pending = cells.filter((c) => !c.result);

  const connection = queueConnection(opts.queue);
  const queue = new Queue(QUEUE_NAME, { connection });
  queue.on('error', () => undefined);
  const failed: FailedCell[] = [];
  try {
    const digests = new Map<string, string | null>();
    const upload = async (): Promise<void> => {
      for (const [name, dir] of checkpoints) digests.set(name, dir ? await putCheckpoint(connection as Redis, dir) : null);
    };
    await upload();
    const submit = async (c: (typeof pending)[number]): Promise<void> => {
      const id = cellJobId(c.cell, c.hash);
      const jobData: CellJobData = { kind: 'cell', cfg: sent, cell: c.cell, hash: c.hash, checkpoint: digests.get(c.cell.backbone) ?? null };
      const job = await queue.add('cell', jobData, {
        jobId: id,
        attempts,
        backoff: { type: 'exponential', delay: opts.backoffMs ?? 2000 },
        removeOnComplete: { age: KEEP_SECONDS },
        removeOnFail: { age: KEEP_SECONDS },
      });
      // a cell that failed in an earlier submission is tried again, with all its attempts
      if ((await job.getState()) === 'failed') await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    };
    for (const c of pending) await submit(c);

    const progress = createProgress(`grid ${cfg.name}`, cells.length, { quiet, unit: 'cells', every: 1 });
    let open = [...pending];
    let reported = -1;
    let lastFields = '';
    while (open.length > 0) {
      let running = 0;
      let lost = 0;
      const still: typeof open = [];
      for (const c of open) {
        const id = cellJobId(c.cell, c.hash);
        const job = (await queue.getJob(id)) as Job<CellJobData, CellResult> | undefined;
        if (!job) {
          // Redis lost the job (restarted without persistence): the checkpoints and the job go in again
          if (lost++ === 0) await upload();
          await submit(c);
          still.push(c);
          continue;
        }
        const state = await job.getState();
        if (state === 'completed' && job.returnvalue) {
          const r: CellResult = { ...job.returnvalue, configHash: c.hash };
          await writeFileAtomic(cellFile(out, c.cell), `${JSON.stringify(r, null, 2)}\n`);
          results.set(id, r);
        } else if (state === 'failed') {
          failed.push({ cell: cellName(c.cell), error: (job.failedReason ?? 'unknown error').split('\n')[0]!, attempts: job.attemptsMade });
          if (!quiet) process.stderr.write(`cell ${cellName(c.cell)} failed after ${job.attemptsMade} attempts: ${job.failedReason?.split('\n')[0]}\n`);
        } else {
          if (state === 'active') running++;
          still.push(c);
        }
      }
      if (lost > 0 && !quiet) process.stderr.write(`Redis no longer had ${lost} unfinished cells (restarted without persistence?): submitted them again\n`);
      open = still;
      const fields = { running, failed: failed.length, queued: open.length - running };
      const key = JSON.stringify(fields);
      if (results.size !== reported || key !== lastFields) progress.update(results.size + failed.length, fields);
      reported = results.size;
      lastFields = key;
      if (open.length > 0) await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    }
    progress.stop();
  } finally {
    await queue.close();
    connection.disconnect();
  }
  await writeFewshotReport(cfg, out, failed);
  await updateHeadline(cfg, out);
  return { results: cells.map((c) => results.get(cellJobId(c.cell, c.hash))).filter((r): r is CellResult => r !== undefined), failed };
}
