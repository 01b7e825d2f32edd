import { Linear } from './layers.ts';
import { MidHRNet } from './mid-hrnet.ts';
import type { Params } from './params.ts';
import { HRNET_PRESETS, type HRNetConfig } from './presets.ts';
import { registerBackbone } from './backbone.ts';

/**
 * The backbone registry with the built-in types registered: import the registry API from here (importing
 * ./backbone.ts alone gives an empty registry). Built in: 'mid-hrnet' (MID-Net's HRNet, presets hrnet-paper,
 * hrnet-cpu, hrnet-tiny from experiments/presets/model/, also called paper, cpu, tiny).
 */
export {
  backbonePreset,
  backboneType,
  backboneTypes,
  buildBackbone,
  registerBackbone,
  unregisterBackbone,
  validateBackboneSpec,
  type Backbone,
  type BackboneEntry,
  type BackboneFeatures,
  type BackboneSpec,
} from './backbone.ts';

/**
 * The two pretraining projections of a new backbone, under the names MID HRNet uses (`shape_head/fc2`,
 * `point_head/fc2`): a backbone's constructor calls this after creating its own layers.
 */
export function projectionHeads(params: Params, globalChannels: number, pointChannels: number, spec: { projection: number; pointOut: number }): { shape: Linear; point: Linear } {
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
  presets: HRNET_PRESETS,
});
