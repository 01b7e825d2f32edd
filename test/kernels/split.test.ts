import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.ts';
import '../../octree/ops/kernels/index.ts';
import { heapKernels, type HeapKernels, type WasmModuleLike } from '../../octree/ops/kernels/wasm/index.ts';
import { MIN_SPLIT_FLOATS, setRowSplitting, splitJobCount, splitKernels, type HelperOp, type RowHelper } from '../../octree/ops/kernels/wasm/split.ts';
import { Rng } from '../../src/util/rng.ts';

// The row loops split over two threads (octree/ops/kernels/wasm/split.ts, helper-thread.ts): each half is
// the same loop on a disjoint part of the output, so the results must equal one thread's bit for bit.

interface Heap {
  k: HeapKernels;
  alloc(floats: number): number;
  f32(): Float32Array;
  i32(): Int32Array;
}

/** A plain wasm memory with a bump allocator, and the raw (unsplit) kernels on it. */
function plainHeap(pages = 800): Heap {
  const memory = new WebAssembly.Memory({ initial: pages });
  const k = heapKernels({ asm: { memory } } as WasmModuleLike)!;
  let top = 1024;
  return {
    k,
    alloc: (floats) => {
      const p = top;
      top += 4 * floats + 64;
      return p;
    },
    f32: () => new Float32Array(memory.buffer),
    i32: () => new Int32Array(memory.buffer),
  };
}

/** A helper that runs its half at once, on the calling thread (tests the split arithmetic anywhere). */
function inlineHelper(k: HeapKernels, fail = false): RowHelper & { jobs: HelperOp[] } {
  const jobs: HelperOp[] = [];
  return {
    jobs,
    available: () => true,
    start: (op, args) => {
      jobs.push(op);
      if (!fail) (k[op] as (...a: number[]) => void)(...args);
    },
    finish: () => {
      if (fail) throw new Error('helper failed');
    },
  };
}

function fill(h: Heap, rng: Rng, floats: number): number {
  const p = h.alloc(floats);
  const f = h.f32();
  for (let i = 0; i < floats; i++) f[(p >> 2) + i] = rng.uniform() * 2 - 1;
  return p;
}

function fillIdx(h: Heap, rng: Rng, m: number, rows: number): number {
  const p = h.alloc(m);
  const v = h.i32();
  for (let i = 0; i < m; i++) v[(p >> 2) + i] = rng.uniform() < 0.3 ? -1 : Math.floor(rng.uniform() * rows);
  return p;
}

/** Runs every splittable kernel with `a` and `b` on the same inputs; returns pairs of outputs to compare. */
function runBoth(h: Heap, a: HeapKernels, b: HeapKernels, c: number): Array<[Float32Array | Int32Array, Float32Array | Int32Array]> {
  const rng = new Rng(`split-${c}`);
  const rows = 1100,
    n = 1001,
    kk = 27,
    m = n * kk; // n odd and not a multiple of 4
  const src = fill(h, rng, rows * c),
    idx = fillIdx(h, rng, m, rows);
  const p = 2049,
    x = fill(h, rng, 8 * p * c),
    dy = fill(h, rng, p * c);
  const outs: Array<[number, number, number, 'f' | 'i']> = [];
  const pair = (floats: number, kind: 'f' | 'i', run: (k: HeapKernels, o: number) => void): void => {
    const o1 = h.alloc(floats),
      o2 = h.alloc(floats);
    run(a, o1);
    run(b, o2);
    outs.push([o1, o2, floats, kind]);
  };
  pair(m * c, 'f', (k, o) => k.gather(src, idx, m, o, c));
  pair(m * c, 'f', (k, o) => k.gatherT(src, idx, n, kk, o, c, n));
  const arg = h.alloc(p * c);
  pair(p * c, 'f', (k, o) => k.siblingMax(x, p, c, o, arg));
  pair(p * c, 'i', (k, o) => {
    k.siblingMax(x, p, c, h.alloc(p * c), o);
  });
  a.siblingMax(x, p, c, h.alloc(p * c), arg);
  pair(8 * p * c, 'f', (k, o) => k.siblingMaxGrad(dy, arg, p, c, o));
  // the MID losses' segment products: n rows of c floats against their segment's K = 20 prototypes
  const segs = 5,
    K = 20;
  const protos = fill(h, rng, segs * K * c),
    coef = fill(h, rng, n * K);
  const seg = h.alloc(n);
  for (let i = 0; i < n; i++) h.i32()[(seg >> 2) + i] = Math.floor(rng.uniform() * segs);
  pair(n * K, 'f', (k, o) => k.segmentDot(src, n, c, protos, seg, K, o));
  pair(n * c, 'f', (k, o) => k.segmentAxpy(coef, n, K, protos, seg, c, o));
  // the weighted gather (a CSR table of 0..8 entries per output row, rows of src) and the ReLU sum and
  // gradient over the m·c floats of the gathers' outputs (a NaN, a -0 and exact zeros among them)
  const wr = 20001,
    offsets = h.alloc(wr + 1),
    ent = h.alloc(8 * wr),
    wts = fill(h, rng, 8 * wr);
  {
    const iv = h.i32();
    let e = 0;
    for (let r = 0; r < wr; r++) {
      iv[(offsets >> 2) + r] = e;
      const cnt = Math.floor(rng.uniform() * 9);
      for (let j = 0; j < cnt; j++) iv[(ent >> 2) + e++] = Math.floor(rng.uniform() * rows);
    }
    iv[(offsets >> 2) + wr] = e;
  }
  pair(wr * c, 'f', (k, o) => k.weightedRows(src, offsets, ent, wts, wr, c, o));
  const ga = h.alloc(m * c),
    gb = outs[1]![0];
  h.f32().copyWithin(ga >> 2, outs[0]![0] >> 2, (outs[0]![0] >> 2) + m * c);
  h.f32()[(ga >> 2) + 3] = NaN;
  h.f32()[(ga >> 2) + 5] = -0;
  pair(m * c, 'f', (k, o) => k.addRelu(ga, gb, m * c, o));
  const yr = outs[outs.length - 1]![0];
  pair(m * c, 'f', (k, o) => k.reluGrad(gb, yr, m * c, o));
  return outs.map(([o1, o2, len, kind]) => {
    const view = kind === 'f' ? h.f32() : h.i32();
    return [view.slice(o1 >> 2, (o1 >> 2) + len), view.slice(o2 >> 2, (o2 >> 2) + len)];
  });
}

