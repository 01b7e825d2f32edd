/**
 * `rq3d bench`: parses the flags and prints the report: runBench (src/bench/run.ts) runs the benchmarks,
 * formatBench (src/bench/format.ts) writes the readable form. With --json, stdout is one JSON object;
 * progress lines always go to stderr.
 */
import type { Command } from 'commander';
import type { ConvVariant } from '../bench/conv-layer.ts';
import { formatBench } from '../bench/format.ts';
import { BENCH_CONV_VARIANTS, BENCH_MODELS, BENCH_PARTS, runBench, type BenchPart } from '../bench/run.ts';
import type { BenchModel } from '../bench/whole-model.ts';
import { UsageError } from '../util/errors.ts';
import { checkBackend } from './backend-flag.ts';
import { positiveIntOption } from './options.ts';

function listOption<T extends string>(allowed: readonly T[], flag: string): (v: string) => T[] {
  return (v) => {
    const xs = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const x of xs) if (!allowed.includes(x as T)) throw new UsageError(`${flag}: unknown '${x}'; choose from ${allowed.join(', ')}`);
    if (xs.length === 0) throw new UsageError(`${flag}: give at least one of ${allowed.join(', ')}`);
    return xs as T[];
  };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark whole models (LeNet, ResNet, MID HRNet, with and without RQ), one conv layer and the octree pipeline against ocnn-pytorch')
    .option('--json', 'print exactly one JSON object on stdout (progress goes to stderr)')
    .option('--quick', 'a 1-2 minute smoke run: batch 8, fewer repetitions, smaller conv and octree cases')
    .option('--tiny', 'a correctness smoke run for slow backends (a software GPU adapter): batch 2, smallest depths, one tiny conv case')
    .option('--only <parts>', `comma-separated subset of ${BENCH_PARTS.join(',')}`, listOption(BENCH_PARTS, '--only'))
    .option('--models <names>', `models of the model bench (${BENCH_MODELS.join(',')})`, listOption(BENCH_MODELS, '--models'))
    .option('--reps <n>', 'timed repetitions per figure (default 5; 2 with --quick)', positiveIntOption('--reps'))
    .option(
      '--conv-variants <names>',
      `conv layer variants (${BENCH_CONV_VARIANTS.join(',')}; default fused, the one the models use)`,
      listOption(BENCH_CONV_VARIANTS, '--conv-variants'),
    )
    .option('--in-process', 'run every model case in this process (default with --quick; otherwise each case gets a child process)')
    .option('--backend <name>', 'tfjs backend (default: RQ3D_BACKEND or automatic)')
    .option('--threads <n>', 'wasm threads (default: RQ3D_THREADS or 2)', positiveIntOption('--threads'))
    .option(
      '--peer <file>',
      'compare the models with a side-by-side result (the JSON ../shared/peer/side-by-side prints) instead of the stored figures of another machine',
    )
    .option(
      '--export-inputs <dir>',
      "write the benches' exact inputs (plain.bin, rq30.bin, table_<n>.bin) and manifest.json into DIR for an external harness, and run nothing else",
    )
    .action(
      async (o: {
        json?: boolean;
        quick?: boolean;
        tiny?: boolean;
        only?: BenchPart[];
        models?: BenchModel[];
        reps?: number;
        convVariants?: ConvVariant[];
        backend?: string;
        threads?: number;
        inProcess?: boolean;
        exportInputs?: string;
        peer?: string;
      }) => {
        if (o.backend !== undefined) await checkBackend(o.backend);
        if (o.exportInputs !== undefined && o.exportInputs.trim() === '') throw new UsageError('--export-inputs: give a folder');
        if (o.peer !== undefined && o.peer.trim() === '') throw new UsageError('--peer: give a side-by-side result file');
        if (o.exportInputs !== undefined) {
          const { exportBenchInputs } = await import('../bench/export-inputs.ts');
          const r = await exportBenchInputs(o.exportInputs);
          process.stderr.write(
            `bench inputs written to ${r.dir}: ${r.files.join(', ')} (mean non-empty depth-6 leaves: plain ${r.meanLeavesD6.plain}, rq30 ${r.meanLeavesD6.rq30})\n`,
          );
          if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const report = await runBench({
          quick: o.quick,
          tiny: o.tiny,
          only: o.only,
          models: o.models,
          reps: o.reps,
          convVariants: o.convVariants,
          isolate: o.inProcess ? false : undefined,
          backend: o.backend,
          threads: o.threads,
          peer: o.peer,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : formatBench(report));
      },
    );
}
