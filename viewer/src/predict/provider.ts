/**
 * Per-point predictions come from a pluggable provider. The viewer asks for one only when the server reports
 * a checkpoint (`rq3d view --checkpoint RUN_DIR`); a provider turns a cloud (normalized like the left view, in
 * the octree box) into one class id per point.
 */
import type { PointCloud } from '../../../src/data/pointcloud.ts';

export interface PredictionProvider {
  /** Shown in the panel, e.g. "seg-resnet @ runs/x (webgl)". */
  readonly name: string;
  predictLabels(cloud: PointCloud): Promise<Int32Array>;
  dispose(): void;
}

/** What the server says about the checkpoint: its folder name and the files it exposes under /checkpoint/. */
export interface CheckpointInfo {
  name: string;
  files: string[];
}

/** Loads a provider for a checkpoint; replaced by the model-backed loader (see tfjs-provider.ts). */
export type ProviderLoader = (ckpt: CheckpointInfo, fetchFile: (file: string) => Promise<ArrayBuffer>) => Promise<PredictionProvider>;

export async function loadDefaultProvider(ckpt: CheckpointInfo, fetchFile: (file: string) => Promise<ArrayBuffer>): Promise<PredictionProvider> {
  // tfjs is large: load it only when a checkpoint is being served.
  const { loadTfjsProvider } = await import('./tfjs-provider.ts');
  return loadTfjsProvider(ckpt, fetchFile);
}
