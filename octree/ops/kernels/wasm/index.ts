/**
 * rq3d's row kernels compiled to WebAssembly (kernels.wat) and instantiated on tfjs-backend-wasm's own
 * memory, so they read and write the backend's tensors in place with SIMD row moves instead of JS
 * typed-array loops (the JS loops in ../loops.ts remain the cpu path and the fallback).
 *
 * `RQ3D_WASM_KERNELS=0` turns them off (benchmarks and tests compare both paths). If the backend's memory
 * cannot be found or the module does not instantiate, the JS loops run and `heapKernelsStatus` says why.
 */
import { KERNELS_SHARED_BASE64, KERNELS_UNSHARED_BASE64 } from './binary.ts';
import { splitKernels, type RowHelper } from './split.ts';
import type { HeapKernels } from './heap-kernels.ts';

export type { HeapKernels } from './heap-kernels.ts';

/** The parts of tfjs-backend-wasm's emscripten module that hold its memory. */
export interface WasmModuleLike {
  /** Threaded build: the shared memory it created. */
  wasmMemory?: WebAssembly.Memory;
  /** Other builds: the memory the module exports. */
  asm?: { memory?: WebAssembly.Memory };
}

const instances = new WeakMap<WebAssembly.Memory, HeapKernels>();
let status = 'not used yet';

export function heapKernelsStatus(): string {
  return status;
}

function enabled(): boolean {
  // (the viewer runs these ops in a browser, where there is no `process`)
  return typeof process === 'undefined' || process.env?.RQ3D_WASM_KERNELS !== '0';
}

function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}

/** Makes the helper thread of a shared memory (set by Node code: ./helper-thread.ts); null = none. */
export type RowHelperFactory = (memory: WebAssembly.Memory, moduleBytes: Uint8Array<ArrayBuffer>) => RowHelper | null;
let helperFactory: RowHelperFactory | null = null;

/**
 * Lets the kernels of a shared (threaded-build) memory run their large loops on two threads; pass null
 * to stop splitting new instances. Kernels already bound keep what they had.
 */
export function setRowHelperFactory(f: RowHelperFactory | null): void {
  helperFactory = f;
}

/** The kernels bound to this backend module's memory, or null (then the caller runs the JS loops). */
export function heapKernels(mod: WasmModuleLike): HeapKernels | null {
  if (!enabled()) {
    status = 'off (RQ3D_WASM_KERNELS=0)';
    return null;
  }
  const memory = mod.wasmMemory ?? mod.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    status = 'off: the wasm backend exposes no memory';
    return null;
  }
  const known = instances.get(memory);
  if (known) return known;
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    // synchronous compile: the module is ~4 KB (browsers may refuse this on their main thread; then the
    // catch below falls back to the JS loops)
    const bytes = fromBase64(shared ? KERNELS_SHARED_BASE64 : KERNELS_UNSHARED_BASE64);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    let k = inst.exports as unknown as HeapKernels;
    const helper = shared && helperFactory ? helperFactory(memory, bytes) : null;
    if (helper) k = splitKernels(k, helper);
    instances.set(memory, k);
    status = `on (${shared ? 'shared' : 'unshared'} memory${helper ? ', row loops on 2 threads' : ''})`;
    return k;
  } catch (e) {
    status = `off: ${(e as Error).message}`;
    return null;
  }
}
