/**
 * The row loops behind OctGather / OctScatterAdd, shared by the cpu and wasm kernels.
 *
 * Arrays are addressed as (array, offset) so that on wasm all of x, idx and out can be views of the one
 * heap; there, `src === dst` and rows of at least COPY_WITHIN_MIN_C floats are moved with copyWithin,
 * which measured fastest for such rows (shared/reference/tfjs-eval.md §3). Separate arrays (cpu) use
 * the plain element loop.
 */

/** Row width from which a same-buffer row copy uses copyWithin rather than an element loop. */
export const COPY_WITHIN_MIN_C = 16;

/** Index array as seen by the loops: an Int32Array view, or any array of integers. */
export type IndexArray = Int32Array | ArrayLike<number>;

/**
 * Throws a RangeError if some idx[i] is >= numRows or < -1; called before any output is allocated so a
 * bad table cannot leak a half-built tensor.
 */
export function checkIndices(idx: IndexArray, idxOff: number, m: number, numRows: number, op: string): void {
  for (let i = 0; i < m; i++) {
    const r = idx[idxOff + i]!;
    if (r >= numRows || r < -1) {
      throw new RangeError(`${op}: index ${r} at position ${i} is outside [-1, ${numRows - 1}]`);
    }
  }
}

/** dst[dstOff + i*c .. +c] = src row idx[i] (zeros when idx[i] < 0), for i < m. */
export function gatherRows(src: Float32Array, srcOff: number, idx: IndexArray, idxOff: number, m: number, dst: Float32Array, dstOff: number, c: number): void {
  if (c === 0) return;
  if (src === dst && c >= COPY_WITHIN_MIN_C) {
    for (let i = 0; i < m; i++) {
      const r = idx[idxOff + i]!;
      const o = dstOff + i * c;
      if (r < 0) dst.fill(0, o, o + c);
      else {
        const s = srcOff + r * c;
        dst.copyWithin(o, s, s + c);
      }
    }
    return;
  }
  for (let i = 0; i < m; i++) {
    const r = idx[idxOff + i]!;
    let o = dstOff + i * c;
    const end = o + c;
    if (r < 0) {
      for (; o < end; o++) dst[o] = 0;
    } else {
      let s = srcOff + r * c;
      for (; o < end; o++, s++) dst[o] = src[s]!;
    }
  }
}

/**
 * dst rows [0, numRows) = 0, then dst row idx[i] += src row i for every i < m with idx[i] >= 0.
 * Accumulates in float32 in input order, so results are deterministic.
 */
export function scatterAddRows(
  src: Float32Array,
  srcOff: number,
  idx: IndexArray,
  idxOff: number,
  m: number,
  dst: Float32Array,
  dstOff: number,
  c: number,
  numRows: number,
): void {
  dst.fill(0, dstOff, dstOff + numRows * c);
  if (c === 0) return;
  for (let i = 0; i < m; i++) {
    const r = idx[idxOff + i]!;
    if (r < 0) continue;
    let o = dstOff + r * c;
    const end = o + c;
    let s = srcOff + i * c;
    for (; o < end; o++, s++) dst[o] = dst[o]! + src[s]!;
  }
}

/** Output rows written at once by gatherRowsTransposed: enough for 16-float runs, few enough for L1. */
const TRANSPOSE_ROW_BLOCK = 32;

/**
 * Input rows handled per pass of gatherRowsTransposed: their slice of the index table (k ints each,
 * 27 KB for 256 rows of a 333 kernel) stays in cache while all k·C output rows are written, instead of
 * the whole table being streamed k times (it is tens of MB at the finest depth).
 */
const TRANSPOSE_I_BLOCK = 256;

/**
 * The transposed im2col matrix: dst[(kk*c + j)*n + i] = src row idx[i*k + kk], element j (0 if the index
 * is negative), i.e. transpose(reshape(gather(src, idx), [n, k*c])) written directly. Loops run over
 * (block of i, kk, block of j, i, j): each index entry is read from cache, and at most
 * TRANSPOSE_ROW_BLOCK output rows are written at a time, each in a contiguous run.
 */
export function gatherRowsTransposed(
  src: Float32Array,
  srcOff: number,
  idx: IndexArray,
  idxOff: number,
  n: number,
  k: number,
  dst: Float32Array,
  dstOff: number,
  c: number,
): void {
  for (let i0 = 0; i0 < n; i0 += TRANSPOSE_I_BLOCK) {
    const i1 = Math.min(n, i0 + TRANSPOSE_I_BLOCK);
    for (let kk = 0; kk < k; kk++) {
      for (let j0 = 0; j0 < c; j0 += TRANSPOSE_ROW_BLOCK) {
        const j1 = Math.min(c, j0 + TRANSPOSE_ROW_BLOCK);
        const base = dstOff + (kk * c + j0) * n;
        for (let i = i0; i < i1; i++) {
          const r = idx[idxOff + i * k + kk]!;
          let o = base + i;
          if (r < 0) {
            for (let j = j0; j < j1; j++, o += n) dst[o] = 0;
          } else {
            let s = srcOff + r * c + j0;
            for (let j = j0; j < j1; j++, o += n, s++) dst[o] = src[s]!;
          }
        }
      }
    }
  }
}
