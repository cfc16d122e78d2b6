#!/usr/bin/env bash
# Runs Trunk on the demo page (`scripts/trunk.sh build --offline --release`, `... serve ...`) with
# what makes its .wasm small (README, "Size"): the pinned nightly below rebuilds the standard
# library for size (`-Zbuild-std`, `optimize_for_size`) and makes a panic a bare trap
# (`-Cpanic=immediate-abort`: none of the panic-message formatting is compiled in); Leptos erases
# component types (`--cfg erase_components`). Stable Rust builds the same page, only bigger.
set -euo pipefail
cd "$(dirname "$0")/.."
toolchain=$(sed -n 's/^demo_toolchain=//p' scripts/setup.sh)
export PATH="$PWD/node_modules/.bin:$PATH"
export RUSTUP_TOOLCHAIN="$toolchain"
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort --cfg erase_components"
exec trunk "$@"
