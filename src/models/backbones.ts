import { Linear } from './layers.ts';
import { MidHRNet } from './mid-hrnet.ts';
import { midHrnetStepHeapBytes } from './mid-hrnet-memory.ts';
import type { Params } from './params.ts';
import { HRNET_PRESETS, type HRNetConfig } from './presets.ts';
import { registerBackbone } from './backbone.ts';
import { UserError } from '../util/errors.ts';

/**
 * The backbone registry with the built-in types registered: import the registry API from here (importing
 * ./backbone.ts alone gives an empty registry). Built in: 'mid-hrnet' (MID-Net's HRNet, presets hrnet-paper,
 * hrnet-cpu, hrnet-tiny from experiments/presets/model/, also called paper, cpu, tiny).
 */
export {
  backboneEntry,
  backbonePreset,
  backboneType,
  backboneTypes,
  buildBackbone,
  describeBackbone,
  downstreamParts,
  registerBackbone,
  unregisterBackbone,
  validateBackboneSpec,
  type Backbone,
  type BackboneEntry,
  type BackboneFeatures,
  type BackboneSpec,
  type DownstreamParts,
  type DownstreamTask,
} from './backbone.ts';

/**
 * The two pretraining projections of a new backbone, under the names MID HRNet uses (`shape_head/fc2`,
 * `point_head/fc2`): a backbone's constructor calls this after creating its own layers.
 */
export function projectionHeads(
  params: Params,
  globalChannels: number,
  pointChannels: number,
  spec: { projection: number; pointOut: number },
): { shape: Linear; point: Linear } {
  return {
    shape: new Linear(params.scope('shape_head/fc2'), globalChannels, spec.projection),
    point: new Linear(params.scope('point_head/fc2'), pointChannels, spec.pointOut),
  };
}

registerBackbone<HRNetConfig>('mid-hrnet', {
  // the type field is the registry's, not the network's: MidHRNet keeps the config it always had
  build: (cfg, seed) => {
    const { type: _type, ...hrnet } = cfg as HRNetConfig & { type?: string };
    return new MidHRNet(hrnet, seed);
  },
  // configs a person writes are checked by the pretraining / grid schemas (src/train/config.ts); this catches a
  // checkpoint's meta.model that is not a whole HRNet config (the viewer builds from it) with one line
  validate: (cfg, where) => {
    const c = cfg as Partial<Record<keyof HRNetConfig, unknown>>;
    const int = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;
    if (!Array.isArray(c.channels) || c.channels.length !== 3 || !c.channels.every(int))
      throw new UserError(`${where}: model.channels must be three positive integers (a MID HRNet config)`);
    for (const k of ['frontChannels', 'resblocks', 'fc1', 'pointHidden'] as const)
      if (!int(c[k])) throw new UserError(`${where}: model.${k} must be a positive integer (a MID HRNet config)`);
    return cfg as unknown as HRNetConfig;
  },
  presets: HRNET_PRESETS,
  label: 'MID HRNet',
  describeSize: (cfg) => `channels ${cfg.channels.join('/')}`,
  downstream: {
    // classification: the reference's cls_header is the shape head's fc1 conv (+ BN) with the new classifier;
    // the fc1 conv trains in head-only mode but takes the backbone's rate otherwise; the shape projection and
    // the whole point head take no part
    classify: {
      unused: (n) => n.startsWith('shape_head/fc2') || n.startsWith('point_head/'),
      head: (n) => n.startsWith('shape_head/conv'),
      fullRate: () => false,
    },
    // segmentation: the reference's seg_header is the point head's first FC (restored from pretraining) with
    // the new last FC, both at the full rate; the shape head and the point projection take no part
    segment: {
      unused: (n) => n.startsWith('shape_head/') || n.startsWith('point_head/fc2'),
      head: (n) => n.startsWith('point_head/fc1'),
      fullRate: (n) => n.startsWith('point_head/fc1'),
    },
  },
  stepHeapBytes: midHrnetStepHeapBytes,
});
