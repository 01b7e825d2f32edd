/** Whether a checkpoint's `meta.model` describes a MID HRNet: the checkpoint-format module's (no tfjs there). */
export { isHrnetConfig } from '../../../src/train/checkpoint-format.ts';
