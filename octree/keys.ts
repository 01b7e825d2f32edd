/**
 * Shuffled (Morton) keys, as in O-CNN / ocnn-pytorch: bit i of x goes to key bit 3i+2, of y to 3i+1,
 * of z to 3i. rq3d supports depth <= 10, so a spatial key has at most 30 bits and fits an Int32 without
 * sign problems. The batch index is never packed into the key (tfjs has no int64); octrees keep it in
 * separate per-depth arrays instead.
 */

export const MAX_DEPTH = 10;

/** Spread the low 10 bits of v so that bit i lands on bit 3i. */
function spread3(v: number): number {
  let x = v & 0x3ff;
  x = (x | (x << 16)) & 0x030000ff;
  x = (x | (x << 8)) & 0x0300f00f;
  x = (x | (x << 4)) & 0x030c30c3;
  x = (x | (x << 2)) & 0x09249249;
  return x;
}

/** Inverse of spread3: gather bits 0, 3, 6, ... into a 10-bit integer. */
function compact3(v: number): number {
  let x = v & 0x09249249;
  x = (x | (x >>> 2)) & 0x030c30c3;
  x = (x | (x >>> 4)) & 0x0300f00f;
  x = (x | (x >>> 8)) & 0x030000ff;
  x = (x | (x >>> 16)) & 0x3ff;
  return x;
}

/** Morton key of integer cell (x, y, z), each in [0, 2^10). */
export function xyzToKey(x: number, y: number, z: number): number {
  return (spread3(x) << 2) | (spread3(y) << 1) | spread3(z);
}

/** Cell coordinates of a key; writes into `out` (length >= 3) and returns it. */
export function keyToXyz(key: number, out: number[] | Int32Array = [0, 0, 0]): number[] | Int32Array {
  out[0] = compact3(key >>> 2);
  out[1] = compact3(key >>> 1);
  out[2] = compact3(key);
  return out;
}

/** Slot of a node inside its parent: 4·x_bit + 2·y_bit + z_bit. */
export function childSlot(key: number): number {
  return key & 7;
}

/** Key of the parent node (one depth coarser). */
export function parentKey(key: number): number {
  return key >>> 3;
}

/** Neighbour slot of offset (dx, dy, dz) in {-1,0,1}^3; 13 is the node itself. */
export function neighborSlot(dx: number, dy: number, dz: number): number {
  return 9 * (dx + 1) + 3 * (dy + 1) + (dz + 1);
}
