import { MAX_DEPTH, xyzToKey } from './keys.ts';
import { radixSortIndices } from './sort.ts';

/**
 * An octree of one shape or of a merged batch, laid out as in ocnn-pytorch (anchor-spec §2.4):
 * - depths 0..fullDepth are dense grids (every node split);
 * - deeper, every non-empty parent owns 8 contiguous child rows, empty ones included, so siblings are
 *   contiguous and pooling is a reshape to (rows/8, 8, C);
 * - rows at every depth are ordered shape by shape, then by Morton key.
 * Leaf signals (points, normals, features, labels) exist for the non-empty nodes of the finest depth.
 *
 * Everything is plain typed arrays so an octree can be built in a worker thread and transferred.
 */
export interface OctreeData {
  depth: number;
  fullDepth: number;
  batchSize: number;
  /** Per depth: the spatial Morton key of each row (no batch bits). */
  keys: Int32Array[];
  /** Per depth: for each row, its index among the non-empty rows of that depth, or -1 if empty. */
  children: Int32Array[];
  nnum: number[];
  nnumNempty: number[];
  /** Per depth, per shape: number of rows / non-empty rows. */
  batchNnum: Int32Array[];
  batchNnumNempty: Int32Array[];
  /** Leaf signals at `depth`, non-empty rows only: mean point in cell units [0, 2^depth), 3 per row. */
  points: Float32Array;
  /** Normalized sum of the leaf's point normals (3 per row), or null. */
  normals: Float32Array | null;
  /** Mean of the extra per-point channels (featureChannels per row), or null. */
  features: Float32Array | null;
  featureChannels: number;
  /** Majority label of the leaf's points, ignoring negatives; -1 when none. */
  labels: Int32Array | null;
  /** For each input point (all shapes, in input order), the non-empty leaf row it fell into. */
  pointToLeaf: Int32Array;
  /** Input points per shape (so pointToLeaf can be split by shape). */
  batchPoints: Int32Array;
}

export interface BuildInput {
  /** xyz interleaved, in the octree box [-1, 1)^3. */
  points: Float32Array;
  normals?: Float32Array | null;
  labels?: Int32Array | null;
  features?: Float32Array | null;
  featureChannels?: number;
}

export interface BuildOptions {
  depth: number;
  fullDepth: number;
  /**
   * How points at or beyond the box edge are handled. 'strict' (the default) rejects any coordinate outside
   * [-1, 1) with an error naming the point, so nothing is silently moved. 'clamp' clamps coordinates into
   * [-1, 1] and puts +1.0 into the last cell. Either way +1.0 never wraps to cell 0, which the reference
   * implementation silently does.
   */
  bounds?: 'strict' | 'clamp';
}

export class OctreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OctreeError';
  }
}

export class Octree implements OctreeData {
  depth!: number;
  fullDepth!: number;
  batchSize!: number;
  keys!: Int32Array[];
  children!: Int32Array[];
  nnum!: number[];
  nnumNempty!: number[];
  batchNnum!: Int32Array[];
  batchNnumNempty!: Int32Array[];
  points!: Float32Array;
  normals!: Float32Array | null;
  features!: Float32Array | null;
  featureChannels!: number;
  labels!: Int32Array | null;
  pointToLeaf!: Int32Array;
  batchPoints!: Int32Array;

  /** Lazily built tables (neighbours, batch ids, ...), keyed by name; see neighbors.ts. */
  readonly cache = new Map<string, Int32Array>();

  constructor(data: OctreeData) {
    Object.assign(this, data);
  }

  /** The plain-data form (for worker transfer); caches are not included. */
  toData(): OctreeData {
    const {
      depth,
      fullDepth,
      batchSize,
      keys,
      children,
      nnum,
      nnumNempty,
      batchNnum,
      batchNnumNempty,
      points,
      normals,
      features,
      featureChannels,
      labels,
      pointToLeaf,
      batchPoints,
    } = this;
    return {
      depth,
      fullDepth,
      batchSize,
      keys,
      children,
      nnum,
      nnumNempty,
      batchNnum,
      batchNnumNempty,
      points,
      normals,
      features,
      featureChannels,
      labels,
      pointToLeaf,
      batchPoints,
    };
  }

