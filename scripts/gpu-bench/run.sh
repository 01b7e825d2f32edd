#!/usr/bin/env bash
# The GPU side of the speed run (built by scripts/gpu-bench/build.sh; docs/webgpu.md): rq3d on webgpu (Dawn on
# the NVIDIA Vulkan driver) and ocnn-pytorch on CUDA, same inputs, in at most ~8 minutes. Needs bash, python3
# with torch (CUDA) and numpy, and an NVIDIA driver with Vulkan; no Node, no network.
# Usage: ./run.sh [--tiny] [RESULTS_DIR]    (--tiny: the smallest cases, e.g. to check it on SwiftShader)
# Writes RESULTS_DIR (default ./results): rq3d.json, ocnn.json, *.log, summary.md (also printed).
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TINY=()
[ "${1:-}" = --tiny ] && { TINY=(--tiny); shift; }
OUT="$(mkdir -p "${1:-$HERE/results}" && cd "${1:-$HERE/results}" && pwd)"
log() { echo "run.sh: $*" | tee -a "$OUT/run.log" >&2; }
unxz_to() { # unxz_to FILE.xz DEST: xz if present, else Python's lzma
  [ -s "$2" ] && return 0
  if command -v xz >/dev/null; then xz -dc "$1" > "$2.tmp"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2.tmp"; fi && mv "$2.tmp" "$2"
}
: > "$OUT/run.log"
unxz_to "$HERE/node.xz" "$HERE/node" && chmod +x "$HERE/node"
unxz_to "$HERE/node_modules/webgpu/dist/linux-x64/dawn.node.xz" "$HERE/node_modules/webgpu/dist/linux-x64/dawn.node"
export LD_LIBRARY_PATH="$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1
# The NVIDIA Vulkan ICD: a json the driver installed, else one written here for the driver's libGLX_nvidia
# (containers get it only with NVIDIA_DRIVER_CAPABILITIES including graphics).
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  ICD="$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json /usr/local/share/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1 || true)"
  if [ -z "$ICD" ]; then
    GLX="$( (ldconfig -p 2>/dev/null | grep -m1 -o '/[^ ]*libGLX_nvidia\.so\.0') || ls /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 /usr/lib64/libGLX_nvidia.so.0 2>/dev/null | head -1 || true)"
    if [ -n "$GLX" ]; then
      ICD="$OUT/nvidia_icd.json"
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$GLX" > "$ICD"
    fi
  fi
  if [ -n "$ICD" ]; then export VK_ICD_FILENAMES="$ICD"; else log "no NVIDIA Vulkan ICD found (no nvidia_icd.json, no libGLX_nvidia.so.0): rq3d's webgpu part will fail; ocnn still runs"; fi
fi
log "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}"
N="$HERE/node"; B="$HERE/bench.mjs"
timeout 60 "$N" "$B" --export "$OUT/inputs" "${TINY[@]}" 2>> "$OUT/rq3d.log" || log "export of the inputs failed (see rq3d.log)"
# rq3d in two runs, so that a slow model part cannot lose the matMul and conv figures (each line is also in rq3d.log)
timeout 120 "$N" "$B" --only matmul,conv "${TINY[@]}" > "$OUT/rq3d-kernels.json" 2>> "$OUT/rq3d.log" || log "rq3d matmul/conv part failed or timed out (rq3d.log)"
timeout 210 "$N" "$B" --only models "${TINY[@]}" > "$OUT/rq3d-models.json" 2>> "$OUT/rq3d.log" || log "rq3d model part failed or timed out (rq3d.log has the cases that finished)"
OCNN_DIR="$HERE/ocnn" timeout 120 python3 "$HERE/ocnn/ocnn_gpu.py" "$OUT/inputs" "${TINY[@]}" > "$OUT/ocnn.json" 2> "$OUT/ocnn.log" || log "ocnn part failed or timed out (ocnn.log)"
python3 - "$OUT" > "$OUT/summary.md" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
  try:
    with open(os.path.join(out, name)) as f:
      return json.loads(f.read().strip().splitlines()[-1])
  except Exception as e:  # noqa: BLE001
    return {'error': f'{name}: {e}'}
k, m, o = load('rq3d-kernels.json'), load('rq3d-models.json'), load('ocnn.json')
gpu = open(os.path.join(out, 'gpu.txt')).read().strip() if os.path.exists(os.path.join(out, 'gpu.txt')) else '?'
print(f'# rq3d (webgpu) vs ocnn-pytorch (CUDA) on {gpu}\n')
print(f"rq3d adapter: {k.get('reason', k.get('error'))}; torch {o.get('torch')}, ocnn {o.get('ocnn')}\n")
print('| matMul n^3 | rq3d TFLOP/s | torch fp32 TFLOP/s | torch tf32 |\n|---|---|---|---|')
tm = {(r['n'], r['tf32']): r['tflops'] for r in o.get('matmul', [])}
for r in k.get('matmul', []):
  print(f"| {r['n']} | {r['tflops']} | {tm.get((r['n'], False), '-')} | {tm.get((r['n'], True), '-')} |")
print('\n| conv N, Cin->Cout | rq3d fwd / train ms | ocnn block_gemm | ocnn triton |\n|---|---|---|---|')
oc = {(r['n'], r['cin'], r['cout']): r for r in o.get('conv', [])}
for r in k.get('conv', []):
  p = oc.get((r['n'], r['cin'], r['cout']), {})
  f = lambda d: f"{d['fwdMs']} / {d['trainMs']}" if d and 'fwdMs' in d else (d or {}).get('error', '-')
  print(f"| {r['n']}, {r['cin']}->{r['cout']} | {r['fwdMs']} / {r['fwdBwdMs']} | {f(p.get('blockGemm'))} | {f(p.get('triton'))} |")
print('\n| model (batch) | rq3d train / fwd shapes/s | ocnn train / fwd | train ratio rq3d/ocnn |\n|---|---|---|---|')
om = {r['key']: r for r in o.get('models', [])}
for r in m.get('models', []):
  p = om.get(r['key'])
  ratio = round(r['trainShapesPerSec'] / p['trainShapesPerSec'], 3) if p else '-'
  print(f"| {r['key']} ({r['batch']}) | {r['trainShapesPerSec']} / {r['fwdShapesPerSec']} | {p['trainShapesPerSec'] if p else '-'} / {p['fwdShapesPerSec'] if p else '-'} | {ratio} |")
for name, d in (('rq3d models', m), ('ocnn', o)):
  for fl in d.get('modelFailures', []) or []:
    print(f'\n{name} failure: {fl}')
PY
cat "$OUT/summary.md"
