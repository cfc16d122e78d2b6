#!/usr/bin/env bash
# The browser's sync client, measured (tests/tests/bench_sync.rs): pushing commits one at a time
# and pulling them back, each against the same client moving the same bodies raw, in one page,
# against nats-server on loopback. Release build, headless Chromium then Firefox.
#
#   scripts/bench-sync.sh           2,000 commits of 10 events (the figures in docs/SYNC.md)
#   scripts/bench-sync.sh --smoke   20 commits, debug build, Chromium: what the test command runs
#
# It starts its own server (sync/nats/server.conf, ports 24222/24280/28222, logs alpha and demo),
# unless EVENTLINE_SYNC_WS names one already (the test command's). BENCH_BROWSERS as bench-web.sh.
# Every figure must come out, or the command fails and shows the whole output.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null

size=full
case "${1:-}" in
  "") ;;
  --smoke) size=smoke ;;
  *) echo "usage: scripts/bench-sync.sh [--smoke]" >&2; exit 2 ;;
esac

if [ -z "${EVENTLINE_SYNC_WS:-}" ]; then
  dir=$(mktemp -d)
  export EL_NATS_NAME=eventline-bench EL_NATS_PORT=24222 EL_NATS_WS_PORT=24280 EL_NATS_MONITOR_PORT=28222
  export EL_NATS_STORE=$dir/store EL_NATS_ADMIN_PASSWORD=admin-dev EL_NATS_DEMO_PASSWORD=demo-dev
  export EL_NATS_ALPHA_PASSWORD=alpha-dev EL_NATS_BETA_PASSWORD=beta-dev
  export EVENTLINE_SYNC_WS=ws://127.0.0.1:$EL_NATS_WS_PORT
  "${NATS_SERVER:-${EVENTLINE_NATS_HOME:-$HOME/.cache/eventline/nats}/bin/nats-server}" -c sync/nats/server.conf 2>"$dir/server.log" &
  server=$!
  trap 'kill "$server" 2>/dev/null; rm -rf "$dir"' EXIT
  create_log=(cargo run -q -p eventline-sync --bin eventline-sync -- create-log)
  for log in alpha demo; do
    for _ in $(seq 50); do "${create_log[@]}" "$log" --server "nats://127.0.0.1:$EL_NATS_PORT" >/dev/null 2>&1 && break; sleep 0.2; done
    "${create_log[@]}" "$log" --server "nats://127.0.0.1:$EL_NATS_PORT" >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  done
fi

export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-600}
if [ "$size" = smoke ]; then
  # The debug build the test command made for its wasm32 suites (same packages, same features).
  bench=(cargo test --target wasm32-unknown-unknown -p eventline-core -p eventline-demo -p eventline-tests --test bench_sync)
  browsers=${BENCH_BROWSERS:-chromium}
else
  bench=(cargo test --release -p eventline-tests --target wasm32-unknown-unknown --test bench_sync)
  browsers=${BENCH_BROWSERS:-chromium firefox}
fi
"${bench[@]}" --no-run

figures=("(p) push" "(f) pull" "(d) devices" "(l) latency")
log=$(mktemp)
trap 'rm -f "$log"; [ -n "${server:-}" ] && kill "$server" 2>/dev/null; [ -n "${dir:-}" ] && rm -rf "$dir"; true' EXIT
for browser in $browsers; do
  case "$browser" in
    chromium) driver=() ;;
    firefox) driver=(GECKODRIVER="$(command -v geckodriver)") ;;
    *) echo "BENCH_BROWSERS: chromium or firefox, not $browser" >&2; exit 2 ;;
  esac
  echo "== $browser"
  test=benchmark_sync; [ "$size" = smoke ] && test=benchmark_sync_smoke
  if ! env "${driver[@]}" "${bench[@]}" -- --include-ignored --nocapture --exact "$test" >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench-sync: the benchmark failed in $browser" >&2
    exit 1
  fi
  for figure in "${figures[@]}"; do
    grep -qF -- "$figure" "$log" || { cat "$log" >&2; echo "bench-sync: $browser printed no \"$figure\" figure" >&2; exit 1; }
  done
  grep -E '^\s*\((p|f|d|l)\)' "$log"
done
