/**
 * An error meant for a person: it names the file (and line or field) and the problem, and the CLI prints
 * its message without a stack trace. Anything else that escapes is a bug and is printed with its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Build a UserError about a file: "<file>: <problem>" or "<file>:<line>: <problem>". */
export function fileError(file: string, problem: string, line?: number): UserError {
  return new UserError(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
}
