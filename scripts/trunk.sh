#!/usr/bin/env bash
# Runs Trunk on the demo page (`scripts/trunk.sh build --offline --release`, `... serve ...`) with
# what makes its .wasm small (README, "Size"): the pinned nightly of scripts/nightly.sh, a panic
# as a bare trap (`-Cpanic=immediate-abort`: none of the panic-message formatting is compiled
# in; the page has no use for it) and Leptos's erased component types (`--cfg erase_components`).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort --cfg erase_components"
exec scripts/nightly.sh trunk "$@"
