#!/usr/bin/env bash
# The privacy benchmark (docs/PRIVACY.md): the aes-gcm crate against WebCrypto per personal
# value, then bulk append and replay of 100k events (a third personal) sealed against unsealed,
# in one headless Chromium page, release build. Prints each figure and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
WASM_BINDGEN_TEST_TIMEOUT=900 cargo test --release -p eventline-tests --target wasm32-unknown-unknown --test bench_privacy \
  -- --include-ignored --nocapture 2>&1 | grep -E '^\s*(eventline privacy|\((crypto|append|replay|read)\))'
