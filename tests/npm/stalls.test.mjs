// Read models start catching up as soon as there is something to catch up on (issue 15): a
// backlog of saga steps, or a tab taking the projections over from one that closed, must never
// leave an event unread by the read models for a second. The built package in headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserSuite, harness } from "../support/pages.mjs";

const suite = browserSuite();

/** Opens 20 funded accounts and requests `count` saga transfers between them, all at once. */
async function sagaBacklog(page, database, count) {
  return page.evaluate(
    async ({ database, count }) => {
      const app = (window.app = await window.eventline.Eventline.open(database));
      for (let i = 0; i < 20; i++) {
        await app.execute({ type: "OpenAccount", account: `x${i}` });
        await app.execute({ type: "Deposit", account: `x${i}`, amount: 100000 });
      }
      const requests = [];
      for (let i = 0; i < count; i++) {
        requests.push(app.execute({ type: "Transfer", from: `x${i % 20}`, to: `x${(i + 1) % 20}`, amount: 1, mode: "saga" }));
      }
      await Promise.all(requests);
    },
    { database, count },
  );
}

test("while the saga works through a backlog, no event waits a second for the read models", async () => {
  const context = await suite.browser.newContext();
  const { page, problems } = await harness(context, suite.base);
  await sagaBacklog(page, "backlog", 300);
  const result = await page.evaluate(async () => {
    const app = window.app;
    let worst = { ms: 0 };
    const started = performance.now();
    for (;;) {
      for (const p of await app.projections()) if (p.lag.ms > worst.ms) worst = { ms: p.lag.ms, name: p.name, events: p.lag.events };
      const inProgress = (await app.query("transfers", { inProgress: true })).data.length;
      if (inProgress === 0 && (await app.projections()).every((p) => p.lag.events === 0)) break;
      if (performance.now() - started > 60_000) return { timedOut: true, worst };
      await new Promise((r) => setTimeout(r, 25));
    }
    const transfers = (await app.query("transfers")).data;
    return { worst, completed: transfers.filter((t) => t.status === "completed").length, took: performance.now() - started };
  });
  assert.ok(!result.timedOut, JSON.stringify(result));
  assert.equal(result.completed, 300);
  assert.ok(result.worst.ms < 1000, `an event waited ${JSON.stringify(result.worst)} ms for the read models`);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a tab that takes the projections over, with a saga backlog, serves a deposit within a second", async () => {
  const context = await suite.browser.newContext();
  const first = await harness(context, suite.base);
  const second = await harness(context, suite.base);
  await sagaBacklog(first.page, "takeover", 400);
  await second.page.evaluate(async () => {
    window.app = await window.eventline.Eventline.open("takeover");
  });
  await first.page.close(); // the leader goes, mid-backlog
  const result = await second.page.evaluate(async () => {
    const app = window.app;
    const start = performance.now();
    while (!app.isLeader && performance.now() - start < 10_000) await new Promise((r) => setTimeout(r, 10));
    const waits = [];
    for (let i = 0; i < 5; i++) {
      const commit = await app.execute({ type: "Deposit", account: "x1", amount: 1 });
      const committed = performance.now();
      await app.waitFor(commit.position, { readModel: "balances", timeoutMs: 30_000 });
      waits.push(Math.round(performance.now() - committed));
      await new Promise((r) => setTimeout(r, 200));
    }
    return { leads: app.isLeader, tookOver: Math.round(performance.now() - start), waits };
  });
  assert.ok(result.leads, "the second tab took the projections over");
  for (const wait of result.waits) assert.ok(wait < 1000, `a deposit reached the balances after ${wait} ms: ${result.waits}`);
  assert.deepEqual(second.problems, []);
  await context.close();
});

test("a delay holds a lone command as long as every event of a burst", async () => {
  const context = await suite.browser.newContext();
  const { page, problems } = await harness(context, suite.base);
  const result = await page.evaluate(async () => {
    const app = await window.eventline.Eventline.open("delay");
    await app.execute({ type: "OpenAccount", account: "a" });
    await app.waitFor(await app.head());
    await app.setDelay("balances", 1500);
    await new Promise((r) => setTimeout(r, 2000)); // a quiet spell: nothing is due
    const commit = await app.execute({ type: "Deposit", account: "a", amount: 5 });
    const sent = performance.now();
    await new Promise((r) => setTimeout(r, 700));
    const midway = (await app.query("balances", { account: "a" })).data.balance;
    await app.waitFor(commit.position, { readModel: "balances", timeoutMs: 10_000 });
    const reached = performance.now() - sent;
    await app.setDelay("balances", 0);
    return { midway, reached };
  });
  assert.equal(result.midway, 0, "700 ms after the command the delayed read model has not seen it");
  assert.ok(result.reached >= 1300 && result.reached < 3000, `it arrived after ${result.reached} ms`);
  assert.deepEqual(problems, []);
  await context.close();
});
