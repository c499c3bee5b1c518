#!/usr/bin/env bash
# Installs what the webgpu backend needs, leaving package.json and the lock file alone:
#   - the npm packages (Dawn's Node binding `webgpu` and tfjs's webgpu backend) with --no-save, at the
#     versions package.json lists under freezeflow.webgpuPackages;
#   - on Debian bookworm as root: Mesa 25 from bookworm-backports, whose lavapipe (a Vulkan driver on the
#     CPU) Dawn accepts, so every WebGPU code path can run without a GPU. Bookworm's own Mesa 22.3 is
#     refused by Dawn. On a machine with a GPU driver this part is harmless: auto never picks lavapipe.
# Exit 0 when Dawn finds an adapter afterwards; 1 otherwise (with the reason).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && grep -q bookworm /etc/os-release 2>/dev/null; then
  src=/etc/apt/sources.list.d/freezeflow-bookworm-backports.sources
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$src"
  fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports \
    mesa-vulkan-drivers libvulkan1 >/dev/null
fi

mapfile -t pkgs < <(node -p 'require("./package.json").freezeflow.webgpuPackages.join("\n")')
npm install --no-save --no-audit --no-fund "${pkgs[@]}" >/dev/null

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
node --input-type=module -e '
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);
  const a = await create([]).requestAdapter();
  if (!a) { console.error("install-webgpu: Dawn finds no adapter"); process.exit(1); }
  console.error(`install-webgpu: adapter ${a.info.vendor} ${a.info.architecture} ${a.info.description}`);
' 2>&1 | grep -v '^Warning: maxDynamic' >&2
