// WebKitGTK driven over W3C WebDriver (HTTP): WebKitWebDriver on a virtual X display of its own,
// one session with MiniBrowser. Used by scripts/webkit-wasm-test.mjs (the wasm32 suites) and by
// browsers.mjs (the JavaScript suites). WebKitGTK has no headless mode, hence xvfb-run; Playwright's
// WebKit is a patched build it downloads, which cannot be had here, so plain WebDriver it is.
import { spawn } from "node:child_process";
import { createServer } from "node:net";

export const MINIBROWSER = process.env.WEBKIT_MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
const DRIVER = process.env.WEBKIT_WEBDRIVER ?? "WebKitWebDriver";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Process groups started here and not yet ended: `stopAll` ends them. */
const groups = new Set();

/**
 * Starts `command` in a process group of its own, so that one signal reaches everything it
 * starts (Xvfb, MiniBrowser, WebKit's web and network processes). Its output is kept in `out`.
 */
export function startGroup(command, args, env = {}) {
  const child = spawn(command, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const out = { stdout: "", stderr: "" };
  child.stdout.setEncoding("utf8").on("data", (chunk) => (out.stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk) => (out.stderr += chunk));
  child.once("error", (error) => (out.stderr += `${command}: ${error.message}\n`));
  const group = {
    child,
    exited,
    out,
    async stop() {
      groups.delete(group);
      const signal = (name) => {
        try {
          process.kill(-child.pid, name);
        } catch {}
      };
      // TERM first so xvfb-run can remove its lock and auth files; KILL whatever is left.
      signal("SIGTERM");
      await Promise.race([exited, sleep(3000)]);
      signal("SIGKILL");
      await exited;
    },
  };
  groups.add(group);
  return group;
}

export async function stopAll() {
  for (const group of [...groups]) await group.stop();
}

/** A port free right now, for servers that must be told theirs up front. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * WebKitWebDriver started and a MiniBrowser session opened: `{ id, capabilities, command, close }`.
 * `command(method, path, body)` sends one WebDriver command of this session (path after
 * /session/{id}) and returns its value. `close()` ends the session and every process.
 */
export async function startWebKit({ timeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const driver = startGroup("xvfb-run", ["-a", DRIVER, `--port=${port}`]);
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(`WebDriver ${method} ${path}: ${json.value?.error ?? response.status}: ${json.value?.message ?? ""}`);
    }
    return json.value;
  };
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await call("GET", "/status").then((s) => s?.ready, () => false))) {
      if (Date.now() > deadline || driver.child.exitCode !== null) {
        throw new Error(`WebKitWebDriver did not start: ${driver.out.stderr.trim()}`);
      }
      await sleep(100);
    }
    // MiniBrowser in automation mode keeps its website data in memory: a session is a fresh profile.
    const session = await call("POST", "/session", {
      capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation"] } } },
    });
    const id = session.sessionId;
    return {
      id,
      capabilities: session.capabilities,
      command: (method, path, body) => call(method, `/session/${id}${path}`, body),
      async close() {
        await call("DELETE", `/session/${id}`).catch(() => {});
        await driver.stop();
      },
    };
  } catch (error) {
    await driver.stop();
    throw error;
  }
}
