// The inventory's npm package (pkg-inventory/, built by `scripts/build-npm.sh inventory`), used
// as a JavaScript user would: the same wrapper as the demo's package over another domain's
// module. Commands and refusals, queries, waitFor, stateAt now and in the past, export and import,
// forgetting, bad input. In the browser EVENTLINE_BROWSER names (tests/support/browsers.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserSuite, harness } from "../support/pages.mjs";

const suite = browserSuite();

/** A page with the inventory's package imported, in a context of its own (its own IndexedDB). */
async function inventory() {
  const context = await suite.browser.newContext();
  const { page, problems } = await harness(context, suite.base, { pkg: "pkg-inventory" });
  return { page, problems, context };
}

test("its registry comes from its Rust crate, not the demo's", async () => {
  const { page, problems, context } = await inventory();
  const schema = await page.evaluate(() => window.eventline.schema);
  assert.deepEqual(schema.readModels, ["stockLevels", "openReservations"]);
  assert.ok(schema.commandTypes.includes("PlaceReservation"));
  assert.ok(!schema.commandTypes.includes("Deposit"));
  assert.ok(schema.eventTypes.includes("StockReceived"));
  assert.ok(schema.errorCodes.includes("InsufficientStock"));
  assert.deepEqual(problems, []);
  await context.close();
});

