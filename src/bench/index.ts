/** Benchmark pieces for `rq3d bench` (owned by the CLI) and the standalone conv-main.ts script. */
export { runConvBench, benchConvCase, makeConvLayer, DEFAULT_CONV_CASES, CONV_VARIANTS } from './conv-layer.ts';
export type { ConvBenchResult, ConvBenchOptions, ConvCase, ConvVariant } from './conv-layer.ts';
export { matmulPeak, timeMatMul } from './matmul.ts';
export type { MatMulResult } from './matmul.ts';
export { sphereShellTable, morton3 } from './sphere-shell.ts';
export type { NeighbourTable } from './sphere-shell.ts';
export { median, timeRuns } from './timing.ts';
