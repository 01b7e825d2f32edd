import { Redis, type RedisOptions } from 'ioredis';
import { UserError } from '../util/errors.ts';

/**
 * Redis connections of the job queue. A URL is `redis://[:PASSWORD@]HOST:PORT[/DB]` or `rediss://…` (TLS).
 * The first connection of a command is checked once with a short timeout and no retries, so a wrong URL or a
 * server that is down is one error line within seconds; the long-lived connections BullMQ uses afterwards
 * reconnect without end (a Redis restart mid-grid is waited out, not fatal).
 */
export const QUEUE_NAME = 'rq3d';
/** Checkpoints shipped to workers through Redis live under this key prefix (one hash per content digest). */
export const BLOB_PREFIX = 'rq3d:blob:';
const CONNECT_TIMEOUT_MS = 5000;

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Validates a queue URL; the error names the flag and says what a URL looks like. */
export function checkQueueUrl(url: string, flag: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`${flag} '${url}' is not a URL: give redis://[:PASSWORD@]HOST:PORT[/DB] (or rediss:// for TLS)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new UserError(`${flag} ${redactUrl(url)}: the scheme must be redis:// or rediss:// (TLS), not ${u.protocol}//`);
  if (!u.hostname) throw new UserError(`${flag} ${redactUrl(url)}: no host (give redis://HOST:PORT)`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new UserError(`${flag} ${redactUrl(url)}: the path must be a database number (redis://HOST:PORT/0), not '/${db}'`);
  return u;
}

function baseOptions(): RedisOptions {
  return { connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: null, enableReadyCheck: true };
}

/**
 * Connects once, without retries, and pings: throws a UserError naming the flag when Redis cannot be reached
 * or refuses the credentials.
 */
export async function checkReachable(url: string, flag: string): Promise<void> {
  checkQueueUrl(url, flag);
  const client = new Redis(url, { ...baseOptions(), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  // the client reports connection errors as events too; they are answered by the rejected connect below
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new UserError(`${flag} ${redactUrl(url)}: cannot reach Redis (${msg}); start redis-server there or check the host, port and password in the URL`);
  } finally {
    client.disconnect();
  }
}

/** A connection that reconnects forever (every ≤ 2 s), for BullMQ queues and workers. */
export function queueConnection(url: string): Redis {
  const client = new Redis(url, { ...baseOptions(), retryStrategy: (times) => Math.min(200 * times, 2000) });
  // errors while disconnected are expected (the server restarts); callers that want to show them listen too
  client.on('error', () => undefined);
  return client;
}
