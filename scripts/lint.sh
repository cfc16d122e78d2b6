#!/usr/bin/env bash
# Formatting and clippy, natively and for wasm32: both must be clean.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy -q --workspace --all-targets -- -D warnings
cargo clippy -q --workspace --all-targets --target wasm32-unknown-unknown -- -D warnings
cargo clippy -q -p eventline-web --features js-api --target wasm32-unknown-unknown -- -D warnings
cargo clippy -q -p eventline-web --features sync --all-targets -- -D warnings
cargo clippy -q -p eventline-web --features sync --target wasm32-unknown-unknown -- -D warnings
cargo clippy -q -p eventline-demo --features js --target wasm32-unknown-unknown -- -D warnings
cargo clippy -q -p eventline-inventory --features js --target wasm32-unknown-unknown -- -D warnings
