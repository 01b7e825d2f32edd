import { z } from 'zod';
import { describeIssue, issueText, valueAt, type IssueWhere } from '../util/config-issues.ts';
import { UsageError, UserError } from '../util/errors.ts';

/**
 * Command-line flags go through the same zod schemas as config files. A flag that sets a config field, and
 * every `--set key.path=value`, is an Override: it is written into the raw config (preset or file, merged),
 * the whole config is validated once, and an issue at an overridden path is reported in the flag's name:
 * "--batch-size: must be at least 1, got 0", "--ratios: each value must be at most 1, got 1.5",
 * "--set optim.lrr: unknown key (optim takes lr, momentum, ...)". Options that are not config fields
 * (--max-steps, --depth of `rq3d octree`, ...) are validated by a small schema per command through the
 * same path (`validateFlags`).
 */
export interface Override {
  /** Path in the config object. */
  path: string[];
  value: unknown;
  /** How the user wrote it: '--epochs', '--set optim.lr'. */
  flag: string;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * A flag's text as a config value: a finite number when it is written as one, true / false / null, a JSON
 * list or object when it starts with '[' or '{', else the string itself (the schema then says what it
 * expected). '' stays '' (Number('') would be 0).
 */
export function flagValue(raw: string): unknown {
  const t = raw.trim();
  if (NUMBER.test(t)) {
    const n = Number(t);
    return Number.isFinite(n) ? n : raw;
  }
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      throw new UsageError(`'${raw}' is not valid JSON`);
    }
  }
  return raw;
}

/** A comma-separated list flag ("0.01,0.1,1") as values. */
export function listValue(raw: string): unknown[] {
  return raw.split(',').map((s) => flagValue(s));
}

/** Commander collector for repeatable `--set key.path=value`. */
export function collectSet(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

export const SET_HELP = 'override a config field, e.g. --set optim.lr=0.01 (repeatable; validated like the config file)';

export function parseSets(entries: readonly string[] | undefined): Override[] {
  return (entries ?? []).map((e) => {
    const eq = e.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set: expected key.path=value, got '${e}'`);
    const key = e.slice(0, eq).trim();
    const path = key.split('.');
    if (path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype'))
      throw new UsageError(`--set: '${key}' is not a key path (write it like optim.lr)`);
    let value: unknown;
    try {
      value = flagValue(e.slice(eq + 1));
    } catch (err) {
      throw new UsageError(`--set ${key}: ${(err as Error).message}`);
    }
    return { path, value, flag: `--set ${key}` };
  });
}

/** Write the overrides into `target` (in order; later ones win), creating objects along their paths. */
export function applyOverrides(target: Record<string, unknown>, overrides: readonly Override[]): void {
  for (const o of overrides) {
    let obj: Record<string, unknown> = target;
    for (const k of o.path.slice(0, -1)) {
      const next = obj[k];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) obj[k] = {};
      obj = obj[k] as Record<string, unknown>;
    }
    obj[o.path[o.path.length - 1]!] = o.value;
  }
}

const startsWith = (a: ReadonlyArray<string | number>, prefix: ReadonlyArray<string | number>): boolean =>
  prefix.length <= a.length && prefix.every((p, i) => String(a[i]) === String(p));

/** The keys a strict object schema takes at `path`, for "unknown key" messages. */
function keysAt(schema: z.ZodTypeAny, path: ReadonlyArray<string | number>): string[] | null {
  let s: z.ZodTypeAny = schema;
  for (const k of path) {
    while (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) s = s instanceof z.ZodDefault ? s._def.innerType : s.unwrap();
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodTypeAny>)[String(k)] ?? z.never();
    else if (s instanceof z.ZodArray) s = s.element;
    else return null;
  }
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) s = s instanceof z.ZodDefault ? s._def.innerType : s.unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape as object) : null;
}

function flagIssue(issue: z.ZodIssue, o: Override, input: unknown, schema: z.ZodTypeAny): string {
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(schema, issue.path);
    const parent = issue.path.join('.') || 'the config';
    return `${o.flag}: unknown key${allowed ? ` (${parent} takes ${allowed.join(', ')})` : ''}`;
  }
  const rest = issue.path.slice(o.path.length);
  const got = valueAt(input, issue.path);
  const shown = typeof got === 'string' ? `'${got}'` : (JSON.stringify(got) ?? 'nothing');
  // a list flag: the issue is about one of its values
  const each = rest.length > 0 && typeof rest[0] === 'number' && Array.isArray(o.value) ? 'each value ' : rest.length > 0 ? `${rest.join('.')} ` : '';
  return `${o.flag}: ${each}${issueText(issue)}, got ${shown}`;
}

/**
 * Validate `input` (a raw config with `overrides` applied) with `schema`. Issues at an overridden path name
 * the flag (a UsageError, exit 2); the others name `where` (the config file, or for an `extends` chain the
 * file that wrote the field: a UserError, exit 1).
 */
export function validateOverridden<S extends z.ZodTypeAny>(schema: S, input: unknown, overrides: readonly Override[], where: IssueWhere): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data as z.infer<S>;
  const byFlag: string[] = [];
  const byFile: string[] = [];
  for (const issue of r.error.issues) {
    const path = issue.code === 'unrecognized_keys' ? null : issue.path;
    // the last override wins, as in applyOverrides
    const o = [...overrides]
      .reverse()
      .find((ov) =>
        path
          ? startsWith(path, ov.path) || startsWith(ov.path, path)
          : issue.code === 'unrecognized_keys' && issue.keys.some((k) => startsWith(ov.path, [...issue.path, k])),
      );
    if (o) byFlag.push(flagIssue(issue, o, input, schema));
    else byFile.push(describeIssue(issue, input, where));
  }
  if (byFlag.length) throw new UsageError([...byFlag, ...byFile].join('; '));
  throw new UserError(byFile.join('; '));
}

/**
 * Validate a command's own options (not config fields): `values` maps each schema key to the flag that gave
 * it and its value (as `flagValue` / `listValue` made it). Unset options are left out.
 */
export function validateFlags<S extends z.ZodTypeAny>(schema: S, values: Record<string, { flag: string; value: unknown } | undefined>): z.infer<S> {
  const input: Record<string, unknown> = {};
  const overrides: Override[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    input[k] = v.value;
    overrides.push({ path: [k], value: v.value, flag: v.flag });
  }
  return validateOverridden(schema, input, overrides, 'options');
}

/** `{ flag, value }` for a flag given as text, or undefined when it was not given. */
export function given(flag: string, raw: string | undefined, list = false): { flag: string; value: unknown } | undefined {
  if (raw === undefined) return undefined;
  return { flag, value: list ? listValue(raw) : flagValue(raw) };
}

/** Schemas of values several commands take. */
export const FLAG = {
  int: (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max),
  seed: z
    .number()
    .int()
    .min(-(2 ** 31))
    .max(2 ** 32 - 1),
  workers: z.number().int().min(0).max(64),
  backend: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a backend name (wasm, cpu, tensorflow, ...)'),
  path: z.string().min(1),
};
