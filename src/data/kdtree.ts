/**
 * A static kd-tree over a point array for k-nearest-neighbour queries (normal estimation, orientation
 * graphs). The tree is implicit: the index array is partitioned in place so that each node is the median
 * element of its range, and only the split axis per node is stored.
 */
const LEAF = 8;

export class KdTree {
  readonly index: Int32Array;
  private readonly axis: Uint8Array;

  constructor(readonly points: Float32Array) {
    const n = points.length / 3;
    this.index = new Int32Array(n);
    for (let i = 0; i < n; i++) this.index[i] = i;
    this.axis = new Uint8Array(n);
    this.build(0, n);
  }

  get size(): number {
    return this.index.length;
  }

  private build(lo: number, hi: number): void {
    // Explicit stack: deep recursion on sorted or duplicated inputs must not overflow.
    const stack: number[] = [lo, hi];
    const P = this.points;
    const idx = this.index;
    while (stack.length > 0) {
      const h = stack.pop()!;
      const l = stack.pop()!;
      if (h - l <= LEAF) continue;
      let mn0 = Infinity,
        mn1 = Infinity,
        mn2 = Infinity,
        mx0 = -Infinity,
        mx1 = -Infinity,
        mx2 = -Infinity;
      for (let k = l; k < h; k++) {
        const j = 3 * idx[k]!;
        const x = P[j]!,
          y = P[j + 1]!,
          z = P[j + 2]!;
        if (x < mn0) mn0 = x;
        if (x > mx0) mx0 = x;
        if (y < mn1) mn1 = y;
        if (y > mx1) mx1 = y;
        if (z < mn2) mn2 = z;
        if (z > mx2) mx2 = z;
      }
      const ex = mx0 - mn0,
        ey = mx1 - mn1,
        ez = mx2 - mn2;
      const ax = ex >= ey && ex >= ez ? 0 : ey >= ez ? 1 : 2;
      const mid = (l + h) >> 1;
      this.select(l, h - 1, mid, ax);
      this.axis[mid] = ax;
      stack.push(l, mid, mid + 1, h);
    }
  }

  /** Quickselect (Hoare partition, median-of-three pivot) of the k-th element along an axis. */
  private select(lo: number, hi: number, k: number, ax: number): void {
    const P = this.points;
    const idx = this.index;
    const val = (i: number): number => P[3 * idx[i]! + ax]!;
    while (hi > lo) {
      const m = (lo + hi) >> 1;
      const a = val(lo),
        b = val(m),
        c = val(hi);
      const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
      let i = lo,
        j = hi;
      while (i <= j) {
        while (val(i) < pivot) i++;
        while (val(j) > pivot) j--;
        if (i <= j) {
          const t = idx[i]!;
          idx[i] = idx[j]!;
          idx[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return;
    }
  }

  /**
   * The k nearest points to (x, y, z), nearest first, written into `out` (indices) and `dist2` (squared
   * distances). Returns how many were found (min(k, n)).
   */
  knn(x: number, y: number, z: number, k: number, out: Int32Array, dist2: Float64Array): number {
    const P = this.points;
    const idx = this.index;
    let count = 0;
    // Max-heap on dist2 of the best k so far.
    const push = (i: number, d: number): void => {
      if (count < k) {
        let c = count++;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (dist2[p]! >= d) break;
          dist2[c] = dist2[p]!;
          out[c] = out[p]!;
          c = p;
        }
        dist2[c] = d;
        out[c] = i;
      } else if (d < dist2[0]!) {
        let c = 0;
        for (;;) {
          const l = 2 * c + 1;
          if (l >= count) break;
          const r = l + 1;
          const m = r < count && dist2[r]! > dist2[l]! ? r : l;
          if (dist2[m]! <= d) break;
          dist2[c] = dist2[m]!;
          out[c] = out[m]!;
          c = m;
        }
        dist2[c] = d;
        out[c] = i;
      }
    };
    const visit = (lo: number, hi: number): void => {
      if (hi - lo <= LEAF) {
        for (let s = lo; s < hi; s++) {
          const j = idx[s]!;
          const dx = P[3 * j]! - x,
            dy = P[3 * j + 1]! - y,
            dz = P[3 * j + 2]! - z;
          push(j, dx * dx + dy * dy + dz * dz);
        }
        return;
      }
      const mid = (lo + hi) >> 1;
      const j = idx[mid]!;
      const ax = this.axis[mid]!;
      const dx = P[3 * j]! - x,
        dy = P[3 * j + 1]! - y,
        dz = P[3 * j + 2]! - z;
      push(j, dx * dx + dy * dy + dz * dz);
      const diff = (ax === 0 ? x : ax === 1 ? y : z) - P[3 * j + ax]!;
      if (diff < 0) {
        visit(lo, mid);
        if (count < k || diff * diff < dist2[0]!) visit(mid + 1, hi);
      } else {
        visit(mid + 1, hi);
        if (count < k || diff * diff < dist2[0]!) visit(lo, mid);
      }
    };
    if (this.index.length > 0 && k > 0) visit(0, this.index.length);
    // Heap order -> ascending distance (insertion sort: k is small).
    for (let a = 1; a < count; a++) {
      const d = dist2[a]!,
        o = out[a]!;
      let b = a - 1;
      while (b >= 0 && dist2[b]! > d) {
        dist2[b + 1] = dist2[b]!;
        out[b + 1] = out[b]!;
        b--;
      }
      dist2[b + 1] = d;
      out[b + 1] = o;
    }
    return count;
  }

  /** k nearest neighbours of every point (the point itself included, first), as an n x k table. */
  knnAll(k: number): Int32Array {
    const n = this.size;
    const kk = Math.min(k, n);
    const table = new Int32Array(n * kk);
    const out = new Int32Array(kk);
    const d2 = new Float64Array(kk);
    const P = this.points;
    for (let i = 0; i < n; i++) {
      this.knn(P[3 * i]!, P[3 * i + 1]!, P[3 * i + 2]!, kk, out, d2);
      table.set(out, i * kk);
    }
    return table;
  }
}
