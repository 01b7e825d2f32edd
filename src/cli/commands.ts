import type { Command } from 'commander';
import { registerOctree } from './octree.ts';
import { registerDoctor } from './doctor.ts';

/** Every subcommand of `rq3d`; one module each. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerOctree, registerDoctor];
