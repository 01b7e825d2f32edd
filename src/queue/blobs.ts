import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { checkpointDigest } from '../downstream/cell-id.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { BLOB_PREFIX } from './connection.ts';

/**
 * Backbone checkpoints travel to workers through Redis, so a worker needs nothing but the queue URL and the
 * data: the submitter stores `model.json` and `weights.bin` (what fine-tuning reads; not the memory banks)
 * under their content digest, a worker copies them once into its local cache. Workers never serve files.
 */
const FILES = ['model.json', 'weights.bin'] as const;

/** Shipped checkpoints expire this long after the last submission that used them (Redis is no archive). */
const BLOB_TTL_SECONDS = 30 * 24 * 3600;

/** Stores a checkpoint under its digest (unchanged when already there); returns the digest. */
export async function putCheckpoint(redis: Redis, dir: string): Promise<string> {
  const digest = checkpointDigest(dir);
  const key = BLOB_PREFIX + digest;
  if ((await redis.exists(key)) === 0) {
    const fields: Record<string, Buffer> = {};
    for (const f of FILES) fields[f] = await fs.readFile(path.join(dir, f));
    await redis.hset(key, fields);
  }
  await redis.expire(key, BLOB_TTL_SECONDS);
  return digest;
}

/** The local copy of a shipped checkpoint under `root`, fetched from Redis the first time. */
export async function fetchCheckpoint(redis: Redis, digest: string, root: string): Promise<string> {
  const dir = path.join(root, digest);
  try {
    await fs.access(path.join(dir, 'model.json'));
    return dir;
  } catch {
    // not fetched yet
  }
  const key = BLOB_PREFIX + digest;
  const parts = await redis.hmgetBuffer(key, ...FILES);
  if (parts.some((p) => p === null))
    throw new Error(`checkpoint ${digest.slice(0, 12)} is not in Redis (${key}); the submitter uploads it again when it re-submits`);
  // weights first, the manifest last: a folder with model.json is complete
  await writeFileAtomic(path.join(dir, 'weights.bin'), parts[1]!);
  await writeFileAtomic(path.join(dir, 'model.json'), parts[0]!);
  return dir;
}
