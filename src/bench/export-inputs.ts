/**
 * `rq3d bench --export-inputs DIR`: the exact inputs of the model and conv-layer benches, for an external
 * harness that times a peer implementation on the same data (../shared/peer/side-by-side reads them):
 *
 *   plain.bin, rq30.bin   the bench's 32 input clouds, after RQ n=30 for rq30 (what the octrees are built
 *                         from); per cloud: int32 n, float32 xyz[3n], float32 normals[3n], little endian
 *   table_<n>.bin         the conv bench's neighbour tables for n = 20000, 5000, 1000, 100000: int32 [n·27],
 *                         -1 = empty neighbour
 *   manifest.json         the step definition of every bench case (model, depth, batch, RQ, optimizer,
 *                         losses, repetitions) and the file layout
 *
 * The clouds are built by the same code as the bench (syntheticShapes, prepareSample with the bench's spec
 * and seeds); a cloud's points do not depend on the octree depth, so one file serves depths 5 and 6.
 */
import * as path from 'node:path';
import { HRNET_PRESETS } from '../models/presets.ts';
import { prepareSample, sampleSeed } from '../pipeline/sample.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { CLASSES, HRNET_CLUSTERS, RQ, defaultModelCases, specOf, caseKey } from './whole-model.ts';
import { syntheticShapes } from './octree.ts';
import { sphereShellTable } from './sphere-shell.ts';
import { DEFAULT_CONV_CASES } from './conv-layer.ts';

/** The bench's input settings (src/bench/whole-model.ts runModelBench defaults). */
export const BENCH_INPUTS = { shapes: 32, seed: 1, points: 3000, fullDepth: 2, reps: 5, warmup: 2 } as const;
export const TABLE_SIZES = [20000, 5000, 1000, 100000] as const;

export interface ExportedInputs {
  dir: string;
  files: string[];
  /** Mean non-empty leaves at depth 6 of plain / rq30 (a sanity figure for the harness). */
  meanLeavesD6: { plain: number; rq30: number };
}

/** One clouds file: for each cloud int32 n, float32 xyz[3n], float32 normals[3n]. */
function cloudsFile(clouds: Array<{ points: Float32Array; normals: Float32Array | null }>): Uint8Array {
  const size = clouds.reduce((s, c) => s + 4 + 24 * (c.points.length / 3), 0);
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  let off = 0;
  for (const c of clouds) {
    const n = c.points.length / 3;
    if (!c.normals || c.normals.length !== 3 * n) throw new Error('export-inputs: a bench cloud has no normals');
    view.setInt32(off, n, true);
    off += 4;
    for (const arr of [c.points, c.normals]) {
      for (let i = 0; i < 3 * n; i++, off += 4) view.setFloat32(off, arr[i]!, true);
    }
  }
  return new Uint8Array(buf);
}

function int32File(a: Int32Array): Uint8Array {
  const buf = new ArrayBuffer(4 * a.length);
  const view = new DataView(buf);
  for (let i = 0; i < a.length; i++) view.setInt32(4 * i, a[i]!, true);
  return new Uint8Array(buf);
}

