#!/usr/bin/env bash
# The browser benchmark: Eventline on IndexedDB against raw IndexedDB in plain JavaScript, in one
# headless Chromium page, release build. Prints each figure, the baseline's, and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --release -p eventline-tests --target wasm32-unknown-unknown --test bench_web \
  -- --include-ignored --nocapture 2>&1 | grep -E '^\s*(eventline-web|\([a-d]\))'
