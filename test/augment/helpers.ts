import { makePointCloud, type PointCloud } from '../../src/data/pointcloud.ts';
import { Rng } from '../../src/util/rng.ts';

/** A random cloud with unit normals, labels and 2 feature channels, points in [-s, s)^3. */
export function randomCloud(rng: Rng, n: number, s = 0.9): PointCloud {
  const points = new Float32Array(3 * n);
  const normals = new Float32Array(3 * n);
  const labels = new Int32Array(n);
  const features = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) points[3 * i + a] = rng.range(-s, s);
    let x = rng.normal(),
      y = rng.normal(),
      z = rng.normal();
    const l = Math.hypot(x, y, z) || 1;
    x /= l;
    y /= l;
    z /= l;
    normals.set([x, y, z], 3 * i);
    labels[i] = rng.int(0, 9);
    features[2 * i] = rng.uniform();
    features[2 * i + 1] = rng.uniform();
  }
  return makePointCloud(points, { normals, labels, features, featureChannels: 2 });
}
