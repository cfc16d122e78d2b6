#!/usr/bin/env bash
# Starts the sync server for the demo: nats-server from sync/nats/server.conf on loopback
# (clients nats://127.0.0.1:4222, browsers ws://127.0.0.1:4280, monitor http://127.0.0.1:8222),
# its data under target/nats, with development passwords, and creates the demo's log ("demo")
# on it. Runs in the foreground until Ctrl-C. docs/SYNC.md says what the demo's sync does with it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null

nats_server=${NATS_SERVER:-${EVENTLINE_NATS_HOME:-$HOME/.cache/eventline/nats}/bin/nats-server}
export EL_NATS_NAME=eventline EL_NATS_PORT=4222 EL_NATS_WS_PORT=4280 EL_NATS_MONITOR_PORT=8222
export EL_NATS_STORE=$PWD/target/nats
# Development passwords, known to the demo page: loopback only.
export EL_NATS_ADMIN_PASSWORD=admin-dev EL_NATS_DEMO_PASSWORD=demo-dev
export EL_NATS_ALPHA_PASSWORD=alpha-dev EL_NATS_BETA_PASSWORD=beta-dev
"$nats_server" -c sync/nats/server.conf &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null' EXIT
trap 'exit 130' INT TERM
healthy=false
for _ in $(seq 100); do
  if curl -fs http://127.0.0.1:8222/healthz >/dev/null 2>&1; then healthy=true; break; fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
$healthy || { echo "sync-server: nats-server did not start (is port 4222, 4280 or 8222 taken?)" >&2; exit 1; }
cargo run -q -p eventline-sync --bin eventline-sync -- create-log demo --server nats://127.0.0.1:4222
echo "sync server: nats://127.0.0.1:4222 (WebSocket ws://127.0.0.1:4280); Ctrl-C stops it"
wait "$server"
