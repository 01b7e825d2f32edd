import type { Command } from 'commander';
import { registerOctree } from './octree.ts';
import { registerDoctor } from './doctor.ts';
import { registerInfo } from './info.ts';
import { registerConvert } from './convert.ts';
import { registerQuantize } from './quantize.ts';
import { registerSample } from './sample.ts';
import { registerSynth } from './synth.ts';
import { registerView } from './view.ts';
import { registerPretrain } from './pretrain.ts';
import { registerDownstream } from './downstream.ts';
import { registerBench } from './bench.ts';
import { registerMain } from './main-job.ts';
import { registerSupervised } from './supervised.ts';
import { registerQueue } from './queue.ts';

/** Every subcommand of `rq3d`; one module each. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerOctree,
  registerDoctor,
  registerInfo,
  registerConvert,
  registerQuantize,
  registerSample,
  registerSynth,
  registerView,
  registerPretrain,
  registerDownstream,
  registerMain,
  registerSupervised,
  registerQueue,
  registerBench,
];
