/** The CPU side of a training step: samples, batches, worker threads. */
export * from './sample.ts';
export { SampleError, buildPart, mergeParts, finishBatch, type SampleItem, type BatchPart, type BatchTimings, type InputFeatures } from './assemble.ts';
export * from './worker-pool.ts';
export * from './batch-pipeline.ts';
