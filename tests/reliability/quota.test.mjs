// Quota: with the origin's storage quota exhausted (Chromium's DevTools quota override), imports
// and commands fail with a typed QuotaExceeded, nothing is half-written, reads go on, and once
// there is room again everything lands exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bankLog } from "../support/logs.mjs";
import { onlyIn } from "../support/browsers.mjs";
import { harness, browserSuite } from "../support/pages.mjs";

const SKIP = onlyIn("chromium", "the full quota is made with Chromium's DevTools quota override");
const suite = SKIP ? {} : browserSuite();

/** Room for the page's setup and a little more; a bulk import does not fit. */
const QUOTA = 1_500_000;

test("a full quota fails writes with QuotaExceeded, keeps reads working, and loses nothing", { skip: SKIP }, async () => {
  const log = bankLog({ accounts: 50, commits: 20_000, seed: 7, prefix: "q" });
  const context = await suite.browser.newContext();
  let cdp;
  const quota = (quotaSize) =>
    cdp.send("Storage.overrideQuotaForOrigin", quotaSize === undefined ? { origin: suite.base } : { origin: suite.base, quotaSize });
  // The override has to be in place before the origin first touches IndexedDB: Chromium keeps
  // the room it found left for a while.
  const { page, problems } = await harness(context, suite.base, {
    beforeLoad: async (page) => {
      cdp = await context.newCDPSession(page);
      await quota(QUOTA);
    },
  });

  const full = await page.evaluate(async (ndjson) => {
    const { Eventline } = window.eventline;
    const app = (window.app = await Eventline.open("quota"));
    await app.execute({ type: "OpenAccount", account: "mine" });
    await app.execute({ type: "Deposit", account: "mine", amount: 500, commandId: "before" });
    const before = { head: await app.head(), events: await app.events({ limit: 10_000 }) };
    const out = { before };
    try {
      out.import = await app.importLog(ndjson);
    } catch (error) {
      out.importError = { code: error.code, message: error.message, details: error.details };
    }
    out.headAfterImport = await app.head();
    // Whatever room the import left, commands fill it, then fail the same way.
    out.accepted = 0;
    for (let i = 0; i < 5_000 && !out.commandError; i++) {
      try {
        await app.execute({ type: "Deposit", account: "mine", amount: 1, commandId: `fill-${i}` });
        out.accepted += 1;
      } catch (error) {
        out.commandError = { code: error.code, message: error.message, id: `fill-${i}` };
      }
    }
    out.headWhenFull = await app.head();
    out.failedCommandEvents = (await app.events({ stream: "account-mine", limit: 10_000 })).filter(
      (e) => e.commandId === out.commandError?.id,
    ).length;
    // Reads go on.
    out.reads = {
      balance: (await app.query("balances", { account: "mine" })).data,
      events: (await app.events({ from: 1, limit: 10_000 })).length,
      past: (await app.queryAt("balances", { account: "mine" }, { position: before.head })).data.balance,
      state: (await app.stateAt("account-mine")).state.balance,
      export: (await app.exportLog()).trim().split("\n").length - 1,
      projections: (await app.projections()).length,
    };
    return out;
  }, log.ndjson);

  if (process.env.EVENTLINE_VERBOSE) console.log(JSON.stringify({ details: full.importError?.details, accepted: full.accepted, before: full.before.head }));
  assert.equal(full.importError?.code, "QuotaExceeded", JSON.stringify(full.importError ?? full.import));
  assert.match(full.importError.message, /import the same log again/);
  const { imported, total, head } = full.importError.details;
  assert.equal(total, log.events);
  assert.ok(imported < total, "the import stopped part way");
  assert.equal(head, full.before.head + imported, "the details say how far it got");
  assert.equal(full.headAfterImport, head);
  assert.equal(full.commandError?.code, "QuotaExceeded", JSON.stringify(full.commandError));
  assert.equal(full.headWhenFull, head + full.accepted, "the refused command appended nothing");
  assert.equal(full.failedCommandEvents, 0);
  assert.equal(full.reads.events, full.headWhenFull);
  assert.equal(full.reads.export, full.headWhenFull);
  assert.equal(full.reads.past, 500);
  assert.equal(full.reads.state, 500 + full.accepted);
  assert.equal(full.reads.projections, 7);

  // What landed is a prefix of whole commits of the log.
  const landed = await page.evaluate(
    async ([from, count]) => (await window.app.events({ from, limit: Math.max(1, count) })).slice(0, count),
    [full.before.head + 1, imported],
  );
  const sent = log.ndjson.split("\n").slice(0, imported).map((line) => JSON.parse(line));
  assert.deepEqual(
    landed.map((e) => [e.eventId, e.stream, e.version, e.type]),
    sent.map((e) => [e.eventId, e.stream, e.version, e.type]),
  );
  const perCommit = new Map();
  for (const e of landed) perCommit.set(e.commandId, (perCommit.get(e.commandId) ?? 0) + 1);
  for (const [id, n] of perCommit) assert.equal(n, log.commits.get(id), `commit ${id} is whole`);

  // Room again: the refused command and the rest of the import land, once.
  await quota(undefined);
  const after = await page.evaluate(
    async ([ndjson, failedId]) => {
      const app = window.app;
      const retried = await app.execute({ type: "Deposit", account: "mine", amount: 1, commandId: failedId });
      const again = await app.execute({ type: "Deposit", account: "mine", amount: 1, commandId: failedId });
      const report = await app.importLog(ndjson);
      const head = await app.head();
      await app.waitFor(head, { timeoutMs: 60_000 });
      const answers = {};
      for (const name of window.eventline.readModels) {
        const live = await app.query(name);
        const folded = await app.queryAt(name, undefined, { position: live.position });
        answers[name] = { same: JSON.stringify(live.data) === JSON.stringify(folded.data), position: live.position };
      }
      const balances = (await app.query("balances")).data;
      return { retried: retried.replayed, again: again.replayed, report, head, answers, balances };
    },
    [log.ndjson, full.commandError.id],
  );
  assert.deepEqual([after.retried, after.again], [false, true], "the refused command commits once");
  assert.equal(after.report.skipped, imported, "the resumed import skips what had landed");
  assert.equal(after.report.events, log.events - imported);
  assert.equal(after.head, full.headWhenFull + 1 + log.events - imported);
  for (const [name, { same, position }] of Object.entries(after.answers)) {
    assert.ok(same, `${name} equals a fold of the log`);
    assert.equal(position, after.head, `${name} is at the head`);
  }
  const byAccount = new Map(after.balances.accounts.map((a) => [a.account, a.balance]));
  for (const [account, balance] of log.balances) assert.equal(byAccount.get(account), balance, account);
  assert.deepEqual(problems, []);
  await context.close();
});
