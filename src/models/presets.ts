/**
 * MID-Net HRNet configurations (no tfjs import here, so configs and CLIs can use them without loading the
 * network code). `paper` is the reference architecture (anchor-spec §3.3); `cpu` and `tiny` are narrower and
 * shallower versions that train on a 2-core CPU.
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

export const HRNET_PRESETS: Record<'paper' | 'cpu' | 'tiny', HRNetConfig> = {
  paper: { depth: 6, fullDepth: 2, inChannels: 4, frontChannels: 32, channels: [128, 256, 512], resblocks: 3, fc1: 1024, projection: 128, pointHidden: 256, pointOut: 64, signalAbs: true },
  cpu: { depth: 5, fullDepth: 2, inChannels: 4, frontChannels: 16, channels: [32, 64, 128], resblocks: 1, fc1: 256, projection: 128, pointHidden: 128, pointOut: 64, signalAbs: true },
  tiny: { depth: 5, fullDepth: 2, inChannels: 4, frontChannels: 8, channels: [8, 16, 32], resblocks: 1, fc1: 32, projection: 16, pointHidden: 16, pointOut: 8, signalAbs: true },
};

