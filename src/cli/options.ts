import { isUpAxis, UP_AXES, type UpAxis } from '../data/up-axis.ts';
import { UsageError } from '../util/errors.ts';

/** Parse an integer CLI option, naming the option in the error. */
export function parseIntOption(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer, got '${value}'`);
  return n;
}

/** Parse a number CLI option, naming the option in the error. */
export function parseNumberOption(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number, got '${value}'`);
  return n;
}

/** Parse `--up-axis` (the CLI form of `data.upAxis`). */
export function parseUpAxisOption(value: string): UpAxis {
  if (!isUpAxis(value)) throw new UsageError(`--up-axis (data.upAxis) must be one of ${UP_AXES.join(', ')}, got '${value}'`);
  return value;
}
