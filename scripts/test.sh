#!/usr/bin/env bash
# Runs every test of Eventline, installing what is missing first:
#   1. the native suites (`cargo test`): the core's given/when/then, handler, saga, projection and
#      property tests, and the EventStore contract against the in-memory store;
#   2. the same suites compiled to wasm32, in headless Chromium (wasm-bindgen-test);
#   3. a build of the demo page with Trunk.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "native suites"
cargo test --workspace --exclude eventline-www --exclude eventline-web

step "wasm32 suites in headless Chromium"
cargo test --target wasm32-unknown-unknown -p eventline-core -p eventline-tests

step "demo page builds"
trunk build --offline --release

step "all tests passed"
