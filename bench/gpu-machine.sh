#!/usr/bin/env bash
# The native wgpu benchmark on a machine with a real GPU (Vulkan): W1-W4 and
# the matmuls from 256 to 4096, each matmul also as a share of the card's FP32
# peak, one product per submission (the shared protocol) and in bursts of 20
# per submission (the kernel's own rate). Writes gpu.json and gpu.md into OUT_DIR (default: $OUT, else
# target/bench). Uses target/release/nnlab when it is already built.
#
#   bench/gpu-machine.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-target/bench}}"
mkdir -p "$out"
bin=target/release/nnlab
[ -x "$bin" ] || cargo build --release -p nnlab-cli

# Dense FP32 peak (TFLOPS, boost clock) of the cards this is meant for.
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
case "$gpu" in
  *H200*) peak=67 ;;
  *H100*PCIe*) peak=51 ;;
  *H100*) peak=67 ;;
  *A100*) peak=19.5 ;;
  *) peak="" ;;
esac
echo "GPU: ${gpu:-unknown}${peak:+ (FP32 peak $peak TFLOPS)}"

WGPU_BACKEND="${WGPU_BACKEND:-vulkan}" "$bin" bench --backend wgpu --large --json "$out/gpu.json" | tee "$out/gpu.md"

if [ -n "$peak" ]; then
  python3 - "$out/gpu.json" "$peak" <<'PY' | tee -a "$out/gpu.md"
import json, sys
rows, peak = json.load(open(sys.argv[1])), float(sys.argv[2]) * 1e3
for r in rows:
    if r.get("gflops_async"):
        line = f"{r['workload']}: {r['gflops_async'] / 1e3:.1f} TFLOPS async ({100 * r['gflops_async'] / peak:.0f}% of FP32 peak)"
        if r.get("gflops_burst"):
            line += f", {r['gflops_burst'] / 1e3:.1f} TFLOPS in bursts of 20 per submission ({100 * r['gflops_burst'] / peak:.0f}%)"
        print(line)
PY
fi
