/**
 * The exports of rq3d's wasm kernels module (kernels.wat), shared by ./index.ts (which instantiates it) and
 * ./split.ts (which splits its loops over two threads) without either importing the other.
 */
/** Every pointer is a byte offset into the wasm heap; c is in floats. */
export interface HeapKernels {
  /** First i < m with idx[i] outside [-1, rows), else -1. */
  checkIndices(idx: number, m: number, rows: number): number;
  gather(src: number, idx: number, m: number, dst: number, c: number): void;
  scatterAdd(src: number, idx: number, m: number, dst: number, c: number, numRows: number): void;
  /** dst [k·c, ld]: columns 0..n of the transposed im2col matrix (ld >= n is its row stride). */
  gatherT(src: number, idx: number, n: number, k: number, dst: number, c: number, ld: number): void;
  /** scratch: 8c floats. */
  bnForward(x: number, n: number, c: number, gamma: number, beta: number, eps: number, relu: number, y: number, stats: number, scratch: number): void;
  bnBackward(
    dy: number,
    x: number,
    n: number,
    c: number,
    gamma: number,
    beta: number,
    stats: number,
    relu: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    scratch: number,
  ): void;
  siblingMax(x: number, p: number, c: number, out: number, arg: number): void;
  siblingMaxGrad(dy: number, arg: number, p: number, c: number, dx: number): void;
  /** out [n, k] = x [n, d] · (protos rows seg[i]·k .. +k)ᵀ, row by row (../row-kernels.ts). */
  segmentDot(x: number, n: number, d: number, protos: number, seg: number, k: number, out: number): void;
  /** dx [n, d] = Σ_j coef[i, j] · protos row seg[i]·k + j. */
  segmentAxpy(coef: number, n: number, k: number, protos: number, seg: number, d: number, dx: number): void;
  /** out [rows, c]: row r = Σ weight[e] · x row src[e], e in offsets[r] .. offsets[r+1] (float32, e order). */
  weightedRows(x: number, offsets: number, src: number, weight: number, rows: number, c: number, out: number): void;
  /** y[0 .. n) = max(a + b, 0) (float32; 0 for NaN). */
  addRelu(a: number, b: number, n: number, y: number): void;
  /** dx[0 .. n) = y > 0 ? dy : 0. */
  reluGrad(dy: number, y: number, n: number, dx: number): void;
  /** n rows of `width` floats, src row stride srcStride, dst row stride dstStride (floats). */
  copyCols(src: number, srcStride: number, dst: number, dstStride: number, n: number, width: number): void;
}
