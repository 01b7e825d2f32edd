/**
 * The yardsticks: ocnn-pytorch 2.3.2 on PyTorch 1.13.1 CPU with 2 threads. Two kinds:
 * - stored figures, measured on ANOTHER machine (AMD EPYC, AVX-512, 2 vCPUs, 2026-11-26:
 *   shared/reference/peer-ocnn.md; the conv layer from tfjs-eval.md §2); every report labels them with that
 *   machine and date, and they are only a rough scale (+-15 % there, more across CPUs);
 * - a side-by-side result (the JSON that ../shared/peer/side-by-side prints), passed as `rq3d bench --peer
 *   FILE`: the peer measured on this machine, in the same run as an rq3d of its own, with its date and CPU.
 * Ratios against a peer that ran elsewhere say little: on an Intel Xeon the same peer runs at other speeds.
 */
import * as fs from 'node:fs';
import { UserError } from '../util/errors.ts';

export interface PeerModelFigures {
  run: string;
  batch: number;
  trainShapesPerSec: number;
  fwdShapesPerSec: number;
  /** With glibc's allocator tuned (no code change), train only; null where not given. */
  trainShapesPerSecTunedAlloc: number | null;
  /** Mean non-empty nodes per depth 0..D (stored figures; empty for a side-by-side result). */
  nodes: number[];
  /** Peak RSS of the peer's process (side-by-side: installed / tuned allocator), when measured. */
  peakRssMiB?: number | null;
  peakRssMiBTuned?: number | null;
}

/** Keyed like the model bench's cases: `<model>_d<depth>[rq]`. */
export const PEER_OCNN_MODELS: Record<string, PeerModelFigures> = {
  lenet_d5: {
    run: 'cls_lenet_d5',
    batch: 32,
    trainShapesPerSec: 63.68,
    fwdShapesPerSec: 160.19,
    trainShapesPerSecTunedAlloc: 78,
    nodes: [1, 8, 37, 144, 534, 1522],
  },
  lenet_d6: {
    run: 'cls_lenet_d6',
    batch: 32,
    trainShapesPerSec: 28.89,
    fwdShapesPerSec: 79.88,
    trainShapesPerSecTunedAlloc: 41,
    nodes: [1, 8, 37, 144, 534, 1522, 2475],
  },
  lenet_d6rq: {
    run: 'cls_lenet_d6_quant30',
    batch: 32,
    trainShapesPerSec: 37.75,
    fwdShapesPerSec: 99.71,
    trainShapesPerSecTunedAlloc: 53,
    nodes: [1, 8, 35, 138, 446, 926, 1259],
  },
  resnet_d5: {
    run: 'cls_resnet_d5',
    batch: 32,
    trainShapesPerSec: 18.96,
    fwdShapesPerSec: 53.02,
    trainShapesPerSecTunedAlloc: 30,
    nodes: [1, 8, 37, 144, 534, 1522],
  },
  resnet_d6: {
    run: 'cls_resnet_d6',
    batch: 32,
    trainShapesPerSec: 8.82,
    fwdShapesPerSec: 27.33,
    trainShapesPerSecTunedAlloc: 15.2,
    nodes: [1, 8, 37, 144, 534, 1522, 2475],
  },
  resnet_d6rq: {
    run: 'cls_resnet_d6_quant30',
    batch: 32,
    trainShapesPerSec: 11.59,
    fwdShapesPerSec: 44.71,
    trainShapesPerSecTunedAlloc: null,
    nodes: [1, 8, 35, 138, 446, 926, 1259],
  },
};

/**
 * ocnn-pytorch's classification HRNet(4, 40, stages=3) at depth 6, batch 8: the closest stand-in the peer
 * has for MID-Net's backbone. It is not the same network as MidHRNet's cpu preset, so no ratio is taken.
 */
export const PEER_OCNN_HRNET: PeerModelFigures = {
  run: 'cls_hrnet_d6',
  batch: 8,
  trainShapesPerSec: 1.94,
  fwdShapesPerSec: 6.26,
  trainShapesPerSecTunedAlloc: null,
  nodes: [1, 8, 38, 141, 500, 1503, 2480],
};

export interface PeerConvFigures {
  n: number;
  cin: number;
  cout: number;
  fwdMs: number;
  fwdBwdMs: number;
}

/** One octree conv layer, PyTorch 1.13.1 CPU, 2 threads: index_select + matmul, fwd+bwd via backward(dy). */
export const PEER_TORCH_CONV: PeerConvFigures[] = [
  { n: 20000, cin: 32, cout: 32, fwdMs: 43.2, fwdBwdMs: 126 },
  { n: 5000, cin: 64, cout: 64, fwdMs: 27.1, fwdBwdMs: 61 },
  { n: 1000, cin: 256, cout: 256, fwdMs: 26.4, fwdBwdMs: 78 },
  { n: 100000, cin: 4, cout: 32, fwdMs: 23.7, fwdBwdMs: 200 },
];

/** Where the stored figures were measured: not this machine unless it is the same kind of CPU. */
export const STORED_PEER_MACHINE = 'AMD EPYC (AVX-512), 2 vCPUs';
export const STORED_PEER_DATE = '2026-11-26';

/**
 * The octree side of the same runs (reference/peer-ocnn.md): one shape's build (3,000 points), a batch of 32
 * merged with its neighbour tables, and the mean non-empty nodes per depth of the inputs (plain, and RQ n=30
 * at depth 6): what src/bench/octree.ts compares with.
 */