/** Writes the inputs and the manifest into dir (each file through a temp file and a rename). */
export async function exportBenchInputs(dir: string): Promise<ExportedInputs> {
  const out = path.resolve(dir);
  const { shapes, seed, points, fullDepth } = BENCH_INPUTS;
  const raw = syntheticShapes(shapes, seed, points);
  const files: string[] = [];
  const meanLeaves = { plain: 0, rq30: 0 };
  for (const rq of [false, true]) {
    const spec = specOf({ model: 'lenet', depth: 6, batch: shapes, rq, pipeline: false, memory: false }, fullDepth);
    const prepared = raw.map((cloud, i) => prepareSample(cloud, spec, sampleSeed(seed, 0, i)));
    const name = rq ? 'rq30' : 'plain';
    meanLeaves[name] = Math.round((prepared.reduce((s, p) => s + p.octree.nnumNempty[6]!, 0) / prepared.length) * 10) / 10;
    await writeFileAtomic(path.join(out, `${name}.bin`), cloudsFile(prepared.map((p) => ({ points: p.points.points, normals: p.points.normals }))));
    files.push(`${name}.bin`);
  }
  const tables: Array<{ n: number; file: string; emptyFraction: number; grid: number }> = [];
  for (const n of TABLE_SIZES) {
    const t = sphereShellTable(n);
    await writeFileAtomic(path.join(out, `table_${n}.bin`), int32File(t.idx));
    files.push(`table_${n}.bin`);
    tables.push({ n, file: `table_${n}.bin`, emptyFraction: Math.round(t.emptyFraction * 1e4) / 1e4, grid: t.grid });
  }
  const hr = HRNET_PRESETS.cpu;
  const manifest = {
    kind: 'rq3d-bench-inputs',
    version: 1,
    files: {
      clouds: {
        'plain.bin': 'no RQ',
        'rq30.bin': `RQ n=${RQ.bins} ${RQ.variant}, p=1`,
        layout: 'per cloud: int32 n, float32 xyz[3n], float32 normals[3n]; little endian; 32 clouds',
      },
      tables: { layout: 'int32 [n*27] row-major, neighbour k = (dz, dy, dx) in -1..1 with dx fastest; -1 = empty', entries: tables },
    },
    clouds: {
      count: shapes,
      source: `syntheticShapes(${shapes}, ${seed}, ${points}) (src/bench/octree.ts)`,
      preprocessing: `prepareSample(cloud, spec, sampleSeed(${seed}, 0, i)) with transform 'none' (src/pipeline/sample.ts: clip to the unit cube, then RQ for rq30)`,
      meanNonEmptyLeavesD6: meanLeaves,
      batches: 'a case of batch B uses clouds 0 .. B-1',
    },
    octree: { fullDepth, features: 'ND (normal + displacement, 4 channels)', nempty: false, prebuilt: true },
    step: {
      train: 'forward (training mode), loss, backward, SGD; the loss read back',
      forward: 'inference mode, outputs read back',
      optimizer: { kind: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 5e-4 },
      timing: { warmup: BENCH_INPUTS.warmup, reps: BENCH_INPUTS.reps, statistic: 'median' },
    },
    cases: defaultModelCases(false).map((c) => ({
      key: caseKey(c),
      model: c.model,
      depth: c.depth,
      batch: c.batch,
      clouds: c.rq ? 'rq30.bin' : 'plain.bin',
      net:
        c.model === 'lenet'
          ? { config: `OctreeLeNet(4, ${CLASSES}, ${c.depth})`, loss: `softmax cross-entropy, label of shape i = (7 i) mod ${CLASSES}` }
          : c.model === 'resnet'
            ? { config: `OctreeResNet(4, ${CLASSES}, ${c.depth}, resblocks 2)`, loss: `softmax cross-entropy, label of shape i = (7 i) mod ${CLASSES}` }
            : {
                config: `MidHRNet(HRNET_PRESETS.cpu): depth ${hr.depth}, front ${hr.frontChannels}, branches ${hr.channels.join('/')}, ${hr.resblocks} resblock(s), fc1 ${hr.fc1}, projection ${hr.projection}, point head ${hr.pointHidden} -> ${hr.pointOut}`,
                loss: `MID shape + point instance discrimination, temperature 0.1, fixed banks (shape bank B x ${hr.projection}, point bank B·${HRNET_CLUSTERS} x ${hr.pointOut}); shape ids 0..B-1`,
                pointLabels: `per point: (16·cx + 4·cy + cz) mod ${HRNET_CLUSTERS}, c = min(3, max(0, floor((v + 1)·2))) of x, y, z; a finest node takes the majority label of its points`,
              },
    })),
    conv: DEFAULT_CONV_CASES.map((c) => ({ ...c, table: `table_${c.n}.bin` })),
  };
  await writeFileAtomic(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  files.push('manifest.json');
  return { dir: out, files, meanLeavesD6: meanLeaves };
}
