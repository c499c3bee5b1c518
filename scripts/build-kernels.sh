#!/usr/bin/env bash
# Build freezeflow's SIMD kernels (src/backend/simd/kernels.c) into the four committed modules:
#   kernels.wasm                 imports a plain memory  (tfjs-wasm's SIMD build, 1 thread)
#   kernels-shared.wasm          imports a shared memory (tfjs-wasm's threaded SIMD build)
#   kernels-relaxed{,-shared}.wasm  the same with relaxed SIMD (fused multiply-add), used where V8 has it
# and record what they were built from in kernels.sha256. Needs Debian's clang-19 and lld-19 (wasm32
# target; clang 14 has no relaxed-SIMD builtins). CLANG=... names another compiler (the check then fails
# unless it is the recorded one).
#   scripts/build-kernels.sh          rebuild in place
#   scripts/build-kernels.sh --check  rebuild into a temporary folder and fail if the committed files differ
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=src/backend/simd
OUT=$DIR
if [ "${1:-}" = --check ]; then OUT=$(mktemp -d); fi

# no libc, no memset idiom (-fno-builtin), no floating-point contraction: operations stay as written
FLAGS=(--target=wasm32 -O3 -msimd128 -mbulk-memory -fno-builtin -ffp-contract=off -nostdlib
  -Wl,--no-entry -Wl,--import-memory -Wl,-z,stack-size=0 -Wl,--initial-memory=65536 -Wl,--strip-all)
CLANG=${CLANG:-clang-19}
SHARED=(-matomics -Wl,--shared-memory -Wl,--max-memory=4294967296)
MODULES=(kernels.wasm kernels-shared.wasm kernels-relaxed.wasm kernels-relaxed-shared.wasm)
"$CLANG" "${FLAGS[@]}" -o "$OUT/kernels.wasm" "$DIR/kernels.c"
"$CLANG" "${FLAGS[@]}" "${SHARED[@]}" -o "$OUT/kernels-shared.wasm" "$DIR/kernels.c"
"$CLANG" "${FLAGS[@]}" -mrelaxed-simd -o "$OUT/kernels-relaxed.wasm" "$DIR/kernels.c"
"$CLANG" "${FLAGS[@]}" -mrelaxed-simd "${SHARED[@]}" -o "$OUT/kernels-relaxed-shared.wasm" "$DIR/kernels.c"

# The module writes into tfjs' heap at instantiation if it has data segments, and into it at random if
# its code uses a stack: neither may exist.
for m in "${MODULES[@]}"; do
  f=$OUT/$m
  node -e '
    const b = require("fs").readFileSync(process.argv[1]);
    let p = 8;
    const leb = () => { let r = 0, s = 0, x; do { x = b[p++]; r |= (x & 127) << s; s += 7; } while (x & 128); return r >>> 0; };
    while (p < b.length) {
      const id = b[p++], size = leb();
      if (id === 11 || id === 12) { console.error(process.argv[1] + ": has a data section"); process.exit(1); }
      p += size;
    }' "$f"
  if command -v wasm-objdump >/dev/null && wasm-objdump -d "$f" | grep -q 'global\.'; then
    echo "$f: the code uses a global (a stack): it must not" >&2
    exit 1
  fi
done

VERSION=$("$CLANG" --version | head -1)
{
  echo "# what the committed modules were built from and with (scripts/build-kernels.sh)"
  echo "compiler $VERSION"
  (cd "$DIR" && sha256sum kernels.c) | sed 's/^/source /'
  (cd "$OUT" && sha256sum "${MODULES[@]}") | sed 's/^/module /'
} >"$OUT/kernels.sha256"

if [ "$OUT" != "$DIR" ]; then
  same=1
  for m in "${MODULES[@]}"; do cmp -s "$OUT/$m" "$DIR/$m" || same=0; done
  if [ $same = 1 ]; then
    echo "kernels: the committed modules are what $VERSION builds from kernels.c"
  else
    echo "kernels: the committed modules differ from what $VERSION builds from kernels.c; run scripts/build-kernels.sh" >&2
    exit 1
  fi
fi
