// Hostile input at the JavaScript surface: seeded random values of every JS type (and commands,
// queries and logs made of plausible parts and junk) passed to every method of the package.
// Every call resolves or rejects with an EventlineError whose code is one the declarations list
// (never Panicked or InternalError), with a message; nothing is appended by what is refused; no
// error escapes to the page; and the module works afterwards. EVENTLINE_LONG=1: ten times more.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { LONG, ROOT, harness, browserSuite } from "../support/pages.mjs";

const CALLS = LONG ? 20_000 : 2_000;
const SEED = Number(process.env.EVENTLINE_SEED ?? 20261123);

const suite = browserSuite();

/** The string literals of union `name` in a declarations file. */
async function union(file, name) {
  const declarations = await readFile(`${ROOT}/${file}`, "utf8");
  const start = declarations.indexOf(`export type ${name} =`);
  if (start < 0) throw new Error(`${file} declares no ${name}`);
  const body = declarations.slice(start);
  return [...body.slice(0, body.indexOf(";")).matchAll(/"(\w+)"/g)].map((m) => m[1]);
}

/** Every code the demo's package declares: the demo's own, and the API's. */
async function declaredCodes() {
  return [
    ...(await union("demo/npm/eventline.d.ts", "DomainErrorCode")),
    ...(await union("web/npm/eventline-api.d.ts", "ApiErrorCode")),
  ];
}

