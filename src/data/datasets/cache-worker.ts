import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../../util/errors.ts';
import { preprocessItem, writeCached, type PreprocessSpec } from './cache.ts';
import { openDataset } from './index.ts';
import type { DatasetItem, DatasetSource } from './types.ts';

/** One preprocessing worker: reopens the dataset from its source, then handles one item per message. */
const data = workerData as { source: DatasetSource; spec: PreprocessSpec };
const port = parentPort!;
try {
  const ds = await openDataset(data.source);
  port.on('message', async (msg: { index: number; item: DatasetItem; file: string }) => {
    try {
      await writeCached(msg.file, await preprocessItem(ds, msg.item, data.spec));
      port.postMessage({ ok: true, index: msg.index });
    } catch (e) {
      const err = e as Error;
      port.postMessage({ ok: false, index: msg.index, user: e instanceof UserError, message: e instanceof UserError ? err.message : (err.stack ?? String(e)) });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ ok: false, index: -1, user: e instanceof UserError, message: (e as Error).message });
}
