/**
 * LSD radix sort of non-negative integer keys below 2^30 carrying their original index, in three
 * 10-bit passes. Stable, O(N), and several times faster than a comparison sort for octree-sized inputs.
 * Returns the permutation `order` such that keys[order[i]] is non-decreasing.
 */
export function radixSortIndices(keys: Uint32Array | Int32Array, bits = 30): Int32Array {
  const n = keys.length;
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return order;
  let tmp = new Int32Array(n);
  const count = new Int32Array(1024);
  for (let shift = 0; shift < bits; shift += 10) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(keys[i]! >>> shift) & 1023]!++;
    let sum = 0;
    for (let b = 0; b < 1024; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const o = order[i]!;
      tmp[count[(keys[o]! >>> shift) & 1023]!++] = o;
    }
    const t = order;
    order = tmp;
    tmp = t;
  }
  return order;
}
