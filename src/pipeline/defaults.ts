/**
 * The octree defaults of the training pipeline, for every tool that builds an octree outside training
 * (`rq3d octree`, `quantize`, `sample`, the viewer), so a shape looks the same in all of them as in training.
 * The depth is that of the default pretraining preset (`rq3d pretrain --config cpu`, HRNET_PRESETS.cpu); every
 * pretraining preset normalizes to the bounding sphere (MID-Net's), which test/pipeline/defaults.test.ts checks.
 * This file imports no tfjs and no Node modules: the viewer bundles it.
 */
import { HRNET_PRESETS } from '../models/presets.ts';

/** How a shape is put into the octree box [-1, 1]^3: MID-Net's bounding sphere. */
export const DEFAULT_NORMALIZE = 'sphere' as const;

/** Octree depth of the default pretraining preset (5; the paper's preset uses 6). */
export const DEFAULT_DEPTH: number = HRNET_PRESETS.cpu.depth;

/** Depths 0..fullDepth are full grids (ocnn's default 2). */
export const DEFAULT_FULL_DEPTH: number = HRNET_PRESETS.cpu.fullDepth;
