// The built npm package (pkg/), used exactly as a JavaScript user would: an ES module imported
// by a page on localhost, in the browser EVENTLINE_BROWSER names (headless Chromium by default;
// tests/support/browsers.mjs). Run by scripts/test.sh after scripts/build-npm.sh.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { launch } from "../support/browsers.mjs";
import { serve } from "../support/server.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let server;
let browser;
let base;

before(async () => {
  server = await serve(ROOT);
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A fresh page (and browser context: its own IndexedDB) with the package imported. */
async function harness(context) {
  context ??= await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${base}/tests/npm/harness.html`);
  await page.waitForFunction(() => document.title === "ready");
  return { page, context, problems };
}

test("every method works as a JavaScript user calls it", async () => {
  const { page, context, problems } = await harness();
  const result = await page.evaluate(async () => {
    const { Eventline, readModels } = window.eventline;
    const app = await Eventline.open("tour");
    const notices = [];
    const unsubscribe = app.subscribe((n) => notices.push(n));
    const out = { database: app.database, readModels };

    await app.execute({ type: "OpenAccount", account: "a" });
    await app.execute({ type: "OpenAccount", account: "b", currency: "EUR" });
    const deposit = await app.execute({ type: "Deposit", account: "a", amount: 1000, commandId: "dep-1" });
    out.deposit = deposit;
    out.retry = await app.execute({ type: "Deposit", account: "a", amount: 1000, commandId: "dep-1" });
    await app.execute({ type: "Withdraw", account: "a", amount: 100 });
    const atomic = await app.execute({ type: "Transfer", from: "a", to: "b", amount: 200 });
    out.atomicTypes = atomic.events.map((e) => e.type);
    await app.execute({ type: "Transfer", from: "a", to: "b", amount: 50, mode: "saga", transferId: "t-saga", commandId: "t-saga" });
    for (const command of [
      { type: "CreateOrder", order: "o-1", customer: "alice" },
      { type: "AddItem", order: "o-1", sku: "book", quantity: 2, unitPrice: 250 },
      { type: "ConfirmOrder", order: "o-1" },
      { type: "PayOrder", order: "o-1", amount: 500 },
      { type: "CreateOrder", order: "o-2", customer: "alice" },
      { type: "CancelOrder", order: "o-2", reason: "changed my mind" },
    ]) {
      await app.execute(command);
    }

    // The saga finishes on its own; wait for every read model to see everything.
    const waitForTransfer = async () => {
      for (let i = 0; i < 200; i++) {
        if ((await app.query("transfers", { transferId: "t-saga" })).data?.status === "completed") return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitForTransfer();
    const head = await app.head();
    out.reached = await app.waitFor(head, { timeoutMs: 5000 });
    out.head = head;

    out.balanceA = (await app.query("balances", { account: "a" })).data;
    out.balances = await app.query("balances");
    out.summary = (await app.query("accountSummaries", { account: "a" })).data;
    out.summaries = (await app.query("accountSummaries")).data.length;
    out.top = (await app.query("topAccounts", { limit: 1 })).data;
    out.board = (await app.query("orderBoard")).data.counts;
    out.toShip = (await app.query("orderBoard", { pendingFulfilment: true })).data.map((o) => o.order);
    out.paid = (await app.query("orderBoard", { status: "paid" })).data.length;
    out.card = (await app.query("orderBoard", { order: "o-1" })).data.total;
    out.customers = (await app.query("customerOrders")).data;
    out.history = (await app.query("customerOrders", { customer: "alice" })).data.orders.map((o) => o.status);
    out.sagaSteps = (await app.query("transfers", { transferId: "t-saga" })).data.steps.map((s) => s.step);
    out.transferCount = (await app.query("transfers")).data.length;
    out.inProgress = (await app.query("transfers", { inProgress: true })).data.length;
    out.audit = (await app.query("auditLog", { limit: 3 })).data;

    out.past = (await app.queryAt("balances", { account: "a" }, { position: deposit.position })).data.balance;
    out.pastByDate = (await app.queryAt("balances", undefined, { time: new Date(0) })).data.accounts.length;
    out.stateNow = await app.stateAt("account-a");
    out.stateThen = (await app.stateAt("account-a", { position: 1 })).state;
    out.stateByTime = (await app.stateAt("order-o-1", { time: Date.now() })).state.status;

    out.eventsAll = (await app.events()).length;
    out.eventsPage = (await app.events({ from: 3, limit: 2 })).map((e) => e.position);
    out.eventsByType = (await app.events({ type: "MoneyDeposited" })).length;
    out.eventsByStream = (await app.events({ stream: "account-b" })).map((e) => e.version);
    out.eventsByCorrelation = (await app.events({ correlationId: "t-saga" })).length;

    out.projections = (await app.projections()).map((p) => [p.name, p.status, p.checkpoint === head]);
    await app.pause("balances");
    const paused = await app.execute({ type: "Deposit", account: "b", amount: 7 });
    out.pausedStatus = (await app.projections()).find((p) => p.name === "balances");
    await app.resume("balances");
    out.waitedByName = await app.waitFor(paused.position, "balances");
    out.waitedForPosition = paused.position;
    await app.setDelay("balances", 30);
    await app.execute({ type: "Deposit", account: "b", amount: 1 });
    await app.execute({ type: "Deposit", account: "b", amount: 1 });
    out.delayedLag = (await app.query("balances")).lag.events;
    await app.waitFor(await app.head(), { readModel: "balances" });
    await app.setDelay("balances", 0);
    // Slowed down so the rebuild can be watched: its status and progress, as polled and as heard.
    await app.setDelay("accountSummaries", 40);
    await app.rebuild("accountSummaries");
    out.rebuildSeen = [];
    out.answeredWhileRebuilding = new Set();
    for (let i = 0; i < 300; i++) {
      const status = (await app.projections()).find((p) => p.name === "accountSummaries");
      if (status.status === "rebuilding") {
        out.rebuildSeen.push(status.progress);
        // Blue/green: the read model from before answers until its replacement caught up.
        out.answeredWhileRebuilding.add((await app.query("accountSummaries", { account: "a" })).data?.totalDeposits);
      } else if (out.rebuildSeen.length > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    out.answeredWhileRebuilding = [...out.answeredWhileRebuilding];
    await app.setDelay("accountSummaries", 0);
    await app.waitFor(await app.head(), { readModel: "accountSummaries" });
    out.rebuildHeard = notices.some(
      (n) => n.kind === "projections" && n.projections.some((p) => p.name === "accountSummaries" && p.status === "rebuilding"),
    );
    out.afterRebuild = (await app.projections()).find((p) => p.name === "accountSummaries");
    out.rebuiltSummary = (await app.query("accountSummaries", { account: "a" })).data.totalDeposits;
    out.deadLetters = await app.deadLetters();

    const exportProgress = [];
    const log = await app.exportLog({ onProgress: (done, total) => exportProgress.push([done, total]) });
    out.exportLines = log.trim().split("\n").length - 1;
    out.endLine = JSON.parse(log.trim().split("\n").at(-1));
    out.exportProgress = exportProgress.at(-1);
    const copy = await Eventline.open("tour-copy");
    const importProgress = [];
    out.imported = await copy.importLog(log, { onProgress: (done, total) => importProgress.push([done, total]) });
    out.importProgress = importProgress.at(-1);
    out.importedAgain = await copy.importLog(log);
    await copy.waitFor(out.imported.head);
    out.copyBalance = (await copy.query("balances", { account: "b" })).data.balance;
    copy.close();

    out.noticeKinds = [...new Set(notices.map((n) => n.kind))].sort();
    out.sawProjectionStatuses = notices.some((n) => n.kind === "projections" && Array.isArray(n.projections));
    unsubscribe();
    const before = notices.length;
    await app.execute({ type: "Deposit", account: "a", amount: 1 });
    out.afterUnsubscribe = notices.length - before;
    out.isLeader = app.isLeader;
    await app.reset();
    out.headAfterReset = await app.head();
    app.close();
    out.closed = await app.head().then(() => "open", (e) => e.code);
    return out;
  });

  assert.equal(result.database, "tour");
  assert.equal(result.readModels.length, 7);
  assert.equal(result.deposit.events[0].type, "MoneyDeposited");
  assert.deepEqual(result.deposit.events[0].data, { amount: 1000 });
  assert.equal(result.deposit.events[0].commandId, "dep-1");
  assert.equal(result.retry.replayed, true);
  assert.equal(result.retry.position, result.deposit.position);
  assert.deepEqual(result.atomicTypes, ["TransferSent", "TransferReceived"]);
  assert.equal(result.reached.position, result.head);
  assert.deepEqual(result.balanceA, { account: "a", currency: "EUR", balance: 650, pending: 0, state: "open" });
  assert.equal(result.balances.data.total, 900, "deposits minus withdrawals, wherever transfers moved it");
  assert.equal(result.balances.lag.events, 0);
  assert.equal(result.summary.totalDeposits, 1000);
  assert.equal(result.summaries, 2);
  assert.deepEqual(result.top.map((t) => t.account), ["a"]);
  assert.deepEqual(result.board, { cancelled: 1, paid: 1 });
  assert.deepEqual(result.toShip, ["o-1"]);
  assert.equal(result.paid, 1);
  assert.equal(result.card, 500);
  assert.deepEqual(result.customers, ["alice"]);
  assert.deepEqual(result.history, ["paid", "cancelled"]);
  assert.deepEqual(result.sagaSteps, ["requested", "debited", "credited", "settled", "completed"]);
  assert.equal(result.transferCount, 2);
  assert.equal(result.inProgress, 0);
  assert.equal(result.audit.entries.length, 3);
  assert.equal(result.audit.total, result.head);
  assert.equal(result.past, 1000);
  assert.equal(result.pastByDate, 0);
  assert.equal(result.stateNow.state.balance, 650);
  assert.equal(result.stateNow.stream, "account-a");
  assert.deepEqual(result.stateThen, { status: "open", currency: "EUR", balance: 0, pending: {} });
  assert.equal(result.stateByTime, "paid");
  assert.equal(result.eventsAll, result.head);
  assert.deepEqual(result.eventsPage, [3, 4]);
  assert.equal(result.eventsByType, 1);
  assert.deepEqual(result.eventsByStream, [1, 2, 3]);
  assert.ok(result.eventsByCorrelation >= 5, "the saga's steps share the request's correlation id");
  assert.ok(result.projections.every(([, status, atHead]) => status === "live" && atHead), JSON.stringify(result.projections));
  assert.equal(result.pausedStatus.status, "paused");
  assert.equal(result.pausedStatus.lag.events, 1);
  assert.ok(result.delayedLag >= 1, "a delayed projection falls behind");
  assert.equal(result.waitedByName.position, result.waitedForPosition, "waitFor(position, readModel)");
  assert.ok(result.rebuildSeen.length >= 2, `a rebuild is seen in progress: ${result.rebuildSeen}`);
  assert.ok(
    result.rebuildSeen.every((p, i, all) => p >= 0 && p < 1 && (i === 0 || p >= all[i - 1])),
    `rebuild progress rises from 0 towards 1: ${result.rebuildSeen}`,
  );
  assert.ok(result.rebuildSeen.at(-1) > result.rebuildSeen[0], `rebuild progress moves: ${result.rebuildSeen}`);
  assert.ok(result.rebuildHeard, "subscribers hear the rebuild");
  assert.equal(result.afterRebuild.status, "live");
  assert.equal(result.afterRebuild.progress, null);
  assert.deepEqual(result.answeredWhileRebuilding, [1000], "the old read model answered throughout the rebuild");
  assert.ok(result.afterRebuild.lastRebuild.events >= result.head, JSON.stringify(result.afterRebuild.lastRebuild));
  assert.ok(result.afterRebuild.lastRebuild.ms >= 0);
  assert.equal(result.rebuiltSummary, 1000);
  assert.deepEqual(result.deadLetters, []);
  assert.equal(result.exportLines, result.exportProgress[1]);
  assert.deepEqual(result.importProgress, [result.exportLines, result.exportLines]);
  assert.equal(result.imported.events, result.exportLines);
  assert.deepEqual(Object.keys(result.endLine), ["eventlineExport", "events", "sha256"]);
  assert.deepEqual([result.endLine.eventlineExport, result.endLine.events], ["end", result.exportLines]);
  assert.match(result.endLine.sha256, /^[0-9a-f]{64}$/, "the end line carries the log's digest");
  assert.deepEqual(result.importedAgain, { events: 0, commits: 0, skipped: result.exportLines, head: result.imported.head });
  assert.equal(result.copyBalance, 259);
  for (const kind of ["committed", "projections", "progress"]) assert.ok(result.noticeKinds.includes(kind), kind);
  assert.ok(result.sawProjectionStatuses);
  assert.equal(result.afterUnsubscribe, 0);
  assert.equal(result.isLeader, true);
  assert.equal(result.headAfterReset, 0);
  assert.equal(result.closed, "StoreClosed");
  assert.deepEqual(problems, []);
  await context.close();
});

test("bad input gets a typed error, appends nothing, and the module keeps working", async () => {
  const { page, context, problems } = await harness();
  const result = await page.evaluate(async () => {
    const { Eventline, EventlineError } = window.eventline;
    const app = await Eventline.open("hostile");
    await app.execute({ type: "OpenAccount", account: "a" });
    await app.execute({ type: "Deposit", account: "a", amount: 100 });
    await app.execute({ type: "OpenAccount", account: "closed" });
    await app.execute({ type: "CloseAccount", account: "closed" });
    await app.execute({ type: "CreateOrder", order: "o", customer: "c" });
    const head = await app.head();
    const cyclic = { type: "Deposit", account: "a" };
    cyclic.amount = cyclic;
    const commands = [
      ["undefined", undefined],
      ["null", null],
      ["a string", "Deposit"],
      ["a number", 42],
      ["an array", []],
      ["a function", () => 1],
      ["an empty object", {}],
      ["an unknown type", { type: "Mint", account: "a", amount: 5 }],
      ["a saga step", { type: "DebitForTransfer", account: "a", transferId: "t", to: "b", amount: 5 }],
      ["a type that is not a string", { type: 7 }],
      ["a missing amount", { type: "Deposit", account: "a" }],
      ["a missing account", { type: "Deposit", amount: 5 }],
      ["a negative amount", { type: "Deposit", account: "a", amount: -5 }],
      ["a zero amount", { type: "Deposit", account: "a", amount: 0 }],
      ["a fractional amount", { type: "Deposit", account: "a", amount: 1.5 }],
      ["an amount as a string", { type: "Deposit", account: "a", amount: "100" }],
      ["a huge amount", { type: "Deposit", account: "a", amount: 1e300 }],
      ["an amount past 2^53", { type: "Deposit", account: "a", amount: 2 ** 53 }],
      ["NaN", { type: "Deposit", account: "a", amount: NaN }],
      ["Infinity", { type: "Deposit", account: "a", amount: Infinity }],
      ["a BigInt", { type: "Deposit", account: "a", amount: 5n }],
      ["an object amount", { type: "Deposit", account: "a", amount: { value: 5 } }],
      ["a cycle", cyclic],
      ["a numeric account", { type: "Deposit", account: 42, amount: 5 }],
      ["an empty account", { type: "Deposit", account: "", amount: 5 }],
      ["a long account", { type: "Deposit", account: "x".repeat(65), amount: 5 }],
      ["an account with spaces", { type: "Deposit", account: "a b", amount: 5 }],
      ["a lower-case currency", { type: "OpenAccount", account: "n", currency: "eur" }],
      ["a numeric command id", { type: "Deposit", account: "a", amount: 5, commandId: 5 }],
      ["a fractional quantity", { type: "AddItem", order: "o", sku: "s", quantity: 1.5, unitPrice: 5 }],
      ["an unknown transfer mode", { type: "Transfer", from: "a", to: "b", amount: 1, mode: "teleport" }],
      ["a negative transfer", { type: "Transfer", from: "a", to: "b", amount: -5 }],
      ["a fractional transfer", { type: "Transfer", from: "a", to: "b", amount: 0.5 }],
      ["a fractional payment", { type: "PayOrder", order: "o", amount: 2.5 }],
      ["a negative unit price", { type: "AddItem", order: "o", sku: "s", quantity: 1, unitPrice: -1 }],
      ["a huge unit price", { type: "AddItem", order: "o", sku: "s", quantity: 1, unitPrice: 1e30 }],
      ["a null amount", { type: "Deposit", account: "a", amount: null }],
      ["an unknown field", { type: "Deposit", account: "a", amount: 5, ammount: 5 }],
      ["a negative expected version", { type: "Deposit", account: "a", amount: 5, expectedVersion: -1 }],
    ];
    const domain = [
      ["an overdraft", { type: "Withdraw", account: "a", amount: 101 }, "InsufficientFunds"],
      ["an unknown account", { type: "Deposit", account: "nobody", amount: 5 }, "AccountNotFound"],
      ["a closed account", { type: "Deposit", account: "closed", amount: 5 }, "AccountClosed"],
      ["a second opening", { type: "OpenAccount", account: "a" }, "AccountAlreadyExists"],
      ["a transfer to itself", { type: "Transfer", from: "a", to: "a", amount: 5 }, "SameAccount"],
      ["a transfer to a closed account", { type: "Transfer", from: "a", to: "closed", amount: 5 }, "AccountClosed"],
      ["a huge quantity", { type: "AddItem", order: "o", sku: "s", quantity: 1e6, unitPrice: 5 }, "InvalidQuantity"],
      ["an empty confirmation", { type: "ConfirmOrder", order: "o" }, "EmptyOrder"],
      ["shipping a draft", { type: "ShipOrder", order: "o" }, "InvalidOrderState"],
      ["a stale expected version", { type: "Deposit", account: "a", amount: 5, expectedVersion: 1 }, "WrongExpectedVersion"],
    ];
    const outcomes = [];
    const check = async (label, promise) => {
      try {
        await promise;
        outcomes.push([label, "accepted"]);
      } catch (error) {
        outcomes.push([label, error instanceof EventlineError ? error.code : `untyped: ${error}`, typeof error.message, error.details]);
      }
    };
    for (const [label, command] of commands) await check(label, app.execute(command));
    for (const [label, command] of domain) await check(label, app.execute(command));
    const others = [
      ["open with no name", () => Eventline.open(""), "InvalidArgument"],
      ["open with a number", () => Eventline.open(5), "InvalidArgument"],
      ["an unknown read model", () => app.query("nope"), "UnknownReadModel"],
      ["a read model that is not a string", () => app.query(5), "InvalidArgument"],
      ["a query with a wrong argument", () => app.query("balances", { account: 5 }), "InvalidQuery"],
      ["a query with an unknown argument", () => app.query("balances", { acount: "a" }), "InvalidQuery"],
      ["a query with a negative limit", () => app.query("topAccounts", { limit: -1 }), "InvalidQuery"],
      ["waiting for a string", () => app.waitFor("x"), "InvalidArgument"],
      ["waiting for a negative position", () => app.waitFor(-1), "InvalidArgument"],
      ["waiting on an unknown read model", () => app.waitFor(1, { readModel: "nope" }), "UnknownReadModel"],
      ["a state of a number", () => app.stateAt(42), "InvalidArgument"],
      ["a state of an unknown category", () => app.stateAt("customer-1"), "UnknownStream"],
      ["a state at both a time and a position", () => app.stateAt("account-a", { position: 1, time: 1 }), "InvalidArgument"],
      ["events with a zero limit", () => app.events({ limit: 0 }), "InvalidArgument"],
      ["events with an unknown filter", () => app.events({ bogus: 1 }), "InvalidArgument"],
      ["a negative delay", () => app.setDelay("balances", -1), "InvalidArgument"],
      ["a delay past a minute", () => app.setDelay("balances", 1e9), "InvalidArgument"],
      ["pausing an unknown read model", () => app.pause("nope"), "UnknownReadModel"],
      ["importing garbage", () => app.importLog("this is not json"), "InvalidImport"],
      ["importing a number", () => app.importLog(42), "InvalidArgument"],
      ["a past state of a negative position", () => app.queryAt("balances", undefined, { position: -1 }), "InvalidArgument"],
      ["a past state at a word", () => app.queryAt("balances", undefined, "yesterday"), "InvalidArgument"],
      ["a past state of an unknown read model", () => app.queryAt("nope", undefined, { position: 1 }), "UnknownReadModel"],
      ["resuming an unknown read model", () => app.resume("nope"), "UnknownReadModel"],
      ["rebuilding a number", () => app.rebuild(5), "InvalidArgument"],
      ["a transfer by a numeric id", () => app.query("transfers", { transferId: 5 }), "InvalidQuery"],
      ["waiting with a number for options", () => app.waitFor(1, 5), "InvalidArgument"],
      ["waiting past the head", () => app.waitFor(head + 10, { timeoutMs: 50 }), "WaitTimeout"],
      ["events from a word", () => app.events({ from: "start" }), "InvalidArgument"],
      ["an export with a progress that is not a function", () => app.exportLog({ onProgress: 5 }), "InvalidArgument"],
      ["forgetting no one", () => app.forget(""), "InvalidCommand"],
    ];
    try {
      app.subscribe("not a function");
      outcomes.push(["subscribing a string", "accepted"]);
    } catch (error) {
      outcomes.push(["subscribing a string", error instanceof EventlineError ? error.code : `untyped: ${error}`, typeof error.message]);
    }
    // Called one at a time, so no rejection waits unhandled.
    for (const [label, call] of others) await check(label, call());
    const expected = Object.fromEntries([
      ...commands.map(([label]) => [label, "InvalidCommand"]),
      ...domain.map(([label, , code]) => [label, code]),
      ...others.map(([label, , code]) => [label, code]),
      ["subscribing a string", "InvalidArgument"],
    ]);
    const headAfter = await app.head();
    const stillWorks = await app.execute({ type: "Deposit", account: "a", amount: 1 });
    const balance = (await app.waitFor(stillWorks.position, { readModel: "balances" }), await app.query("balances", { account: "a" })).data.balance;
    app.close();
    return { head, headAfter, outcomes, expected, balance };
  });

  for (const [label, code, messageType] of result.outcomes) {
    assert.equal(code, result.expected[label], label);
    assert.equal(messageType, "string", `${label} has a message`);
  }
  assert.equal(result.outcomes.length, Object.keys(result.expected).length);
  const details = Object.fromEntries(result.outcomes.map(([label, , , details]) => [label, details]));
  assert.deepEqual(details["an overdraft"], { code: "InsufficientFunds", account: "a", balance: 100, requested: 101 });
  assert.deepEqual(details["a stale expected version"], { stream: "account-a", expected: { kind: "exact", version: 1 }, actual: 2 });
  assert.ok(details["an unknown field"] == null, "bad input has no details");
  assert.equal(result.headAfter, result.head, "nothing was appended");
  assert.equal(result.balance, 101, "the module keeps working afterwards");
  assert.deepEqual(problems, []);
  await context.close();
});

test("forget: personal fields become a typed redaction everywhere, idempotently", async () => {
  const { page, context, problems } = await harness();
  const result = await page.evaluate(async () => {
    const { Eventline } = window.eventline;
    const app = await Eventline.open("forget");
    const holder = { customer: "c-ada", name: "Ada Lovelace", email: "ada@example.org" };
    await app.execute({ type: "OpenAccount", account: "a", holder });
    await app.execute({ type: "Deposit", account: "a", amount: 700 });
    await app.execute({ type: "CreateOrder", order: "o-1", customer: "c-ada", shippingAddress: "12 Marylebone Street" });
    await app.execute({ type: "OpenAccount", account: "b", holder: { customer: "c-bob", name: "Bob", email: "bob@example.org" } });
    const out = {};
    const head = await app.head();
    await app.waitFor(head, { timeoutMs: 5000 });
    out.before = (await app.query("accountSummaries", { account: "a" })).data.holder;
    out.statusBefore = (await app.stateAt("subject-c-ada")).state.status;

    const forgotten = await app.forget("c-ada");
    out.forgottenTypes = forgotten.events.map((e) => e.type);
    out.again = await app.forget("c-ada");
    out.forgotten = forgotten;
    try {
      await app.forget("c-nobody");
    } catch (e) {
      out.unknown = { code: e.code, message: e.message };
    }
    await app.waitFor(forgotten.position, { timeoutMs: 5000 });
    out.statusAfter = (await app.stateAt("subject-c-ada")).state.status;
    out.summary = (await app.query("accountSummaries", { account: "a" })).data.holder;
    out.bob = (await app.query("accountSummaries", { account: "b" })).data.holder;
    out.card = (await app.query("orderBoard", { order: "o-1" })).data.shippingAddress;
    out.customers = (await app.query("customerOrders")).data;
    out.opened = (await app.events({ from: 1, limit: 1 }))[0].data.holder;
    out.pastSummary = (await app.queryAt("accountSummaries", { account: "a" }, { position: 1 })).data.holder;
    out.account = (await app.stateAt("account-a")).state;
    // The aggregate still takes commands.
    out.deposit = (await app.execute({ type: "Deposit", account: "a", amount: 5 })).events[0].type;
    out.export = await app.exportLog();
    out.head = await app.head();
    app.close();
    return out;
  });
  assert.deepEqual(result.before, { $personal: "c-ada", value: { name: "Ada Lovelace", email: "ada@example.org" } });
  assert.equal(result.statusBefore, "known");
  assert.deepEqual(result.forgottenTypes, ["SubjectForgotten"]);
  assert.equal(result.again.replayed, true, "forgetting twice replays the first forgetting");
  assert.deepEqual({ ...result.again, replayed: false }, result.forgotten);
  assert.equal(result.unknown.code, "UnknownSubject");
  assert.match(result.unknown.message, /c-nobody/);
  assert.equal(result.statusAfter, "forgotten");
  const gone = { $personal: "c-ada", redacted: "forgotten" };
  assert.deepEqual(result.summary, gone);
  assert.deepEqual(result.card, gone);
  assert.deepEqual(result.opened, gone);
  assert.deepEqual(result.pastSummary, gone);
  assert.deepEqual(result.bob, { $personal: "c-bob", value: { name: "Bob", email: "bob@example.org" } });
  assert.ok(!result.customers.includes("c-ada"), `customerOrders drops the forgotten: ${result.customers}`);
  assert.equal(result.account.balance, 700);
  assert.equal(result.deposit, "MoneyDeposited");
  assert.equal(result.head, 6, "4 commands, one forgetting, one deposit: the retry and the unknown appended nothing");
  for (const secret of ["Ada", "Lovelace", "ada@example.org", "Marylebone"]) {
    assert.ok(!result.export.includes(secret), `the export holds no ${secret}`);
  }
  assert.ok(result.export.includes("Bob"), "the others stay readable");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a Rust panic does not poison the module", async () => {
  const { page, context } = await harness();
  const result = await page.evaluate(async () => {
    const { Eventline, __panicForTests } = window.eventline;
    const app = await Eventline.open("panics");
    await app.execute({ type: "OpenAccount", account: "a" });
    for (let i = 0; i < 50 && !app.isLeader; i++) await new Promise((r) => setTimeout(r, 20));
    const wasLeader = app.isLeader;
    // A call still running when the module panics is rejected, not left hanging.
    const inFlight = app.waitFor((await app.head()) + 100, { timeoutMs: 20000 }).then(
      () => "resolved",
      (e) => e.code,
    );
    await __panicForTests();
    const inFlightCode = await inFlight;
    // The next calls run on a fresh instance with the database reopened.
    const commit = await app.execute({ type: "Deposit", account: "a", amount: 5 });
    await app.waitFor(commit.position, { readModel: "balances", timeoutMs: 10000 });
    const balance = (await app.query("balances", { account: "a" })).data.balance;
    const leadsAgain = app.isLeader;
    app.close();
    return { wasLeader, inFlightCode, balance, leadsAgain };
  });
  assert.deepEqual(result, { wasLeader: true, inFlightCode: "Panicked", balance: 5, leadsAgain: true });
  await context.close();
});

test("a database written by a newer Eventline is refused, untouched", async () => {
  const { page, context, problems } = await harness();
  const result = await page.evaluate(async () => {
    const { Eventline } = window.eventline;
    // A future version of the schema, with a store this version does not know.
    await new Promise((resolve, reject) => {
      const request = indexedDB.open("from-the-future", 1000);
      request.onupgradeneeded = () => request.result.createObjectStore("hyperlog").put("kept", 1);
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
      request.onerror = () => reject(request.error);
    });
    const refused = await Eventline.open("from-the-future").then(
      () => ({ code: "opened" }),
      (e) => ({ code: e.code, message: e.message }),
    );
    const after = await new Promise((resolve, reject) => {
      const request = indexedDB.open("from-the-future");
      request.onsuccess = () => {
        const db = request.result;
        const read = db.transaction("hyperlog").objectStore("hyperlog").get(1);
        read.onsuccess = () => {
          resolve({ version: db.version, stores: [...db.objectStoreNames], kept: read.result });
          db.close();
        };
      };
      request.onerror = () => reject(request.error);
    });
    // The module keeps working for other databases.
    const other = await Eventline.open("of-today");
    const position = (await other.execute({ type: "OpenAccount", account: "a" })).position;
    other.close();
    return { refused, after, position };
  });
  assert.equal(result.refused.code, "SchemaTooNew");
  assert.match(result.refused.message, /1000/);
  assert.deepEqual(result.after, { version: 1000, stores: ["hyperlog"], kept: "kept" });
  assert.equal(result.position, 1);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a Rust panic in the module's background work rejects what is in flight and recovers", async () => {
  const { page, context } = await harness();
  const result = await page.evaluate(async () => {
    const { Eventline, __panicLaterForTests } = window.eventline;
    const app = await Eventline.open("panics-later");
    await app.execute({ type: "OpenAccount", account: "a" });
    // Waiting for a position nobody writes: only the panic can end it.
    const inFlight = app.waitFor((await app.head()) + 100, { timeoutMs: 20000 }).then(
      () => "resolved",
      (e) => e.code,
    );
    // The page's own handlers still see the trap (it is uncaught); the test page ignores it.
    window.addEventListener("error", (event) => event.preventDefault());
    await __panicLaterForTests();
    const inFlightCode = await inFlight;
    const commit = await app.execute({ type: "Deposit", account: "a", amount: 7 });
    await app.waitFor(commit.position, { readModel: "balances", timeoutMs: 10000 });
    const balance = (await app.query("balances", { account: "a" })).data.balance;
    app.close();
    return { inFlightCode, balance };
  });
  assert.deepEqual(result, { inFlightCode: "Panicked", balance: 7 });
  await context.close();
});

test("a damaged log record is reported as CorruptData, never a panic, and the rest keeps working", async () => {
  const { page, context, problems } = await harness();
  const result = await page.evaluate(async () => {
    const { Eventline } = window.eventline;
    const app = await Eventline.open("damaged");
    await app.execute({ type: "OpenAccount", account: "a" });
    await app.execute({ type: "Deposit", account: "a", amount: 5 });
    await app.execute({ type: "OpenAccount", account: "b" });
    const head = await app.head();
    app.close();
    // The first log record (the first commit) overwritten with bytes that are no chunk, and the
    // read models' progress cleared, so that they must read it again (the leader may or may not
    // have written theirs before the close: it is quick enough to, at times).
    await new Promise((resolve, reject) => {
      const request = indexedDB.open("damaged");
      request.onsuccess = () => {
        const db = request.result;
        const tx = db.transaction(["chunks", "checkpoints", "documents"], "readwrite");
        const log = tx.objectStore("chunks");
        log.getAllKeys().onsuccess = (e) => log.put(new Uint8Array([7, 1, 255, 3]), e.target.result[0]);
        tx.objectStore("checkpoints").clear();
        tx.objectStore("documents").clear();
        tx.oncomplete = () => {
          db.close();
          resolve();
        };
        tx.onerror = () => reject(tx.error);
      };
      request.onerror = () => reject(request.error);
    });
    const reopened = await Eventline.open("damaged");
    const code = (promise) => promise.then(() => "ok", (e) => e.code);
    const out = {
      head,
      headAfter: await reopened.head(),
      events: await code(reopened.events()),
      stateOfA: await code(reopened.stateAt("account-a")),
      depositToA: await code(reopened.execute({ type: "Deposit", account: "a", amount: 1 })),
      laterEvents: (await reopened.events({ from: 2 })).map((e) => e.type),
      depositToB: await code(reopened.execute({ type: "Deposit", account: "b", amount: 1 })),
    };
    out.export = await code(reopened.exportLog());
    // The projections stop at the damage and say why.
    for (let i = 0; i < 100; i++) {
      out.balances = (await reopened.projections()).find((p) => p.name === "balances");
      if (out.balances.status === "failed") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    reopened.close();
    return out;
  });
  assert.equal(result.headAfter, result.head);
  assert.equal(result.events, "CorruptData");
  assert.equal(result.stateOfA, "CorruptData");
  assert.equal(result.depositToA, "CorruptData", "a stream whose history cannot be read takes no command");
  assert.deepEqual(result.laterEvents, ["MoneyDeposited", "AccountOpened"], "the intact records still read");
  assert.equal(result.depositToB, "ok");
  assert.equal(result.export, "CorruptData");
  assert.equal(result.balances.status, "failed");
  assert.match(result.balances.error, /corrupt|damaged|chunk/i);
  assert.equal(result.balances.checkpoint, 0);
  assert.equal(result.balances.lag.events, result.head + 1);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a second tab sees a command from the first", async () => {
  const context = await browser.newContext();
  const first = await harness(context);
  const second = await harness(context);
  await second.page.evaluate(async () => {
    window.app = await window.eventline.Eventline.open("tabs");
    window.heard = [];
    window.app.subscribe((n) => window.heard.push(n));
  });
  const position = await first.page.evaluate(async () => {
    const app = await window.eventline.Eventline.open("tabs");
    await app.execute({ type: "OpenAccount", account: "shared" });
    return (await app.execute({ type: "Deposit", account: "shared", amount: 42 })).position;
  });
  const seen = await second.page.evaluate(async (position) => {
    for (let i = 0; i < 250; i++) {
      if (window.heard.some((n) => n.kind === "committed" && n.position === position && !n.local)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await window.app.waitFor(position, { readModel: "balances" });
    const { data } = await window.app.query("balances", { account: "shared" });
    return { heard: window.heard.some((n) => n.kind === "committed" && n.position === position && !n.local), balance: data.balance };
  }, position);
  assert.deepEqual(seen, { heard: true, balance: 42 });
  await context.close();
});

test("the example page uses the package from plain JavaScript", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${base}/examples/plain-js/`);
  await page.waitForSelector("body[data-ready=true]");
  await page.selectOption("select[name=type]", "OpenAccount");
  await page.click("button");
  await page.waitForSelector("output:has-text('Accepted')");
  await page.selectOption("select[name=type]", "Deposit");
  await page.fill("input[name=amount]", "1234");
  await page.click("button");
  await page.waitForSelector("td:has-text('12.34 EUR')");
  await page.selectOption("select[name=type]", "Withdraw");
  await page.fill("input[name=amount]", "999999");
  await page.click("button");
  await page.waitForSelector("output.error:has-text('InsufficientFunds')");
  assert.deepEqual(problems, []);
  await context.close();
});
