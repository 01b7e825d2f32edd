import * as tf from '@tensorflow/tfjs';
import type { PointCloud } from '../data/pointcloud.ts';
import { buildBackbone, downstreamParts, type BackboneSpec } from '../models/backbones.ts';
import { BatchPipeline, type PipelineBatch, type SampleSpec } from '../pipeline/index.ts';
import { trainDownstream, type TrainingHyper, type TrainSelection } from './train-loop.ts';
import { saveCheckpoint } from '../train/checkpoint.ts';
import { chunks } from './batches.ts';
import { shapeIoU } from './metrics.ts';
import { Segmenter } from './heads.ts';
import { loadPretrained } from './pretrained.ts';
import { octGather } from '../../octree/ops/kernels/index.ts';

/**
 * Part segmentation of one category (anchor-spec §3.5, ShapeNet Part protocol: one model per category,
 * local part ids, loss and metrics per input point):
 * - '2fc': only the two FC layers of the point head train (the first restored from pretraining, the second
 *   new); the backbone is frozen but its batch norms run in training mode, as in the reference;
 * - 'finetune': everything trains, the pretrained backbone at 0.1x the head's rate;
 * - init 'scratch': the same recipe from random initialization.
 */
export interface SegOptions extends TrainingHyper {
  init: 'scratch' | { checkpoint: string };
  mode: '2fc' | 'finetune';
  label?: string;
  /** Save the trained model here (tfjs layout, loadable by the viewer): `rq3d view --checkpoint`. */
  saveDir?: string;
  /** Stored with a saved model. */
  category?: string;
  partNames?: string[];
}

export interface SegResult {
  /** Per test shape IoU, reference convention (parts present in the ground truth). */
  ious: number[];
  /** Per test shape IoU, PointNet convention (absent parts count 1). */
  iousPointNet: number[];
  steps: number;
  seconds: number;
  finalLoss: number;
}

/** (x, y, z, shape) per point of a batch, and the point labels, in batch order. */
function batchPoints(b: PipelineBatch): { pts: Float32Array; labels: Int32Array } {
  const n = b.clouds.reduce((s, c) => s + c.points.length / 3, 0);
  const pts = new Float32Array(4 * n);
  const labels = new Int32Array(n);
  let o = 0;
  b.clouds.forEach((c, j) => {
    const m = c.points.length / 3;
    for (let i = 0; i < m; i++) {
      pts[4 * (o + i)] = c.points[3 * i]!;
      pts[4 * (o + i) + 1] = c.points[3 * i + 1]!;
      pts[4 * (o + i) + 2] = c.points[3 * i + 2]!;
      pts[4 * (o + i) + 3] = j;
      labels[o + i] = c.labels ? c.labels[i]! : -1;
    }
    o += m;
  });
  return { pts, labels };
}

/**
 * Which variables of a Segmenter train (O-CNN run_seg_shapenet_finetune.py), for the backbone type `model`
 * names (a config or a built backbone; none: MID HRNet): the new last FC (`seg/`) and the backbone variables
 * its registry entry puts in the head (`downstream.segment`; MID HRNet: the point head's first FC, restored)
 * are the reference's `seg_header`, the 2fc set, at the full rate; in 'finetune' the rest (the backbone)
 * trains at backboneLrScale when pretrained.
 */
export function segmenterSelection(mode: '2fc' | 'finetune', model: { type?: string } = {}): TrainSelection {
  const p = downstreamParts(model, 'segment');
  const isNew = (n: string): boolean => n.startsWith('seg/');
  return {
    include: (n) => isNew(n) || !p.unused(n),
    head: (n) => isNew(n) || p.head(n),
    fullRate: (n) => isNew(n) || p.fullRate(n),
    headOnly: mode === '2fc',
  };
}

/** Part segmentation of one category with a Segmenter on the backbone `cfg` names (any registered type; without `type`, MID HRNet). */
export async function segmentCategory(
  cfg: BackboneSpec,
  clouds: readonly PointCloud[],
  parts: number,
  trainIdx: readonly number[],
  testIdx: readonly number[],
  o: SegOptions,
): Promise<SegResult> {
  const t0 = performance.now();
  const model = new Segmenter(buildBackbone(cfg, `${o.seed}/segment`), parts);
  // disposed however the run ends: a failed category must not leave its network's tensors behind
  try {
    if (o.init !== 'scratch') await loadPretrained(model.net, o.init.checkpoint, ['seg/']);
    const ious: number[] = [];
    const iousPointNet: number[] = [];
    const { steps, finalLoss, priorSeconds } = await trainDownstream(
      model.net,
      segmenterSelection(o.mode, model.net),
      clouds,
      trainIdx,
      { ...o, pretrained: o.init !== 'scratch', label: o.label ?? 'segment' },
      (b, x) => {
        const { pts, labels } = batchPoints(b);
        const keep = Int32Array.from(labels.keys()).filter((i) => labels[i]! >= 0);
        const y = tf.oneHot(
          tf.tensor1d(
            Int32Array.from(keep, (i) => labels[i]!),
            'int32',
          ),
          parts,
        );
        // 2fc: the frozen backbone's batch norms still run in training mode, as in the reference.
        // octGather, not tf.gather: the latter's gradient (UnsortedSegmentSum) does not exist on wasm.
        return tf.losses.softmaxCrossEntropy(y, octGather(model.logits(x, b.octree, pts, { training: true }), tf.tensor1d(keep, 'int32'))) as tf.Scalar;
      },
      async (pool) => {
        const evalSpec: SampleSpec = { depth: cfg.depth, fullDepth: cfg.fullDepth, transform: 'none', rq: null, features: 'ND', nempty: false };
        const pipe = new BatchPipeline({ load: (i) => clouds[i]!, batches: chunks(testIdx, 8), spec: evalSpec, pool, seed: 0 });
        for await (const b of pipe) {
          const x = tf.tensor2d(b.features.data, [b.octree.nnum[cfg.depth]!, b.features.channels]);
          const { pts, labels } = batchPoints(b);
          const predT = tf.tidy(() => tf.argMax(model.logits(x, b.octree, pts, { training: false }), 1));
          const pred = await predT.data();
          predT.dispose();
          let off = 0;
          for (const c of b.clouds) {
            const m = c.points.length / 3;
            const p = pred.subarray(off, off + m);
            const t = labels.subarray(off, off + m);
            ious.push(shapeIoU(p, t, parts, 'ocnn'));
            iousPointNet.push(shapeIoU(p, t, parts, 'pointnet'));
            off += m;
          }
          x.dispose();
        }
      },
    );
    if (o.saveDir) {
      await saveCheckpoint(o.saveDir, {
        meta: {
          kind: 'segment',
          category: o.category ?? null,
          parts,
          partNames: o.partNames ?? null,
          model: cfg,
          features: 'ND',
          normalize: 'sphere',
          scale: 0.95,
          trainShapes: trainIdx.length,
          mIoU: ious.reduce((a, b) => a + b, 0) / Math.max(1, ious.length),
        },
        groups: { model: model.net.params.variables },
      });
    }
    return { ious, iousPointNet, steps, seconds: priorSeconds + (performance.now() - t0) / 1000, finalLoss };
  } finally {
    model.dispose();
  }
}