test("commands, fulfilment, queries, waitFor and stateAt", async () => {
  const { page, problems, context } = await inventory();
  const out = await page.evaluate(async () => {
    const { Eventline } = window.eventline;
    const app = await Eventline.open("inventory-tour");
    const out = {};
    await app.execute({ type: "RegisterItem", sku: "bolt", name: "Bolt M6" });
    const received = await app.execute({ type: "ReceiveStock", sku: "bolt", quantity: 10, commandId: "recv-1" });
    out.retried = (await app.execute({ type: "ReceiveStock", sku: "bolt", quantity: 10, commandId: "recv-1" })).replayed;
    out.afterReceipt = received.position;
    const placed = await app.execute({
      type: "PlaceReservation", reservation: "r-1", sku: "bolt", quantity: 3,
      customer: "ada", name: "Ada Lovelace", email: "ada@example.com",
    });
    // Fulfilment confirms the reservation a moment after the command: wait for it.
    for (let i = 0; i < 100; i++) {
      const state = await app.stateAt("reservation-r-1");
      if (state.state.status === "confirmed") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    out.reservation = (await app.stateAt("reservation-r-1")).state.status;
    const head = await app.head();
    await app.waitFor(head);
    out.level = (await app.query("stockLevels", { sku: "bolt" })).data;
    out.open = (await app.query("openReservations", { customer: "ada" })).data.map((r) => [r.reservation, r.status]);
    out.past = (await app.stateAt("item-bolt", { position: out.afterReceipt })).state.onHand;
    out.pastLevel = (await app.queryAt("stockLevels", { sku: "bolt" }, { position: placed.position })).data.reserved;
    await app.execute({ type: "RegisterItem", sku: "kit", name: "Kit" });
    const kit = await app.execute({ type: "AssembleKit", kit: "kit", component: "bolt", quantity: 2 });
    out.kitStreams = kit.events.map((e) => e.stream);
    try {
      await app.execute({ type: "AssembleKit", kit: "kit", component: "bolt", quantity: 50 });
    } catch (error) {
      out.short = [error.code, error.details?.available];
    }
    app.close();
    return out;
  });
  assert.equal(out.retried, true);
  assert.equal(out.reservation, "confirmed");
  assert.deepEqual([out.level.onHand, out.level.reserved, out.level.available], [10, 3, 7]);
  assert.deepEqual(out.open, [["r-1", "confirmed"]]);
  assert.equal(out.past, 10);
  assert.equal(out.pastLevel, 0, "before fulfilment reserved anything");
  assert.deepEqual(out.kitStreams, ["item-kit", "item-bolt"]);
  assert.deepEqual(out.short, ["InsufficientStock", 5]);
  assert.deepEqual(problems, []);
  await context.close();
});

test("export and import into another database, forgetting, and bad input", async () => {
  const { page, problems, context } = await inventory();
  const out = await page.evaluate(async () => {
    const { Eventline, isEventlineError } = window.eventline;
    const app = await Eventline.open("inventory-source");
    const out = {};
    await app.execute({ type: "RegisterItem", sku: "nut", name: "Nut" });
    await app.execute({ type: "ReceiveStock", sku: "nut", quantity: 5 });
    await app.execute({
      type: "PlaceReservation", reservation: "r-9", sku: "nut", quantity: 1,
      customer: "bob", name: "Bob", email: "bob@example.com",
    });
    // Fulfilment confirms the reservation a moment after the command: the log to export holds
    // its events once it has.
    for (let i = 0; i < 100; i++) {
      if ((await app.stateAt("reservation-r-9")).state.status === "confirmed") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await app.waitFor(await app.head());
    const log = await app.exportLog();
    const copy = await Eventline.open("inventory-copy");
    out.imported = (await copy.importLog(log)).events;
    await copy.waitFor(await copy.head());
    out.copied = (await copy.query("stockLevels", { sku: "nut" })).data.onHand;
    try {
      await copy.importLog(log.replace('"quantity":5', '"quantity":500'));
    } catch (error) {
      out.tampered = error.code;
    }
    const forgot = await app.forget("bob");
    await app.waitFor(forgot.position);
    out.contact = (await app.query("openReservations", { customer: "bob" })).data.map((r) => r.contact.redacted);
    out.again = (await app.forget("bob")).replayed;
    const refusals = {};
    for (const [name, command] of [
      ["a zero quantity", { type: "ReceiveStock", sku: "nut", quantity: 0 }],
      ["NaN", { type: "ReceiveStock", sku: "nut", quantity: NaN }],
      ["an unknown field", { type: "RegisterItem", sku: "x", name: "X", colour: "red" }],
      ["a demo command", { type: "Deposit", account: "a", amount: 1 }],
      ["an internal step", { type: "ReserveStock", sku: "nut", reservation: "r", quantity: 1 }],
      ["no such item", { type: "ReceiveStock", sku: "ghost", quantity: 1 }],
    ]) {
      try {
        await app.execute(command);
        refusals[name] = "accepted";
      } catch (error) {
        refusals[name] = isEventlineError(error) ? error.code : String(error);
      }
    }
    out.refusals = refusals;
    try {
      await app.query("balances");
    } catch (error) {
      out.demoReadModel = error.code;
    }
    app.close();
    copy.close();
    return out;
  });
  assert.ok(out.imported >= 4);
  assert.equal(out.copied, 5);
  assert.equal(out.tampered, "InvalidImport");
  assert.deepEqual(out.contact, ["forgotten"]);
  assert.equal(out.again, true);
  assert.deepEqual(out.refusals, {
    "a zero quantity": "InvalidCommand",
    NaN: "InvalidCommand",
    "an unknown field": "InvalidCommand",
    "a demo command": "InvalidCommand",
    "an internal step": "InvalidCommand",
    "no such item": "UnknownItem",
  });
  assert.equal(out.demoReadModel, "UnknownReadModel");
  assert.deepEqual(problems, []);
  await context.close();
});

test("the example page (inventory/example/) works as the guide says", async () => {
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  // A database of its own: the page keeps its data between visits.
  await page.goto(`${suite.base}/inventory/example/?db=example-${Date.now()}`);
  // Its forms wait for the module and the database.
  await page.locator("#register button:enabled").waitFor();
  await page.click("text=Register item");
  await page.locator("#outcome >> text=Accepted at").waitFor();
  await page.click("text=Receive stock");
  await page.locator("#stock tbody tr >> text=Bolt M6").waitFor();
  await page.click("text=Place reservation");
  // Fulfilment confirms it a moment later; the page redraws on the notice.
  await page.locator("#reservations tbody tr >> text=confirmed").waitFor({ timeout: 10000 });
  assert.match(await page.locator("#stock tbody").textContent(), /boltBolt M6\s*10\s*3\s*7/);
  await page.click("#reservations button >> text=Ship");
  await page.locator("#reservations tbody tr").waitFor({ state: "detached", timeout: 10000 });
  // Fulfilment ships the stock after the reservation is shipped: the level follows a moment later.
  let stock = "";
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    stock = await page.locator("#stock tbody").textContent();
    if (/boltBolt M6\s*7\s*0\s*7/.test(stock)) break;
  }
  assert.match(stock, /boltBolt M6\s*7\s*0\s*7/);
  assert.deepEqual(problems, []);
  await context.close();
});
