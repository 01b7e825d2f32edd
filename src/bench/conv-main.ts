/**
 * Standalone conv-layer benchmark: prints one JSON object.
 *   npx tsx src/bench/conv-main.ts [--reps 5] [--block-bytes 0] [--variants im2col,fused,whole] [--quick]
 * Backend as for every rq3d command (RQ3D_BACKEND, RQ3D_THREADS). Figures are wall-clock medians on a
 * possibly shared machine: the load average is printed beside them.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '../backend.ts';
import { CONV_VARIANTS, DEFAULT_CONV_CASES, runConvBench, type ConvVariant } from './conv-layer.ts';
import { matmulPeak } from './matmul.ts';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    'block-bytes': { type: 'string', default: '0' },
    variants: { type: 'string', default: CONV_VARIANTS.join(',') },
    quick: { type: 'boolean', default: false },
  },
});
const reps = Number(values.reps);
const blockBytes = Number(values['block-bytes']);
const variants = values.variants.split(',').map((s) => s.trim()) as ConvVariant[];
for (const v of variants) if (!CONV_VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; known: ${CONV_VARIANTS.join(', ')}`);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer`);

const backend = await initBackend();
const loadBefore = os.loadavg();
const peak = await matmulPeak(reps);
const cases = values.quick ? DEFAULT_CONV_CASES.map((c) => ({ ...c, n: Math.ceil(c.n / 10) })) : [...DEFAULT_CONV_CASES];
const conv = await runConvBench({ cases, variants, reps, blockBytes });
process.stdout.write(
  JSON.stringify({ backend, cores: os.cpus().length, loadAverage: { before: loadBefore, after: os.loadavg() }, matmulPeak: peak, conv, blockBytes }) + '\n',
);
