/**
 * Per-point predictions come from a pluggable provider. The viewer asks for one only when the server reports
 * a checkpoint (`rq3d view --checkpoint DIR`); a provider turns a cloud (normalized like the left view, in
 * the octree box) into one class id per point.
 */
import type { PointCloud } from '../../../src/data/pointcloud.ts';
import type { CheckpointModel } from './model-choice.ts';

/** What the viewer knows about the shape when it asks for predictions. */
export interface PredictionContext {
  /** The shape's class (dataset folder, ShapeNet Part category, or guessed from the file name), if known. */
  shapeClass: string | null;
  /** The model the user picked (a CheckpointModel dir), or null to pick by class. */
  chosen: string | null;
}

/** One prediction with what produced it. */
export interface PredictionRun {
  labels: Int32Array;
  /** The checkpoint model that ran, when the provider has several. */
  model: CheckpointModel | null;
  backend: string;
  /** Wall time of the prediction (input preparation + network + read-back), milliseconds. */
  ms: number;
  /** The model's part count (labels are local part ids 0..parts-1), when known. */
  parts: number | null;
}

/** Per-point network features with what produced them. */
export interface FeatureRun {
  /** Row-major [points, channels]. */
  data: Float32Array;
  channels: number;
  model: CheckpointModel | null;
  backend: string;
  ms: number;
}

export interface PredictionProvider {
  /** Shown in the panel, e.g. "run-x (webgl)". */
  readonly name: string;
  predictLabels(cloud: PointCloud, ctx?: PredictionContext): Promise<Int32Array>;
  /** Checkpoint-backed providers: the models to choose from, and a prediction that says which one ran. */
  readonly models?: readonly CheckpointModel[];
  predict?(cloud: PointCloud, ctx: PredictionContext): Promise<PredictionRun>;
  /** Per-point features of the backbone (any checkpoint with an HRNet: pretraining or fine-tuned), for PCA colours. */
  features?(cloud: PointCloud, ctx: PredictionContext): Promise<FeatureRun>;
  /** Whether some model of it predicts part labels (false for a pretraining checkpoint alone). */
  readonly segments?: boolean;
  dispose(): void;
}

/** What the server says about the checkpoint: its folder name, the files it exposes under /checkpoint/ and its models. */
export interface CheckpointInfo {
  name: string;
  files: string[];
  models: CheckpointModel[];
}

export async function loadDefaultProvider(ckpt: CheckpointInfo, fetchFile: (file: string) => Promise<ArrayBuffer>): Promise<PredictionProvider> {
  // tfjs is large: load it only when a checkpoint is being served.
  const { loadTfjsProvider } = await import('./tfjs-provider.ts');
  return loadTfjsProvider(ckpt, fetchFile);
}
