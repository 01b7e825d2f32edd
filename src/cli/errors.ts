import { UsageError, UserError } from '../util/errors.ts';

/**
 * The CLI's one error policy (docs/cli-errors.md): every failure prints ONE line on stderr, `rq3d: <what>`,
 * naming the file, field or flag and what to do, and exits 2 for a bad command line (UsageError, commander's
 * own parse errors) or 1 for anything else. Stacks (and whatever tfjs prints) only with `--debug` or
 * RQ3D_DEBUG=1. A failure that is not a UserError is a bug in rq3d and says so, still in one line.
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function debugEnabled(argv: readonly string[]): boolean {
  const env = process.env.RQ3D_DEBUG?.trim();
  return argv.includes('--debug') || (env !== undefined && env !== '' && env !== '0');
}

/** One line: messages with several lines (a config with several bad fields) are joined with '; '. */
export function oneLine(s: string, max = 400): string {
  const t = s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l)
    .join('; ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or folder; check the path',
  EACCES: 'permission denied; check the permissions or choose another path',
  EPERM: 'operation not permitted; check the permissions or choose another path',
  EISDIR: 'is a folder where a file was expected; give a file',
  ENOTDIR: 'a part of the path is a file, not a folder; check the path',
  EEXIST: 'a file is in the way of a folder of this path; check the path',
  ENOSPC: 'no space left on the device; free some space and resume the run',
  EROFS: 'the file system is read-only; choose another path',
  EMFILE: 'too many open files; raise the limit (ulimit -n) or use fewer --workers',
  ENOMEM: 'out of memory; use a smaller --batch-size or model',
};

/** The one line and exit code for an error that reached the top of a command. */
export function describeError(e: unknown): { line: string; code: number } {
  if (e instanceof UsageError) return { line: oneLine(e.message), code: EXIT_USAGE };
  if (e instanceof UserError) return { line: oneLine(e.message), code: EXIT_FAILURE };
  const err = e as NodeJS.ErrnoException | undefined;
  if (err && typeof err === 'object' && typeof err.code === 'string' && ERRNO_TEXT[err.code]) {
    const where = typeof err.path === 'string' ? `${err.path}: ` : '';
    return { line: `${where}${ERRNO_TEXT[err.code]}`, code: EXIT_FAILURE };
  }
  if (err instanceof RangeError && /allocation|Array buffer|Invalid array length|memory/i.test(err.message)) {
    return { line: `out of memory (${oneLine(err.message, 120)}); use a smaller --batch-size, model or dataset`, code: EXIT_FAILURE };
  }
  const msg = err instanceof Error ? err.message : String(e);
  return { line: `internal error: ${oneLine(msg, 240)} (a bug in rq3d; rerun with --debug for the stack and report it)`, code: EXIT_FAILURE };
}

/** Print an error as the policy says; with `debug`, the stack follows the line. */
export function printError(e: unknown, debug: boolean, write: (s: string) => void = (s) => void process.stderr.write(s)): number {
  const { line, code } = describeError(e);
  write(`rq3d: ${line}\n`);
  if (debug && e instanceof Error && e.stack) write(`${e.stack}\n`);
  return code;
}
