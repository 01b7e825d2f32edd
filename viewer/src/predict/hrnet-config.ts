import type { HRNetConfig } from '../../../src/models/presets.ts';

/** Whether a checkpoint's `meta.model` describes a MID HRNet (no tfjs here: the server uses it to list models). */
export function isHrnetConfig(m: unknown): m is HRNetConfig {
  const c = m as Partial<HRNetConfig> | null;
  return !!c && typeof c === 'object' && typeof c.depth === 'number' && typeof c.fullDepth === 'number' && Array.isArray(c.channels) && typeof c.pointHidden === 'number';
}
