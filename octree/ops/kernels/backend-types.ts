import type * as tf from '@tensorflow/tfjs';
import type { WasmModuleLike } from './wasm/index.ts';

/** The parts of tfjs-backend-cpu's MathBackendCPU that rq3d's kernels use. */
export interface CpuBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** The parts of tfjs-backend-wasm's BackendWasm that rq3d's kernels use (internals of tfjs 4.22). */
export interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array; _malloc(bytes: number): number; _free(ptr: number): void; tfjs: { disposeData(id: number): void } } & WasmModuleLike;
  /** With memoryOffset: registers a tensor on memory the caller owns (no allocation). */
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  /** The backend's table of tensor data (delete an entry to unregister memory it does not own). */
  dataIdMap: { get(dataId: object): { id: number } | undefined; delete(dataId: object): void };
  getMemoryOffset(dataId: object): number;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Fresh Float32 / Int32 views of the wasm heap (take them after any allocation: growth detaches views). */
export function heapViews(b: WasmBackendLike): { f: Float32Array; i: Int32Array } {
  const buf = b.wasm.HEAPU8.buffer;
  return { f: new Float32Array(buf), i: new Int32Array(buf) };
}
