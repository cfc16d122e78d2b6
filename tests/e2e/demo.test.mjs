// End-to-end tests of the demo page, as built by Trunk into dist/, in the browser EVENTLINE_BROWSER
// names: headless Chromium (the system's, driven by Playwright) by default, or Firefox
// (tests/support/browsers.mjs). Screenshots go to tests/e2e/artifacts/ (Chromium) or
// tests/e2e/artifacts/<engine>/. Run by scripts/test.sh.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ENGINE, launch } from "../support/browsers.mjs";
import { serve } from "../support/server.mjs";

const DIST = fileURLToPath(new URL("../../dist", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL(ENGINE === "chromium" ? "./artifacts" : `./artifacts/${ENGINE}`, import.meta.url));

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

async function open(context, viewport = { width: 1280, height: 800 }) {
  context ??= await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(base);
  await page.waitForSelector("main[data-ready]", { timeout: 20000 });
  return { page, context, problems };
}

/** Fills and sends one command form, returning its outcome element. */
async function send(page, command, values = {}) {
  await page.click(`[data-pick=${command}]`);
  const form = page.locator(`form[data-command=${command}]`);
  for (const [name, value] of Object.entries(values)) {
    const field = form.locator(`[name="${name}"]`);
    if ((await field.evaluate((el) => el.tagName)) === "SELECT") await field.selectOption(value);
    else await field.fill(String(value));
  }
  await form.locator("button[type=submit]").click();
  return form.locator(".outcome");
}

async function accepted(page, command, values) {
  const outcome = await send(page, command, values);
  try {
    await outcome.locator("text=Accepted at").waitFor({ timeout: 10000 });
  } catch (error) {
    // Say what the form showed instead: pending, or a refusal and its code.
    const shown = await outcome.textContent().catch(() => "(no outcome)");
    throw new Error(`${command} was not accepted within 10 s; the form shows ${JSON.stringify(shown)}`, { cause: error });
  }
  return outcome;
}

function setRange(locator, value) {
  return locator.evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }, value);
}

const balanceOf = (page, account) => page.locator(`[data-read-model=balances] tr[data-account="${account}"] .balance`);

