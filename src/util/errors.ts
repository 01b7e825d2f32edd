/**
 * An error meant for a person: it names the file (and line or field) and the problem, and the CLI prints
 * its message without a stack trace. Anything else that escapes is a bug and is printed as one line too,
 * with the stack only under `--debug` / RQ3D_DEBUG=1 (src/cli/errors.ts).
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A bad command line: an unknown or malformed flag, a value out of range, a `--set` key that does not
 * exist, a run folder that would be overwritten. The CLI exits 2 for these (1 for every other failure).
 */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Build a UserError about a file: "<file>: <problem>" or "<file>:<line>: <problem>". */
export function fileError(file: string, problem: string, line?: number): UserError {
  return new UserError(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
}
