// Plain-JS entry of a pipeline worker: worker threads start without the parent's tsx hooks when the parent
// runs under vitest, so register tsx here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';
register();
await import('./batch-worker.ts');
