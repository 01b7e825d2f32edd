/**
 * Compiles kernels.wat into the two module binaries rq3d ships (imports of a shared and of a plain
 * memory), with the `wabt` dev dependency. Used by build.ts (writes binary.ts) and by the test that
 * checks binary.ts is up to date; the runtime only reads binary.ts.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export const WAT_FILE = fileURLToPath(new URL('./kernels.wat', import.meta.url));

/** The memory import of each variant: tfjs's threaded build shares a 4 GiB-max memory. */
const IMPORTS = {
  shared: '(import "env" "memory" (memory 1 65536 shared))',
  unshared: '(import "env" "memory" (memory 1))',
} as const;

export async function compileKernels(): Promise<{ shared: Uint8Array; unshared: Uint8Array }> {
  const wabt = await wabtInit();
  const text = fs.readFileSync(WAT_FILE, 'utf8');
  const build = (variant: keyof typeof IMPORTS): Uint8Array => {
    const mod = wabt.parseWat(WAT_FILE, text.replace(/^\s*MEMORY_IMPORT\s*$/m, IMPORTS[variant]), { simd: true, threads: true, bulk_memory: true });
    try {
      // no mod.validate(): wabt.js validates with default features (rejects shared memory);
      // WebAssembly.Module validates the binary when rq3d loads it
      return Uint8Array.from(mod.toBinary({}).buffer);
    } finally {
      mod.destroy();
    }
  };
  return { shared: build('shared'), unshared: build('unshared') };
}
