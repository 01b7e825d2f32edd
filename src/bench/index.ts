/** Benchmark pieces for `rq3d bench` (run.ts runs them, format.ts prints the report) and the standalone conv-main.ts script. */
export { runBench, BENCH_PARTS, BENCH_MODELS, BENCH_CONV_VARIANTS } from './run.ts';
export type { BenchOptions, BenchReport, BenchPart, ConvRow } from './run.ts';
export { formatBench } from './format.ts';
export { runConvBench, benchConvCase, makeConvLayer, DEFAULT_CONV_CASES, CONV_VARIANTS } from './conv-layer.ts';
export type { ConvBenchResult, ConvBenchOptions, ConvCase, ConvVariant } from './conv-layer.ts';
export { matmulPeak, timeMatMul } from './matmul.ts';
export type { MatMulResult } from './matmul.ts';
export { sphereShellTable, morton3 } from './sphere-shell.ts';
export type { NeighbourTable } from './sphere-shell.ts';
export { median, timeRuns } from './timing.ts';
export { runModelBench, defaultModelCases, caseKey, vmHwmBytes } from './whole-model.ts';
export type {
  ModelBenchResult,
  ModelBenchEntry,
  ModelBenchOptions,
  ModelCase,
  BenchModel,
  RqEffect,
  StepTiming,
  PipelineTiming,
  MemoryPeak,
} from './whole-model.ts';
export { PEER_YARDSTICKS, PEER_OCNN_MODELS, PEER_OCNN_HRNET, PEER_TORCH_CONV } from './peer.ts';
export type { PeerModelFigures, PeerConvFigures } from './peer.ts';
export { watchMachine } from './machine.ts';
export type { MachineInfo } from './machine.ts';
