#!/usr/bin/env bash
# The core benchmark, natively and in headless Chromium (release builds). Each line gives
# Eventline's throughput, a hand-written baseline's on the same data, and their ratio.
#
# `--smoke`: a tiny workload in debug builds (the test command runs it, so that the benchmark
# cannot rot unnoticed); its figures mean nothing, but every one of them must come out.
# A missing figure is an error either way.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null

smoke=false
case "${1:-}" in
  "") ;;
  --smoke) smoke=true ;;
  *) echo "usage: scripts/bench-core.sh [--smoke]" >&2; exit 2 ;;
esac

figures=("replay one aggregate" "rebuild balances read model" "decide + append")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# check HALF: every figure is in $log, or the whole log is shown and the run fails.
check() {
  local missing=()
  for figure in "${figures[@]}"; do
    grep -q "^$figure" "$log" || missing+=("$figure")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    cat "$log" >&2
    printf 'bench-core: %s: no figure for "%s"\n' "$1" "${missing[@]}" >&2
    exit 1
  fi
  grep -E '^(eventline-core benchmark|replay|rebuild|decide)' "$log"
}

if $smoke; then
  # The bench target run as a test: it sees no `--bench` and takes the tiny workload.
  native=(cargo test -q -p eventline-demo --bench core)
  # The packages of the test command's wasm32 build, so that it is reused, not rebuilt.
  wasm=(cargo test --target wasm32-unknown-unknown -p eventline-core -p eventline-demo -p eventline-tests --test wasm_bench
    -- --include-ignored benchmark_smoke --nocapture)
else
  native=(cargo bench -q -p eventline-demo --bench core)
  # Not `cargo test -q`: cargo hands `--quiet` on to wasm-bindgen-test-runner, which refuses it.
  wasm=(cargo test --release -p eventline-demo --target wasm32-unknown-unknown --test wasm_bench -- --include-ignored benchmark_full --nocapture)
fi

"${native[@]}" >"$log" 2>&1 || { cat "$log" >&2; echo "bench-core: the native benchmark failed" >&2; exit 1; }
check native
"${wasm[@]}" >"$log" 2>&1 || { cat "$log" >&2; echo "bench-core: the wasm32 benchmark failed" >&2; exit 1; }
check wasm32