  /** The buffers of toData(), for `postMessage(data, transferList)`. */
  transferList(): ArrayBuffer[] {
    const bufs: ArrayBuffer[] = [];
    const add = (a: { buffer: ArrayBufferLike } | null): void => {
      if (a && a.buffer instanceof ArrayBuffer && !bufs.includes(a.buffer)) bufs.push(a.buffer);
    };
    for (const arr of [this.keys, this.children, this.batchNnum, this.batchNnumNempty]) arr.forEach(add);
    [this.points, this.normals, this.features, this.labels, this.pointToLeaf, this.batchPoints].forEach(add);
    return bufs;
  }

  /** Per-row shape index at `depth` (cached). */
  batchId(depth: number): Int32Array {
    return this.shapeIndex(depth, false);
  }

  /** Per non-empty row, its shape index at `depth` (cached). */
  batchIdNempty(depth: number): Int32Array {
    return this.shapeIndex(depth, true);
  }

  private shapeIndex(depth: number, nempty: boolean): Int32Array {
    const name = `${nempty ? 'batchne' : 'batch'}:${depth}`;
    let out = this.cache.get(name);
    if (!out) {
      const counts = (nempty ? this.batchNnumNempty : this.batchNnum)[depth]!;
      out = new Int32Array((nempty ? this.nnumNempty : this.nnum)[depth]!);
      let r = 0;
      for (let b = 0; b < this.batchSize; b++) out.fill(b, r, (r += counts[b]!));
      this.cache.set(name, out);
    }
    return out;
  }

  /** First row of each shape at `depth` (length batchSize + 1), all rows or non-empty rows. */
  batchOffsets(depth: number, nempty = false): Int32Array {
    const name = `${nempty ? 'offne' : 'off'}:${depth}`;
    let out = this.cache.get(name);
    if (!out) {
      const counts = (nempty ? this.batchNnumNempty : this.batchNnum)[depth]!;
      out = new Int32Array(this.batchSize + 1);
      for (let b = 0; b < this.batchSize; b++) out[b + 1] = out[b]! + counts[b]!;
      this.cache.set(name, out);
    }
    return out;
  }

  /** Rows of the non-empty nodes at `depth`, in order (cached): the depad gather index. */
  nemptyIndex(depth: number): Int32Array {
    const name = `nempty:${depth}`;
    let out = this.cache.get(name);
    if (!out) {
      const ch = this.children[depth]!;
      out = new Int32Array(this.nnumNempty[depth]!);
      for (let r = 0, j = 0; r < ch.length; r++) if (ch[r]! >= 0) out[j++] = r;
      this.cache.set(name, out);
    }
    return out;
  }

  /** Integer cell coordinates (x, y, z per row) of all rows at `depth`. */
  cellCoords(depth: number, nempty = false): Int32Array {
    const keys = this.keys[depth]!;
    const rows = nempty ? this.nemptyIndex(depth) : null;
    const n = rows ? rows.length : keys.length;
    const out = new Int32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const k = keys[rows ? rows[i]! : i]!;
      let x = 0;
      let y = 0;
      let z = 0;
      for (let b = 0; b < depth; b++) {
        x |= ((k >>> (3 * b + 2)) & 1) << b;
        y |= ((k >>> (3 * b + 1)) & 1) << b;
        z |= ((k >>> (3 * b)) & 1) << b;
      }
      out[3 * i] = x;
      out[3 * i + 1] = y;
      out[3 * i + 2] = z;
    }
    return out;
  }

  /** Total rows over all depths (for summaries). */
  totalNodes(): number {
    return this.nnum.reduce((a, b) => a + b, 0);
  }
}

export function checkDepths(depth: number, fullDepth: number): void {
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new OctreeError(`depth must be an integer in 1..${MAX_DEPTH}, got ${depth}`);
  }
  if (!Number.isInteger(fullDepth) || fullDepth < 0 || fullDepth > depth) {
    throw new OctreeError(`fullDepth must be an integer in 0..depth (${depth}), got ${fullDepth}`);
  }
}

