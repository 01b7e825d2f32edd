/**
 * One case of the model bench in a process of its own (spawned by runModelBench with `isolate`): the wasm
 * heap never shrinks and fragments across cases, so a big case after several others can hit the 4 GiB
 * wasm32 cap although it fits alone; its own process also makes its peak-memory figure its own.
 * Reads {case, options} as JSON from argv[2] and prints the ModelBenchEntry as one JSON line.
 */
import { initBackend } from '../backend.ts';
import { runModelBench, type ModelBenchOptions, type ModelCase } from './models.ts';

const arg = JSON.parse(process.argv[2] ?? '{}') as { case: ModelCase; options: Omit<ModelBenchOptions, 'cases' | 'log' | 'isolate'> };
await initBackend();
const r = await runModelBench({ ...arg.options, cases: [arg.case], isolate: false });
process.stdout.write(`${JSON.stringify(r.entries[0])}\n`);
// the wasm worker threads would keep the process alive
process.exit(0);
