#!/usr/bin/env bash
# Runs every test of Eventline, installing what is missing first:
#   1. the native suites (`cargo test`): the core's given/when/then, handler, saga, projection and
#      property tests, and the EventStore contract against the in-memory store;
#   2. the same suites compiled to wasm32, in headless Chromium (wasm-bindgen-test);
#   3. the npm package: built, its TypeScript declarations checked with tsc --strict on a typed
#      example, and the package used from JavaScript pages in headless Chromium (Playwright);
#   4. reliability (docs/RELIABILITY.md): contention across tabs, the browser killed mid-write,
#      hostile input at the JS surface, a full quota; EVENTLINE_LONG=1 for the long variants;
#   5. the demo page: built by Trunk, then end-to-end tests against it in headless Chromium
#      (Playwright), screenshots kept in tests/e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "native suites"
cargo test --workspace --exclude eventline-www --exclude eventline-web
cargo test -p eventline-web --lib

step "wasm32 suites in headless Chromium"
cargo test --target wasm32-unknown-unknown -p eventline-core -p eventline-tests

step "npm package: build, types, JavaScript tests in headless Chromium"
scripts/build-npm.sh
tsc -p tests/npm
node --test --test-concurrency=1 tests/npm/

step "reliability: contention, crashes, hostile input, quota (headless Chromium)"
node --test --test-concurrency=1 tests/reliability/

step "demo page: Trunk build, end-to-end tests in headless Chromium"
scripts/trunk.sh build --offline --release
# The page's budget (README, "Size"): the release .wasm at most 400 KB gzipped.
wasm=$(ls dist/*.wasm)
gzipped=$(gzip -9 -c "$wasm" | wc -c)
echo "demo .wasm: $(wc -c < "$wasm") bytes, $gzipped gzipped (budget 400000)"
[ "$gzipped" -le 400000 ] || { echo "the demo's .wasm is over its 400 KB gzipped budget" >&2; exit 1; }
node --test --test-concurrency=1 tests/e2e/

step "all tests passed"
