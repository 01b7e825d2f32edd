import { isUpAxis, UP_AXES, type UpAxis } from '../data/up-axis.ts';
import { UsageError } from '../util/errors.ts';
import { z } from 'zod';
import { flagValue, validateFlags } from './flags.ts';

/**
 * One numeric option, validated through the same path as config fields (src/cli/flags.ts): '' , '0x10',
 * '1e400' or 'NaN' are refused with the option's name ("--depth: must be a whole number, got '0x10'").
 */
export function parseIntOption(value: string, name: string, range: { min?: number; max?: number } = {}): number {
  let s = z.number().int();
  if (range.min !== undefined) s = s.min(range.min);
  if (range.max !== undefined) s = s.max(range.max);
  return validateFlags(z.object({ v: s }).strict(), { v: { flag: name, value: flagValue(value) } }).v;
}

/** A number option; `range.gt` for an exclusive lower bound. */
export function parseNumberOption(value: string, name: string, range: { min?: number; gt?: number; max?: number } = {}): number {
  let s = z.number().finite();
  if (range.min !== undefined) s = s.min(range.min);
  if (range.gt !== undefined) s = s.gt(range.gt);
  if (range.max !== undefined) s = s.max(range.max);
  return validateFlags(z.object({ v: s }).strict(), { v: { flag: name, value: flagValue(value) } }).v;
}

/** Commander parser for a positive integer option (--threads, --reps). */
export function positiveIntOption(flag: string): (v: string) => number {
  return (v) => parseIntOption(v, flag, { min: 1 });
}

/** Parse `--up-axis` (the CLI form of `data.upAxis`). */
export function parseUpAxisOption(value: string): UpAxis {
  if (!isUpAxis(value)) throw new UsageError(`--up-axis (data.upAxis) must be one of ${UP_AXES.join(', ')}, got '${value}'`);
  return value;
}
