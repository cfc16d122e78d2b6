// Sync while the server dies: a nats-server of this test's own (sync/nats/server.conf, a store in a
// temporary directory), two devices (two browser profiles) on log `demo`. One device pushes 2,000
// commits made offline (batches of 1,000); the server is killed (SIGKILL) once the first batch is
// confirmed and the rest still waits, and started again on the same store a moment later.
// Afterwards both devices hold the same log, each of the 2,000 commands exactly once, and the
// balance the deposits add up to. The built package in the
// browser EVENTLINE_BROWSER names.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { join } from "node:path";
import { ROOT, browserSuite, harness } from "../support/pages.mjs";

const suite = browserSuite();
const NATS = process.env.NATS_SERVER ?? join(process.env.EVENTLINE_NATS_HOME ?? join(homedir(), ".cache/eventline/nats"), "bin/nats-server");
// Ports of this test's own, apart from the test command's server (14222) and the benchmark's (24222).
const PORT = 34222;
const WS = 34280;
const store = mkdtempSync(join(tmpdir(), "eventline-sync-kill-"));
const env = {
  ...process.env,
  EL_NATS_NAME: "eventline-kill",
  EL_NATS_PORT: String(PORT),
  EL_NATS_WS_PORT: String(WS),
  EL_NATS_MONITOR_PORT: "38222",
  EL_NATS_STORE: store,
  EL_NATS_ADMIN_PASSWORD: "admin-dev",
  EL_NATS_DEMO_PASSWORD: "demo-dev",
  EL_NATS_ALPHA_PASSWORD: "alpha-dev",
  EL_NATS_BETA_PASSWORD: "beta-dev",
};
let server = null;

function start() {
  server = spawn(NATS, ["-c", join(ROOT, "sync/nats/server.conf")], { env, stdio: "ignore" });
}

function kill() {
  server?.kill("SIGKILL");
  server = null;
}

after(() => {
  kill();
  rmSync(store, { recursive: true, force: true });
});

async function createLog() {
  const args = ["run", "-q", "-p", "eventline-sync", "--bin", "eventline-sync", "--", "create-log", "demo", "--server", `nats://127.0.0.1:${PORT}`];
  for (let i = 0; ; i++) {
    try {
      execFileSync("cargo", args, { cwd: ROOT, env, stdio: "pipe" });
      return;
    } catch (error) {
      if (i > 50) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function device(name) {
  const context = await suite.browser.newContext();
  const { page, problems } = await harness(context, suite.base);
  await page.evaluate(
    async ({ name, url }) => {
      window.app = await window.eventline.Eventline.open(name);
      window.options = { url, log: "demo", user: "demo", password: "demo-dev" };
      window.until = async (check, ms = 60_000) => {
        const start = Date.now();
        while (!(await check())) {
          if (Date.now() - start > ms) throw new Error(`timed out: ${check}; sync: ${JSON.stringify(await window.app.syncStatus())}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      window.synced = async () => {
        const s = await window.app.syncStatus();
        return s.state === "online" && s.pending === 0;
      };
      window.commands = async () => (await window.app.events({ limit: 10000 })).map((e) => e.commandId);
    },
    { name, url: `ws://127.0.0.1:${WS}` },
  );
  return { page, context, problems };
}

const COUNT = 2000;

test("the server killed while 2,000 commits are pushed: every command stored once, everywhere", async () => {
  start();
  await createLog();
  const a = await device("kill-a");
  const b = await device("kill-b");
  // Device a, offline, makes the deposits.
  await a.page.evaluate(async (count) => {
    await app.execute({ type: "OpenAccount", account: "k" });
    for (let i = 0; i < count; i++) await app.execute({ type: "Deposit", account: "k", amount: 1, commandId: `k-${i}` });
  }, COUNT);
  // It connects; the server dies while the commits go, and comes back on the same store.
  await a.page.evaluate(() => {
    window.states = [];
    app.subscribe((notice) => {
      if (notice.kind === "sync") app.syncStatus().then((s) => window.states.push(s.state));
    });
    return app.startSync(options);
  });
  // The first batch confirmed, the rest still waiting: the server dies.
  const waiting = await a.page.evaluate(async (total) => {
    // 0 until sync first counts what waits, `total` until the first batch is confirmed.
    let pending = 0;
    const start = Date.now();
    while ((pending === 0 || pending === total) && Date.now() - start < 60_000) {
      pending = (await app.syncStatus()).pending;
      await new Promise((r) => setTimeout(r, 1));
    }
    return pending;
  }, COUNT + 1);
  kill();
  assert.ok(waiting > 0 && waiting < COUNT + 1, `the kill must land while commits wait: ${waiting} waiting`);
  await a.page.evaluate(() => until(() => window.states.includes("offline"), 20_000));
  start();
  await b.page.evaluate(() => app.startSync(options));
  await a.page.evaluate(() => until(synced));
  await b.page.evaluate((n) => until(async () => (await synced()) && (await app.head()) >= n), COUNT + 1);
  const [ca, cb] = [await a.page.evaluate(() => commands()), await b.page.evaluate(() => commands())];
  assert.deepEqual(ca, cb, "both devices hold the same log");
  const deposits = ca.filter((id) => id.startsWith("k-"));
  assert.equal(deposits.length, COUNT);
  assert.equal(new Set(deposits).size, COUNT, "each command once");
  const balance = await b.page.evaluate(async () => {
    await app.waitFor(await app.head(), "balances", 30_000);
    return (await app.query("balances", { account: "k" })).data.balance;
  });
  assert.equal(balance, COUNT, "no money made or lost");
  console.log(`sync reliability: server killed with ${waiting} of ${COUNT + 1} events still waiting on device a; afterwards each of ${COUNT} commands once on both devices`);
  for (const d of [a, b]) await d.context.close();
});
