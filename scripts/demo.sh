#!/usr/bin/env bash
# Builds the demo page and serves it on http://127.0.0.1:8080 (installing what is missing first).
# Set PORT to use another port.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec scripts/trunk.sh serve --offline --release --port "${PORT:-8080}"
