import { Command, CommanderError } from 'commander';
import { UserError } from '../util/errors.ts';
import { COMMANDS } from './commands.ts';

/**
 * The `rq3d` command. Each subcommand lives in its own module under src/cli/ and registers itself on
 * the program; errors meant for people (UserError) are printed without a stack trace.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('rq3d')
    .description('Self-supervised learning on 3D point clouds: O-CNN + MID-Net + randomized quantization')
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof UserError) {
      process.stderr.write(`rq3d: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
