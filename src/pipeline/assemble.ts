/**
 * The work of one batch, shared by the worker threads and the inline (main-thread) path so both give the
 * same bytes: prepare every sample, merge their octrees, then build what the network reads (neighbour
 * tables, input features). Also the wire format that carries the result across a worker boundary.
 */
import { Octree, mergeOctrees, neighborTable, getNeighbors, inputFeature, type OctreeData, type NeighborQuery } from '../../octree/index.ts';
import type { PointCloud } from '../data/pointcloud.ts';
import { prepareSample, type SampleParams, type SampleSpec } from './sample.ts';

/** A shape of a batch could not be turned into a sample; the message says which one and why. */
export class SampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SampleError';
  }
}

export interface SampleItem {
  cloud: PointCloud;
  seed: number;
}

export interface InputFeatures {
  data: Float32Array;
  channels: number;
}

export interface BatchTimings {
  /** transform + clip + RQ + buildOctree, summed over the shapes of this part. */
  buildMs: number;
  mergeMs: number;
  /** neighbour tables (all depths, plus the requested queries) and input features. */
  tablesMs: number;
}

/** A merged octree of some shapes of a batch, with their clouds and draws. */
export interface BatchPart {
  octree: Octree;
  clouds: PointCloud[];
  params: SampleParams[];
  /** Set once the part is a whole batch and its tables are built (see finishBatch). */
  features: InputFeatures | null;
  timings: BatchTimings;
}

export function buildPart(items: readonly SampleItem[], spec: SampleSpec): BatchPart {
  const t0 = performance.now();
  const samples = items.map((it, j) => {
    try {
      return prepareSample(it.cloud, spec, it.seed);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      throw new SampleError(`shape ${j} of the batch (seed ${it.seed}): ${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`);
    }
  });
  const t1 = performance.now();
  const octree = samples.length === 1 ? samples[0]!.octree : mergeOctrees(samples.map((s) => s.octree));
  const t2 = performance.now();
  return {
    octree,
    clouds: samples.map((s) => s.points),
    params: samples.map((s) => s.params),
    features: null,
    timings: { buildMs: t1 - t0, mergeMs: t2 - t1, tablesMs: 0 },
  };
}

/** Merge parts (in order) into one batch part; a single part is returned as is. */
export function mergeParts(parts: readonly BatchPart[]): BatchPart {
  if (parts.length === 1) return parts[0]!;
  const t0 = performance.now();
  const octree = mergeOctrees(parts.map((p) => p.octree));
  const mergeMs = performance.now() - t0;
  return {
    octree,
    clouds: parts.flatMap((p) => p.clouds),
    params: parts.flatMap((p) => p.params),
    features: null,
    timings: {
      buildMs: parts.reduce((s, p) => s + p.timings.buildMs, 0),
      mergeMs: parts.reduce((s, p) => s + p.timings.mergeMs, 0) + mergeMs,
      tablesMs: 0,
    },
  };
}

/**
 * Build the neighbour tables of every depth (cached on the octree, where the convs look them up), the
 * requested conv index variants, and the input features.
 */
export function finishBatch(part: BatchPart, spec: SampleSpec, queries: readonly NeighborQuery[] = []): BatchPart {
  const t0 = performance.now();
  const o = part.octree;
  for (let d = 0; d <= o.depth; d++) neighborTable(o, d);
  for (const q of queries) getNeighbors(o, q);
  const features = inputFeature(o, { letters: spec.features, nempty: spec.nempty });
  part.features = features;
  part.timings.tablesMs += performance.now() - t0;
  return part;
}

/** A BatchPart as plain data for postMessage. */
export interface WirePart {
  octree: OctreeData;
  cache: Array<[string, Int32Array]>;
  clouds: PointCloud[];
  params: SampleParams[];
  features: InputFeatures | null;
  timings: BatchTimings;
}

export function toWire(part: BatchPart): { wire: WirePart; transfer: ArrayBuffer[] } {
  const cache = [...part.octree.cache.entries()];
  const buffers = new Set<ArrayBuffer>(part.octree.transferList());
  const add = (a: { buffer: ArrayBufferLike } | null): void => {
    if (a && a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
  };
  for (const [, t] of cache) add(t);
  for (const c of part.clouds) [c.points, c.normals, c.labels, c.features].forEach(add);
  add(part.features?.data ?? null);
  return {
    wire: { octree: part.octree.toData(), cache, clouds: part.clouds, params: part.params, features: part.features, timings: part.timings },
    transfer: [...buffers],
  };
}

export function fromWire(w: WirePart): BatchPart {
  const octree = new Octree(w.octree);
  for (const [k, v] of w.cache) octree.cache.set(k, v);
  return { octree, clouds: w.clouds, params: w.params, features: w.features, timings: w.timings };
}
