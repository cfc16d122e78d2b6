#!/usr/bin/env node
// Runs one wasm-bindgen-test binary in WebKitGTK (MiniBrowser), as a cargo runner:
//
//   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="node $PWD/scripts/webkit-wasm-test.mjs" \
//     cargo test --target wasm32-unknown-unknown ...
//
// or by hand: `node scripts/webkit-wasm-test.mjs target/.../suite.wasm [test args]`.
//
// Why not the runner's own SAFARIDRIVER support: wasm-bindgen-test-runner 0.2.130 opens its
// session with empty capabilities, and WebKitWebDriver cannot start a browser without being told
// which binary to run. So the runner only serves the test page (NO_HEADLESS=1, on a port picked
// here) and this script does what the runner's headless mode does: a WebDriver session (with
// MiniBrowser, on a virtual display: tests/support/webkit.mjs), navigate, and poll the page until
// wasm-bindgen-test has printed `test result:`. Exit status 0 only for `test result: ok`.
//
// Binaries the runner does not serve (Node-mode suites, doc-tests, "no tests to run!") pass
// through with the runner's own output and exit status. Every process started here is in a process
// group of its own and is ended on the way out, whatever happened, so nothing is left running.
import { freePort, sleep, startGroup, startWebKit, stopAll } from "../tests/support/webkit.mjs";

const RUNNER = process.env.WASM_BINDGEN_TEST_RUNNER ?? "wasm-bindgen-test-runner";
// For a whole binary, not one test: wasm-bindgen-test's 20 s per-test timeout is enforced by the
// runner's headless driver, which is not used here, so this is what bounds a hung test.
const TIMEOUT_MS = Number(process.env.WEBKIT_TEST_TIMEOUT_SECONDS ?? 300) * 1000;

const [wasm, ...testArgs] = process.argv.slice(2);
if (!wasm) {
  console.error("usage: webkit-wasm-test.mjs FILE.wasm [test args]");
  process.exit(2);
}

async function main() {
  const deadline = Date.now() + TIMEOUT_MS;

  // 1. The runner builds the page and serves it, or runs or skips a binary that is not for a browser.
  const pagePort = await freePort();
  const runner = startGroup(RUNNER, [wasm, ...testArgs], {
    NO_HEADLESS: "1",
    WASM_BINDGEN_TEST_ADDRESS: `127.0.0.1:${pagePort}`,
    // Node-mode suites ran in Node in the Chromium pass already.
    WASM_BINDGEN_TEST_ONLY_WEB: "1",
  });
  for (;;) {
    if (runner.out.stdout.includes("Interactive browsers tests are now available at")) break;
    if (runner.child.exitCode !== null || runner.child.signalCode !== null) {
      const { code } = await runner.exited;
      process.stdout.write(runner.out.stdout);
      process.stderr.write(runner.out.stderr);
      return code ?? 1;
    }
    if (Date.now() > deadline) throw new Error(`the runner neither served the page nor exited: ${runner.out.stderr}`);
    await sleep(50);
  }

  // 2. MiniBrowser on that page, polled as the runner's headless mode polls its browser.
  const webkit = await startWebKit();
  const { browserName = "WebKitGTK", browserVersion = "" } = webkit.capabilities ?? {};
  console.log(`Running tests in ${browserName} ${browserVersion} on http://127.0.0.1:${pagePort}/`);
  try {
    return await poll(webkit, pagePort, deadline);
  } finally {
    await webkit.close();
  }
}

/**
 * Whether a failed run's output is a trap of WebKit's WebAssembly engine rather than a test's
 * failure: a wasm `RuntimeError` with no Rust panic behind it (a panic prints "panicked at" first).
 * Seen twice in full runs, in different suites, never reproduced on rerun (docs/BROWSERS.md).
 */
function engineTrap(text) {
  const trap = /RuntimeError: (Unreachable code should not be executed|Out of bounds memory access)/.exec(text);
  return trap && !text.includes("panicked at") ? trap[0] : null;
}

async function poll(webkit, pagePort, deadline) {
  await webkit.command("POST", "/url", { url: `http://127.0.0.1:${pagePort}/` });
  const read = () => webkit.command("POST", "/execute/sync", { script: "return document.body ? document.body.innerText : ''", args: [] });
  let text = "";
  while (!text.includes("test result:")) {
    if (Date.now() > deadline) {
      console.log(text);
      throw new Error(`no test result after ${TIMEOUT_MS / 1000} s (WEBKIT_TEST_TIMEOUT_SECONDS)`);
    }
    await sleep(250);
    text = await read();
  }
  // The summary is the harness's last line; one more read so that nothing printed with it is cut.
  await sleep(250);
  text = await read();
  console.log(text.trimEnd());
  if (/test result: ok\./.test(text)) return 0;
  return engineTrap(text) ? "trap" : 1;
}

for (const name of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(name, () => stopAll().then(() => process.exit(130)));
}
let status = 1;
try {
  status = await main();
  if (status === "trap") {
    // Once more, said aloud; a second trap fails the binary like any failure.
    console.log(`[webkit] WebKit's wasm engine trapped in ${wasm} with no Rust panic; running it once more (docs/BROWSERS.md)`);
    await stopAll();
    status = await main();
    if (status === "trap") status = 1;
  }
} catch (error) {
  console.error(`[webkit] ${wasm}: ${error.message}`);
} finally {
  await stopAll();
}
process.exit(status);