export const PEER_OCNN_OCTREE = {
  machine: STORED_PEER_MACHINE,
  date: STORED_PEER_DATE,
  buildMsPerShape: { 5: 0.71, 6: 1.0 } as Record<number, number>,
  mergeNeighborsMs: { 5: 43, 6: 178 } as Record<number, number>,
  nodes: {
    5: [1, 8, 37, 144, 534, 1522],
    6: [1, 8, 37, 144, 534, 1522, 2475],
    rq30d6: [1, 8, 35, 138, 446, 926, 1259],
  } as Record<string, number[]>,
};

export const PEER_YARDSTICKS = {
  source: 'shared/reference/peer-ocnn.md (ocnn-pytorch 2.3.2, PyTorch 1.13.1 CPU, 2 threads; +-15 %) and tfjs-eval.md §2 (conv layer)',
  machine: STORED_PEER_MACHINE,
  date: STORED_PEER_DATE,
  models: PEER_OCNN_MODELS,
  hrnet: PEER_OCNN_HRNET,
  segnetD6: { batch: 16, trainShapesPerSec: 2.89, fwdShapesPerSec: 3.12, trainShapesPerSecTunedAlloc: 6.6 },
  unetD6: { batch: 16, trainShapesPerSec: 0.41, fwdShapesPerSec: 0.37, trainShapesPerSecTunedAlloc: 0.69 },
  /** Train-step speed-up from RQ n=30 at depth 6, as installed and with the allocator tuned. */
  rq30TrainSpeedupD6: { lenet: 1.31, resnet: 1.31, lenetTunedAlloc: 1.28, resnetTunedAlloc: 1.09 },
  octree: PEER_OCNN_OCTREE,
  conv: PEER_TORCH_CONV,
  /** PyTorch's own sgemm on 2 threads (GFLOP/s), depending on load. */
  sgemmGflops: [116, 211] as [number, number],
};

/** The peer figures a bench run compares with, and where and when they were measured. */
export interface PeerSource {
  kind: 'stored' | 'side-by-side';
  machine: string;
  date: string;
  source: string;
  /** Keyed like the model bench's cases (`<model>_d<depth>[rq]`, `_b<batch>` when not the key's usual batch). */
  models: Record<string, PeerModelFigures>;
}

export const STORED_PEER: PeerSource = {
  kind: 'stored',
  machine: STORED_PEER_MACHINE,
  date: STORED_PEER_DATE,
  source: PEER_YARDSTICKS.source,
  models: PEER_OCNN_MODELS,
};

/** The peer's figures for a case of this key and batch, or null (figures of another batch are not compared). */
export function peerFiguresFor(src: PeerSource, key: string, batch: number): PeerModelFigures | null {
  for (const k of [key, `${key}_b${batch}`]) {
    const f = src.models[k];
    if (f && f.batch === batch) return f;
  }
  return null;
}

interface SideBySideSide {
  trainShapesPerSec?: number | null;
  fwdShapesPerSec?: number | null;
  peakRssMiB?: number | null;
}

/**
 * Reads the JSON that ../shared/peer/side-by-side prints (models part): its per-case peer and tuned-peer
 * medians become the yardstick, labelled with that run's date and CPU. A file that is not such a result is
 * a UserError naming it.
 */
export function readSideBySide(file: string): PeerSource {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`--peer ${file}: cannot read it as JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const o = j as {
    date?: string;
    machine?: { cpu?: string; cpus?: number };
    versions?: Record<string, unknown>;
    cases?: Record<string, { batch?: number; peer?: SideBySideSide; peerTuned?: SideBySideSide }>;
  };
  if (typeof o !== 'object' || o === null || typeof o.cases !== 'object' || o.cases === null) {
    throw new UserError(`--peer ${file}: not a side-by-side result (no "cases"; run ../shared/peer/side-by-side and save its stdout)`);
  }
  const models: Record<string, PeerModelFigures> = {};
  for (const [name, c] of Object.entries(o.cases)) {
    const train = c.peer?.trainShapesPerSec,
      fwd = c.peer?.fwdShapesPerSec;
    if (typeof c.batch !== 'number' || typeof train !== 'number' || typeof fwd !== 'number') continue;
    models[name] = {
      run: `side-by-side ${name}`,
      batch: c.batch,
      trainShapesPerSec: train,
      fwdShapesPerSec: fwd,
      trainShapesPerSecTunedAlloc: typeof c.peerTuned?.trainShapesPerSec === 'number' ? c.peerTuned.trainShapesPerSec : null,
      nodes: [],
      peakRssMiB: c.peer?.peakRssMiB ?? null,
      peakRssMiBTuned: c.peerTuned?.peakRssMiB ?? null,
    };
  }
  if (Object.keys(models).length === 0) throw new UserError(`--peer ${file}: no case with peer train and forward figures`);
  const cpu = o.machine?.cpu ?? 'unknown CPU';
  return {
    kind: 'side-by-side',
    machine: `${cpu}${o.machine?.cpus ? `, ${o.machine.cpus} vCPUs` : ''}`,
    date: typeof o.date === 'string' ? o.date : 'undated',
    source: `${file} (../shared/peer/side-by-side${o.versions?.ocnn ? `, ocnn ${String(o.versions.ocnn)}` : ''})`,
    models,
  };
}
