// Worker entry: worker threads do not inherit the parent's tsx loader (neither under `tsx` nor under vitest),
// so each worker registers it before importing the TypeScript module named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