test("a command shows pending, then accepted with its position and events", async () => {
  const { page, context, problems } = await open();
  await page.click("[data-pick=OpenAccount]");
  await page.evaluate(() => {
    window.seen = [];
    const form = document.querySelector("form[data-command=OpenAccount]");
    new MutationObserver(() => window.seen.push(form.querySelector(".outcome")?.textContent ?? "")).observe(form, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
  const outcome = await accepted(page, "OpenAccount", { account: "acc-1" });
  assert.match(await outcome.textContent(), /Accepted at #1/);
  assert.match(await outcome.textContent(), /#1 AccountOpened/);
  const seen = await page.evaluate(() => window.seen.filter(Boolean));
  const pending = seen.findIndex((s) => s.startsWith("Pending"));
  const done = seen.findIndex((s) => s.startsWith("Accepted"));
  assert.ok(pending >= 0 && done > pending, `pending, then accepted: ${JSON.stringify(seen)}`);

  await page.check("text=Read your writes");
  const deposit = await accepted(page, "Deposit", { account: "acc-1", amount: 12345 });
  assert.match(await deposit.textContent(), /Accepted at #2/);
  // With read-your-writes on, the result shows only once the read models have it.
  assert.equal(await balanceOf(page, "acc-1").textContent(), "123.45 EUR");
  await page.screenshot({ path: `${ARTIFACTS}/accepted.png` });
  assert.deepEqual(problems, []);
  await context.close();
});

test("a rejected command shows the domain's error and changes nothing", async () => {
  const { page, context, problems } = await open();
  await accepted(page, "OpenAccount", { account: "acc-1" });
  await accepted(page, "Deposit", { account: "acc-1", amount: 500 });
  const refused = await send(page, "Withdraw", { account: "acc-1", amount: 100000 });
  await refused.locator("text=InsufficientFunds").waitFor();
  // Amounts as the tables show them, not in cents.
  assert.match(await refused.textContent(), /has 5\.00 EUR available, less than the 1,000\.00 EUR requested/);
  const malformed = await send(page, "Deposit", { account: "acc-1", amount: "ten" });
  await malformed.locator("text=InvalidCommand").waitFor();
  const closed = await send(page, "CloseAccount", { account: "acc-1" });
  await closed.locator("text=AccountNotEmpty").waitFor();
  assert.match(await closed.textContent(), /still holds 5\.00 EUR/);
  await page.screenshot({ path: `${ARTIFACTS}/rejected.png` });
  assert.equal(await page.locator("[data-head]").getAttribute("data-head"), "2");
  assert.deepEqual(problems, []);
  await context.close();
});

test("with a delay, a read model falls behind and catches up", async () => {
  const { page, context, problems } = await open();
  await accepted(page, "OpenAccount", { account: "acc-1" });
  const badge = page.locator("[data-badge=balances]");
  await badge.locator("text=up to date at #1").waitFor();
  await setRange(page.locator("#delay-balances"), 700);
  await page.locator("[data-projection=balances] >> text=Delay 700 ms per event").waitFor();
  for (let i = 0; i < 4; i++) await accepted(page, "Deposit", { account: "acc-1", amount: 100 });
  await badge.locator("text=/behind by \\d+ events/").waitFor({ timeout: 5000 });
  await page.screenshot({ path: `${ARTIFACTS}/behind.png` });
  await badge.locator("text=up to date at #5").waitFor({ timeout: 15000 });
  assert.equal(await balanceOf(page, "acc-1").textContent(), "4.00 EUR");
  assert.deepEqual(problems, []);
  await context.close();
});

test("with a delay of 2 s per event, even a lone deposit reaches the balances 2 s late", async () => {
  const { page, context, problems } = await open();
  await accepted(page, "OpenAccount", { account: "acc-1" });
  const badge = page.locator("[data-badge=balances]");
  await badge.locator("text=up to date at #1").waitFor();
  await setRange(page.locator("#delay-balances"), 2000);
  await page.locator("[data-projection=balances] >> text=Delay 2000 ms per event").waitFor();
  await new Promise((r) => setTimeout(r, 2500)); // nothing pending: the next deposit comes alone
  await accepted(page, "Deposit", { account: "acc-1", amount: 100 });
  const sent = Date.now();
  await badge.locator("text=/behind by 1 events/").waitFor({ timeout: 2000 });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await balanceOf(page, "acc-1").textContent(), "0.00 EUR", "a second later the balance has not moved");
  await badge.locator("text=up to date at #2").waitFor({ timeout: 10000 });
  assert.ok(Date.now() - sent >= 1500, `it arrived after ${Date.now() - sent} ms`);
  assert.equal(await balanceOf(page, "acc-1").textContent(), "1.00 EUR");
  await setRange(page.locator("#delay-balances"), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test("scrubbing the timeline shows an old balance, and back to live", async () => {
  const { page, context, problems } = await open();
  await accepted(page, "OpenAccount", { account: "acc-1" });
  await accepted(page, "Deposit", { account: "acc-1", amount: 10000 });
  await accepted(page, "Deposit", { account: "acc-1", amount: 5000 });
  await page.locator("[data-badge=balances] >> text=up to date at #3").waitFor();
  assert.equal(await balanceOf(page, "acc-1").textContent(), "150.00 EUR");
  await setRange(page.locator("#scrubber"), 2);
  await page.locator("[data-badge=balances] >> text=as of #2").waitFor();
  await page.locator('[data-read-model=balances] tr[data-account="acc-1"] .balance:text("100.00 EUR")').waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/scrubbed.png` });
  await page.click("text=Back to live");
  await page.locator('[data-read-model=balances] tr[data-account="acc-1"] .balance:text("150.00 EUR")').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test("a second tab sees a command from the first, and says which tab runs the projections", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const first = await open(context);
  await first.page.locator("[data-tab-role=leader]").waitFor();
  const second = await open(context);
  await second.page.locator("[data-tab-role=follower]").waitFor();
  assert.match(await second.page.locator(".tab").textContent(), /Another tab runs the projections/);
  await accepted(first.page, "OpenAccount", { account: "shared" });
  await accepted(first.page, "Deposit", { account: "shared", amount: 4200 });
  await second.page.locator('[data-read-model=balances] tr[data-account="shared"] .balance:text("42.00 EUR")').waitFor({ timeout: 10000 });
  await accepted(second.page, "Deposit", { account: "shared", amount: 800 });
  await first.page.locator('[data-read-model=balances] tr[data-account="shared"] .balance:text("50.00 EUR")').waitFor({ timeout: 10000 });
  await second.page.screenshot({ path: `${ARTIFACTS}/second-tab.png` });
  assert.deepEqual([...first.problems, ...second.problems], []);
  await context.close();
});

test("the timeline inspects an event: its envelope, its aggregate's change, what it did to read models", async () => {
  const { page, context, problems } = await open();
  await accepted(page, "OpenAccount", { account: "a" });
  await accepted(page, "OpenAccount", { account: "b" });
  await accepted(page, "Deposit", { account: "a", amount: 1000 });
  await accepted(page, "Transfer", { from: "a", to: "b", amount: 300, mode: "saga" });
  await page.locator("[data-read-model=transfers] li[data-status=completed]").waitFor({ timeout: 10000 });
  await page.selectOption("#filter-type", "TransferDebited");
  // The filtered rows are drawn a moment after the change: click one that is drawn, not the
  // first row of the list as it was before the filter.
  const debited = page.locator(".timeline .row", { has: page.locator(".type", { hasText: /^TransferDebited$/ }) });
  await debited.first().click();
  const inspector = page.locator(".inspector");
  await inspector.locator("text=TransferDebited on account-a").waitFor();
  assert.match(await inspector.textContent(), /"type": "TransferDebited"/);
  // The aggregate's balance went from 10.00 to 7.00, and the held money appeared.
  await inspector.locator(".diff td:text('balance')").first().waitFor();
  assert.match(await inspector.textContent(), /balances \/ a/);
  // Keyboard: the next matching event.
  await page.selectOption("#filter-type", "");
  await page.locator(".timeline").focus();
  await page.keyboard.press("ArrowDown");
  await inspector.locator("text=/#\\d+ TransferReceived on account-b/").waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/inspector.png`, fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test("forgetting a customer: the log keeps its shape, the person is gone everywhere", async () => {
  const { page, context, problems } = await open();
  await accepted(page, "OpenAccount", { account: "acc-1" }); // held by alice, the form's default
  await accepted(page, "OpenAccount", {
    account: "acc-2",
    "holder.customer": "bob",
    "holder.name": "Bob Stone",
    "holder.email": "bob@example.com",
  });
  await accepted(page, "CreateOrder", { order: "o-1" }); // alice's, to the default address
  await accepted(page, "AddItem", { order: "o-1" });
  await accepted(page, "ConfirmOrder", { order: "o-1" });
  await accepted(page, "PayOrder", { order: "o-1", amount: 2500 });
  await page.locator("[data-badge=orderBoard] >> text=up to date at #6").waitFor();
  const holder = page.locator('[data-read-model=accountSummaries] td[data-holder="acc-1"]');
  const shipTo = page.locator('[data-read-model=orderBoard] td[data-ship-to="o-1"]');
  await holder.locator("text=Alice Martin <alice@example.com>").waitFor();
  assert.equal(await shipTo.textContent(), "12 rue des Lilas, Lyon");
  await page.locator('.timeline .row[data-position="1"] [data-privacy=personal]').waitFor();

  const forget = await accepted(page, "ForgetSubject", { subject: "alice" });
  assert.match(await forget.textContent(), /Accepted at #7/);
  assert.match(await forget.textContent(), /#7 SubjectForgotten/);
  await holder.locator("text=[forgotten]").waitFor({ timeout: 10000 });
  await shipTo.locator("text=[forgotten]").waitFor({ timeout: 10000 });
  assert.equal(await page.locator('[data-read-model=accountSummaries] td[data-holder="acc-2"]').textContent(), "Bob Stone <bob@example.com>");
  // The log keeps every event; the ones about alice now say she is forgotten.
  assert.equal(await page.locator("[data-head]").getAttribute("data-head"), "7");
  await page.locator('.timeline .row[data-position="1"] [data-privacy=forgotten]').waitFor();
  await page.locator('.timeline .row[data-position="3"] [data-privacy=forgotten]').waitFor();
  await page.locator('.timeline .row[data-position="1"]').click();
  const inspector = page.locator(".inspector");
  await inspector.locator("text=AccountOpened on account-acc-1").waitFor();
  assert.match(await inspector.textContent(), /"redacted": "forgotten"/);
  // As of a past position too.
  await setRange(page.locator("#scrubber"), 2);
  await page.locator("[data-badge=accountSummaries] >> text=as of #2").waitFor();
  await holder.locator("text=[forgotten]").waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/forgotten.png`, fullPage: true });
  const shown = await page.evaluate(() => document.body.innerText);
  for (const secret of ["Alice Martin", "alice@example.com", "rue des Lilas"]) {
    assert.ok(!shown.includes(secret), `the page shows no ${secret}`);
  }
  await page.click("text=Back to live");
  // Forgetting again is the same forgetting; nobody unknown can be forgotten.
  const again = await accepted(page, "ForgetSubject", { subject: "alice" });
  assert.match(await again.textContent(), /Accepted at #7/);
  const unknown = await send(page, "ForgetSubject", { subject: "nobody" });
  await unknown.locator("text=UnknownSubject").waitFor();
  assert.equal(await page.locator("[data-head]").getAttribute("data-head"), "7");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a forgotten person leaves every view at once: the past shown in this tab, the inspector in another", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const first = await open(context);
  const second = await open(context);
  await accepted(first.page, "OpenAccount", { account: "acc-1" }); // held by alice, the form's default
  await accepted(first.page, "Deposit", { account: "acc-1", amount: 500 });
  const holder = first.page.locator('[data-read-model=accountSummaries] td[data-holder="acc-1"]');
  await holder.locator("text=Alice Martin <alice@example.com>").waitFor();
  // This tab looks at the past; the other inspects the event that holds her details.
  await setRange(first.page.locator("#scrubber"), 1);
  await first.page.locator("[data-badge=accountSummaries] >> text=as of #1").waitFor();
  await holder.locator("text=Alice Martin <alice@example.com>").waitFor();
  await second.page.locator('.timeline .row[data-position="1"]').waitFor({ timeout: 10000 });
  await second.page.locator('.timeline .row[data-position="1"]').click();
  const inspector = second.page.locator(".inspector");
  await inspector.locator("text=Alice Martin").first().waitFor();

  await accepted(first.page, "ForgetSubject", { subject: "alice" });
  await holder.locator("text=[forgotten]").waitFor({ timeout: 10000 });
  await first.page.locator("[data-badge=accountSummaries] >> text=as of #1").waitFor();
  await inspector.locator("text=Alice Martin").waitFor({ state: "detached", timeout: 10000 });
  await second.page.locator('[data-read-model=accountSummaries] td[data-holder="acc-1"] >> text=[forgotten]').waitFor();
  for (const { page } of [first, second]) {
    // What the page shows of the log (not the forms' example values, which are no one's data).
    const shown = await page.evaluate(() =>
      [...document.querySelectorAll(".queries, .timeline, .inspector")].map((e) => e.innerText).join("\n"),
    );
    for (const secret of ["Alice Martin", "alice@example.com"]) {
      const at = shown.indexOf(secret);
      assert.ok(at < 0, `a tab still shows ${secret}: …${shown.slice(Math.max(0, at - 300), at + 100)}…`);
    }
  }
  await second.page.screenshot({ path: `${ARTIFACTS}/forgotten-inspector.png` });
  assert.deepEqual([...first.problems, ...second.problems], []);
  await context.close();
});

test("generated data streams in with progress, and the timeline stays virtualized", async () => {
  const { page, context, problems } = await open();
  await page.fill("#generate-count", "3000");
  await page.click("text=Generate demo data");
  await page.locator(".data .message:text('Generated 3000 commands')").waitFor({ timeout: 60000 });
  const head = Number(await page.locator("[data-head]").getAttribute("data-head"));
  assert.ok(head >= 3000, `log at #${head}`);
  const rows = await page.locator(".timeline .row").count();
  assert.ok(rows < 60, `only the rows in view are drawn: ${rows}`);
  await page.locator(".timeline").evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await page.locator(`.timeline .row[data-position="${head}"]`).waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/generated.png` });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${ARTIFACTS}/phone.png`, fullPage: false });
  assert.deepEqual(problems, []);
  await context.close();
});

test("amounts and names show whole at 1440 px; the page is usable at 1024 px and on a phone", async () => {
  const { page, context, problems } = await open(undefined, { width: 1440, height: 900 });
  await accepted(page, "OpenAccount", { account: "acc-1" });
  await accepted(page, "OpenAccount", {
    account: "savings-account-2",
    "holder.customer": "bartholomew",
    "holder.name": "Bartholomew Longname-Example",
    "holder.email": "bartholomew.longname@example.com",
  });
  await accepted(page, "Deposit", { account: "acc-1", amount: 10500 });
  await accepted(page, "Deposit", { account: "savings-account-2", amount: 123456789 });
  await page.locator("[data-badge=accountSummaries] >> text=up to date at #4").waitFor();
  assert.equal(await balanceOf(page, "acc-1").textContent(), "105.00 EUR");
  // Nothing on the query side or in the data tools is cut short: every cell and control holds
  // its whole text, and no panel needs a scroll bar.
  const cut = () =>
    page.evaluate(() => {
      const found = [];
      for (const el of document.querySelectorAll(".queries td, .queries th, .queries .badge, .data label, .data button")) {
        if (el.scrollWidth > el.clientWidth + 1) found.push(el.textContent.trim());
      }
      for (const el of document.querySelectorAll(".read-model .body")) {
        if (el.scrollWidth > el.clientWidth + 1) found.push(`a scroll bar in ${el.closest(".read-model").dataset.readModel}`);
      }
      return found;
    });
  assert.deepEqual(await cut(), []);
  await page.screenshot({ path: `${ARTIFACTS}/wide-1440.png`, fullPage: true });
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  for (const [width, height, name] of [[1024, 768, "tablet-1024"], [390, 844, "phone-390"]]) {
    await page.setViewportSize({ width, height });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok((await overflow()) <= 0, `the page scrolls sideways at ${width} px`);
    assert.equal(await balanceOf(page, "acc-1").textContent(), "105.00 EUR");
    await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test("the projections column speaks the page's words, and each gauge and its panel lead to each other", async () => {
  const { page, context, problems } = await open(undefined, { width: 1440, height: 900 });
  await accepted(page, "OpenAccount", { account: "acc-1" });
  const row = page.locator("#projection-balances");
  await row.locator(".head >> text=Balances").waitFor();
  await row.locator("text=live").waitFor();
  await row.locator("text=/last minute: peak \\d+, now \\d+ events behind/").waitFor();
  // The data tools are on screen without scrolling.
  const tools = await page.locator("#generate-count").evaluate((el) => el.getBoundingClientRect().bottom);
  assert.ok(tools < 900, `the data tools start ${tools} px down`);
  // From the panel's badge to its gauge, and back.
  await page.click("[data-badge=balances]");
  assert.equal(await page.evaluate(() => location.hash), "#projection-balances");
  assert.ok(await row.evaluate((el) => el.matches(":target")));
  await row.locator("a >> text=Balances").click();
  assert.equal(await page.evaluate(() => location.hash), "#rm-balances");
  await page.locator("#projection-balances button >> text=Pause").click();
  await row.locator("text=paused").waitFor();
  await accepted(page, "Deposit", { account: "acc-1", amount: 100 });
  await page.locator("[data-badge=balances] >> text=/paused · behind by 1 events/").waitFor();
  await page.locator("#projection-balances button >> text=Resume").click();
  await row.locator("text=live").waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/projections.png`, fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test("a rebuild keeps the panel's data on screen, shows its progress, and says how long it took", async () => {
  const { page, context, problems } = await open(undefined, { width: 1440, height: 900 });
  await accepted(page, "OpenAccount", { account: "acc-1" });
  for (let i = 0; i < 6; i++) await accepted(page, "Deposit", { account: "acc-1", amount: 1000 });
  const total = page.locator("[data-read-model=balances] .total");
  await total.locator("text=60.00 EUR").waitFor();
  // Slowed down, so that the rebuild can be watched.
  await setRange(page.locator("#delay-balances"), 150);
  await page.locator("#projection-balances >> text=Delay 150 ms per event").waitFor();
  // What the panel shows, noted by the page itself at every change during the rebuild.
  await page.evaluate(() => {
    window.noted = [];
    const panel = document.querySelector("[data-read-model=balances]");
    const note = () =>
      window.noted.push([panel.querySelector("[data-badge]").textContent, panel.querySelector(".total")?.textContent]);
    new MutationObserver(note).observe(panel, { subtree: true, childList: true, characterData: true });
  });
  await page.locator("#projection-balances button >> text=Rebuild").click();
  const badge = page.locator("[data-badge=balances]");
  await badge.locator("text=/rebuilding \\d+% · showing the read model from before/").waitFor();
  await page.locator("#projection-balances >> text=/rebuilt 7 events in \\d+ ms/").waitFor();
  await badge.locator("text=up to date at #7").waitFor();
  const noted = await page.evaluate(() => window.noted);
  const rebuilding = noted.filter(([badge]) => badge.startsWith("rebuilding"));
  const steps = new Set(rebuilding.map(([badge]) => badge.match(/\d+%/)[0]));
  assert.ok(steps.size >= 2, `the progress moved: ${[...steps]}`);
  for (const [badge, total] of rebuilding) {
    assert.equal(total, "Money in all accounts: 60.00 EUR", `the old read model stays on screen (${badge})`);
  }
  assert.equal(await total.textContent(), "Money in all accounts: 60.00 EUR");
  await page.screenshot({ path: `${ARTIFACTS}/rebuilt.png` });
  assert.deepEqual(problems, []);
  await context.close();
});

test("the small things: focus, optional fields, progress words, the selected row, badge and table agreeing, a favicon", async () => {
  const { page, context, problems } = await open(undefined, { width: 1440, height: 900 });
  // Choosing a command puts the cursor in its form.
  await page.click("[data-pick=Deposit]");
  await page.waitForFunction(() => document.activeElement?.id === "Deposit-account");
  // The form says which fields may be left out.
  await page.click("[data-pick=OpenAccount]");
  const form = page.locator("form[data-command=OpenAccount]");
  await form.locator("text=Holder's email (optional)").waitFor();
  await form.locator("text=/A holder is optional/").waitFor();
  // The badge says what the table shows: whenever it says "up to date at #n", the balance is
  // that of the first n events.
  await accepted(page, "OpenAccount", { account: "acc-1" });
  await page.evaluate(() => {
    window.pairs = [];
    const note = () => {
      const badge = document.querySelector("[data-badge=balances]")?.textContent ?? "";
      const balance = document.querySelector('[data-read-model=balances] tr[data-account="acc-1"] .balance')?.textContent ?? "";
      window.pairs.push([badge, balance]);
    };
    new MutationObserver(note).observe(document.querySelector("[data-read-model=balances]"), { subtree: true, childList: true, characterData: true });
  });
  for (let i = 0; i < 5; i++) await accepted(page, "Deposit", { account: "acc-1", amount: 100 });
  await page.locator("[data-badge=balances] >> text=up to date at #6").waitFor();
  const pairs = await page.evaluate(() => window.pairs);
  for (const [badge, balance] of pairs) {
    const at = badge.match(/up to date at #(\d+)/);
    if (at && balance) assert.equal(balance, `${Number(at[1]) - 1}.00 EUR`, `"${badge}" beside ${balance}`);
  }
  // Generating says what it is doing, in counts that add up.
  await page.fill("#generate-count", "2000");
  // Every label the progress bar shows, seen by the page itself: appending is fast enough now
  // that polling from the test between its words can miss them all.
  await page.evaluate(() => {
    window.progressLabels = [];
    new MutationObserver(() => {
      const label = document.querySelector(".data .progress label")?.textContent;
      if (label && window.progressLabels.at(-1) !== label) window.progressLabels.push(label);
    }).observe(document.querySelector(".data"), { subtree: true, childList: true, characterData: true });
  });
  await page.click("text=Generate demo data");
  while (!(await page.locator(".data .message").textContent()).startsWith("Generated")) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const labels = new Set(await page.evaluate(() => window.progressLabels));
  assert.ok(labels.size > 0);
  for (const label of labels) assert.match(label, /^(Deciding commands: [\d,]+ of 2,000|Appending events: [\d,]+ of [\d,]+)$/);
  // The selected event is clearly marked.
  // Rows are drawn anew while the generated events land and the projections catch up: a click
  // on a row that was just replaced reaches nothing, so click the drawn row until it is selected.
  const selected = page.locator('.timeline .row[data-position="2"][aria-selected="true"]');
  for (let tries = 0; tries < 20 && (await selected.count()) === 0; tries++) {
    await page.locator('.timeline .row[data-position="2"]').click();
    await new Promise((r) => setTimeout(r, 100));
  }
  await selected.waitFor();
  assert.notEqual(await selected.evaluate((el) => getComputedStyle(el).boxShadow), "none");
  // A forgotten person reads as [forgotten] in what the inspector shows an event changed.
  await accepted(page, "OpenAccount", { account: "acc-9", "holder.customer": "zoe", "holder.name": "Zoe Q", "holder.email": "zoe@example.com" });
  const opened = Number((await page.locator("[data-head]").getAttribute("data-head")));
  await accepted(page, "ForgetSubject", { subject: "zoe" });
  await page.locator(".timeline").evaluate((el, top) => (el.scrollTop = top), (opened - 3) * 28);
  await page.locator(`.timeline .row[data-position="${opened}"]`).click();
  const inspector = page.locator(".inspector");
  await inspector.locator("text=accountSummaries / acc-9").waitFor();
  await inspector.locator(".changes >> text=[forgotten]").first().waitFor();
  assert.ok(!(await inspector.locator(".changes").textContent()).includes("$personal"), "no raw JSON of a personal value");
  // A favicon, and no console error for want of one.
  assert.ok(await page.evaluate(() => !!document.querySelector("link[rel=icon]")));
  await page.screenshot({ path: `${ARTIFACTS}/small-things.png`, fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});
