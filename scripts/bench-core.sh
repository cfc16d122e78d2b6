#!/usr/bin/env bash
# The core benchmark, natively and in headless Chromium (release builds). Each line gives
# Eventline's throughput, a hand-written baseline's on the same data, and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo bench -q -p eventline-demo --bench core 2>/dev/null | grep -v '^$'
# Not `cargo test -q`: cargo hands `--quiet` on to wasm-bindgen-test-runner, which refuses it.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cargo test --release -p eventline-demo --target wasm32-unknown-unknown --test wasm_bench \
  -- --include-ignored --nocapture >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench-core: the wasm32 benchmark failed" >&2
  exit 1
fi
grep -E '^(eventline-core benchmark|replay|rebuild|decide)' "$log" || { cat "$log"; echo "bench-core: no wasm32 figures" >&2; exit 1; }
