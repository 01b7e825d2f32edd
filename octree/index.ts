/** The octree engine: no knowledge of datasets, SSL or the CLI. */
export * from './keys.ts';
export * from './octree.ts';
export * from './batch.ts';
export * from './neighbors.ts';
export * from './features.ts';
export * from './search.ts';
