/**
 * A segmentation checkpoint as a per-point predictor: the network is src/downstream's Segmenter on the
 * backbone its `meta.model` names, built through the registry (src/models/backbones.ts; any registered type,
 * MID HRNet when it names none), as it was trained, its variables filled from the checkpoint by name; the input is prepared as the
 * segmentation pipeline does at test time (src/pipeline/sample.ts with transform 'none' and no RQ):
 * normalize the cloud as the checkpoint says (sphere, scale 0.95) -> buildOctree(depth, fullDepth, clamp)
 * -> input features of all depth-D nodes ('ND', nempty false) -> logits at the points (x, y, z, 0).
 */
import * as tf from '@tensorflow/tfjs';
import '../../../octree/ops/kernels/index.ts';
import { buildOctree } from '../../../octree/octree.ts';
import { inputFeature } from '../../../octree/features.ts';
import { normalizeCloud } from '../../../src/data/normalize.ts';
import type { PointCloud } from '../../../src/data/pointcloud.ts';
import { Segmenter } from '../../../src/downstream/heads.ts';
import { buildBackbone } from '../../../src/models/backbones.ts';
import { assignByName, loadCheckpointTensors, segmentMeta, type FetchFile, type SegmentMeta } from './checkpoint-format.ts';

export interface LoadedSegmenter {
  model: Segmenter;
  meta: SegmentMeta;
  /** The checkpoint folder it came from ('' = the served root). */
  dir: string;
}

export async function loadSegmenter(dir: string, fetchFile: FetchFile): Promise<LoadedSegmenter> {
  const { json, tensors } = await loadCheckpointTensors(dir, fetchFile);
  const where = dir ? `${dir}/model.json` : 'model.json';
  try {
    const meta = segmentMeta(json.meta, where);
    // The seed only sets the initial values, which the checkpoint overwrites.
    const model = new Segmenter(buildBackbone(meta.model, 0, where), meta.parts);
    try {
      assignByName(model.net.params.variables, tensors, where);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return { model, meta, dir };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** The network's inputs for one cloud, exactly as the segmentation pipeline builds them at test time. */
export function segmenterInputs(
  cloud: PointCloud,
  meta: SegmentMeta,
): { octree: ReturnType<typeof buildOctree>; features: Float32Array; channels: number; pts: Float32Array } {
  const pc = normalizeCloud(cloud, meta.normalize, meta.scale);
  const octree = buildOctree({ points: pc.points, normals: pc.normals }, { depth: meta.model.depth, fullDepth: meta.model.fullDepth, bounds: 'clamp' });
  const { data, channels } = inputFeature(octree, { letters: meta.features, nempty: false });
  const n = pc.points.length / 3;
  const pts = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    pts[4 * i] = pc.points[3 * i]!;
    pts[4 * i + 1] = pc.points[3 * i + 1]!;
    pts[4 * i + 2] = pc.points[3 * i + 2]!;
  }
  return { octree, features: data, channels, pts };
}

/** Logits [points, parts] for one cloud (caller disposes). */
export function segmenterLogits(s: LoadedSegmenter, cloud: PointCloud): tf.Tensor2D {
  const inp = segmenterInputs(cloud, s.meta);
  return tf.tidy(() => {
    const x = tf.tensor2d(inp.features, [inp.octree.nnum[s.meta.model.depth]!, inp.channels]);
    return s.model.logits(x, inp.octree, inp.pts, { training: false });
  });
}

/** One part id per point (local ids 0..parts-1). */
export async function predictParts(s: LoadedSegmenter, cloud: PointCloud): Promise<Int32Array> {
  if (!cloud.normals && /[ND]/i.test(s.meta.features)) throw new Error(`the model's input features '${s.meta.features}' need normals, and this cloud has none`);
  const logits = segmenterLogits(s, cloud);
  const arg = tf.argMax(logits, 1);
  logits.dispose();
  try {
    return Int32Array.from(await arg.data());
  } finally {
    arg.dispose();
  }
}
