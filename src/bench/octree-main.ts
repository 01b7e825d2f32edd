/**
 * Standalone octree / batch-pipeline benchmark: prints one JSON object.
 *   npx tsx src/bench/octree-main.ts [--reps 5] [--batches 8] [--step-ms N] [--workers 1] [--depths 5,6] [--overlap-depth 5] [--repeats 3] [--quick]
 * Wall-clock medians on a possibly shared machine: the load average is printed beside them.
 */
import { parseArgs } from 'node:util';
import { runOctreeBench } from './octree.ts';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    batches: { type: 'string', default: '8' },
    'step-ms': { type: 'string' },
    workers: { type: 'string', default: '1' },
    depths: { type: 'string', default: '5,6' },
    'overlap-depth': { type: 'string', default: '5' },
    repeats: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
  },
});
const int = (s: string, name: string, min: number): number => {
  const v = Number(s);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}, got '${s}'`);
  return v;
};
const result = await runOctreeBench({
  reps: values.quick ? 1 : int(values.reps, 'reps', 1),
  overlapBatches: values.quick ? 2 : int(values.batches, 'batches', 1),
  stepMs: values['step-ms'] === undefined ? undefined : Number(values['step-ms']),
  workers: int(values.workers, 'workers', 1),
  depths: values.depths.split(',').map((d) => int(d.trim(), 'depths', 1)),
  overlapRepeats: values.quick ? 1 : int(values.repeats, 'repeats', 1),
  overlapDepth: int(values['overlap-depth'], 'overlap-depth', 1),
  shapes: values.quick ? 8 : 32,
});
process.stdout.write(`${JSON.stringify(result)}\n`);