/** Runs in the page: the fuzzer. */
async function fuzz({ seed, calls }) {
  const { Eventline, EventlineError, readModels } = window.eventline;
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (items) => items[int(items.length)];

  const COMMANDS = ["OpenAccount", "Deposit", "Withdraw", "CloseAccount", "Transfer", "CreateOrder", "AddItem",
    "ConfirmOrder", "PayOrder", "ShipOrder", "DeliverOrder", "CancelOrder"];
  const FIELDS = ["type", "account", "amount", "currency", "from", "to", "mode", "transferId", "order", "customer",
    "sku", "quantity", "unitPrice", "reason", "commandId", "correlationId", "expectedVersion", "limit", "status",
    "pendingFulfilment", "inProgress", "time", "position", "stream", "__proto__", "constructor", "toJSON"];
  const STRINGS = ["", "a", "acc-1", "fuzz", "EUR", "eur", "saga", "atomic", "any", "noStream", "streamExists",
    "account-acc-1", "order-o-1", "transfer-t", "nope", "\u0000", "\uD800", "👩‍💻", " ", "a b", "x".repeat(65),
    "y".repeat(100_000), "null", "{}", "[]", "NaN", "1e400", "__proto__", ...COMMANDS, ...readModels];
  const NUMBERS = [0, -0, 1, -1, 1.5, 42, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 2 ** 64, 1e308, -1e308, Number.MIN_VALUE,
    NaN, Infinity, -Infinity];

  const value = (depth = 0) => {
    switch (int(depth > 2 ? 8 : 22)) {
      case 0: return undefined;
      case 1: return null;
      case 2: return next() < 0.5;
      case 3: return pick(NUMBERS);
      case 4: return int(1000);
      case 5: return pick(STRINGS);
      case 6: return pick(STRINGS) + String(int(5));
      case 7: return BigInt(int(1000)) - 5n;
      case 8: return Symbol("fuzz");
      case 9: return () => { throw new Error("called"); };
      case 10: return Array.from({ length: int(4) }, () => value(depth + 1));
      case 11: return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(FIELDS), value(depth + 1)]));
      case 12: return command(depth + 1);
      case 13: return new Date(int(2) ? Date.now() : NaN);
      case 14: return new Map([[pick(FIELDS), value(depth + 1)]]);
      case 15: return new Uint8Array(int(64));
      case 16: return new Proxy({}, { get() { throw new Error("hostile getter"); }, ownKeys() { throw new Error("hostile keys"); } });
      case 17: { const o = { type: pick(COMMANDS) }; o.self = o; return o; }
      case 18: return { toJSON() { throw new Error("hostile toJSON"); } };
      case 19: return Object.defineProperty({}, pick(FIELDS), { enumerable: true, get() { throw new Error("getter"); } });
      case 20: {
        // A promise of a hostile object rejects; the fuzzer, not the module, owns that rejection.
        const promise = Promise.resolve(value(depth + 1));
        promise.catch(() => {});
        return promise;
      }
      default: return Object.create(null);
    }
  };
  // Commands from real parts, so that some pass parsing and reach the domain: often a valid
  // command with one field changed.
  const VALID = [
    () => ({ type: "OpenAccount", account: `acc-${int(20)}` }),
    () => ({ type: "Deposit", account: `acc-${int(3)}`, amount: 1 + int(500) }),
    () => ({ type: "Withdraw", account: "acc-1", amount: 1 + int(50) }),
    () => ({ type: "Transfer", from: "acc-1", to: `acc-${int(3)}`, amount: 1 + int(20), mode: pick(["atomic", "saga"]) }),
    () => ({ type: "CreateOrder", order: `o-${int(10)}`, customer: "c" }),
    () => ({ type: "AddItem", order: `o-${int(10)}`, sku: "s", quantity: 1 + int(3), unitPrice: 1 + int(99) }),
  ];
  const command = (depth = 0) => {
    if (next() < 0.4) {
      const c = pick(VALID)();
      if (next() < 0.5) c[pick(FIELDS)] = value(depth + 1);
      return c;
    }
    const c = { type: next() < 0.9 ? pick(COMMANDS) : value(depth + 1) };
    for (let i = int(6); i > 0; i--) {
      const field = pick(FIELDS);
      c[field] = next() < 0.6 ? pick([...STRINGS.slice(0, 14), int(1000), 1 + int(500)]) : value(depth + 1);
    }
    if (next() < 0.3) c.commandId = `fuzz-${int(50)}`;
    return c;
  };
  const exported = await (async () => {
    const source = await Eventline.open("fuzz-source");
    await source.execute({ type: "OpenAccount", account: "s" });
    await source.execute({ type: "Deposit", account: "s", amount: 10 });
    await source.execute({ type: "OpenAccount", account: "t" });
    await source.execute({ type: "Transfer", from: "s", to: "t", amount: 3 });
    const log = await source.exportLog();
    source.close();
    return log;
  })();
  // A real export with one event changed and its digest made anew: a forged log, which only
  // the import's checks of every event stand against.
  const forged = async () => {
    const lines = exported.trim().split("\n");
    const end = JSON.parse(lines.pop());
    const events = lines.map((l) => JSON.parse(l));
    const event = pick(events);
    const other = pick(events);
    switch (int(7)) {
      case 0: event.data = { ...event.data, amount: pick([...NUMBERS, 1 + int(50)]) }; break;
      case 1: event.type = pick(["MoneyDeposited", "MoneyWithdrawn", "TransferReceived", "AccountClosed", "SubjectForgotten"]); break;
      case 2: event.stream = other.stream; break;
      case 3: event.eventId = other.eventId; break;
      case 4: event.data = value(); break;
      case 5: event.version = int(6); break;
      default: events.splice(events.indexOf(event), 1); break;
    }
    let body;
    try {
      body = events.map((e) => JSON.stringify(e) + "\n").join("");
    } catch {
      return exported; // a hostile value the fuzzer itself cannot write
    }
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
    const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return body + JSON.stringify({ ...end, events: events.length, sha256 }) + "\n";
  };
  // Logs: garbage, forged, or a real export with one character, line or number changed.
  const log = () => {
    if (next() < 0.3) return value();
    if (next() < 0.4) return forged();
    const lines = exported.split("\n");
    switch (int(5)) {
      case 0: { const i = int(exported.length); return exported.slice(0, i) + String.fromCharCode(int(128)) + exported.slice(i + 1); }
      case 1: lines.splice(int(lines.length), 1); return lines.join("\n");
      case 2: lines.splice(int(lines.length), 0, lines[int(lines.length)]); return lines.join("\n");
      case 3: return exported.replace(/\d+/, String(pick(NUMBERS)));
      default: return exported.slice(0, int(exported.length));
    }
  };

  const app = await Eventline.open("fuzz");
  await app.execute({ type: "OpenAccount", account: "acc-1" });
  await app.execute({ type: "Deposit", account: "acc-1", amount: 1000 });
  const methods = [
    ["execute", () => app.execute(next() < 0.5 ? command() : value())],
    ["query", () => app.query(next() < 0.7 ? pick(readModels) : value(), value())],
    ["queryAt", () => app.queryAt(next() < 0.7 ? pick(readModels) : value(), value(), value())],
    ["stateAt", () => app.stateAt(next() < 0.5 ? pick(["account-acc-1", "order-o-1", "transfer-t"]) : value(), value())],
    ["events", () => app.events(value())],
    // Forgetting is generic to every domain, outside the command parser: a subject of any shape.
    ["forget", () => app.forget(next() < 0.3 ? pick(["alice", "nobody", "", "a b", "x".repeat(65)]) : value())],
    ["waitFor", () => app.waitFor(value(), value())],
    ["pause", () => app.pause(value())],
    ["resume", () => app.resume(next() < 0.5 ? pick(readModels) : value())],
    ["rebuild", () => app.rebuild(value())],
    ["setDelay", () => app.setDelay(next() < 0.5 ? pick(readModels) : value(), value())],
    ["transfers", () => app.query("transfers", { transferId: value() })],
    ["importLog", async () => {
      // Not `await log()`: awaiting a hostile Proxy reads its `then`, which throws in the fuzzer.
      const l = log();
      return app.importLog(l instanceof Promise ? await l : l, value());
    }],
    ["exportLog", () => app.exportLog(value())],
    ["deadLetters", () => app.deadLetters()],
    ["subscribe", () => app.subscribe(value())()],
    ["open", async () => (await Eventline.open(value())).close()],
  ];

  /** Whether a value holds a number JSON cannot carry, which no call may read as absent. */
  const nonFinite = (v, seen = new Set()) => {
    if (typeof v === "number") return !Number.isFinite(v);
    if (typeof v !== "object" || v === null || seen.has(v)) return false;
    seen.add(v);
    try {
      return Object.values(v).some((item) => nonFinite(item, seen));
    } catch {
      return false;
    }
  };

  const seen = {};
  const bad = [];
  let appended = 0;
  for (let i = 0; i < calls; i++) {
    let [name, call] = pick(methods);
    if (name === "execute") {
      const c = next() < 0.5 ? command() : value();
      call = () => app.execute(c);
      call.nonFinite = nonFinite(c) && !(c instanceof Promise);
    }
    const before = await app.head();
    let outcome;
    let detail;
    try {
      const result = await Promise.race([
        Promise.resolve().then(call),
        new Promise((resolve) => setTimeout(() => resolve("still waiting"), name === "waitFor" ? 500 : 3_000)),
      ]);
      outcome = result === "still waiting" ? (name === "waitFor" ? "waiting" : "hung") : "resolved";
      if (outcome === "resolved" && call.nonFinite) bad.push(`call ${i}: a command holding NaN or Infinity was accepted`);
      if (name === "execute" && outcome === "resolved" && !result.replayed) appended += result.events.length;
      if (name === "importLog" && outcome === "resolved") appended += result.events;
    } catch (error) {
      if (!(error instanceof EventlineError)) outcome = `untyped ${error?.constructor?.name}: ${error?.message ?? error}`;
      else if (typeof error.message !== "string" || error.message === "") outcome = `${error.code} without a message`;
      else outcome = error.code;
      detail = error?.message;
    }
    seen[`${name} ${outcome}`] = (seen[`${name} ${outcome}`] ?? 0) + 1;
    // Accepted saga transfers go on in the background: their steps are caused by events, not
    // by a caller, and are the only appends a refused call may see.
    const after = await app.head();
    if (!["resolved", "waiting"].includes(outcome) && after > before) {
      const appendedMeanwhile = await app.events({ from: before + 1, limit: after - before });
      const byCallers = appendedMeanwhile.filter((e) => e.causationId === e.commandId);
      if (byCallers.length > 0) bad.push(`${name} was refused (${outcome}) yet ${byCallers[0].commandId} was appended`);
    }
    if (outcome === "hung" || outcome.startsWith("untyped") || outcome.includes("without") || outcome === "Panicked" || outcome === "InternalError") {
      bad.push(`call ${i}: ${name} -> ${outcome} (${detail})`);
    }
  }
  // Whatever the fuzzer paused or delayed, the module still works.
  for (const name of readModels) {
    await app.resume(name);
    await app.setDelay(name, 0);
  }
  const head = await app.head();
  const all = [];
  while (all.length < head) all.push(...(await app.events({ from: all.length + 1, limit: 10_000 })));
  const bySaga = all.filter((e) => e.causationId !== e.commandId).length;
  const commit = await app.execute({ type: "Deposit", account: "acc-1", amount: 1 });
  await app.waitFor(commit.position, { timeoutMs: 30_000 });
  const works = commit.position > head && (await app.query("balances", { account: "acc-1" })).data !== null;
  // Whatever was imported, forged or not, no money was made or lost: what the accounts hold is
  // what was deposited minus what was withdrawn.
  await app.waitFor(await app.head(), { timeoutMs: 30_000 });
  const events = [];
  for (let head = await app.head(); events.length < head; ) events.push(...(await app.events({ from: events.length + 1, limit: 10_000 })));
  const moved = events.reduce((sum, e) => sum + (e.type === "MoneyDeposited" ? e.data.amount : e.type === "MoneyWithdrawn" ? -e.data.amount : 0), 0);
  const held = (await app.query("balances")).data.accounts.reduce((sum, a) => sum + a.balance + a.pending, 0);
  const dead = (await app.deadLetters()).length;
  app.close();
  return { seen, bad, appended, bySaga, head, works, money: { moved, held }, dead };
}

