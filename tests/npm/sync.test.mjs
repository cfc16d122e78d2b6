// Sync through the JS API, as a page using the npm package meets it: two browser profiles (two
// contexts, each its own IndexedDB: two devices) sync log `demo` on the nats-server that
// scripts/test.sh starts (EVENTLINE_SYNC_WS). A command on one device reaches the other; a
// command decided offline on an account the other device wrote meanwhile is decided again, and
// the one the domain now refuses is told (a `rejected` notice) and listed by rejectedCommands().
// The built package in the browser EVENTLINE_BROWSER names, as in package.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserSuite, harness } from "../support/pages.mjs";

const suite = browserSuite();
const URL = process.env.EVENTLINE_SYNC_WS;
const SKIP = URL ? false : "EVENTLINE_SYNC_WS is unset: scripts/test.sh starts the sync server these tests need";

/** A device: a fresh browser context with the package loaded and database `name` syncing. */
async function device(name) {
  const context = await suite.browser.newContext();
  const { page, problems } = await harness(context, suite.base);
  await page.evaluate(
    async ({ name, url }) => {
      window.app = await window.eventline.Eventline.open(name);
      window.heard = [];
      window.app.subscribe((notice) => {
        if (notice.kind === "rejected") window.heard.push(notice);
      });
      window.options = { url, log: "demo", user: "demo", password: "demo-dev" };
      await window.app.startSync(window.options);
      window.balance = async (account) => {
        try {
          return (await window.app.query("balances", { account })).data?.balance ?? null;
        } catch {
          return null;
        }
      };
      window.until = async (check, ms = 20_000) => {
        const start = Date.now();
        while (!(await check())) {
          if (Date.now() - start > ms) throw new Error(`timed out: ${check}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      window.synced = async () =>
        (await window.app.syncStatus()).state === "online" && (await window.app.pendingCommits()).length === 0;
    },
    { name, url: URL },
  );
  return { page, context, problems };
}

const tag = () => Math.random().toString(36).slice(2, 10);

test("a command on one device reaches the other, and a conflict is decided again or reported", { skip: SKIP }, async () => {
  const t = tag();
  const a = await device(`npm-sync-a-${t}`);
  const b = await device(`npm-sync-b-${t}`);
  const account = `${t}-1`;
  await a.page.evaluate(async (account) => {
    await app.execute({ type: "OpenAccount", account });
    await app.execute({ type: "Deposit", account, amount: 100 });
  }, account);
  await b.page.evaluate(async (account) => {
    await until(async () => (await balance(account)) === 100);
    await until(synced);
    await app.stopSync();
  }, account);
  await a.page.evaluate(async (account) => {
    await app.execute({ type: "Withdraw", account, amount: 30 });
    await until(synced);
  }, account);
  const result = await b.page.evaluate(
    async ({ account, t }) => {
      await app.execute({ type: "Withdraw", account, amount: 50, commandId: `${t}-w50` });
      await app.execute({ type: "Withdraw", account, amount: 40, commandId: `${t}-w40` });
      const waiting = (await app.pendingCommits()).map((p) => p.commandId);
      const offline = (await app.syncStatus()).state;
      await app.startSync(options);
      await until(async () => (await synced()) && (await balance(account)) === 20);
      return {
        waiting,
        offline,
        rejected: await app.rejectedCommands(),
        heard: window.heard,
        status: await app.syncStatus(),
      };
    },
    { account, t },
  );
  assert.deepEqual(result.waiting, [`${t}-w50`, `${t}-w40`], "both wait in the outbox while offline");
  assert.equal(result.offline, "off");
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0].commandId, `${t}-w40`);
  assert.equal(result.rejected[0].code, "InsufficientFunds");
  assert.match(result.rejected[0].command, /"amount":40/);
  assert.deepEqual(
    result.heard.map((n) => [n.commandId, n.code]),
    [[`${t}-w40`, "InsufficientFunds"]],
  );
  assert.ok(result.status.redecided >= 1, JSON.stringify(result.status));
  assert.equal(await a.page.evaluate(async (account) => {
    await until(async () => (await balance(account)) === 20);
    return balance(account);
  }, account), 20);
  for (const d of [a, b]) {
    assert.deepEqual(d.problems, []);
    await d.context.close();
  }
});

test("sync refuses bad options with a typed error", { skip: SKIP }, async () => {
  const d = await device(`npm-sync-bad-${tag()}`);
  const codes = await d.page.evaluate(async () => {
    await until(synced);
    const codeOf = async (p) => {
      try {
        await p;
        return "ok";
      } catch (error) {
        return error.code;
      }
    };
    return {
      noLog: await codeOf(app.startSync({ url: options.url, user: "demo", password: "demo-dev" })),
      badLog: await codeOf(app.startSync({ ...options, log: "no.such log" })),
      otherLog: await codeOf(app.startSync({ ...options, log: "alpha" })),
    };
  });
  assert.deepEqual(codes, { noLog: "InvalidArgument", badLog: "InvalidLog", otherLog: "SyncLogMismatch" });
  await d.context.close();
});
