// The file BullMQ forks for each sandboxed child. Children do not inherit the parent's tsx loader (it was
// registered through tsx's API, not --import), so the loader is registered here before the TypeScript
// processor is imported. A child whose worker died (SIGKILL, a lost machine) exits instead of computing on:
// its IPC channel is closed, or it was handed to another parent. The worker may have died before this file
// was loaded (the 'disconnect' event is then past), hence the check of `connected` here and every second
// (between the steps of a job).
import { register } from 'tsx/esm/api';

const parent = process.ppid;
const orphaned = () => !process.connected || process.ppid !== parent;
if (orphaned()) process.exit(1);
process.on('disconnect', () => process.exit(1));
setInterval(() => {
  if (orphaned()) process.exit(1);
}, 1000).unref();
register();
const mod = await import('./processor.ts');
export default mod.default;
