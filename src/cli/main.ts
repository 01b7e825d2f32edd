import { Command, CommanderError } from 'commander';
import { commitRunFolders, rollbackRunFolders } from '../util/run-folder.ts';
import { COMMANDS } from './commands.ts';
import { debugEnabled, EXIT_USAGE, oneLine, printError } from './errors.ts';

/** The `rq3d` program with every subcommand (one module each under src/cli/) registered. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('rq3d')
    .description('Self-supervised learning on 3D point clouds: O-CNN + MID-Net + randomized quantization')
    .option('--debug', 'on an error, print the stack too (or set RQ3D_DEBUG=1)')
    .configureOutput({
      // commander's parse errors follow the CLI's policy too: one line, then exit 2
      outputError: (str, write) => write(`rq3d: ${oneLine(str.replace(/^error: /, ''))}; see rq3d <command> --help\n`),
    })
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/**
 * Run one `rq3d` command line in this process and return its exit code: 0, 1 (a failure) or 2 (a bad command
 * line). Errors are printed as one line (src/cli/errors.ts); run folders claimed by a command that fails are
 * rolled back (src/util/run-folder.ts). `--debug` may appear anywhere.
 */
export async function runCli(argv: string[]): Promise<number> {
  const debug = debugEnabled(argv);
  const program = buildProgram();
  try {
    await program.parseAsync(
      argv.filter((a) => a !== '--debug'),
      { from: 'user' },
    );
    commitRunFolders();
    return 0;
  } catch (e) {
    rollbackRunFolders();
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    return printError(e, debug);
  }
}

/**
 * The `rq3d` command. Errors raised outside the command's own promise (a worker thread, a timer) reach the
 * process handlers; they are printed the same way, before tfjs-wasm's own handler would dump its minified
 * source, and the process exits.
 */
export async function main(argv: string[]): Promise<void> {
  const debug = debugEnabled(argv);
  const crash = (e: unknown): void => {
    rollbackRunFolders();
    process.exit(printError(e, debug));
  };
  process.prependListener('uncaughtException', crash);
  process.prependListener('unhandledRejection', crash);
  process.exitCode = await runCli(argv);
}
