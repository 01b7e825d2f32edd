import { canonicalCloud } from '../data/datasets/cache.ts';
import { upAxisOfFile } from '../data/datasets/detect.ts';
import { applyNormalization, normalizationOf } from '../data/normalize.ts';
import { clonePointCloud, distinctPerAxis, type PointCloud } from '../data/pointcloud.ts';
import { loadPointCloud } from '../data/shape.ts';
import { fromYUp, vectorFromYUp, type UpAxis } from '../data/up-axis.ts';
import { prepareSample, type SampleSpec } from './sample.ts';

/**
 * What `rq3d sample FILE` reports: one shape through exactly the training pipeline's code: the loader's canonical form
 * (y-up, normals where absent, `canonicalCloud` as the preprocessing cache does), the bounding-sphere
 * normalization of the runs, then `prepareSample` (base transform with its clip, RQ, octree) with a stage's
 * spec. `--frame normalized` writes the cloud exactly as the octree sees it; `--frame input` maps it back
 * through the inverse normalization and up-axis rotation.
 */
export type SampleStage = 'pretrain' | 'finetune' | 'eval';
export type SampleFrame = 'input' | 'normalized';

export interface InspectOptions {
  stage: SampleStage;
  /** RQ bins, or null for no RQ. */
  rqBins: number | null;
  seed: number;
  depth: number;
  /** Override of the up axis; default: z for a file inside a ModelNet tree, else y (as the datasets declare). */
  upAxis?: UpAxis;
  /** Points per shape (meshes sampled, larger clouds subsampled), as `data.points`. */
  points?: number;
  frame: SampleFrame;
}

export interface SampleSummary {
  pointsIn: number;
  pointsKept: number;
  /** Distinct coordinate values per axis of the cloud the octree is built from (≤ bins with RQ). */
  distinct: [number, number, number];
  /** Non-empty octree leaves at `depth`. */
  leaves: number;
  upAxis: UpAxis;
  upAxisFrom: 'flag' | 'modelnet-tree' | 'default';
  /** RQ's per-axis ranges (x, y, z of the normalized, y-up frame), or null without RQ. */
  rq: { lo: number[]; hi: number[] } | null;
  stage: SampleStage;
  seed: number;
  depth: number;
  frame: SampleFrame;
  /** input = centre + scale · R⁻¹ · p for a point p of the octree's frame (R: the up-axis rotation). */
  centre: [number, number, number];
  scale: number;
  out?: string;
}

/** The spec a stage trains (or evaluates) with: MID-Net pretraining + RQ, fine-tuning, evaluation. */
export function stageSpec(stage: SampleStage, rqBins: number | null, depth: number): SampleSpec {
  return {
    depth,
    fullDepth: Math.min(2, depth),
    transform: stage === 'pretrain' ? 'midnet' : stage === 'finetune' ? 'finetune' : 'none',
    rq: rqBins === null ? null : { bins: rqBins, variant: 'random-random', p: 1 },
    features: 'ND',
    nempty: false,
  };
}

export async function inspectSample(file: string, o: InspectOptions): Promise<{ summary: SampleSummary; cloud: PointCloud }> {
  const upAxis = o.upAxis ?? upAxisOfFile(file);
  const upAxisFrom = o.upAxis ? 'flag' : upAxis === 'y' ? 'default' : 'modelnet-tree';
  // the datasets' loaders and the preprocessing cache, for one file
  const raw = await loadPointCloud(file, { sample: o.points, seed: o.seed, normals: 'keep' });
  const canonical = canonicalCloud(raw, { normalize: 'none', normals: 'auto', sample: o.points, seed: o.seed }, upAxis, o.seed, file);
  // loadShapes: bounding sphere to the unit ball (pretraining and classification runs)
  const t = normalizationOf(canonical.points, 'sphere', 1);
  const s = prepareSample(applyNormalization(canonical, t), stageSpec(o.stage, o.rqBins, o.depth), o.seed);
  const centre = vectorFromYUp(t.center, upAxis);
  const scale = 1 / t.factor;
  let cloud = s.points;
  if (o.frame === 'input') {
    const back = clonePointCloud(cloud);
    for (let i = 0; i < back.points.length; i += 3) {
      for (let a = 0; a < 3; a++) back.points[i + a] = t.center[a]! + back.points[i + a]! / t.factor;
    }
    cloud = fromYUp(back, upAxis);
  }
  const rq = s.params.rq && s.params.rq.applied ? { lo: s.params.rq.lo, hi: s.params.rq.hi } : null;
  const summary: SampleSummary = {
    pointsIn: s.params.pointsIn,
    pointsKept: s.params.pointsKept,
    distinct: distinctPerAxis(s.points.points),
    leaves: s.octree.nnumNempty[o.depth]!,
    upAxis,
    upAxisFrom,
    rq,
    stage: o.stage,
    seed: o.seed,
    depth: o.depth,
    frame: o.frame,
    centre,
    scale,
  };
  return { summary, cloud };
}
