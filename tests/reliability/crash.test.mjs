// Crashes: the whole browser is killed (SIGKILL to every process of it, as a crash or a power cut
// would) in the middle of a bulk import, of a projection batch and of sagas, then started again
// on the same profile. The log must be a prefix of what was sent with every commit whole, no
// checkpoint ahead of the log or of its read model, projections must resume and converge, and
// every interrupted saga must complete or compensate. EVENTLINE_LONG=1 repeats each crash more.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onlyIn } from "../support/browsers.mjs";
import { killAll, launchKillable } from "../support/chromium.mjs";
import { bankLog } from "../support/logs.mjs";
import { LONG, harness, serveRepository } from "../support/pages.mjs";

const ROUNDS = LONG ? 5 : 1;
const SKIP = onlyIn("chromium", "kills Chromium's process group and reopens its profile over CDP");

let server;
let base;
const profiles = [];

before(async () => {
  ({ server, base } = await serveRepository());
});

after(async () => {
  await killAll();
  server?.close();
  for (const dir of profiles) await rm(dir, { recursive: true, force: true });
});

async function profile() {
  const dir = await mkdtemp(join(tmpdir(), "eventline-crash-"));
  profiles.push(dir);
  return dir;
}

async function until(what, check, ms = 60_000) {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Reopens `database` after a crash as a follower first (this page holds the leader's lock, so
 * nothing runs yet): what is persisted is read exactly as the crash left it. Then the page lets
 * go of the lock, leads, and the runner resumes.
 */
async function reopenAsFollower(browser, database) {
  const { page, problems } = await harness(browser.context, base);
  const persisted = await page.evaluate(async (database) => {
    await new Promise((granted) => {
      navigator.locks.request(`eventline:${database}:projections`, () => {
        granted();
        return new Promise((release) => (window.releaseLock = release));
      });
    });
    const app = (window.app = await window.eventline.Eventline.open(database));
    const head = await app.head();
    const events = [];
    while (events.length < head) events.push(...(await app.events({ from: events.length + 1, limit: 10_000 })));
    const projections = await app.projections();
    const readModels = {};
    for (const name of window.eventline.readModels) {
      const stored = await app.query(name);
      const folded = await app.queryAt(name, undefined, { position: stored.position });
      readModels[name] = {
        position: stored.position,
        equalsFold: JSON.stringify(stored.data) === JSON.stringify(folded.data),
      };
    }
    return { head, events, projections, readModels, leads: app.isLeader };
  }, database);
  return { page, problems, persisted };
}

/** The checks every reopened database passes before anything runs again. */
function checkPersisted(persisted) {
  assert.equal(persisted.leads, false, "nothing runs while the test holds the lock");
  assert.deepEqual(
    persisted.events.map((e) => e.position),
    Array.from({ length: persisted.head }, (_, i) => i + 1),
    "positions have no gaps",
  );
  for (const p of persisted.projections) assert.ok(p.checkpoint <= persisted.head, `${p.name}: checkpoint ahead of the log`);
  for (const [name, { position, equalsFold }] of Object.entries(persisted.readModels)) {
    assert.ok(position <= persisted.head, `${name}: read model ahead of the log`);
    assert.ok(equalsFold, `${name}: the stored read model is exactly its checkpoint's fold`);
  }
}

/** Leads, lets the runner resume, and checks that every read model converges on a fold from 0. */
async function resumeAndConverge(page) {
  return page.evaluate(async () => {
    const app = window.app;
    window.releaseLock();
    for (let i = 0; i < 500 && !app.isLeader; i++) await new Promise((r) => setTimeout(r, 10));
    const head = await app.head();
    await app.waitFor(head, { timeoutMs: 60_000 });
    const converged = {};
    for (const name of window.eventline.readModels) {
      const live = await app.query(name);
      const folded = await app.queryAt(name, undefined, { position: head });
      converged[name] = live.position === head && JSON.stringify(live.data) === JSON.stringify(folded.data);
    }
    return { leads: app.isLeader, head, converged };
  });
}

test("killed in the middle of a bulk import and of projection batches, the log is a prefix of whole commits and everything converges", { skip: SKIP }, async () => {
  const log = bankLog({ accounts: 200, commits: 60_000, seed: 11, prefix: "k" });
  const sent = log.ndjson.trimEnd().split("\n").slice(0, -1).map((line) => JSON.parse(line));
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dir = await profile();
    const database = `crash-import-${round}`;
    let browser = await launchKillable(dir);
    const { page } = await harness(browser.context, base);
    await page.evaluate(async (database) => {
      window.app = await window.eventline.Eventline.open(database);
      window.progress = [0, 0];
    }, database);
    page.evaluate((ndjson) => window.app.importLog(ndjson, { onProgress: (done, total) => (window.progress = [done, total]) }), log.ndjson).catch(() => {});
    // Kill once some batches have landed (more in each round): by then the projections have
    // stored part of what they are catching up on. Seven batches at least: at four, a cold
    // browser had sometimes not stored any yet, and the case this test is about did not arise.
    const batches = 7 + (round % 3);
    const atKill = await until("the import to be under way", () =>
      page.evaluate((batches) => {
        const [done, total] = window.progress;
        return done >= batches * 8192 && done < total ? [done, total] : null;
      }, batches),
    );
    await browser.kill();

    browser = await launchKillable(dir);
    const reopened = await reopenAsFollower(browser, database);
    const { persisted } = reopened;
    checkPersisted(persisted);
    if (process.env.EVENTLINE_VERBOSE) console.log("killed at", JSON.stringify(atKill), "landed", persisted.head);
    assert.ok(persisted.head < log.events, "the import was interrupted");
    assert.ok(
      persisted.projections.some((p) => p.checkpoint > 0 && p.checkpoint < persisted.head),
      "a projection was stopped part way through what it had to catch up on",
    );
    assert.deepEqual(
      persisted.events.map((e) => [e.eventId, e.stream, e.version, e.type, e.commandId]),
      sent.slice(0, persisted.head).map((e) => [e.eventId, e.stream, e.version, e.type, e.commandId]),
      "the log is a prefix of what was sent",
    );
    const perCommit = new Map();
    for (const e of persisted.events) perCommit.set(e.commandId, (perCommit.get(e.commandId) ?? 0) + 1);
    for (const [id, n] of perCommit) assert.equal(n, log.commits.get(id), `commit ${id} is whole`);

    const resumed = await resumeAndConverge(reopened.page);
    assert.equal(resumed.leads, true);
    for (const [name, ok] of Object.entries(resumed.converged)) assert.ok(ok, `${name} converged after the crash`);
    // The rest of the import, by importing the same log again.
    const finished = await reopened.page.evaluate(async (ndjson) => {
      const app = window.app;
      const report = await app.importLog(ndjson);
      await app.waitFor(report.head, { timeoutMs: 120_000 });
      const balances = (await app.query("balances")).data.accounts;
      return { report, balances };
    }, log.ndjson);
    assert.equal(finished.report.skipped, persisted.head);
    assert.equal(finished.report.head, log.events);
    const byAccount = new Map(finished.balances.map((a) => [a.account, a.balance]));
    for (const [account, balance] of log.balances) assert.equal(byAccount.get(account), balance, account);
    assert.deepEqual(reopened.problems, []);
    results.push({
      killedAt: atKill,
      landed: persisted.head,
      checkpoints: Object.fromEntries(persisted.projections.map((p) => [p.name, p.checkpoint])),
    });
    await browser.close();
  }
  if (process.env.EVENTLINE_VERBOSE) console.log(JSON.stringify(results));
});

