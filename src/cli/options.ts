import { UserError } from '../util/errors.ts';

/** Parse an integer CLI option, naming the option in the error. */
export function parseIntOption(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UserError(`${name} must be an integer, got '${value}'`);
  return n;
}

/** Parse a number CLI option, naming the option in the error. */
export function parseNumberOption(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UserError(`${name} must be a number, got '${value}'`);
  return n;
}