test(`${CALLS} hostile calls: typed errors, nothing appended by refusals, no panic`, async () => {
  const codes = new Set(await declaredCodes());
  const context = await suite.browser.newContext();
  const { page, problems } = await harness(context, suite.base);
  const result = await page.evaluate(fuzz, { seed: SEED, calls: CALLS });
  if (process.env.EVENTLINE_VERBOSE) console.log(JSON.stringify(result.seen, null, 1));
  assert.deepEqual(result.bad, [], `seed ${SEED}`);
  for (const key of Object.keys(result.seen)) {
    const outcome = key.slice(key.indexOf(" ") + 1);
    if (outcome !== "resolved" && outcome !== "waiting") assert.ok(codes.has(outcome), `${key}: not a declared code`);
  }
  // Commands from plausible parts did reach the domain and sometimes pass.
  assert.ok(result.seen["execute resolved"] > 0, "some fuzzed commands were valid");
  assert.equal(
    result.head,
    2 + result.appended + result.bySaga,
    "only accepted calls appended (and the saga steps they started), exactly what they reported",
  );
  assert.ok(result.works, "the module works afterwards");
  assert.equal(result.money.held, result.money.moved, "no money made or lost, whatever was imported");
  assert.equal(result.dead, 0, "nothing in the log that a read model cannot apply");
  assert.deepEqual(problems, []);
  await context.close();
});
