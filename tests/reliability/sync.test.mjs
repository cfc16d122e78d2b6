// Sync while the server dies: a nats-server of this test's own (sync/nats/server.conf, a store in a
// temporary directory), two devices (two browser profiles) on log `demo`. One device pushes 2,000
// commits made offline (batches of 1,000); the server is killed (SIGKILL) once the first batch is
// confirmed and the rest still waits, and started again on the same store a moment later.
// Afterwards both devices hold the same log, each of the 2,000 commands exactly once, and the
// balance the deposits add up to. Then acknowledgements lost, through a proxy in front of the
// server: an answer to a push that the server stored never reaches the device, and a push that
// reaches the server only after the device gave up on it and pushed again. The built package in
// the browser EVENTLINE_BROWSER names.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import net from "node:net";
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

async function device(name, url = `ws://127.0.0.1:${WS}`) {
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
    { name, url },
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

// One WebSocket frame from the browser at the start of `buffer` (masked, as a browser's are):
// its size and its payload, or null until it has all arrived.
function frame(buffer) {
  if (buffer.length < 2) return null;
  let length = buffer[1] & 0x7f;
  let at = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    at = 10;
  }
  const mask = buffer[1] & 0x80 ? at : -1;
  if (mask >= 0) at += 4;
  if (buffer.length < at + length) return null;
  const payload = Buffer.from(buffer.subarray(at, at + length));
  if (mask >= 0) for (let i = 0; i < length; i++) payload[i] ^= buffer[mask + (i & 3)];
  return { size: at + length, text: payload.toString("latin1") };
}

// A proxy in front of the server's WebSocket that passes everything through, counts the batches
// devices commit (the message carrying Nats-Batch-Commit), and, when armed, mishandles the next:
// "lose-ack" hands it to the server and cuts the device off before the answer comes back (stored,
// never acknowledged); "late" cuts the device off and hands the held message to the server 8 s
// later, after the device has pushed again.
function lossyProxy(port) {
  const state = { arm: null, commits: 0, cuts: 0, late: "" };
  const proxy = net.createServer((device) => {
    const upstream = net.connect(WS, "127.0.0.1");
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    let cut = false;
    let late = false;
    let answer = Buffer.alloc(0);
    upstream.on("data", (data) => {
      if (!cut) return device.write(data);
      // What the server answers the late message: read, for the test to check.
      if (!late) return;
      answer = Buffer.concat([answer, data]);
      for (let f = frame(answer); f; f = frame(answer)) {
        answer = answer.subarray(f.size);
        state.late += f.text;
      }
    });
    upstream.on("error", () => device.destroy());
    device.on("error", () => {});
    device.on("close", () => cut || upstream.destroy());
    device.on("data", (data) => {
      if (cut) return;
      buffer = Buffer.concat([buffer, data]);
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        upstream.write(buffer.subarray(0, end + 4));
        buffer = buffer.subarray(end + 4);
        upgraded = true;
      }
      for (let f = frame(buffer); f; f = frame(buffer)) {
        const raw = buffer.subarray(0, f.size);
        buffer = buffer.subarray(f.size);
        const commits = f.text.includes("Nats-Batch-Commit");
        if (commits) state.commits++;
        if (commits && state.arm) {
          const how = state.arm;
          state.arm = null;
          state.cuts++;
          cut = true;
          if (how === "lose-ack") {
            upstream.write(raw);
            setTimeout(() => (device.destroy(), upstream.end()), 300);
          } else {
            device.destroy();
            setTimeout(() => ((late = true), upstream.write(raw)), 8_000);
            setTimeout(() => upstream.end(), 10_000);
          }
          return;
        }
        upstream.write(raw);
      }
    });
  });
  proxy.listen(port, "127.0.0.1");
  return { state, close: () => proxy.close() };
}

test("acknowledgements lost: a push stored unanswered, a push arriving after its retry: every command once", async () => {
  if (!server) start();
  await createLog();
  const lossy = lossyProxy(34281);
  const c = await device("ack-c", "ws://127.0.0.1:34281");
  const d = await device("ack-d");
  const offline = (prefix, account) =>
    c.page.evaluate(
      async ({ prefix, account }) => {
        await app.stopSync();
        if (prefix === "lost") await app.execute({ type: "OpenAccount", account });
        for (let i = 0; i < 50; i++) await app.execute({ type: "Deposit", account, amount: 1, commandId: `${prefix}-${i}` });
      },
      { prefix, account },
    );
  // 1. Stored, the answer lost: the device pulls first when it is back, finds its commits there
  // and confirms them, with no second push.
  await offline("lost", "ack");
  lossy.state.arm = "lose-ack";
  await c.page.evaluate(() => app.startSync(options));
  await c.page.evaluate(() => until(synced));
  assert.equal(lossy.state.cuts, 1, "the answer was lost");
  assert.equal(lossy.state.commits, 1, "confirmed by what the device read, not pushed again");
  // 2. The push held back until the device gave up and pushed again under the same command ids:
  // the server stores the retry, then refuses the late original as already stored.
  await offline("late", "ack");
  lossy.state.arm = "late";
  await c.page.evaluate(() => app.startSync(options));
  await c.page.evaluate(() => until(synced));
  assert.ok(lossy.state.commits >= 3, `the retry was pushed (${lossy.state.commits} batches)`);
  await new Promise((r) => setTimeout(r, 9_000)); // the late original reaches the server
  assert.match(lossy.state.late, /err_code/, `the server refused the late original: ${lossy.state.late}`);
  await c.page.evaluate(() => until(synced));
  const head = await c.page.evaluate(() => app.head());
  await d.page.evaluate(() => app.startSync(options));
  await d.page.evaluate((n) => until(async () => (await synced()) && (await app.head()) >= n), head);
  const [cc, cd] = [await c.page.evaluate(() => commands()), await d.page.evaluate(() => commands())];
  assert.deepEqual(cc, cd, "both devices hold the same log");
  const deposits = cd.filter((id) => id.startsWith("lost-") || id.startsWith("late-"));
  assert.equal(deposits.length, 100);
  assert.equal(new Set(deposits).size, 100, "each command once");
  assert.deepEqual(await d.page.evaluate(() => app.syncDeadLetters()), [], "nothing odd on the server");
  const balance = await d.page.evaluate(async () => {
    await app.waitFor(await app.head(), "balances", 30_000);
    return (await app.query("balances", { account: "ack" })).data.balance;
  });
  assert.equal(balance, 100, "no money made or lost");
  const refusal = lossy.state.late.match(/"description":"([^"]*)"/)?.[1];
  console.log(`sync reliability: 2 acknowledgements lost (a push stored unanswered; a push arriving after its retry, refused by the server: ${refusal}); each of 100 commands once on both devices and the server`);
  lossy.close();
  for (const x of [c, d]) await x.context.close();
});
