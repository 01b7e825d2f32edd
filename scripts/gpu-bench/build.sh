#!/usr/bin/env bash
# Builds the folder the GPU speed run needs on a machine with no Node and no network (docs/webgpu.md):
#   bench.mjs                      rq3d's GPU bench (src/bench/gpu-main.ts) with tfjs and tfjs-backend-webgpu, one esbuild bundle
#   node_modules/webgpu/           the `webgpu` package's index.js and the linux-x64 dawn.node (xz, unpacked by run.sh)
#   node.xz                        this machine's Node binary (official linux-x64 build: needs only glibc)
#   lib/libvulkan.so.1             the Vulkan loader (Dawn dlopens it; NVIDIA's driver provides only the ICD)
#   ocnn/                          ocnn-pytorch at b12e899 (from a git mirror), peer_bench.py (shared/peer), ocnn_gpu.py
#   run.sh                         the GPU side
# Usage: scripts/gpu-bench/build.sh [OUT]   (default scripts/gpu-bench/out, gitignored); prints its size.
# Env: OCNN_GIT (bare ocnn-pytorch git dir), PEER_DIR (shared/peer), VULKAN_LOADER (a libvulkan.so.1).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${1:-$HERE/out}"
OCNN_GIT="${OCNN_GIT:-/work/.mirror/octree-nn+ocnn-pytorch/repo}"
OCNN_COMMIT=b12e899
PEER_DIR="${PEER_DIR:-/work/shared/peer}"
die() { echo "build.sh: $*" >&2; exit 1; }
[ -f "$ROOT/node_modules/webgpu/dist/linux-x64/dawn.node" ] || die "node_modules/webgpu is missing: run npm ci (webgpu is an optional dependency)"
[ -f "$PEER_DIR/peer_bench.py" ] || die "PEER_DIR=$PEER_DIR has no peer_bench.py"
git --git-dir="$OCNN_GIT" rev-parse -q --verify "$OCNN_COMMIT^{commit}" >/dev/null || die "OCNN_GIT=$OCNN_GIT has no commit $OCNN_COMMIT (fetch github:octree-nn/ocnn-pytorch)"
command -v xz >/dev/null || die "xz is needed (apt-get install xz-utils)"
LOADER="${VULKAN_LOADER:-$(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1.* 2>/dev/null | head -1 || true)}"
[ -n "$LOADER" ] || LOADER=/usr/lib/chromium/libvulkan.so.1
[ -f "$LOADER" ] || die "no Vulkan loader found (set VULKAN_LOADER, or apt-get install libvulkan1)"

TMP="$OUT.tmp"
rm -rf "$TMP" && mkdir -p "$TMP/node_modules/webgpu/dist/linux-x64" "$TMP/lib" "$TMP/ocnn"
cd "$ROOT"
npx esbuild src/bench/gpu-main.ts --bundle --platform=node --format=esm --target=node20 --external:webgpu \
  --banner:js="import { createRequire as __rq3dRequire } from 'node:module'; const require = __rq3dRequire(import.meta.url);" \
  --outfile="$TMP/bench.mjs" --log-level=warning
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$TMP/node_modules/webgpu/"
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$TMP/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > "$TMP/node.xz"
cp "$(readlink -f "$LOADER")" "$TMP/lib/libvulkan.so.1"
# ocnn-pytorch blob by blob: a mirror may lack a test-data blob, which makes `git archive` fail
git --git-dir="$OCNN_GIT" ls-tree -r "$OCNN_COMMIT" -- ocnn | while read -r _mode type sha p; do
  [ "$type" = blob ] || continue
  mkdir -p "$TMP/ocnn/$(dirname "$p")"
  git --git-dir="$OCNN_GIT" cat-file blob "$sha" > "$TMP/ocnn/$p"
done
cp "$PEER_DIR/peer_bench.py" "$HERE/ocnn_gpu.py" "$TMP/ocnn/"
cp "$HERE/run.sh" "$TMP/run.sh" && chmod +x "$TMP/run.sh"
{ echo "rq3d $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+dirty')"; echo "node $(node --version)"; echo "ocnn-pytorch $OCNN_COMMIT"; echo "built $(date -u +%FT%TZ)"; } > "$TMP/VERSIONS"
rm -rf "$OUT" && mv "$TMP" "$OUT"
echo "built $OUT: $(du -sh "$OUT" | cut -f1) ($(du -sb "$OUT" | cut -f1) bytes; the device tool carries at most 64 MiB)"
