import { writeFileAtomic } from '../util/atomic.ts';
import { encodePly, type PlyWriteOptions } from './formats/ply.ts';
import { encodePoints } from './formats/points.ts';
import type { PointCloud } from './pointcloud.ts';

/** Write a cloud as PLY (binary little endian by default), atomically. */
export async function writePly(file: string, pc: PointCloud, opts: PlyWriteOptions = {}): Promise<void> {
  await writeFileAtomic(file, encodePly(pc, opts));
}

/** Write a cloud as an O-CNN `.points` file, atomically. */
export async function writePoints(file: string, pc: PointCloud): Promise<void> {
  await writeFileAtomic(file, encodePoints(pc));
}