/** The kernels with the two-thread split switched on or off around each call. */
function toggled(k: HeapKernels, on: boolean): HeapKernels {
  const wrap =
    <A extends unknown[]>(f: (...a: A) => unknown) =>
    (...a: A): void => {
      setRowSplitting(on);
      f(...a);
    };
  return {
    ...k,
    gather: wrap(k.gather),
    gatherT: wrap(k.gatherT),
    siblingMax: wrap(k.siblingMax),
    siblingMaxGrad: wrap(k.siblingMaxGrad),
    segmentDot: wrap(k.segmentDot),
    segmentAxpy: wrap(k.segmentAxpy),
    weightedRows: wrap(k.weightedRows),
    addRelu: wrap(k.addRelu),
    reluGrad: wrap(k.reluGrad),
  };
}

describe('row loops split over two threads', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', threads: 2 });
  });

  it.each([4, 5, 32])('the split arithmetic gives the one-thread result bit for bit (C=%i)', (c) => {
    const h = plainHeap();
    const helper = inlineHelper(h.k);
    const split = splitKernels(h.k, helper);
    for (const [one, two] of runBoth(h, h.k, split, c)) expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    expect(new Set(helper.jobs)).toEqual(
      new Set(['gather', 'gatherT', 'siblingMax', 'siblingMaxGrad', 'segmentDot', 'segmentAxpy', 'weightedRows', 'addRelu', 'reluGrad']),
    );
  });

  it('leaves small jobs on the calling thread, and an unavailable helper alone', () => {
    const h = plainHeap(40);
    const helper = inlineHelper(h.k);
    const split = splitKernels(h.k, helper);
    const c = 4,
      m = (MIN_SPLIT_FLOATS >> 2) - 1;
    split.gather(h.alloc(c), h.alloc(m), 0, h.alloc(m * c), c);
    expect(helper.jobs).toEqual([]);
    const off = splitKernels(h.k, { ...helper, available: () => false });
    const rows = 2,
      idx = h.alloc(m + 1),
      src = h.alloc(rows * c);
    off.gather(src, idx, m + 1, h.alloc((m + 1) * c), c);
    expect(helper.jobs).toEqual([]);
  });

  it('reports a failed helper job as an error after the own half ran', () => {
    const h = plainHeap(40);
    const split = splitKernels(h.k, inlineHelper(h.k, true));
    const c = 4,
      m = MIN_SPLIT_FLOATS / c;
    expect(() => split.gather(h.alloc(c), h.alloc(m), m, h.alloc(m * c), c)).toThrow('helper failed');
  });

  it('the real helper thread on the threaded backend gives the one-thread results bit for bit', () => {
    const b = tf.backend() as unknown as { wasm: WasmModuleLike };
    const k = heapKernels(b.wasm)!;
    const mem = b.wasm.wasmMemory!;
    expect(mem.buffer).toBeInstanceOf(SharedArrayBuffer);
    // Work inside a tensor's buffer of the backend's own heap (the helper only sees that memory).
    const scratch = tf.zeros([40_000_000]);
    try {
      const base = (tf.backend() as unknown as { getMemoryOffset(id: object): number }).getMemoryOffset(scratch.dataId);
      let top = base;
      const h: Heap = {
        k,
        alloc: (floats) => {
          const p = top;
          top += 4 * floats + 64;
          if (top > base + 4 * 40_000_000) throw new Error('test scratch too small');
          return p;
        },
        f32: () => new Float32Array(mem.buffer),
        i32: () => new Int32Array(mem.buffer),
      };
      const before = splitJobCount();
      for (const c of [5, 32]) {
        for (const [one, two] of runBoth(h, toggled(k, false), toggled(k, true), c)) expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
      }
      expect(splitJobCount()).toBeGreaterThanOrEqual(before + 14);
    } finally {
      setRowSplitting(true);
      scratch.dispose();
    }
  });
});
