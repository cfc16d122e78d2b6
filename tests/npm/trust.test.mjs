// The trust boundary, as a JavaScript user meets it (issue 13): a command id means one request,
// numbers JSON cannot carry never switch a check off, an imported log is believed only as far as
// it passes every check a command's commit passes, forgetting cannot be undone or faked by an
// import, one damaged key hides one person, and nothing echoes or fans out without bound.
// The built package in the browser EVENTLINE_BROWSER names, as in package.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserSuite, harness } from "../support/pages.mjs";

const suite = browserSuite();

/** A fresh browser context (its own IndexedDB) with the package loaded; `run` evaluates in it. */
async function page() {
  const context = await suite.browser.newContext();
  const { page, problems } = await harness(context, suite.base);
  // Helpers every test uses, defined once in the page.
  await page.evaluate(() => {
    window.codeOf = async (promise) => {
      try {
        await promise;
        return "ok";
      } catch (error) {
        return window.eventline.isEventlineError(error) ? error.code : `not an EventlineError: ${error}`;
      }
    };
    window.failureOf = async (promise) => {
      try {
        await promise;
        return null;
      } catch (error) {
        return { code: error.code, message: error.message, details: error.details ?? null };
      }
    };
    /** An export whose events `change` edited, with a digest made anew: a forged log. */
    window.forge = async (log, change, { digest = true } = {}) => {
      const lines = log.trim().split("\n");
      const end = JSON.parse(lines.pop());
      const events = lines.map((l) => JSON.parse(l));
      const changed = change(events) ?? events;
      const body = changed.map((e) => (typeof e === "string" ? e : JSON.stringify(e)) + "\n").join("");
      const bytes = new TextEncoder().encode(body);
      const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
      return body + JSON.stringify({ ...end, events: changed.length, sha256: digest ? hash : end.sha256 }) + "\n";
    };
  });
  return { page, context, problems };
}

test("a command id reused for another command is refused, naming the first commit", async () => {
  const { page: p, context, problems } = await page();
  const result = await p.evaluate(async () => {
    const app = await window.eventline.Eventline.open("ids");
    await app.execute({ type: "OpenAccount", account: "a" });
    await app.execute({ type: "OpenAccount", account: "b" });
    const first = await app.execute({ type: "Deposit", account: "a", amount: 100, commandId: "dep-1" });
    const retry = await app.execute({ amount: 100, type: "Deposit", account: "a", commandId: "dep-1" });
    const others = [];
    for (const other of [
      { type: "Deposit", account: "a", amount: 250 },
      { type: "Deposit", account: "b", amount: 100 },
      { type: "Withdraw", account: "a", amount: 100 },
      { type: "CloseAccount", account: "b" },
    ]) {
      others.push(await window.failureOf(app.execute({ ...other, commandId: "dep-1" })));
    }
    const head = await app.head();
    await app.waitFor(head);
    return {
      first: first.position,
      retry: [retry.replayed, retry.position],
      others,
      head,
      balances: (await app.query("balances")).data.accounts.map((a) => [a.account, a.balance]),
    };
  });
  assert.deepEqual(result.retry, [true, result.first], "the same request again is a retry");
  for (const failure of result.others) {
    assert.equal(failure.code, "DuplicateCommand", JSON.stringify(failure));
    assert.deepEqual(failure.details, { commandId: "dep-1", firstPosition: result.first, position: result.first });
    assert.match(failure.message, /dep-1/);
  }
  assert.equal(result.head, 3, "nothing appended");
  assert.deepEqual(result.balances, [["a", 100], ["b", 0]]);
  assert.deepEqual(problems, []);
  await context.close();
});

