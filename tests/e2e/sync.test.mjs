// End-to-end: two devices (two browser profiles) sync the demo page's log through the nats-server
// that scripts/test.sh starts (EVENTLINE_SYNC_WS, log `demo`), through the page's sync panel. A
// command on one device appears on the other; a command decided offline on an account the other
// device wrote meanwhile is decided again, one the domain now refuses is listed as rejected after
// sync; the timeline marks pending events and the badges say "local" until the server confirms.
// In the browser EVENTLINE_BROWSER names, as demo.test.mjs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ENGINE, launch } from "../support/browsers.mjs";
import { serve } from "../support/server.mjs";

const DIST = fileURLToPath(new URL("../../dist", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL(ENGINE === "chromium" ? "./artifacts" : `./artifacts/${ENGINE}`, import.meta.url));
const URL_ = process.env.EVENTLINE_SYNC_WS;
const SKIP = URL_ ? false : "EVENTLINE_SYNC_WS is unset: scripts/test.sh starts the sync server this test needs";

let server;
let browser;
let base;

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  server = await serve(DIST);
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A device: a browser profile of its own with the page open and its log syncing. */
async function device() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(base);
  await page.waitForSelector("main[data-ready]", { timeout: 20000 });
  await connect(page);
  return { page, context, problems };
}

/** Waits until the element `selector` finds reads `text` exactly (or, with `prefix`, begins so). */
function textIs(page, selector, text, { timeout = 30000, prefix = false } = {}) {
  return page.waitForFunction(
    ([selector, text, prefix]) => {
      const shown = document.querySelector(selector)?.textContent.trim();
      return shown !== undefined && (prefix ? shown.startsWith(text) : shown === text);
    },
    [selector, text, prefix],
    { timeout },
  );
}

async function connect(page) {
  // The panel is folded until opened.
  await page.evaluate(() => {
    const panel = document.querySelector("details.sync-panel");
    panel.open = true;
    panel.scrollIntoView();
  });
  await page.fill('input[name="sync-url"]', URL_);
  await page.click('button[name="sync-start"]');
  await textIs(page, '[data-sync="state"]', "Connected", { timeout: 20000 });
}

async function synced(page) {
  await textIs(page, '[data-sync="state"]', "Connected", { timeout: 20000 });
  await textIs(page, '[data-sync="pending"]', "0");
}

async function send(page, command, values) {
  await page.click(`[data-pick=${command}]`);
  const form = page.locator(`form[data-command=${command}]`);
  for (const [name, value] of Object.entries(values)) await form.locator(`[name="${name}"]`).fill(String(value));
  await form.locator("button[type=submit]").click();
  await form.locator(".outcome >> text=Accepted at").waitFor({ timeout: 10000 });
}

// Accounts of this run sort first among the log's (the balances panel lists the first rows).
const account = `00000-${Math.random().toString(36).slice(2, 8)}`;
const balanceIs = (page, amount) =>
  textIs(page, `[data-read-model=balances] tr[data-account="${account}"] .balance`, amount, { prefix: true });

test("two devices: a command appears on the other, a conflict is decided again, a refusal is listed", { skip: SKIP }, async () => {
  const a = await device();
  const b = await device();
  await send(a.page, "OpenAccount", { account });
  await send(a.page, "Deposit", { account, amount: 10000 });
  await balanceIs(b.page, "100.00");
  await synced(a.page);
  await synced(b.page);
  assert.match(await a.page.locator("[data-badge=balances]").textContent(), /confirmed/);

  // Device b goes offline; a withdraws 30.00; b, still seeing 100.00, withdraws 50.00 then 40.00.
  await b.page.click('button[name="sync-stop"]');
  await textIs(b.page, '[data-sync="state"]', "Not syncing");
  await send(a.page, "Withdraw", { account, amount: 3000 });
  await synced(a.page);
  await send(b.page, "Withdraw", { account, amount: 5000 });
  await send(b.page, "Withdraw", { account, amount: 4000 });
  await balanceIs(b.page, "10.00");
  await b.page.screenshot({ path: `${ARTIFACTS}/sync-offline.png` });

  await connect(b.page);
  await synced(b.page);
  // On 70.00 the 50.00 is decided again and stored; the 40.00 is then refused: 20.00 left.
  await balanceIs(b.page, "20.00");
  await balanceIs(a.page, "20.00");
  const rejected = b.page.locator('[data-sync="rejected"] li');
  await rejected.first().waitFor({ timeout: 10000 });
  assert.equal(await rejected.count(), 1);
  assert.match(await rejected.first().textContent(), /InsufficientFunds/);
  assert.ok(Number(await b.page.locator('[data-sync="redecided"]').textContent()) >= 1);
  assert.match(await b.page.locator("[data-badge=balances]").textContent(), /confirmed/);
  await b.page.screenshot({ path: `${ARTIFACTS}/sync-decided-again.png` });
  assert.deepEqual([...a.problems, ...b.problems], []);
  await a.context.close();
  await b.context.close();
});

test("while offline, the timeline marks pending events and the badges say local", { skip: SKIP }, async () => {
  const d = await device();
  await synced(d.page);
  await d.page.click('button[name="sync-stop"]');
  // Stopped is not syncing: badges say nothing of sync then. Start again with the server gone.
  await d.page.fill('input[name="sync-url"]', "ws://127.0.0.1:1");
  await d.page.click('button[name="sync-start"]');
  await textIs(d.page, '[data-sync="state"]', "Offline", { timeout: 20000, prefix: true });
  const own = `00000-${Math.random().toString(36).slice(2, 8)}`;
  await send(d.page, "OpenAccount", { account: own });
  await send(d.page, "Deposit", { account: own, amount: 100 });
  await textIs(d.page, '[data-sync="pending"]', "2", { timeout: 10000 });
  await d.page.locator("[data-badge=balances]:text('local')").waitFor({ timeout: 10000 });
  // The timeline is virtualized: its last rows are drawn once scrolled to.
  await d.page.locator(".timeline").evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await d.page.locator(".row.pending").first().waitFor({ timeout: 10000 });
  // Firefox reports the refused WebSocket itself as a page error; nothing else may appear.
  assert.deepEqual(d.problems.filter((p) => !/establish a connection to the server at ws:\/\/127\.0\.0\.1:1\//.test(p)), []);
  await d.context.close();
});
