import { expect } from 'vitest';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchPart } from '../../src/pipeline/index.ts';
import type { SampleSpec } from '../../src/pipeline/sample.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const SPEC: SampleSpec = {
  depth: 5,
  fullDepth: 2,
  transform: 'midnet',
  rq: { bins: 30, variant: 'random-random', p: 1 },
  features: 'ND',
  nempty: false,
};

type Typed = Float32Array | Int32Array;

function bytes(a: Typed | null): Buffer | null {
  return a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : null;
}

/** Bit-level equality of two typed arrays (NaN patterns and -0 included), with the kind checked too. */
export function sameBits(a: Typed | null, b: Typed | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  return bytes(a)!.equals(bytes(b)!);
}

/** Everything a batch carries, as a list of named arrays, for bit-level comparisons. */
export function batchArrays(p: BatchPart): Array<[string, Typed | null]> {
  const o = p.octree;
  const out: Array<[string, Typed | null]> = [];
  o.keys.forEach((k, d) => out.push([`keys${d}`, k]));
  o.children.forEach((c, d) => out.push([`children${d}`, c]));
  o.batchNnum.forEach((c, d) => out.push([`batchNnum${d}`, c]));
  out.push(['points', o.points], ['normals', o.normals], ['features', o.features], ['labels', o.labels]);
  out.push(['pointToLeaf', o.pointToLeaf], ['batchPoints', o.batchPoints]);
  for (let d = 0; d <= o.depth; d++) out.push([`neigh${d}`, o.cache.get(`neigh:${d}`) ?? null]);
  p.clouds.forEach((c, i) => out.push([`cloud${i}.points`, c.points], [`cloud${i}.normals`, c.normals]));
  out.push(['input', p.features?.data ?? null]);
  return out;
}

export function expectSameBatch(a: BatchPart, b: BatchPart): void {
  const A = batchArrays(a);
  const B = batchArrays(b);
  expect(A.map(([n]) => n)).toEqual(B.map(([n]) => n));
  const differ = A.filter(([, x], i) => !sameBits(x, B[i]![1])).map(([n]) => n);
  expect(differ).toEqual([]);
  expect(a.octree.nnum).toEqual(b.octree.nnum);
  expect(a.octree.nnumNempty).toEqual(b.octree.nnumNempty);
  expect(a.params).toEqual(b.params);
  expect(a.features?.channels).toBe(b.features?.channels);
}