test("killed between the steps of sagas, every transfer completes or compensates after a reload", { skip: SKIP }, async () => {
  const ACCOUNTS = 10;
  const TRANSFERS = 40;
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    let interrupted = 0;
    let halfway = 0;
    let attempts = 0;
    let browser;
    let reopened;
    let database;
    // Sagas are quick: if a crash happens to fall between no two steps, crash again.
    while (halfway === 0 && attempts < 5) {
      attempts += 1;
      const dir = await profile();
      database = `crash-saga-${round}`;
      browser = await launchKillable(dir);
      const { page } = await harness(browser.context, base);
      await page.evaluate(
        async ({ database, accounts }) => {
          const app = (window.app = await window.eventline.Eventline.open(database));
          for (let i = 0; i < accounts; i++) {
            await app.execute({ type: "OpenAccount", account: `s${i}` });
            await app.execute({ type: "Deposit", account: `s${i}`, amount: 1000 });
          }
          await app.execute({ type: "OpenAccount", account: "gone" });
          await app.execute({ type: "CloseAccount", account: "gone" });
        },
        { database, accounts: ACCOUNTS },
      );
      // Every fourth transfer goes to a closed account: its saga debits, is refused the
      // credit, and refunds.
      await page.evaluate(
        async ({ accounts, transfers }) => {
          await Promise.all(
            Array.from({ length: transfers }, (_, t) =>
              window.app.execute({
                type: "Transfer",
                mode: "saga",
                transferId: `t${t}`,
                from: `s${t % accounts}`,
                to: t % 4 === 3 ? "gone" : `s${(t + 1) % accounts}`,
                amount: 10 + t,
              }),
            ),
          );
        },
        { accounts: ACCOUNTS, transfers: TRANSFERS },
      );
      // Kill once the saga is a few steps in, so that some transfers are half done.
      await until("the saga to start", () =>
        page.evaluate(async (n) => (await window.app.events({ type: "TransferDebited", limit: n })).length >= n, TRANSFERS / 8),
      );
      await browser.kill();

      browser = await launchKillable(dir);
      reopened = await reopenAsFollower(browser, database);
      checkPersisted(reopened.persisted);
      const requested = new Set();
      const debited = new Set();
      const finished = new Set();
      for (const e of reopened.persisted.events) {
        if (e.type === "TransferRequested") requested.add(e.stream);
        if (e.type === "TransferDebited") debited.add(`transfer-${e.data.transferId}`);
        if (["TransferCompleted", "TransferCompensated", "TransferFailed"].includes(e.type)) finished.add(e.stream);
      }
      assert.equal(requested.size, TRANSFERS, "every accepted request survived the crash");
      interrupted = requested.size - finished.size;
      halfway = [...debited].filter((t) => !finished.has(t)).length;
      if (halfway === 0) await browser.close();
    }
    assert.ok(halfway > 0, "some sagas were cut off between their steps (debited, not yet credited)");

    const resumed = await resumeAndConverge(reopened.page);
    const outcome = await reopened.page.evaluate(async () => {
      const app = window.app;
      for (let i = 0; i < 1000; i++) {
        if ((await app.query("transfers", { inProgress: true })).data.length === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const head = await app.head();
      await app.waitFor(head, { timeoutMs: 60_000 });
      const transfers = (await app.query("transfers")).data.map((t) => [t.transferId, t.status]);
      const balances = (await app.query("balances")).data.accounts;
      const events = [];
      while (events.length < head) events.push(...(await app.events({ from: events.length + 1, limit: 10_000 })));
      return { transfers, balances, events };
    });
    for (const [name, ok] of Object.entries(resumed.converged)) assert.ok(ok, `${name} converged after the crash`);
    const statuses = new Map(outcome.transfers);
    for (let t = 0; t < TRANSFERS; t++) {
      assert.equal(statuses.get(`t${t}`), t % 4 === 3 ? "compensated" : "completed", `transfer t${t}`);
    }
    // Each step happened once: one debit per transfer, one credit or one refund.
    const count = (type) => {
      const per = new Map();
      for (const e of outcome.events) if (e.type === type) per.set(e.data.transferId, (per.get(e.data.transferId) ?? 0) + 1);
      return per;
    };
    for (const [type, expected] of [
      ["TransferDebited", TRANSFERS],
      ["TransferSettled", TRANSFERS - TRANSFERS / 4],
      ["TransferRefunded", TRANSFERS / 4],
    ]) {
      const per = count(type);
      assert.equal(per.size, expected, type);
      for (const [id, n] of per) assert.equal(n, 1, `${type} of ${id} happened once`);
    }
    const total = outcome.balances.reduce((n, a) => n + a.balance + a.pending, 0);
    assert.equal(total, ACCOUNTS * 1000, "no money made or lost");
    assert.ok(outcome.balances.every((a) => a.pending === 0), "nothing left pending");
    assert.deepEqual(reopened.problems, []);
    results.push({ interrupted, halfway, attempts });
    await browser.close();
  }
  if (process.env.EVENTLINE_VERBOSE) console.log(JSON.stringify(results));
});

test("killed while forgetting people, each is wholly forgotten or wholly known, and nothing forgotten stays readable", { skip: SKIP }, async () => {
  const SUBJECTS = 120;
  // Delimited so that no one's details contain another's.
  const person = (i) => ({ name: `Person ${i} Quixote`, email: `p${i}.quixote@example.org`, address: `Lane ${i}, Rocinante` });
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    let browser;
    let reopened;
    let forgotten = new Set();
    let attempts = 0;
    // The forgettings are quick: if the crash falls before the first or after the last, again.
    while ((forgotten.size === 0 || forgotten.size === SUBJECTS) && attempts < 5) {
      attempts += 1;
      const dir = await profile();
      const database = `crash-forget-${round}`;
      browser = await launchKillable(dir);
      const { page } = await harness(browser.context, base);
      await page.evaluate(
        async ({ database, people }) => {
          const app = (window.app = await window.eventline.Eventline.open(database));
          for (const [i, p] of people.entries()) {
            await app.execute({ type: "OpenAccount", account: `acc${i}`, holder: { customer: `c${i}`, name: p.name, email: p.email } });
            await app.execute({ type: "CreateOrder", order: `o${i}`, customer: `c${i}`, shippingAddress: p.address });
          }
          await app.waitFor(await app.head(), { timeoutMs: 30_000 });
          // The summaries fall behind the forgettings, so the crash finds purges not yet projected.
          await app.setDelay("accountSummaries", 20);
          // One after another, as people ask, so the crash can fall among them.
          (async () => {
            for (let i = 0; i < people.length; i++) await app.forget(`c${i}`);
          })().catch(() => {});
        },
        { database, people: Array.from({ length: SUBJECTS }, (_, i) => person(i)) },
      );
      await until("some forgettings to land", () =>
        page.evaluate(async () => (await window.app.events({ type: "SubjectForgotten", limit: 3 })).length >= 3),
      );
      await browser.kill();

      browser = await launchKillable(dir);
      reopened = await reopenAsFollower(browser, database);
      forgotten = new Set(reopened.persisted.events.filter((e) => e.type === "SubjectForgotten").map((e) => e.data.subject));
      if (forgotten.size === 0 || forgotten.size === SUBJECTS) await browser.close();
    }
    assert.ok(forgotten.size > 0 && forgotten.size < SUBJECTS, `the crash fell among the forgettings (${forgotten.size} landed)`);
    const { persisted } = reopened;
    assert.deepEqual(persisted.events.map((e) => e.position), Array.from({ length: persisted.head }, (_, i) => i + 1));

    const seen = await reopened.page.evaluate(async (subjects) => {
      const app = window.app;
      const out = { statuses: [], holders: [], addresses: [], export: await app.exportLog() };
      for (let i = 0; i < subjects; i++) {
        out.statuses.push((await app.stateAt(`subject-c${i}`)).state.status);
        out.holders.push((await app.query("accountSummaries", { account: `acc${i}` })).data?.holder);
        out.addresses.push((await app.query("orderBoard", { order: `o${i}` })).data?.shippingAddress);
      }
      out.customers = (await app.query("customerOrders")).data;
      return out;
    }, SUBJECTS);
    const opened = new Map(persisted.events.filter((e) => e.type === "AccountOpened").map((e) => [e.stream, e.data.holder]));
    const created = new Map(persisted.events.filter((e) => e.type === "OrderCreated").map((e) => [e.stream, e.data.shippingAddress]));
    for (let i = 0; i < SUBJECTS; i++) {
      const subject = `c${i}`;
      const p = person(i);
      if (forgotten.has(subject)) {
        const gone = { $personal: subject, redacted: "forgotten" };
        assert.equal(seen.statuses[i], "forgotten", `${subject}: its forgetting is in the log, so its key is gone`);
        assert.deepEqual(opened.get(`account-acc${i}`), gone, `${subject}: the log's copy`);
        assert.deepEqual(created.get(`order-o${i}`), gone, `${subject}: the log's copy of the address`);
        assert.deepEqual(seen.holders[i], gone, `${subject}: the stored summary, purged or not`);
        assert.deepEqual(seen.addresses[i], gone, `${subject}: the stored order card`);
        for (const secret of Object.values(p)) assert.ok(!seen.export.includes(secret), `the export holds no ${secret}`);
      } else {
        assert.equal(seen.statuses[i], "known", `${subject}: no forgetting in the log, so its key is whole`);
        assert.deepEqual(opened.get(`account-acc${i}`), { $personal: subject, value: { name: p.name, email: p.email } });
        assert.deepEqual(created.get(`order-o${i}`), { $personal: subject, value: p.address });
        assert.ok(seen.export.includes(p.name), `${subject} is still in the export`);
      }
    }

    // Leading again, the projections reach every forgetting; the ones that did not land are
    // asked again, as their callers (who never got an answer) would.
    const resumed = await resumeAndConverge(reopened.page);
    for (const [name, ok] of Object.entries(resumed.converged)) assert.ok(ok, `${name} converged after the crash`);
    const after = await reopened.page.evaluate(async (subjects) => {
      const app = window.app;
      const customersBefore = (await app.query("customerOrders")).data;
      for (let i = 0; i < subjects; i++) await app.forget(`c${i}`);
      const head = await app.head();
      await app.waitFor(head, { timeoutMs: 60_000 });
      const statuses = [];
      for (let i = 0; i < subjects; i++) statuses.push((await app.stateAt(`subject-c${i}`)).state.status);
      const forgettings = (await app.events({ type: "SubjectForgotten", limit: 10_000 })).length;
      return { customersBefore, customers: (await app.query("customerOrders")).data, statuses, forgettings, export: await app.exportLog() };
    }, SUBJECTS);
    for (const subject of forgotten) assert.ok(!after.customersBefore.includes(subject), `customerOrders dropped ${subject}`);
    assert.deepEqual(after.customers, []);
    assert.ok(after.statuses.every((s) => s === "forgotten"));
    assert.equal(after.forgettings, SUBJECTS, "each subject forgotten once, however often asked");
    assert.ok(!after.export.includes("Quixote"), "no one's details are left in the export");
    assert.deepEqual(reopened.problems, []);
    results.push({ attempts, landed: forgotten.size, checkpoints: Object.fromEntries(persisted.projections.map((p) => [p.name, p.checkpoint])) });
    await browser.close();
  }
  if (process.env.EVENTLINE_VERBOSE) console.log(JSON.stringify(results));
});
