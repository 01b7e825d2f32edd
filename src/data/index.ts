/** Public surface of the data layer: readers, writers, geometry helpers, datasets. */
export * from './pointcloud.ts';
export {
  readShape,
  parseShape,
  loadPointCloud,
  shapeToCloud,
  sniffFormat,
  formatFromExtension,
  type Shape,
  type ShapeFormat,
  type LoadOptions,
  type NormalsMode,
} from './shape.ts';
export { writePly, writePoints } from './write.ts';
export { encodePly, parsePly, type PlyWriteOptions } from './formats/ply.ts';
export { encodePoints, parsePoints } from './formats/points.ts';
export { encodePcd, parsePcd } from './formats/pcd.ts';
export { parseOff } from './formats/off.ts';
export { parseObj } from './formats/obj.ts';
export { parseXyz } from './formats/xyz.ts';
export { sampleMesh, meshArea } from './sample.ts';
export { estimateNormals, orientOutward, orientByPropagation, type NormalOrientation, type NormalOptions } from './normals.ts';
export {
  normalizeCloud,
  boundingSphere,
  bboxNormalization,
  sphereNormalization,
  applyNormalization,
  type NormalizeMode,
  type Normalization,
} from './normalize.ts';
export { KdTree } from './kdtree.ts';
