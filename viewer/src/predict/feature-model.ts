/**
 * Per-point features of any rq3d checkpoint whose meta holds a backbone config (pretraining or segmentation):
 * the backbone its `meta.model` names, built through the registry (src/models/backbones.ts; any registered
 * type, MID HRNet when it names none) with the checkpoint's variables (by name; a segmentation model's extra
 * head is left out), run as the segmentation pipeline runs it at test time — normalize, octree at the model's
 * depth, input features 'ND' of all depth-D nodes, the backbone's point features at the points (MID HRNet:
 * MID-Net's seg_header_pts, then the point head's first layer). That is what a segmentation head reads, so
 * its PCA shows what the backbone tells apart. Reads back once, after the network: no training step here.
 */
import * as tf from '@tensorflow/tfjs';
import '../../../octree/ops/kernels/index.ts';
import { buildOctree } from '../../../octree/octree.ts';
import { inputFeature } from '../../../octree/features.ts';
import { normalizeCloud } from '../../../src/data/normalize.ts';
import type { PointCloud } from '../../../src/data/pointcloud.ts';
import { buildBackbone, type Backbone, type BackboneSpec } from '../../../src/models/backbones.ts';
import { DEFAULT_NORMALIZE } from '../../../src/pipeline/defaults.ts';
import { assignByName, isBackboneConfig, loadCheckpointTensors, segmentMeta, type FetchFile } from './checkpoint-format.ts';

export interface LoadedBackbone {
  net: Backbone;
  cfg: BackboneSpec;
  /** The checkpoint's `meta.kind` ('pretrain', 'segment', ...). */
  kind: string;
  /** How its inputs are prepared: pretraining normalizes to the bounding sphere at scale 1, segmentation as its meta says. */
  normalize: 'sphere' | 'bbox';
  scale: number;
  features: string;
  dir: string;
}

export async function loadBackbone(dir: string, fetchFile: FetchFile): Promise<LoadedBackbone> {
  const { json, tensors } = await loadCheckpointTensors(dir, fetchFile);
  const where = dir ? `${dir}/model.json` : 'model.json';
  try {
    const meta = json.meta;
    if (!isBackboneConfig(meta.model)) throw new Error(`${where}: meta.model is not a backbone config, so it has no point features to show`);
    const kind = typeof meta.kind === 'string' ? meta.kind : 'pretrain';
    const seg = kind === 'segment' ? segmentMeta(meta, where) : null;
    // the seed only sets the initial values, which the checkpoint overwrites
    const net = buildBackbone(meta.model, 0, where);
    try {
      assignByName(net.params.variables, tensors, where);
    } catch (e) {
      net.dispose();
      throw e;
    }
    return { net, cfg: meta.model, kind, normalize: seg?.normalize ?? DEFAULT_NORMALIZE, scale: seg?.scale ?? 1, features: seg?.features ?? 'ND', dir };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** Point features [points, pointChannels] (MID HRNet: pointHidden), row-major, for one cloud. */
export async function pointFeatures(b: LoadedBackbone, cloud: PointCloud): Promise<{ data: Float32Array; channels: number }> {
  if (!cloud.normals && /[ND]/i.test(b.features)) throw new Error(`the model's input features '${b.features}' need normals, and this cloud has none`);
  const pc = normalizeCloud(cloud, b.normalize, b.scale);
  const octree = buildOctree({ points: pc.points, normals: pc.normals }, { depth: b.cfg.depth, fullDepth: b.cfg.fullDepth, bounds: 'clamp' });
  const { data, channels } = inputFeature(octree, { letters: b.features, nempty: false });
  const n = pc.points.length / 3;
  const pts = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    pts[4 * i] = pc.points[3 * i]!;
    pts[4 * i + 1] = pc.points[3 * i + 1]!;
    pts[4 * i + 2] = pc.points[3 * i + 2]!;
  }
  b.net.training = false;
  const h = tf.tidy(() => b.net.pointFeature(tf.tensor2d(data, [octree.nnum[b.cfg.depth]!, channels]), octree, pts));
  try {
    return { data: (await h.data()) as Float32Array, channels: h.shape[1]! };
  } finally {
    h.dispose();
  }
}