/**
 * Build the octree of one shape (anchor-spec §2.4). Points are scaled from [-1, 1) to [0, 2^depth) in
 * float32 arithmetic, like the reference, so cell assignment matches it bit for bit.
 */
export function buildOctree(input: BuildInput, opts: BuildOptions): Octree {
  const { depth, fullDepth } = opts;
  checkDepths(depth, fullDepth);
  const pts = input.points;
  if (pts.length % 3 !== 0) throw new OctreeError(`points length ${pts.length} is not a multiple of 3`);
  const n = pts.length / 3;
  if (n === 0) throw new OctreeError('cannot build an octree from an empty point cloud');
  const C = input.featureChannels ?? 0;
  const normals = input.normals ?? null;
  const labels = input.labels ?? null;
  const feats = input.features ?? null;
  if (normals && normals.length !== 3 * n) throw new OctreeError(`normals length ${normals.length} != 3 x ${n} points`);
  if (labels && labels.length !== n) throw new OctreeError(`labels length ${labels.length} != ${n} points`);
  if (feats && feats.length !== C * n) throw new OctreeError(`features length ${feats.length} != ${C} x ${n} points`);

  // 1. Scale to cell units and key every point.
  const res = 1 << depth;
  const half = res / 2;
  const clamp = opts.bounds === 'clamp';
  const scaled = new Float32Array(3 * n);
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    for (let a = 0; a < 3; a++) {
      let v = pts[3 * i + a]!;
      if (!(v >= -1 && v < 1)) {
        if (Number.isNaN(v) || !clamp || !Number.isFinite(v)) {
          throw new OctreeError(
            `point ${i} (${pts[3 * i]}, ${pts[3 * i + 1]}, ${pts[3 * i + 2]}) is ${Number.isNaN(v) ? 'NaN' : 'outside the octree box [-1, 1)'}` +
              (clamp ? '' : '; normalize the cloud first or build with bounds "clamp"'),
          );
        }
        v = v < -1 ? -1 : 1;
      }
      // float32 like the reference: (p + 1) rounded to float32, times a power of two (exact).
      const s = Math.fround(v + 1) * half;
      let cell = Math.floor(s);
      if (cell >= res) cell = res - 1; // only reachable with bounds 'clamp' at exactly +1.0
      scaled[3 * i + a] = s;
      if (a === 0) c0 = cell;
      else if (a === 1) c1 = cell;
      else c2 = cell;
    }
    keys[i] = xyzToKey(c0, c1, c2);
  }

  // 2. Sort, unique leaves, point -> leaf.
  const order = radixSortIndices(keys, 3 * depth);
  const pointToLeaf = new Int32Array(n);
  const leafStart: number[] = [];
  const leafKeysArr: number[] = [];
  let prev = -1;
  for (let j = 0; j < n; j++) {
    const k = keys[order[j]!]!;
    if (k !== prev) {
      leafStart.push(j);
      leafKeysArr.push(k);
      prev = k;
    }
    pointToLeaf[order[j]!] = leafKeysArr.length - 1;
  }
  leafStart.push(n);
  const nLeaves = leafKeysArr.length;

  // 3. Node layers from the finest depth up to the full depth.
  const keysByDepth: Int32Array[] = new Array(depth + 1);
  const childrenByDepth: Int32Array[] = new Array(depth + 1);
  const nnum: number[] = new Array(depth + 1).fill(0);
  const nnumNempty: number[] = new Array(depth + 1).fill(0);
  let nodeKeys = Int32Array.from(leafKeysArr);
  for (let d = depth; d > fullDepth; d--) {
    const parents: number[] = [];
    const parentOf = new Int32Array(nodeKeys.length);
    let last = -1;
    for (let j = 0; j < nodeKeys.length; j++) {
      const p = nodeKeys[j]! >>> 3;
      if (p !== last) {
        parents.push(p);
        last = p;
      }
      parentOf[j] = parents.length - 1;
    }
    const rows = 8 * parents.length;
    const k = new Int32Array(rows);
    const ch = new Int32Array(rows).fill(-1);
    for (let p = 0; p < parents.length; p++) {
      const base = parents[p]! << 3;
      for (let s = 0; s < 8; s++) k[8 * p + s] = base + s;
    }
    for (let j = 0; j < nodeKeys.length; j++) ch[8 * parentOf[j]! + (nodeKeys[j]! & 7)] = j;
    keysByDepth[d] = k;
    childrenByDepth[d] = ch;
    nnum[d] = rows;
    nnumNempty[d] = nodeKeys.length;
    nodeKeys = Int32Array.from(parents);
  }
  for (let d = fullDepth; d >= 0; d--) {
    const rows = 1 << (3 * d);
    const k = new Int32Array(rows);
    for (let r = 0; r < rows; r++) k[r] = r;
    let ch: Int32Array;
    if (d === fullDepth) {
      ch = new Int32Array(rows).fill(-1);
      for (let j = 0; j < nodeKeys.length; j++) ch[nodeKeys[j]!] = j;
      nnumNempty[d] = nodeKeys.length;
    } else {
      ch = k.slice();
      nnumNempty[d] = rows;
    }
    keysByDepth[d] = k;
    childrenByDepth[d] = ch;
    nnum[d] = rows;
  }

  // 4. Leaf signals.
  const leafPoints = new Float32Array(3 * nLeaves);
  const leafNormals = normals ? new Float32Array(3 * nLeaves) : null;
  const leafFeatures = feats && C > 0 ? new Float32Array(C * nLeaves) : null;
  const leafLabels = labels ? new Int32Array(nLeaves) : null;
  const labelCount = labels ? new Map<number, number>() : null;
  for (let l = 0; l < nLeaves; l++) {
    const s = leafStart[l]!;
    const e = leafStart[l + 1]!;
    const cnt = e - s;
    let px = 0;
    let py = 0;
    let pz = 0;
    let nx = 0;
    let ny = 0;
    let nz = 0;
    for (let j = s; j < e; j++) {
      const i = order[j]!;
      px += scaled[3 * i]!;
      py += scaled[3 * i + 1]!;
      pz += scaled[3 * i + 2]!;
      if (normals) {
        nx += normals[3 * i]!;
        ny += normals[3 * i + 1]!;
        nz += normals[3 * i + 2]!;
      }
    }
    leafPoints[3 * l] = px / cnt;
    leafPoints[3 * l + 1] = py / cnt;
    leafPoints[3 * l + 2] = pz / cnt;
    if (leafNormals && normals) {
      const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
      if (len < 1e-6) {
        // O-CNN's fallback: the normals cancel out, keep the first point's.
        const i = order[s]!;
        leafNormals[3 * l] = normals[3 * i]!;
        leafNormals[3 * l + 1] = normals[3 * i + 1]!;
        leafNormals[3 * l + 2] = normals[3 * i + 2]!;
      } else {
        leafNormals[3 * l] = nx / len;
        leafNormals[3 * l + 1] = ny / len;
        leafNormals[3 * l + 2] = nz / len;
      }
    }
    if (leafFeatures && feats) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let j = s; j < e; j++) acc += feats[C * order[j]! + c]!;
        leafFeatures[C * l + c] = acc / cnt;
      }
    }
    if (leafLabels && labels && labelCount) {
      labelCount.clear();
      let best = -1;
      let bestCount = 0;
      for (let j = s; j < e; j++) {
        const lab = labels[order[j]!]!;
        if (lab < 0) continue;
        const c = (labelCount.get(lab) ?? 0) + 1;
        labelCount.set(lab, c);
        // majority; ties go to the smaller label so the result does not depend on point order
        if (c > bestCount || (c === bestCount && lab < best)) {
          best = lab;
          bestCount = c;
        }
      }
      leafLabels[l] = best;
    }
  }

  const perShape = (v: number): Int32Array => Int32Array.of(v);
  return new Octree({
    depth,
    fullDepth,
    batchSize: 1,
    keys: keysByDepth,
    children: childrenByDepth,
    nnum,
    nnumNempty,
    batchNnum: nnum.map(perShape),
    batchNnumNempty: nnumNempty.map(perShape),
    points: leafPoints,
    normals: leafNormals,
    features: leafFeatures,
    featureChannels: leafFeatures ? C : 0,
    labels: leafLabels,
    pointToLeaf,
    batchPoints: Int32Array.of(n),
  });
}
