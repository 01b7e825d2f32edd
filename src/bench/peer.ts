/**
 * The yardsticks: ocnn-pytorch 2.3.2 on PyTorch 1.13.1 CPU with 2 threads, measured on the machine kind CI
 * uses (shared/reference/peer-ocnn.md), and PyTorch's octree conv layer on the same neighbour tables
 * (shared/reference/tfjs-eval.md §2). Treat them as +-15 %.
 */
import { PEER_OCNN } from './octree.ts';

export interface PeerModelFigures {
  run: string;
  batch: number;
  trainShapesPerSec: number;
  fwdShapesPerSec: number;
  /** With glibc's allocator tuned (no code change), train only; null where not given. */
  trainShapesPerSecTunedAlloc: number | null;
  /** Mean non-empty nodes per depth 0..D. */
  nodes: number[];
}

/** Keyed like the model bench's cases: `<model>_d<depth>[rq]`. */
export const PEER_OCNN_MODELS: Record<string, PeerModelFigures> = {
  lenet_d5: { run: 'cls_lenet_d5', batch: 32, trainShapesPerSec: 63.68, fwdShapesPerSec: 160.19, trainShapesPerSecTunedAlloc: 78, nodes: [1, 8, 37, 144, 534, 1522] },
  lenet_d6: { run: 'cls_lenet_d6', batch: 32, trainShapesPerSec: 28.89, fwdShapesPerSec: 79.88, trainShapesPerSecTunedAlloc: 41, nodes: [1, 8, 37, 144, 534, 1522, 2475] },
  lenet_d6rq: { run: 'cls_lenet_d6_quant30', batch: 32, trainShapesPerSec: 37.75, fwdShapesPerSec: 99.71, trainShapesPerSecTunedAlloc: 53, nodes: [1, 8, 35, 138, 446, 926, 1259] },
  resnet_d5: { run: 'cls_resnet_d5', batch: 32, trainShapesPerSec: 18.96, fwdShapesPerSec: 53.02, trainShapesPerSecTunedAlloc: 30, nodes: [1, 8, 37, 144, 534, 1522] },
  resnet_d6: { run: 'cls_resnet_d6', batch: 32, trainShapesPerSec: 8.82, fwdShapesPerSec: 27.33, trainShapesPerSecTunedAlloc: 15.2, nodes: [1, 8, 37, 144, 534, 1522, 2475] },
  resnet_d6rq: { run: 'cls_resnet_d6_quant30', batch: 32, trainShapesPerSec: 11.59, fwdShapesPerSec: 44.71, trainShapesPerSecTunedAlloc: null, nodes: [1, 8, 35, 138, 446, 926, 1259] },
};

/**
 * ocnn-pytorch's classification HRNet(4, 40, stages=3) at depth 6, batch 8: the closest stand-in the peer
 * has for MID-Net's backbone. It is not the same network as MidHRNet's cpu preset, so no ratio is taken.
 */
export const PEER_OCNN_HRNET: PeerModelFigures = {
  run: 'cls_hrnet_d6', batch: 8, trainShapesPerSec: 1.94, fwdShapesPerSec: 6.26, trainShapesPerSecTunedAlloc: null, nodes: [1, 8, 38, 141, 500, 1503, 2480],
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

export const PEER_YARDSTICKS = {
  source: 'shared/reference/peer-ocnn.md (ocnn-pytorch 2.3.2, PyTorch 1.13.1 CPU, 2 threads, AMD EPYC AVX-512, 2 cores; +-15 %) and tfjs-eval.md §2 (conv layer)',
  models: PEER_OCNN_MODELS,
  hrnet: PEER_OCNN_HRNET,
  segnetD6: { batch: 16, trainShapesPerSec: 2.89, fwdShapesPerSec: 3.12, trainShapesPerSecTunedAlloc: 6.6 },
  unetD6: { batch: 16, trainShapesPerSec: 0.41, fwdShapesPerSec: 0.37, trainShapesPerSecTunedAlloc: 0.69 },
  /** Train-step speed-up from RQ n=30 at depth 6, as installed and with the allocator tuned. */
  rq30TrainSpeedupD6: { lenet: 1.31, resnet: 1.31, lenetTunedAlloc: 1.28, resnetTunedAlloc: 1.09 },
  octree: PEER_OCNN,
  conv: PEER_TORCH_CONV,
  /** PyTorch's own sgemm on 2 threads (GFLOP/s), depending on load. */
  sgemmGflops: [116, 211] as [number, number],
};
