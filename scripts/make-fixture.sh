#!/usr/bin/env bash
# Writes tests/fixtures/schema-v<N>.json: a database written by this code at schema N (today's
# unless given; 1 is written by the store-only code path of schema 1), dumped with what its
# writer saw. Run once per schema version, when it ships; the upgrade suite restores the dumps.
#   scripts/make-fixture.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
version="${1:-}"
out_version="${version:-$(grep -oP 'pub const SCHEMA_VERSION: u32 = \K[0-9]+' web/src/idb.rs)}"
mkdir -p tests/fixtures
for n in $(seq 1 "$out_version"); do touch "tests/fixtures/schema-v$n.json"; done # the suite includes them
log="$(mktemp)"
EVENTLINE_FIXTURE_SCHEMA="$out_version" EVENTLINE_COMMIT="$(git rev-parse --short HEAD)" \
  cargo test --target wasm32-unknown-unknown -p eventline-tests --test upgrade write_fixture \
  -- --include-ignored --nocapture >"$log" 2>&1 || { tail -40 "$log"; exit 1; }
python3 - "$log" "tests/fixtures/schema-v$out_version.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
start, end = text.index("FIXTURE-BEGIN") + len("FIXTURE-BEGIN"), text.index("FIXTURE-END")
fixture = json.loads(text[start:end])
with open(sys.argv[2], "w") as f:
    json.dump(fixture, f, indent=1)
    f.write("\n")
print(f"wrote {sys.argv[2]}: schema {fixture['schemaVersion']}, {fixture['expected']['head']} events")
PY
