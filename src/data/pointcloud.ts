/**
 * The one in-memory shape type of rq3d. Everything before the network is plain typed arrays:
 * readers produce a `PointCloud` (or a `Mesh`, which `sampleMesh` turns into one), transforms map
 * clouds to clouds, and the octree is built from `points` (+ `normals`, `labels`, `features`).
 */
export interface PointCloud {
  /** xyz, interleaved, length 3N. */
  points: Float32Array;
  /** Unit normals, interleaved, length 3N, or null when the source had none. */
  normals: Float32Array | null;
  /** One integer label per point (part id, cluster id ...); negative = unlabelled. */
  labels: Int32Array | null;
  /** Extra per-point channels, interleaved N x featureChannels (colour, intensity ...). */
  features: Float32Array | null;
  featureChannels: number;
}

/** A triangle mesh: vertices (3V) and triangles (3F vertex indices); polygons are already triangulated. */
export interface Mesh {
  vertices: Float32Array;
  faces: Uint32Array;
  /** Per-vertex normals when the file had them. */
  vertexNormals: Float32Array | null;
}

export function pointCount(pc: PointCloud): number {
  return pc.points.length / 3;
}

export function makePointCloud(points: Float32Array, extra: Partial<Omit<PointCloud, 'points'>> = {}): PointCloud {
  return {
    points,
    normals: extra.normals ?? null,
    labels: extra.labels ?? null,
    features: extra.features ?? null,
    featureChannels: extra.featureChannels ?? 0,
  };
}

/** Keep the points whose index is listed, slicing every attribute alike. */
export function selectPoints(pc: PointCloud, keep: ArrayLike<number>): PointCloud {
  const n = keep.length;
  const C = pc.featureChannels;
  const points = new Float32Array(3 * n);
  const normals = pc.normals ? new Float32Array(3 * n) : null;
  const labels = pc.labels ? new Int32Array(n) : null;
  const features = pc.features ? new Float32Array(C * n) : null;
  for (let j = 0; j < n; j++) {
    const i = keep[j]!;
    points[3 * j] = pc.points[3 * i]!;
    points[3 * j + 1] = pc.points[3 * i + 1]!;
    points[3 * j + 2] = pc.points[3 * i + 2]!;
    if (normals) {
      normals[3 * j] = pc.normals![3 * i]!;
      normals[3 * j + 1] = pc.normals![3 * i + 1]!;
      normals[3 * j + 2] = pc.normals![3 * i + 2]!;
    }
    if (labels) labels[j] = pc.labels![i]!;
    if (features) for (let c = 0; c < C; c++) features[C * j + c] = pc.features![C * i + c]!;
  }
  return { points, normals, labels, features, featureChannels: C };
}

/** Deep copy. */
export function clonePointCloud(pc: PointCloud): PointCloud {
  return {
    points: pc.points.slice(),
    normals: pc.normals ? pc.normals.slice() : null,
    labels: pc.labels ? pc.labels.slice() : null,
    features: pc.features ? pc.features.slice() : null,
    featureChannels: pc.featureChannels,
  };
}

/** Axis-aligned bounding box of the points. */
export function boundingBox(points: Float32Array): { min: [number, number, number]; max: [number, number, number] } {
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 3) {
    for (let a = 0; a < 3; a++) {
      const v = points[i + a]!;
      if (v < min[a]!) min[a] = v;
      if (v > max[a]!) max[a] = v;
    }
  }
  return { min, max };
}

/** Distinct coordinate values per axis of an [x, y, z, …] array (how many levels quantization left). */
export function distinctPerAxis(points: Float32Array): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const s = new Set<number>();
    for (let i = a; i < points.length; i += 3) s.add(points[i]!);
    out[a] = s.size;
  }
  return out;
}
