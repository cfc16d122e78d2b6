#!/usr/bin/env bash
# The browser benchmark: Eventline on IndexedDB against raw IndexedDB in plain JavaScript, in one
# page, release build, in headless Chromium and then in headless Firefox. Prints each browser's
# figures, its own baseline's, and their ratio: a ratio compares within one browser only.
# BENCH_BROWSERS="chromium" (or "firefox") runs one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# wasm-bindgen-test fails a test after 20 s; the whole benchmark takes about that in Chromium and
# longer in Firefox. The limit is the harness's, not part of what is measured.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-600}
bench=(cargo test --release -p eventline-tests --target wasm32-unknown-unknown --test bench_web)
# Built once: each browser runs the same .wasm (wasm-bindgen-test-runner is only the launcher).
"${bench[@]}" --no-run

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for browser in ${BENCH_BROWSERS:-chromium firefox}; do
  case "$browser" in
    chromium) driver=() ;; # CHROMEDRIVER comes from .cargo/config.toml
    # The runner (0.2.130) looks for GECKODRIVER before CHROMEDRIVER, so this wins over the config.
    firefox) driver=(GECKODRIVER="$(command -v geckodriver)") ;;
    *) echo "BENCH_BROWSERS: chromium or firefox, not $browser" >&2; exit 2 ;;
  esac
  echo "== $browser"
  # The whole output is kept, so that a failure shows everything and not only the figures.
  if ! env "${driver[@]}" "${bench[@]}" -- --include-ignored --nocapture >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench-web: the benchmark failed in $browser" >&2
    exit 1
  fi
  grep -E '^\s*(eventline-web|\([a-d]\))' "$log" || { cat "$log"; echo "bench-web: no figures from $browser" >&2; exit 1; }
done
