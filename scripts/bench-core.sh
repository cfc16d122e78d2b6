#!/usr/bin/env bash
# The core benchmark, natively and in headless Chromium (release builds). Each line gives
# Eventline's throughput, a hand-written baseline's on the same data, and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo bench -q -p eventline-demo --bench core 2>/dev/null | grep -v '^$'
cargo test -q --release -p eventline-demo --target wasm32-unknown-unknown --test wasm_bench \
  -- --include-ignored --nocapture 2>&1 | grep -E 'eventline|events|commands'
