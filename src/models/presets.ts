import { presetRecord } from '../config/presets.ts';

/**
 * MID-Net HRNet configurations (no tfjs import here, so configs and CLIs can use them without loading the
 * network code). `hrnet-paper` is the reference architecture (anchor-spec §3.3); `hrnet-cpu` and `hrnet-tiny`
 * are narrower and shallower versions that train on a 2-core CPU.
 */
export interface HRNetConfig {
  depth: number;
  fullDepth: number;
  inChannels: number;
  frontChannels: number;
  /** Widths of the three branches, finest first (paper: 128, 256, 512). */
  channels: [number, number, number];
  resblocks: number;
  fc1: number;
  projection: number;
  pointHidden: number;
  pointOut: number;
  /** abs() of the input signal (MID-Net's signal_abs). */
  signalAbs: boolean;
}

/** The names of MID HRNet's presets: experiments/presets/model/hrnet-*.json, and their older short names. */
export type HRNetPresetName = 'hrnet-paper' | 'hrnet-cpu' | 'hrnet-tiny' | 'paper' | 'cpu' | 'tiny';

/**
 * MID HRNet's presets, read from their JSON files (src/config/presets.ts); `HRNET_PRESETS.cpu` is
 * `HRNET_PRESETS['hrnet-cpu']` (an alias, not listed by Object.keys).
 */
export const HRNET_PRESETS = presetRecord('model', (p) => structuredClone(p.json) as unknown as HRNetConfig) as Record<HRNetPresetName, HRNetConfig>;
