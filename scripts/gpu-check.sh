#!/usr/bin/env bash
# GPU check for freezeflow on a Linux machine with an NVIDIA GPU: runs from the repository (node on PATH,
# webgpu packages installed: scripts/install-webgpu.sh) or from the unpacked bundle of scripts/gpu-bundle.sh
# (no Node, no network needed).
#
#   app/scripts/gpu-check.sh           doctor, the webgpu-vs-wasm parity tests, the bench regimes
#                                      (resnet-mini; MobileNetV2 224 at batch 32 and 64 from
#                                      ../shared/models) with GPU/CPU ratios, and PyTorch on the same GPU
#                                      when python3 can import torch
#   app/scripts/gpu-check.sh --smoke   doctor and one short training run (FREEZEFLOW_BACKEND, default webgpu)
#
# Vulkan: the bundle's loader (.deb, unpacked inside the bundle, never into /) is used when the machine has
# none (or FREEZEFLOW_BUNDLED_VULKAN=1); the NVIDIA ICD is found in the usual places, or written next to the
# bundle from the driver's libGLX_nvidia.so.0, and named in VK_DRIVER_FILES.
set -euo pipefail
app=$(cd "$(dirname "$0")/.." && pwd)
cd "$app"
bundle=$(dirname "$app")
smoke=0
[ "${1:-}" = --smoke ] && smoke=1
say() { echo "gpu-check: $*" >&2; }

if [ -x "$bundle/node/bin/node" ]; then
  export PATH="$bundle/node/bin:$PATH"
  say "bundle mode: $(node --version) from $bundle/node"
fi
command -v node >/dev/null || {
  say "node is not on PATH and there is no bundled node (build a bundle with scripts/gpu-bundle.sh)"
  exit 2
}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
tmp=$(mktemp -d)

if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
else
  say "nvidia-smi not found; continuing (Dawn may still find an adapter)"
fi

# --- the Vulkan loader and glvnd ---------------------------------------------------------------------
# NVIDIA's Vulkan driver lives in libGLX_nvidia.so.0, which needs glvnd's libGLdispatch.so.0: a machine with
# the driver but without glvnd (or without the loader) fails with "Could not get 'vkCreateInstance'". The
# bundle's .debs (libvulkan1 and glvnd's libraries) are unpacked inside the bundle, never into /, and put on
# LD_LIBRARY_PATH when the machine lacks either (or FREEZEFLOW_BUNDLED_VULKAN=1).
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1 "; }
debs=$(ls "$bundle"/debs/*.deb 2>/dev/null || true)
if [ -n "$debs" ] && { [ "${FREEZEFLOW_BUNDLED_VULKAN:-0}" = 1 ] || ! have_lib 'libvulkan\.so\.1' || ! have_lib 'libGLdispatch\.so\.0'; }; then
  dest="$bundle/vulkan"
  if [ ! -d "$dest/usr" ]; then
    mkdir -p "$dest"
    for deb in $debs; do
      if command -v dpkg-deb >/dev/null; then
        dpkg-deb -x "$deb" "$dest"
      elif command -v ar >/dev/null; then
        (cd "$tmp" && rm -f data.tar.* && ar x "$deb" && tar -xf data.tar.* -C "$dest")
      else
        say "cannot unpack $deb (neither dpkg-deb nor ar); install libvulkan1 and libglvnd0 or unpack them by hand"
      fi
    done
  fi
  lib=$(dirname "$(find "$dest" -name 'libvulkan.so.1*' | head -1)")
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "Vulkan loader and glvnd from the bundle: $lib"
elif ! have_lib 'libvulkan\.so\.1'; then
  say "no Vulkan loader (libvulkan.so.1) on this machine and none in a bundle: webgpu cannot start"
fi

# --- the NVIDIA Vulkan driver (ICD) ------------------------------------------------------------------
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && command -v nvidia-smi >/dev/null; then
  icd=""
  for f in /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /usr/local/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
    /usr/local/nvidia/icd.d/nvidia_icd.json; do
    [ -f "$f" ] && icd="$f" && break
  done
  if [ -z "$icd" ]; then
    glx=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0 /{print $NF; exit}')
    [ -z "$glx" ] && glx=$(find /usr/lib /usr/lib64 /usr/local/nvidia -name 'libGLX_nvidia.so.0' 2>/dev/null | head -1 || true)
    if [ -n "$glx" ]; then
      icd="$tmp/nvidia_icd.json"
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" >"$icd"
      say "no nvidia_icd.json found; wrote one for $glx"
    else
      say "no NVIDIA Vulkan driver here (no nvidia_icd.json, no libGLX_nvidia.so.0): in a container, NVIDIA_DRIVER_CAPABILITIES must include 'graphics' for Vulkan"
    fi
  fi
  if [ -n "$icd" ]; then
    export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
    say "Vulkan ICD: $icd"
  fi
fi

node bin/freezeflow doctor

if [ "$smoke" = 1 ]; then
  cat >"$tmp/smoke.yaml" <<'EOF'
model: { source: builtin:resnet-mini }
data: { source: builtin:mnist-5-9, samples: 64, batchSize: 32, validation: { split: 0.02 } }
stages:
  - { name: head, epochs: 1, lr: 3.0e-3 }
  - { name: last, epochs: 1, unfreeze: ['layer3*'], lr: 1.0e-3 }
EOF
  node bin/freezeflow train -s "$tmp/smoke.yaml" --out "$tmp/run" --backend "${FREEZEFLOW_BACKEND:-webgpu}"
  exit $?
fi

# FREEZEFLOW_GPU_CHECK_TIMEOUTS=P,G,T,W bounds the parts (seconds: parity tests, webgpu bench, PyTorch,
# wasm bench) so a check on a leased machine ends in time; a part cut short is reported and skipped.
IFS=, read -r t_parity t_gpu t_torch t_wasm <<<"${FREEZEFLOW_GPU_CHECK_TIMEOUTS:-0,0,0,0}"
bounded() {
  local t=$1
  shift
  if [ "${t:-0}" -gt 0 ]; then timeout "$t" "$@" || { say "cut short or failed after at most ${t} s: $*"; return 1; }; else "$@"; fi
}

say "parity: the webgpu tests against wasm on this GPU"
FREEZEFLOW_REQUIRE_WEBGPU=1 bounded "$t_parity" node --test --test-concurrency=1 dist/test/webgpu.test.js || say "parity tests FAILED"

out="$bundle/gpu-check-results"
mkdir -p "$out"
say "bench: webgpu, then wasm on 2 threads (the CPU baseline: a 2-core machine)"
bounded "$t_gpu" node dist/scripts/bench.js --regimes-only --backend webgpu --mobilenet-batch 32,64 --out "$out/webgpu.json" || true
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  say "bench: PyTorch on the same GPU"
  bounded "$t_torch" python3 bench/torch_bench.py 64 --device cuda --mobilenet-batch 32,64 >"$out/torch.json" || true
else
  say "PyTorch with CUDA is not importable here: no PyTorch ratio"
fi
bounded "$t_wasm" node dist/scripts/bench.js --regimes-only --backend wasm --threads 2 --out "$out/wasm.json" || true
node dist/scripts/gpu-ratios.js "$out"
say "JSON in $out"
