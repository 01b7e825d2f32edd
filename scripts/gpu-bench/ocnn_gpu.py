"""ocnn-pytorch on the GPU on the inputs rq3d's GPU bench exported (bench.mjs --export DIR): the same cases.

Usage: OCNN_DIR=<ocnn-pytorch source> python3 ocnn_gpu.py INPUTS_DIR [--tiny] > ocnn.json
Needs peer_bench.py (shared/peer, copied beside this file by build.sh) for the models matched to rq3d's
(PeerMidHRNet, the MID losses, grid labels) and its input readers. Everything runs on CUDA in float32; TF32
is off for the products so the figures are IEEE fp32 like rq3d's WGSL (the 'tf32' sgemm row shows the other).
Timing: torch.cuda.synchronize() around each step; median of REPS after WARMUP. Prints one JSON object.
Checking it without a GPU: OCNN_GPU_DEVICE=cpu python3 ocnn_gpu.py INPUTS --smoke runs every case once at
batch 2 on the CPU (the code paths of the GPU run, not its figures).
"""
import json
import os
import sys
import time

INPUTS = sys.argv[1]
TINY = '--tiny' in sys.argv
SMOKE = '--smoke' in sys.argv
os.environ['PEER_SHAPES'] = INPUTS
if os.environ.get('OCNN_DIR'):
  sys.path.insert(0, os.environ['OCNN_DIR'])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import peer_bench as pb  # noqa: E402  (ocnn, PeerMidHRNet, grid_labels, load_clouds, build_batch, StubOctree)
import ocnn  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
DEV = torch.device(os.environ.get('OCNN_GPU_DEVICE', 'cuda'))
REPS, WARMUP = (1, 0) if SMOKE else (1, 1) if TINY else (5, 2)


def sync():
  if DEV.type == 'cuda':
    torch.cuda.synchronize()
log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731


def timed(f, reps=REPS, warmup=WARMUP):
  runs = []
  for i in range(warmup + reps):
    sync()
    t0 = time.perf_counter()
    f()
    sync()
    if i >= warmup:
      runs.append(round((time.perf_counter() - t0) * 1000, 2))
  return {'ms': float(np.median(runs)), 'runs': runs}


def sgemm():
  out = []
  for tf32 in (False, True):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    for n in ((64,) if TINY or SMOKE else (1024, 2048, 4096)):
      a = torch.rand(n, n, device=DEV) * 2 - 1
      b = torch.rand(n, n, device=DEV) * 2 - 1
      t = timed(lambda: torch.mm(a, b))
      out.append({'n': n, 'tf32': tf32, 'ms': t['ms'], 'tflops': round(2 * n ** 3 / (t['ms'] * 1e9), 6)})
      log(f'torch.mm {n}^3 tf32={tf32}: {t["ms"]} ms')
  torch.backends.cuda.matmul.allow_tf32 = False
  return out


def conv():
  from ocnn.nn.octree_conv import OctreeConvFunction
  rows = []
  for n, cin, cout in (((256, 8, 8),) if TINY else ((20000, 32, 32), (5000, 64, 64), (1000, 256, 256), (100000, 4, 32))):
    idx = np.fromfile(os.path.join(INPUTS, f'table_{n}.bin'), np.int32).reshape(n, 27)
    neigh = torch.from_numpy(idx.astype(np.int64)).to(DEV)
    stub = pb.StubOctree(neigh)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(n, cin, generator=g) * 2 - 1).to(DEV).requires_grad_()
    w = (torch.rand(27, cin, cout, generator=g) * 0.2 - 0.1).to(DEV).requires_grad_()
    dy = (torch.rand(n, cout, generator=g) * 2 - 1).to(DEV)
    row = {'n': n, 'cin': cin, 'cout': cout}

    def block_fwd():
      with torch.no_grad():
        OctreeConvFunction.apply(x, w, stub, 1, cin, cout, [3, 3, 3], 1, False)

    def block_train():
      y = OctreeConvFunction.apply(x, w, stub, 1, cin, cout, [3, 3, 3], 1, False)
      torch.autograd.grad(y, (x, w), dy)
    row['blockGemm'] = {'fwdMs': timed(block_fwd)['ms'], 'trainMs': timed(block_train)['ms']}
    try:
      from ocnn.nn.octree_conv_t import octree_conv_triton
      wt = w.detach().permute(2, 0, 1).contiguous().requires_grad_()   # (V,Ci,Co) -> (Co,V,Ci), as OctreeConv does

      def tri_fwd():
        with torch.no_grad():
          octree_conv_triton(x, wt, None, neigh)

      def tri_train():
        y = octree_conv_triton(x, wt, None, neigh)
        torch.autograd.grad(y, (x, wt), dy)
      row['triton'] = {'fwdMs': timed(tri_fwd)['ms'], 'trainMs': timed(tri_train)['ms']}
    except Exception as e:  # noqa: BLE001  (reported, not fatal: the block_gemm row stands)
      row['triton'] = {'error': str(e)[:300]}
    log(f'conv N={n} {cin}->{cout}: {row}')
    rows.append(row)
  return rows


