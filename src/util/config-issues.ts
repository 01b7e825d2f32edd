import type { z } from 'zod';

/**
 * Zod's validation issues in words for people, shared by config files and command-line flags so both read
 * the same: "optim.batchSize must be at least 1, got 0", "--ratios: each value must be at most 1, got 1.5".
 */
function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The value at `path` in `obj`, if any. */
export function valueAt(obj: unknown, path: ReadonlyArray<string | number>): unknown {
  let v: unknown = obj;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/** What the issue asks for, without the field name: "must be at least 1", "must be one of a, b". */
export function issueText(issue: z.ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.received === 'undefined') return 'is required';
      if (issue.expected === 'integer') return 'must be a whole number';
      return `must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`;
    case 'too_small':
      if (issue.type === 'array') return `needs at least ${String(issue.minimum)} value${issue.minimum === 1 ? '' : 's'}`;
      if (issue.type === 'string') return 'must not be empty';
      return issue.inclusive ? `must be at least ${String(issue.minimum)}` : `must be greater than ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.type === 'array') return `takes at most ${String(issue.maximum)} values`;
      return issue.inclusive ? `must be at most ${String(issue.maximum)}` : `must be less than ${String(issue.maximum)}`;
    case 'invalid_enum_value':
      return `must be one of ${issue.options.map(String).join(', ')}`;
    case 'invalid_literal':
      return `must be ${show(issue.expected)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'not_finite':
      return 'must be a finite number';
    case 'invalid_union':
      return 'does not match any allowed form';
    default:
      return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

/**
 * Where a config's issue is: one name (a file, 'the command line'), or the file that wrote the field, for a
 * config merged from an `extends` chain (src/config/load.ts).
 */
export type IssueWhere = string | ((field: ReadonlyArray<string | number>) => string);

/** The field an issue is about: its path, or for unknown keys the first such key. */
export function issueField(issue: z.ZodIssue): Array<string | number> {
  return issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? [...issue.path, issue.keys[0]!] : issue.path;
}

/**
 * One issue as "<where>: <path> <text>, got <value>" (the value read from `input`, the object validated).
 * Unknown keys name the allowed ones when the schema's shape is at hand.
 */
export function describeIssue(issue: z.ZodIssue, input: unknown, whereIn?: IssueWhere): string {
  const field = issue.path.join('.');
  const got = issue.code === 'unrecognized_keys' || issue.code === 'invalid_union' ? '' : `, got ${show(valueAt(input, issue.path))}`;
  const where = typeof whereIn === 'function' ? whereIn(issueField(issue)) : whereIn;
  const head = where ? `${where}: ` : '';
  return field ? `${head}${field}: ${issueText(issue)}${got}` : `${head}${issueText(issue)}${got}`;
}

/** Every issue of a failed parse, one clause each, joined into one line. */
export function describeIssues(err: z.ZodError, input: unknown, where?: IssueWhere): string {
  return err.issues.map((i) => describeIssue(i, input, where)).join('; ');
}
