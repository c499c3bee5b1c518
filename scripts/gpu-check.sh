#!/usr/bin/env bash
# GPU check for freezeflow on a Linux machine with an NVIDIA GPU.
#
#   scripts/gpu-check.sh            install the GPU backends (needs the npm registry), then compare
#   OFFLINE=1 scripts/gpu-check.sh  use what node_modules already holds (a bundle carried to the machine)
#
# Runs the bench's three regimes (resnet-mini, and MobileNetV2 224×224 when ../shared/models has it) on
# each GPU backend that works (tensorflow-gpu = @tensorflow/tfjs-node-gpu, needs CUDA 11.2 + cuDNN 8.1;
# webgpu = Dawn over Vulkan) and on the CPU default, and prints the GPU/CPU ratio per regime.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "gpu-check: node is not on PATH" >&2; exit 2; }
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
else
  echo "gpu-check: nvidia-smi not found; continuing (webgpu may still find an adapter)" >&2
fi

if [ "${OFFLINE:-0}" != "1" ]; then
  npm install --no-save webgpu @tensorflow/tfjs-backend-webgpu@4.22.0 || echo "gpu-check: webgpu packages did not install" >&2
  # tfjs-node-gpu downloads libtensorflow in its install script: allow it explicitly
  npm install --no-save --foreground-scripts @tensorflow/tfjs-node-gpu@4.22.0 ||
    echo "gpu-check: @tensorflow/tfjs-node-gpu did not install" >&2
fi
[ -d dist ] || npx tsc -p tsconfig.json

node bin/freezeflow doctor
out=$(mktemp -d)
# the CPU side on every core (freezeflow's default for photo-sized inputs)
node dist/scripts/bench.js --regimes-only --backend wasm --threads "$(nproc)" --out "$out/cpu.json"
for b in tensorflow-gpu webgpu; do
  if node dist/scripts/bench.js --regimes-only --backend "$b" --out "$out/$b.json"; then
    node -e '
      const [cpu, gpu, name] = [require(process.argv[1]), require(process.argv[2]), process.argv[3]];
      const row = (label, a, b) => console.log(`${name} vs wasm on every core, ${label}: ${(a / b).toFixed(1)}x`);
      for (const k of ["head", "partial", "full"]) row(`resnet-mini ${k}`, gpu.freezeflow[k], cpu.freezeflow[k]);
      if (gpu.mobilenetv2 && cpu.mobilenetv2)
        for (const k of ["head", "partial", "full"]) row(`MobileNetV2 ${k}`, gpu.mobilenetv2[k], cpu.mobilenetv2[k]);
    ' "$out/cpu.json" "$out/$b.json" "$b"
  else
    echo "gpu-check: backend $b is not available here (see doctor above)" >&2
  fi
done
echo "gpu-check: JSON in $out"
