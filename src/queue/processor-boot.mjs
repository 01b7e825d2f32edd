// The file BullMQ forks for each sandboxed child. Children do not inherit the parent's tsx loader (it was
// registered through tsx's API, not --import), so the loader is registered here before the TypeScript
// processor is imported. A child whose worker died (SIGKILL, a lost machine) exits instead of computing on.
import { register } from 'tsx/esm/api';

register();
process.on('disconnect', () => process.exit(1));
const mod = await import('./processor.ts');
export default mod.default;
