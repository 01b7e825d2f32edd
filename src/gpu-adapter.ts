/**
 * WebGPU in Node and in the browser: where `navigator.gpu` comes from, and what the adapter is.
 *
 * In Node, `navigator.gpu` is Dawn through the `webgpu` package (an optional dependency: its prebuilt
 * dawn.node runs on Vulkan, Metal or D3D12; on a CPU-only Linux machine, on a software Vulkan driver such
 * as SwiftShader named by VK_ICD_FILENAMES). It must be installed before tfjs-backend-webgpu is imported,
 * which registers the 'webgpu' backend only when `navigator.gpu` exists.
 */
import fs from 'node:fs';

/** What `rq3d doctor`, run logs and configs say about the adapter. */
export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The adapter says it is a fallback adapter (WebGPU's flag for slow, usually software, adapters). */
  fallback: boolean;
  /** A CPU implementation (fallback flag, or a known software driver by name): correct, but slow. */
  software: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** The parts of a WebGPU adapter read here (the `webgpu` package and browsers both provide them). */
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
}

interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<AdapterLike | null>;
}

const SOFTWARE_DRIVERS = /swiftshader|llvmpipe|lavapipe|softpipe|warp|basic render/i;

export function describeAdapter(a: AdapterLike): GpuAdapterReport {
  const i = a.info ?? {};
  const r = { vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '' };
  const fallback = Boolean(i.isFallbackAdapter ?? a.isFallbackAdapter ?? false);
  const software = fallback || SOFTWARE_DRIVERS.test(`${r.vendor} ${r.architecture} ${r.device} ${r.description}`);
  return { ...r, fallback, software, maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize };
}

/** One line naming the adapter: "google swiftshader (SwiftShader driver 5.0.0; software)". */
export function adapterLine(r: GpuAdapterReport): string {
  const name = [r.vendor, r.architecture].filter(Boolean).join(' ') || r.device || 'unknown adapter';
  const notes = [r.description, r.software ? (r.fallback ? 'software, fallback adapter' : 'software') : 'hardware'].filter(Boolean);
  return `${name} (${notes.join('; ')})`;
}

function gpuOfNavigator(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu;
}

let installed: Promise<GpuLike> | undefined;

/**
 * `navigator.gpu`, installing Dawn's (the `webgpu` package) first where there is none (Node). Rejects with
 * the reason when the package is missing or fails to load.
 */
export function navigatorGpu(): Promise<GpuLike> {
  const have = gpuOfNavigator();
  if (have) return Promise.resolve(have);
  installed ??= (async () => {
    // Mesa's drivers print a warning per probe when this is unset (a service account, CI)
    if (process.env.XDG_RUNTIME_DIR === undefined) process.env.XDG_RUNTIME_DIR = fs.realpathSync(process.env.TMPDIR ?? '/tmp');
    let mod: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
    try {
      mod = (await import('webgpu')) as unknown as typeof mod;
    } catch (e) {
      installed = undefined;
      const code = (e as { code?: string }).code;
      throw new Error(
        code === 'ERR_MODULE_NOT_FOUND'
          ? "the optional package 'webgpu' is not installed (npm install webgpu@0.6.2)"
          : `the 'webgpu' package failed to load: ${(e as Error).message}`,
      );
    }
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    const g = globalThis as { navigator?: object };
    if (g.navigator === undefined) g.navigator = {};
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    return gpu;
  })();
  return installed;
}

/**
 * The adapter tfjs-backend-webgpu will get (it asks for 'high-performance' too), or the reason there is
 * none. Hints that help: VK_ICD_FILENAMES naming a Vulkan driver (SwiftShader on a CPU-only machine).
 */
export async function probeAdapter(): Promise<GpuAdapterReport> {
  const gpu = await navigatorGpu();
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!a) {
    const icd = process.env.VK_ICD_FILENAMES;
    throw new Error(
      `no WebGPU adapter found (${icd ? `VK_ICD_FILENAMES=${icd}` : 'no Vulkan driver accepted; on a CPU-only Linux machine set VK_ICD_FILENAMES to a software driver, see docs/webgpu.md'})`,
    );
  }
  return describeAdapter(a);
}

/**
 * Whether this machine may have a hardware GPU worth probing for `auto` (Linux: a DRM render node or an
 * NVIDIA device node; elsewhere: assume yes). Keeps `auto` from loading Dawn on CPU-only Linux machines.
 */
export function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'))) return true;
  } catch {
    // no /dev/dri
  }
  return fs.existsSync('/dev/nvidiactl') || fs.existsSync('/dev/nvidia0');
}
