// The system's Chromium, headless, as the suites launch it when they run in Chromium (Playwright
// drives it; browsers.mjs picks the browser), and as the crash suite kills it.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** Every killable Chromium still running: `killAll` ends them, so a failed test leaves none. */
const running = new Set();

export async function killAll() {
  for (const browser of [...running]) await browser.kill();
}

/**
 * Chromium as its own process group on a profile directory, reached over CDP, so that a test can
 * kill it the way a crash or a power cut would: `kill()` sends SIGKILL to every process of it.
 */
export async function launchKillable(userDataDir) {
  const { spawn } = await import("node:child_process");
  const { readFile, rm } = await import("node:fs/promises");
  const portFile = `${userDataDir}/DevToolsActivePort`;
  await rm(portFile, { force: true });
  const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${userDataDir}`, "--remote-debugging-port=0", "about:blank"], {
    detached: true,
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const handle = {
    async kill() {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      await exited;
    },
  };
  running.add(handle);
  exited.then(() => running.delete(handle));
  let port;
  for (let i = 0; i < 200 && !port; i++) {
    port = await readFile(portFile, "utf8").then((text) => text.split("\n")[0], () => undefined);
    if (!port) await new Promise((r) => setTimeout(r, 50));
  }
  if (!port) throw new Error("Chromium did not open its debugging port");
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  return Object.assign(handle, {
    browser,
    context: browser.contexts()[0],
    async close() {
      await browser.close().catch(() => {});
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      await exited;
    },
  });
}
