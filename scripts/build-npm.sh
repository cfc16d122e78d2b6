#!/usr/bin/env bash
# Builds the npm package into pkg/: package.json (`eventline`), eventline.js (the ES module),
# eventline.d.ts, and wasm/ (the WebAssembly module and its wasm-bindgen glue). Prints the size of
# the .wasm, gzipped. Built by the pinned nightly (scripts/nightly.sh) without panic locations;
# unlike the demo page it keeps `panic = "abort"` and its hook, which the wrapper's recovery from
# a panic needs (eventline.js).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
RUSTFLAGS="-Zlocation-detail=none" scripts/nightly.sh \
  cargo build -q --profile wasm-release -p eventline-web --features js-api --target wasm32-unknown-unknown
rm -rf pkg && mkdir -p pkg/wasm
wasm-bindgen --target web --out-dir pkg/wasm "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/eventline_web.wasm"
node_modules/.bin/wasm-opt -Oz \
  pkg/wasm/eventline_web_bg.wasm -o pkg/wasm/eventline_web_bg.wasm
cp web/npm/package.json web/npm/eventline.js web/npm/eventline.d.ts web/npm/README.md pkg/
bytes=$(wc -c < pkg/wasm/eventline_web_bg.wasm)
gzipped=$(gzip -9 -c pkg/wasm/eventline_web_bg.wasm | wc -c)
echo "pkg/: eventline $(sed -n 's/.*"version": "\(.*\)".*/\1/p' pkg/package.json); wasm ${bytes} bytes, ${gzipped} bytes gzipped"
