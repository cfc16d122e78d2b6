#!/usr/bin/env bash
# The browser benchmark: Eventline on IndexedDB against raw IndexedDB in plain JavaScript, in one
# page, release build, in headless Chromium and then in headless Firefox. Prints each browser's
# figures, its own baselines', and their ratio: a ratio compares within one browser only.
#
#   scripts/bench-web.sh           100k events (the README's figures)
#   scripts/bench-web.sh --long    1M events: the same figures, to see costs that grow with the log
#   scripts/bench-web.sh --smoke   a tiny workload in the debug build, Chromium only: the test
#                                  command runs it so that the benchmark cannot rot unnoticed
#
# BENCH_BROWSERS="chromium" (or "firefox") runs one of them. Every figure must come out: a
# missing one fails the command and shows the whole output.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null

size=full
case "${1:-}" in
  "") ;;
  --long) size=long ;;
  --smoke) size=smoke ;;
  *) echo "usage: scripts/bench-web.sh [--long | --smoke]" >&2; exit 2 ;;
esac

# wasm-bindgen-test fails a test after 20 s by default; the benchmark takes longer (minutes at
# 1M events, in Firefox). The limit is the harness's, not part of what is measured.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-1800}
if [ "$size" = smoke ]; then
  # The debug build the test command made for its wasm32 suites (same packages, same features).
  bench=(cargo test --target wasm32-unknown-unknown -p eventline-core -p eventline-demo -p eventline-tests --test bench_web)
  browsers=${BENCH_BROWSERS:-chromium}
else
  bench=(cargo test --release -p eventline-tests --target wasm32-unknown-unknown --test bench_web)
  browsers=${BENCH_BROWSERS:-chromium firefox}
fi
# Built once: each browser runs the same .wasm (wasm-bindgen-test-runner is only the launcher).
"${bench[@]}" --no-run

figures=("(b) " "strict durability" "relaxed durability" "(a) bulk append" "(a) where the time goes"
  "(c) catch-up" "(c) where the time goes" "(d) open" "(memory)")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for browser in $browsers; do
  case "$browser" in
    chromium) driver=() ;; # CHROMEDRIVER comes from .cargo/config.toml
    # The runner (0.2.130) looks for GECKODRIVER before CHROMEDRIVER, so this wins over the config.
    firefox) driver=(GECKODRIVER="$(command -v geckodriver)") ;;
    *) echo "BENCH_BROWSERS: chromium or firefox, not $browser" >&2; exit 2 ;;
  esac
  echo "== $browser"
  # The whole output is kept, so that a failure shows everything and not only the figures.
  if ! env "${driver[@]}" "${bench[@]}" -- --include-ignored --nocapture "benchmark_$size" >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench-web: the benchmark failed in $browser" >&2
    exit 1
  fi
  missing=()
  for figure in "${figures[@]}"; do
    grep -qF -- "$figure" "$log" || missing+=("$figure")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    cat "$log" >&2
    printf 'bench-web: %s printed no "%s" figure\n' "$browser" "${missing[@]}" >&2
    exit 1
  fi
  grep -E '^\s*(eventline-web|\([a-d]\)|\(memory\))' "$log"
done
