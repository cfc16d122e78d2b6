// Exports of a bank's log, made in Node so that a suite can import tens of thousands of events
// without first deciding them one by one. They are what Eventline itself exports (the same JSON
// lines and end line) and what the bank's rules allow: accounts opened before use, deposits, and
// atomic transfers (two events, one commit) that never overdraw.
import { createHash } from "node:crypto";

/** A seeded generator (mulberry32): the same seed gives the same log. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuidV7(ms, next) {
  const hex = (n, digits) => Math.floor(n).toString(16).padStart(digits, "0");
  const time = hex(ms, 12);
  const rand = Array.from({ length: 20 }, () => hex(next() * 16, 1)).join("");
  const variant = ((parseInt(rand[3], 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${rand.slice(0, 3)}-${variant}${rand.slice(4, 7)}-${rand.slice(7, 19)}`;
}

/**
 * `{ ndjson, events, commits }`: `accounts` accounts opened, then `commits` commits, about a
 * third of them transfers. `commits` maps each command id to its number of events.
 */
export function bankLog({ accounts = 100, commits = 1000, seed = 1, prefix = "x" } = {}) {
  const next = random(seed);
  const lines = [];
  const sizes = new Map();
  const versions = new Map();
  const balances = new Map();
  let position = 0;
  let clock = Date.UTC(2026, 0, 1);
  const emit = (commandId, stream, type, schemaVersion, data) => {
    position += 1;
    const version = (versions.get(stream) ?? 0) + 1;
    versions.set(stream, version);
    sizes.set(commandId, (sizes.get(commandId) ?? 0) + 1);
    lines.push(
      JSON.stringify({
        position,
        stream,
        version,
        eventId: uuidV7(clock, next),
        type,
        schemaVersion,
        recordedAt: clock,
        commandId,
        correlationId: commandId,
        causationId: commandId,
        data,
      }),
    );
  };
  const account = (i) => `${prefix}${i}`;
  for (let i = 0; i < accounts; i++) {
    emit(`${prefix}open-${i}`, `account-${account(i)}`, "AccountOpened", 2, { currency: "EUR" });
    balances.set(account(i), 0);
  }
  for (let c = 0; c < commits; c++) {
    clock += 1 + Math.floor(next() * 50);
    const from = account(Math.floor(next() * accounts));
    const to = account(Math.floor(next() * accounts));
    const amount = 1 + Math.floor(next() * 500);
    const id = `${prefix}c-${c}`;
    if (from !== to && next() < 0.35 && balances.get(from) >= amount) {
      emit(id, `account-${from}`, "TransferSent", 1, { transferId: id, to, amount });
      emit(id, `account-${to}`, "TransferReceived", 1, { transferId: id, from, amount });
      balances.set(from, balances.get(from) - amount);
      balances.set(to, balances.get(to) + amount);
    } else {
      emit(id, `account-${from}`, "MoneyDeposited", 1, { amount });
      balances.set(from, balances.get(from) + amount);
    }
  }
  const body = lines.map((line) => `${line}\n`).join("");
  const sha256 = createHash("sha256").update(body).digest("hex");
  const end = JSON.stringify({ eventlineExport: "end", events: position, sha256 });
  return { ndjson: `${body}${end}\n`, events: position, commits: sizes, balances };
}
