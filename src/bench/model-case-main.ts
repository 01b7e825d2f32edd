/**
 * One case of the model bench in a process of its own (spawned by runModelBench with `isolate`): the wasm
 * heap never shrinks and fragments across cases, so a big case after several others can hit the 4 GiB
 * wasm32 cap although it fits alone; its own process also makes its peak-memory figure its own.
 * Reads {case, options} as JSON from argv[2] and prints the ModelBenchEntry as one JSON line.
 */
import { initBackend } from '../backend.ts';
import { runModelBench, type CaseSettings, type ModelCase } from './whole-model.ts';

const arg = JSON.parse(process.argv[2] ?? '{}') as { case: ModelCase; options: CaseSettings };
try {
  await initBackend();
  const r = await runModelBench({ ...arg.options, cases: [arg.case], isolate: false });
  if (r.failures.length > 0) throw new Error(r.failures[0]!.error);
  process.stdout.write(`${JSON.stringify(r.entries[0])}\n`);
  // the wasm worker threads would keep the process alive
  process.exit(0);
} catch (e) {
  // the wasm module's own exception handlers would otherwise decide the exit code
  process.stderr.write(`${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exit(1);
}