def mid_loss(fc2, out, node_labels, node_shape, shape_bank, point_bank, K=50, tau=0.1):
  """peer_bench.mid_loss with its targets on the logits' device (the peer's version builds them on the CPU)."""
  B = fc2.shape[0]
  f = F.normalize(fc2, dim=1)
  shape_loss = F.cross_entropy(f @ shape_bank.t() / tau, torch.arange(B, device=fc2.device))
  g = F.normalize(out, dim=1)
  parts, start = [], 0
  for b, n in enumerate(torch.bincount(node_shape, minlength=B).tolist()):
    if n == 0:
      continue
    parts.append(g[start:start + n] @ point_bank[b * K:(b + 1) * K].t())
    start += n
  return shape_loss + F.cross_entropy(torch.cat(parts, 0) / tau, node_labels)


PAPER = dict(front=32, channels=(128, 256, 512), resblk=3, fc1=1024, proj=128, point_hidden=256, point_out=64)


def model_case(model, depth, preset, batch):
  clouds = pb.load_clouds('plain', batch)
  octree = pb.build_batch(clouds, depth).to(DEV)
  x = ocnn.modules.InputFeature('ND', nempty=False)(octree)
  torch.manual_seed(1)
  if model == 'lenet':
    net = ocnn.models.LeNet(4, 40, stages=depth - 2)
  elif model == 'resnet':
    net = ocnn.models.ResNet(4, 40, resblock_num=2, stages=depth - 2)
  else:
    net = pb.PeerMidHRNet(depth, **(PAPER if preset == 'paper' else {}))
  net = net.to(DEV)
  opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
  labels = torch.tensor([(i * 7) % 40 for i in range(batch)], device=DEV)
  if model == 'hrnet':
    g = torch.Generator().manual_seed(7)
    proj, pout = (PAPER['proj'], PAPER['point_out']) if preset == 'paper' else (128, 64)
    shape_bank = ((torch.rand(batch, proj, generator=g) * 2 - 1) * (6 / (batch + proj)) ** 0.5).to(DEV)
    point_bank = ((torch.rand(batch * 50, pout, generator=g) * 2 - 1) * (6 / (batch * 50 + pout)) ** 0.5).to(DEV)
    node_labels = pb.grid_labels(octree, depth).to(DEV)
    node_shape = octree.batch_id(depth, nempty=True).long()

  def loss_of():
    if model == 'hrnet':
      fc2, out = net(x, octree)
      return mid_loss(fc2, out, node_labels, node_shape, shape_bank, point_bank)
    return F.cross_entropy(net(x, octree, depth), labels)

  def train():
    net.train()
    opt.zero_grad()
    loss = loss_of()
    loss.backward()
    opt.step()
    loss.item()

  def fwd():
    net.eval()
    with torch.no_grad():
      if model == 'hrnet':
        fc2, out = net(x, octree)
        fc2.cpu(), out.cpu()
      else:
        net(x, octree, depth).cpu()
    net.train()

  tr, fw = timed(train), timed(fwd)
  key = f'{model}{"_paper" if preset == "paper" else ""}_d{depth}'
  r = {'key': key, 'batch': batch, 'params': sum(p.numel() for p in net.parameters()), 'train': tr, 'fwd': fw,
       'trainShapesPerSec': round(1000 * batch / tr['ms'], 2), 'fwdShapesPerSec': round(1000 * batch / fw['ms'], 2)}
  log(f'model {key} batch {batch}: train {r["trainShapesPerSec"]} shapes/s, fwd {r["fwdShapesPerSec"]} shapes/s')
  return r


def main():
  only = os.environ.get('OCNN_ONLY', 'matmul,conv,models').split(',')
  report = {'torch': torch.__version__, 'ocnn': ocnn.__version__, 'device': torch.cuda.get_device_name(0) if DEV.type == 'cuda' else str(DEV), 'tiny': TINY, 'smoke': SMOKE}
  if 'matmul' in only:
    report['matmul'] = sgemm()
  if 'conv' in only:
    report['conv'] = conv()
  if 'models' in only:
    cases = ([('lenet', 4, None, 2)] if TINY else
             [('lenet', 5, None, 32), ('lenet', 6, None, 32), ('resnet', 5, None, 32), ('resnet', 6, None, 32),
              ('hrnet', 5, 'cpu', 32), ('hrnet', 6, 'paper', 32)])
    if SMOKE:
      cases = [(m, d, p, 2) for (m, d, p, _) in cases]
    report['models'], report['modelFailures'] = [], []
    for c in cases:
      try:
        report['models'].append(model_case(*c))
      except Exception as e:  # noqa: BLE001  (one failing case must not lose the others)
        report['modelFailures'].append({'case': list(c), 'error': str(e)[:300]})
        log(f'model {c} FAILED: {e}')
  print(json.dumps(report))


if __name__ == '__main__':
  main()
