#!/usr/bin/env bash
# Builds a domain's npm package: `scripts/build-npm.sh [crate]`, the crate's directory (default
# `demo`, whose package is `eventline` in pkg/; another crate's goes to pkg-<crate>/). The crate
# exports its JS API with `eventline_web::export_js!` under its feature `js`. The package is
# package.json, eventline.js (the ES module, the same for every domain), eventline.d.ts (the
# domain's types; eventline-api.d.ts, the API every package shares), and wasm/
# (the WebAssembly module and its wasm-bindgen glue). Prints the size of the .wasm, gzipped.
# Built by the pinned nightly (scripts/nightly.sh) without panic locations, and trapping at once
# on a panic (`-Cpanic=immediate-abort`: 12 KB gzipped less than formatting the panic's message
# first); the wrapper hears the trap and recovers on a fresh instance (eventline.js).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
crate=${1:-demo}
[ -f "$crate/Cargo.toml" ] || { echo "build-npm: no crate at $crate/" >&2; exit 1; }
name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$crate/Cargo.toml" | head -1)
out=pkg; [ "$crate" = demo ] || out="pkg-$crate"
# The package's own files: the domain's package.json, README and types.
npm_dir="$crate/npm"
RUSTFLAGS="-Zlocation-detail=none -Zunstable-options -Cpanic=immediate-abort" scripts/nightly.sh \
  cargo build -q --profile wasm-release -p "$name" --features js --lib --target wasm32-unknown-unknown
rm -rf "$out" && mkdir -p "$out/wasm"
wasm-bindgen --target web --out-name eventline --out-dir "$out/wasm" \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/${name//-/_}.wasm"
node_modules/.bin/wasm-opt -Oz --converge --low-memory-unused --strip-producers "$out/wasm/eventline_bg.wasm" -o "$out/wasm/eventline_bg.wasm"
cp web/npm/eventline.js web/npm/eventline-api.d.ts "$out/"
for file in package.json eventline.d.ts README.md; do
  cp "$npm_dir/$file" "$out/"
done
bytes=$(wc -c < "$out/wasm/eventline_bg.wasm")
gzipped=$(gzip -9 -c "$out/wasm/eventline_bg.wasm" | wc -c)
echo "$out/: $(sed -n 's/.*"name": "\(.*\)".*/\1/p' "$out/package.json") $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$out/package.json"); wasm ${bytes} bytes, ${gzipped} bytes gzipped"
