#!/usr/bin/env bash
# Runs a command (cargo, trunk) with the pinned nightly that builds Eventline's small release
# .wasm files: it rebuilds the standard library for size (`-Zbuild-std`, `optimize_for_size`).
# Callers add their own RUSTFLAGS (scripts/trunk.sh, scripts/build-npm.sh). Stable Rust builds
# the same code, only bigger (README, "Size").
set -euo pipefail
cd "$(dirname "$0")/.."
toolchain=$(sed -n 's/^nightly_toolchain=//p' scripts/setup.sh)
export PATH="$PWD/node_modules/.bin:$PATH"
export RUSTUP_TOOLCHAIN="$toolchain"
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
exec "$@"
