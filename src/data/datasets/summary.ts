import { promises as fs } from 'node:fs';
import { formatFromExtension, readShape } from '../shape.ts';
import type { UpAxis } from '../up-axis.ts';
import { openDataFolder } from './detect.ts';
import type { Dataset, DatasetItem, DatasetSource } from './types.ts';

/** What `rq3d info DIR` reports about a data folder. */
export interface DatasetSummary {
  dir: string;
  /** The layout recognised (the reader that opened it) and the dataset's name. */
  layout: DatasetSource['kind'] | 'in-memory';
  name: string;
  classes: string[];
  /** Items per split (a folder of shapes has only 'train'). */
  splits: { train: number; test: number };
  /** Points per shape (vertices for meshes) over `measured` shapes spread evenly over the items. */
  pointsPerShape: { min: number; median: number; max: number; measured: number; meshes: number } | null;
  /** Whether the measured shapes carry normals: all, none or some of them. */
  normals: 'all' | 'none' | 'some' | null;
  /** The up axis the shapes are read with, and whether the reader declared it or an override gave it. */
  upAxis: UpAxis;
  upAxisFrom: 'reader' | 'override';
  /** Files the dataset lists that do not exist (first 20), and how many there are. */
  missing: string[];
  missingCount: number;
}

export interface SummaryOptions {
  upAxis?: UpAxis;
  /** How many shapes to read for the point counts (0: all); default 200. */
  shapes?: number;
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** `count` indices spread evenly over 0..n-1 (all when count is 0 or >= n), so every class is sampled. */
function spread(n: number, count: number): number[] {
  if (count <= 0 || count >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * n) / count));
}

async function measure(ds: Dataset, item: DatasetItem): Promise<{ points: number; normals: boolean; mesh: boolean }> {
  // a file the readers know is read as it is (a mesh reports its vertices); h5 items and label-carrying
  // layouts go through the dataset's own loader
  if (item.file && formatFromExtension(item.file) && ds.source?.kind !== 'shapenet-part') {
    const s = await readShape(item.file);
    if (s.mesh) return { points: s.mesh.vertices.length / 3, normals: s.mesh.vertexNormals !== null, mesh: true };
    return { points: s.cloud!.points.length / 3, normals: s.cloud!.normals !== null, mesh: false };
  }
  const pc = await ds.load(item);
  return { points: pc.points.length / 3, normals: pc.normals !== null, mesh: false };
}

export async function datasetSummary(dir: string, opts: SummaryOptions = {}): Promise<DatasetSummary> {
  const ds = await openDataFolder(dir);
  const absent = new Set<string>();
  for (const it of ds.items) if (it.file && !absent.has(it.file) && !(await fileExists(it.file))) absent.add(it.file);
  const present = ds.items.filter((it) => !it.file || !absent.has(it.file));
  const counts: number[] = [];
  let withNormals = 0,
    meshes = 0;
  for (const i of spread(present.length, opts.shapes ?? 200)) {
    const m = await measure(ds, present[i]!);
    counts.push(m.points);
    if (m.normals) withNormals++;
    if (m.mesh) meshes++;
  }
  counts.sort((a, b) => a - b);
  const n = counts.length;
  return {
    dir,
    layout: ds.source?.kind ?? 'in-memory',
    name: ds.name,
    classes: ds.classes,
    splits: { train: ds.items.filter((i) => i.split === 'train').length, test: ds.items.filter((i) => i.split === 'test').length },
    pointsPerShape:
      n > 0
        ? { min: counts[0]!, median: n % 2 ? counts[(n - 1) / 2]! : (counts[n / 2 - 1]! + counts[n / 2]!) / 2, max: counts[n - 1]!, measured: n, meshes }
        : null,
    normals: n === 0 ? null : withNormals === n ? 'all' : withNormals === 0 ? 'none' : 'some',
    upAxis: opts.upAxis ?? ds.upAxis,
    upAxisFrom: opts.upAxis ? 'override' : 'reader',
    missing: [...absent].slice(0, 20),
    missingCount: absent.size,
  };
}