test("NaN and Infinity are refused wherever a number goes, never read as absent", async () => {
  const { page: p, context, problems } = await page();
  const result = await p.evaluate(async () => {
    const app = await window.eventline.Eventline.open("numbers");
    await app.execute({ type: "OpenAccount", account: "a" });
    await app.execute({ type: "Deposit", account: "a", amount: 100, commandId: "dep-1" });
    const commands = [
      { type: "Deposit", account: "a", amount: 5, expectedVersion: NaN },
      { type: "Deposit", account: "a", amount: 5, expectedVersion: Infinity },
      { type: "Deposit", account: "a", amount: 5, expectedVersion: -Infinity },
      { type: "Deposit", account: "a", amount: 5, commandId: NaN },
      { type: "Deposit", account: "a", amount: NaN },
      { type: "Deposit", account: "a", amount: Infinity },
      { type: "OpenAccount", account: "h", holder: { customer: "c", name: NaN, email: "a@b.c" } },
    ];
    const refused = [];
    for (const command of commands) refused.push(await window.failureOf(app.execute(command)));
    const head = await app.head();
    const options = [
      await window.failureOf(app.query("topAccounts", { limit: NaN })),
      await window.failureOf(app.waitFor(NaN)),
      await window.failureOf(app.waitFor(1, { timeoutMs: Infinity })),
      await window.failureOf(app.setDelay("balances", Infinity)),
      await window.failureOf(app.events({ limit: NaN })),
      await window.failureOf(app.queryAt("balances", {}, { position: NaN })),
      await window.failureOf(app.queryAt("balances", {}, { time: new Date("not a date") })),
      await window.failureOf(app.stateAt("account-a", { time: Infinity })),
    ];
    return { refused, head, options };
  });
  for (const failure of result.refused) {
    assert.equal(failure?.code, "InvalidCommand", JSON.stringify(failure));
    assert.match(failure.message, /(NaN|Infinity), not a finite number/);
  }
  assert.match(result.refused[4].message, /`amount` is NaN/, "says what is wrong with the value");
  assert.equal(result.head, 2, "nothing appended");
  for (const failure of result.options) {
    assert.equal(failure?.code, "InvalidArgument", JSON.stringify(failure));
    assert.match(failure.message, /not a finite number|invalid Date/);
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test("an import is refused whole unless every event passes what a command's commit passes", async () => {
  const { page: p, context, problems } = await page();
  const result = await p.evaluate(async () => {
    const source = await window.eventline.Eventline.open("import-source");
    for (const command of [
      { type: "OpenAccount", account: "a", holder: { customer: "ada", name: "Ada", email: "ada@example.org" } },
      { type: "OpenAccount", account: "b" },
      { type: "Deposit", account: "a", amount: 1000 },
      { type: "Withdraw", account: "a", amount: 300 },
      { type: "Transfer", from: "a", to: "b", amount: 200 },
      { type: "Withdraw", account: "b", amount: 150 },
    ]) {
      await source.execute(command);
    }
    const log = await source.exportLog();
    const copy = await window.eventline.Eventline.open("import-copy");
    const at = (events, type, n = 0) => events.filter((e) => e.type === type)[n];
    const attempts = {
      // Edited after export, digest left as it was: tampered.
      amountByOne: await window.forge(log, (es) => void (at(es, "MoneyDeposited").data.amount += 1), { digest: false }),
      withdrawalToDeposit: await window.forge(log, (es) => void (at(es, "MoneyWithdrawn").type = "MoneyDeposited"), {
        digest: false,
      }),
      noDigest: log.replace(/,"sha256":"[0-9a-f]+"/, ""),
      // Forged with a fresh digest: refused by what the events say.
      negative: await window.forge(log, (es) => void (at(es, "MoneyDeposited").data.amount = -1000)),
      overdrawn: await window.forge(log, (es) => void (at(es, "MoneyDeposited").data.amount = 400)),
      sameEventId: await window.forge(log, (es) => void (es[3].eventId = es[2].eventId)),
      unknownType: await window.forge(log, (es) => void (es[2].type = "MoneyPrinted")),
      extraField: await window.forge(log, (es) => void (at(es, "MoneyDeposited").data.bonus = 5)),
      received: await window.forge(log, (es) => es.filter((e) => e.type !== "TransferSent").map((e, i) => ({ ...e, position: i + 1 }))),
      movedStream: await window.forge(log, (es) => void (at(es, "MoneyWithdrawn", 1).stream = "account-a")),
      badStream: await window.forge(log, (es) => es.map((e) => (e.stream === "account-b" ? { ...e, stream: "account-Dana Example" } : e))),
      badCommandId: await window.forge(log, (es) => void (es[0].commandId = "javascript:alert(1) ")),
    };
    const failures = {};
    for (const [name, attempt] of Object.entries(attempts)) failures[name] = await window.failureOf(copy.importLog(attempt));
    const headAfterRefusals = await copy.head();
    const imported = await copy.importLog(log);
    await copy.waitFor(imported.head);
    return {
      failures,
      headAfterRefusals,
      imported,
      balances: (await copy.query("balances")).data.accounts.map((a) => [a.account, a.balance]),
    };
  });
  const { failures } = result;
  for (const [name, failure] of Object.entries(failures)) {
    assert.equal(failure?.code, "InvalidImport", `${name}: ${JSON.stringify(failure)}`);
    assert.doesNotMatch(failure.message, /import the same log again/, name);
  }
  assert.match(failures.amountByOne.message, /changed after it was exported/);
  assert.match(failures.withdrawalToDeposit.message, /changed after it was exported/);
  assert.match(failures.noDigest.message, /no digest/);
  assert.match(failures.negative.message, /positive whole number/);
  assert.match(failures.overdrawn.message, /taken from a balance of 100/);
  assert.match(failures.sameEventId.message, /appears twice/);
  assert.match(failures.unknownType.message, /unknown event type/);
  assert.match(failures.extraField.message, /not as this code writes it/);
  assert.match(failures.received.message, /received with no matching send/);
  assert.match(failures.movedStream.message, /account-a is at version/, "a moved event is an InvalidImport, not a conflict");
  assert.equal(failures.movedStream.details, null);
  assert.match(failures.badStream.message, /an id is/);
  assert.match(failures.badCommandId.message, /commandId/);
  assert.equal(result.headAfterRefusals, 0, "nothing of a refused log is appended");
  assert.equal(result.imported.events, 7);
  assert.deepEqual(result.balances, [["a", 500], ["b", 50]]);
  assert.deepEqual(problems, []);
  await context.close();
});

test("an import cannot undo, fake or dodge forgetting", async () => {
  const { page: p, context, problems } = await page();
  const result = await p.evaluate(async () => {
    const { Eventline } = window.eventline;
    const source = await Eventline.open("privacy-source");
    const holder = (customer) => ({ customer, name: `Name of ${customer}`, email: `${customer}@example.org` });
    await source.execute({ type: "OpenAccount", account: "a", holder: holder("ada") });
    await source.execute({ type: "OpenAccount", account: "b", holder: holder("bob") });
    const log = await source.exportLog();
    await source.forget("bob");
    const forgottenLog = await source.exportLog();

    const opened = (events, n = 0) => events.filter((e) => e.type === "AccountOpened")[n];
    const subjectLine = (subject) => ({
      ...JSON.parse(forgottenLog.trim().split("\n").at(-2)),
      stream: `subject-${subject}`,
      data: { subject },
    });
    const raw = (json) => (events) => {
      const lines = events.map((e) => JSON.stringify(e));
      lines[0] = json(lines[0]);
      return lines;
    };
    const attempts = {
      noteOnSubjectStream: await window.forge(log, (es) => [
        ...es,
        { ...es[1], position: 3, version: 1, stream: "subject-ada", type: "MoneyDeposited", data: { amount: 1 }, eventId: "019a0000-0000-7000-8000-000000000001", commandId: "note" },
      ]),
      reordered: await window.forge(log, raw((l) => l.replace(/\{"\$personal":"ada","value":(\{[^}]*\})\}/, '{"value":$1,"$personal":"ada"}'))),
      spaced: await window.forge(log, raw((l) => l.replace('{"$personal":', '{ "$personal":'))),
      escaped: await window.forge(log, raw((l) => l.replace('"$personal"', '"\\u0024personal"'))),
      repeated: await window.forge(log, raw((l) => l.replace('"$personal":"ada",', '"$personal":"ada","$personal":"ada",'))),
      generation: await window.forge(log, (es) => void (opened(es).data.holder.$personal = "#generation")),
      freeText: await window.forge(log, (es) => void (opened(es).data.holder.$personal = "Dana Example")),
      strangerForgotten: await window.forge(log, (es) => [...es, { ...subjectLine("stranger"), position: 3 }]),
      otherStreamForgotten: await window.forge(log, (es) => [...es, { ...subjectLine("ada"), stream: "subject-bob", position: 3 }]),
    };
    const copy = await Eventline.open("privacy-copy");
    const failures = {};
    for (const [name, attempt] of Object.entries(attempts)) failures[name] = await window.failureOf(copy.importLog(attempt));
    const headAfterRefusals = await copy.head();
    // The record of a real forgetting is honoured: bob's key is shredded here too.
    const imported = await copy.importLog(forgottenLog);
    const events = await copy.events();
    return {
      failures,
      headAfterRefusals,
      imported: imported.events,
      holders: events.filter((e) => e.type === "AccountOpened").map((e) => e.data.holder),
      bob: (await copy.stateAt("subject-bob")).state.status,
      forgetBobAgain: (await copy.forget("bob")).replayed,
      exported: (await copy.exportLog()).length > 0,
    };
  });
  for (const [name, failure] of Object.entries(result.failures)) {
    assert.equal(failure?.code, "InvalidImport", `${name}: ${JSON.stringify(failure)}`);
  }
  assert.match(result.failures.noteOnSubjectStream.message, /subject- stream/);
  for (const name of ["reordered", "spaced", "escaped"]) assert.match(result.failures[name].message, /spelt as stores write/, name);
  assert.match(result.failures.repeated.message, /twice/);
  assert.match(result.failures.generation.message, /subject/);
  assert.match(result.failures.freeText.message, /subject/);
  assert.match(result.failures.strangerForgotten.message, /no personal data/);
  assert.match(result.failures.otherStreamForgotten.message, /not its own subject/);
  assert.equal(result.headAfterRefusals, 0);
  assert.equal(result.imported, 3);
  assert.deepEqual(result.holders, [
    { $personal: "ada", value: { name: "Name of ada", email: "ada@example.org" } },
    { $personal: "bob", redacted: "forgotten" },
  ]);
  assert.equal(result.bob, "forgotten");
  assert.equal(result.forgetBobAgain, true);
  assert.ok(result.exported);
  assert.deepEqual(problems, []);
  await context.close();
});

test("one damaged key record hides one person, and everything else stays readable", async () => {
  const { page: p, context, problems } = await page();
  const result = await p.evaluate(async () => {
    const { Eventline } = window.eventline;
    const app = await Eventline.open("damaged-key");
    const holder = (customer) => ({ customer, name: `Name of ${customer}`, email: `${customer}@example.org` });
    await app.execute({ type: "OpenAccount", account: "a", holder: holder("ada") });
    await app.execute({ type: "OpenAccount", account: "b", holder: holder("bob") });
    await app.waitFor(await app.head());
    app.close();
    // Damage bob's key record the way a disk or a careless extension might.
    await new Promise((resolve, reject) => {
      const request = indexedDB.open("damaged-key");
      request.onsuccess = () => {
        const tx = request.result.transaction("keys", "readwrite");
        tx.objectStore("keys").put("not a key", "bob");
        tx.oncomplete = () => (request.result.close(), resolve());
        tx.onerror = () => reject(tx.error);
      };
      request.onerror = () => reject(request.error);
    });
    const reopened = await Eventline.open("damaged-key");
    const events = await reopened.events();
    const summaries = (await reopened.query("accountSummaries")).data;
    const exported = await reopened.exportLog();
    const newAboutBob = await window.codeOf(
      reopened.execute({ type: "OpenAccount", account: "c", holder: holder("bob") }),
    );
    const forgetBob = (await reopened.forget("bob")).replayed;
    return {
      holders: events.filter((e) => e.type === "AccountOpened").map((e) => e.data.holder),
      summaries: summaries.map((s) => s.holder),
      exportedLines: exported.trim().split("\n").length,
      newAboutBob,
      forgetBob,
    };
  });
  const ada = { $personal: "ada", value: { name: "Name of ada", email: "ada@example.org" } };
  const bob = { $personal: "bob", redacted: "unavailable" };
  assert.deepEqual(result.holders, [ada, bob]);
  assert.deepEqual(result.summaries, [ada, bob]);
  assert.equal(result.exportedLines, 3);
  assert.equal(result.newAboutBob, "CorruptData", "nothing new about bob can be sealed with a damaged key");
  assert.equal(result.forgetBob, false, "bob can still be forgotten");
  assert.deepEqual(problems, []);
  await context.close();
});

test("messages quote a short prefix, and notices are read once for every listener", async () => {
  const { page: p, context, problems } = await page();
  const result = await p.evaluate(async () => {
    const app = await window.eventline.Eventline.open("bounds");
    const huge = "x".repeat(50 * 1024 * 1024);
    const messages = [
      (await window.failureOf(app.execute({ type: "Deposit", account: huge, amount: 1 }))).message.length,
      (await window.failureOf(app.execute({ type: huge }))).message.length,
      (await window.failureOf(app.execute({ type: "OpenAccount", account: "a", currency: huge }))).message.length,
      (await window.failureOf(app.query(huge))).message.length,
      (await window.failureOf(app.events({ type: huge, limit: -1 }))).message.length,
    ];
    let reads = 0;
    const projections = app.projections.bind(app);
    app.projections = () => {
      reads += 1;
      return projections();
    };
    const heard = new Array(10_000).fill(0);
    const unsubscribe = heard.map((_, i) => app.subscribe((n) => n.kind === "projections" && (heard[i] += 1)));
    const started = performance.now();
    await app.execute({ type: "OpenAccount", account: "a" });
    await app.waitFor(await app.head());
    while (heard.some((h) => h === 0) && performance.now() - started < 5000) await new Promise((r) => setTimeout(r, 10));
    const elapsed = performance.now() - started;
    unsubscribe.forEach((u) => u());
    return { messages, reads, everyoneHeard: heard.every((h) => h > 0), elapsed };
  });
  for (const length of result.messages) assert.ok(length < 1100, `a message of ${length} characters`);
  assert.ok(result.everyoneHeard, "every listener heard the projections move");
  assert.ok(result.reads <= 5, `statuses read ${result.reads} times for 10,000 listeners`);
  assert.deepEqual(problems, []);
  await context.close();
});

test("points in time that name no point are refused", async () => {
  const { page: p, context, problems } = await page();
  const result = await p.evaluate(async () => {
    const app = await window.eventline.Eventline.open("points");
    await app.execute({ type: "OpenAccount", account: "a" });
    return {
      refused: [
        await window.codeOf(app.queryAt("balances", {}, {})),
        await window.codeOf(app.queryAt("balances", {}, { time: null })),
        await window.codeOf(app.queryAt("balances", {}, { position: null })),
        await window.codeOf(app.queryAt("balances", {}, { time: new Date(NaN) })),
        await window.codeOf(app.stateAt("account-a", {})),
        await window.codeOf(app.stateAt("account-a", { when: 1 })),
      ],
      now: (await app.stateAt("account-a")).version,
      atZero: (await app.queryAt("balances", {}, { position: 0 })).data.accounts.length,
    };
  });
  assert.deepEqual(result.refused, Array(6).fill("InvalidArgument"));
  assert.equal(result.now, 1, "no point at all is now");
  assert.equal(result.atZero, 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a throwing listener is reported, errors are recognised across copies, messages name fields", async () => {
  const { page: p, context, problems } = await page();
  const result = await p.evaluate(async () => {
    const { Eventline, EventlineError, isEventlineError } = window.eventline;
    const reported = [];
    window.addEventListener("error", (event) => {
      reported.push(event.error?.message ?? event.message);
      event.preventDefault();
    });
    const app = await Eventline.open("listeners");
    let heardAfter = 0;
    app.subscribe(() => {
      throw new Error("a listener's own bug");
    });
    app.subscribe((n) => n.kind === "committed" && (heardAfter += 1));
    await app.execute({ type: "OpenAccount", account: "a" });
    for (let i = 0; i < 100 && reported.length === 0; i++) await new Promise((r) => setTimeout(r, 10));

    const copy = await import("/pkg/eventline.js?second-copy");
    const fromFirst = await app.execute({ type: "Mint" }).catch((e) => e);
    const fromCopy = new copy.EventlineError("InvalidCommand", "made by the other copy");
    const messages = [
      (await window.failureOf(app.waitFor("abc"))).message,
      (await window.failureOf(app.events({ limit: "many" }))).message,
      (await window.failureOf(app.setDelay("balances", "slow"))).message,
      (await window.failureOf(app.waitFor(1, { timeoutMs: -5 }))).message,
    ];
    return {
      reported,
      heardAfter,
      recognised: [
        copy.isEventlineError(fromFirst),
        isEventlineError(fromCopy),
        fromCopy instanceof EventlineError,
        isEventlineError({ code: "InvalidCommand", message: "a look-alike" }),
        isEventlineError(new Proxy({}, { get() { throw new Error("hostile"); } })),
      ],
      messages,
    };
  });
  // It throws on every notice it hears, and more than one may arrive while the page runs.
  assert.ok(result.reported.length >= 1, "reported, not swallowed");
  assert.ok(result.reported.every((m) => m === "a listener's own bug"), JSON.stringify(result.reported));
  assert.equal(result.heardAfter, 1, "the other listeners are still told");
  assert.deepEqual(result.recognised, [true, true, false, false, false]);
  for (const message of result.messages) {
    assert.doesNotMatch(message, /line \d+ column \d+|u64|u32|usize/, message);
  }
  assert.deepEqual(problems, []);
  await context.close();
});
