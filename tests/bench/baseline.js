// Raw IndexedDB baselines, in plain JavaScript, for the browser benchmark
// (tests/tests/bench_web.rs). Each does the same job as its Eventline counterpart with nothing
// but the IndexedDB API, run in the same page so the two can be compared as a ratio.

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

async function fresh(name, stores) {
  await request(indexedDB.deleteDatabase(name));
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => stores.forEach((s) => open.result.createObjectStore(s));
  return request(open);
}

function event(i, streams) {
  return {
    position: i + 1,
    stream: `account-a${i % streams}`,
    version: Math.floor(i / streams) + 1,
    eventId: crypto.randomUUID(),
    type: "MoneyDeposited",
    schemaVersion: 1,
    recordedAt: Date.now(),
    commandId: `cmd-${Math.floor(i / 100)}`,
    correlationId: `cmd-${Math.floor(i / 100)}`,
    causationId: `cmd-${Math.floor(i / 100)}`,
    data: { amount: (i % 500) + 1 },
  };
}

// (a) `count` events written `perRecord` to a record (JSON bytes), in one transaction.
export async function bulkAppend(name, count, perRecord) {
  const db = await fresh(name, ["events"]);
  const events = Array.from({ length: count }, (_, i) => event(i, 1000));
  const encoder = new TextEncoder();
  const start = performance.now();
  const tx = db.transaction("events", "readwrite");
  const store = tx.objectStore("events");
  for (let i = 0; i < count; i += perRecord) {
    store.put(encoder.encode(JSON.stringify(events.slice(i, i + perRecord))), i + 1);
  }
  await done(tx);
  const ms = performance.now() - start;
  db.close();
  return ms;
}

// (c) Read `count` events stored 100 to a record and fold them into balances.
export async function readAndFold(name, count) {
  const db = await fresh(name, ["events"]);
  const encoder = new TextEncoder();
  // Written 100k events to a transaction (not timed): Firefox refuses one transaction of a
  // million (UnknownError).
  for (let from = 0; from < count; from += 100_000) {
    const tx = db.transaction("events", "readwrite");
    for (let i = from; i < Math.min(count, from + 100_000); i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => event(i + j, 1000));
      tx.objectStore("events").put(encoder.encode(JSON.stringify(batch)), i + 1);
    }
    await done(tx);
  }
  const start = performance.now();
  const decoder = new TextDecoder();
  const balances = new Map();
  let folded = 0;
  // Pages of 1,000 records (100k events): Firefox fails one getAll of a million events' JSON
  // (UnknownError), and Eventline reads in pages too.
  let after = 0;
  for (;;) {
    const store = db.transaction("events").objectStore("events");
    const records = await request(store.getAll(IDBKeyRange.lowerBound(after, true), 1000));
    if (records.length === 0) break;
    for (const record of records) {
      for (const e of JSON.parse(decoder.decode(record))) {
        balances.set(e.stream, (balances.get(e.stream) ?? 0) + e.data.amount);
        folded++;
      }
    }
    after = folded;
  }
  const ms = performance.now() - start;
  db.close();
  if (folded !== count) throw new Error(`folded ${folded} of ${count}`);
  return ms;
}

// (d) Open an existing database and read one small record.
export async function prepareOpenAndGet(name) {
  const db = await fresh(name, ["balances"]);
  const tx = db.transaction("balances", "readwrite");
  for (let i = 0; i < 1000; i++) tx.objectStore("balances").put(JSON.stringify({ balance: i }), `a${i}`);
  await done(tx);
  db.close();
}

export async function openAndGet(name) {
  const start = performance.now();
  const db = await request(indexedDB.open(name));
  const value = await request(db.transaction("balances").objectStore("balances").get("a7"));
  const ms = performance.now() - start;
  db.close();
  if (!value) throw new Error("missing record");
  return ms;
}

// (b), interleaved with Eventline's commands: open once, then one transaction per call.
export async function openReadCheckWrite(name) {
  return fresh(name, ["heads", "events"]);
}

export async function readCheckWriteOnce(db, i, durability) {
  const start = performance.now();
  const tx = db.transaction(["heads", "events"], "readwrite", { durability });
  const heads = tx.objectStore("heads");
  const version = (await request(heads.get("account-a"))) ?? 0;
  if (version !== i) throw new Error(`expected version ${i}, found ${version}`);
  heads.put(version + 1, "account-a");
  tx.objectStore("events").put(JSON.stringify(event(i, 1)), i + 1);
  await done(tx);
  return performance.now() - start;
}

// The byte floor for (a) and (c): the bytes of every record of Eventline's log in database
// `source`, copied as they are (same sizes, same content, so whatever the browser does with
// bytes it does to both), written to a fresh database `name` in one transaction of Eventline's
// durability for appends (strict), under keys of the same shape, then read back with one
// getAll. Nothing Eventline adds (its indexes, its decoding) is in it: what IndexedDB itself
// needs to move the log's bytes.
export async function byteFloor(source, name) {
  const from = await request(indexedDB.open(source));
  // Eventline's log store: `chunks` from schema 5 on, `log` before.
  const log = from.objectStoreNames.contains("chunks") ? "chunks" : "log";
  const values = await request(from.transaction(log).objectStore(log).getAll());
  from.close();
  const records = values.map((v) => (v instanceof Uint8Array ? v : v.b).slice());
  const bytes = records.reduce((sum, r) => sum + r.byteLength, 0);
  const db = await fresh(name, ["log"]);
  let start = performance.now();
  const tx = db.transaction("log", "readwrite", { durability: "strict" });
  const store = tx.objectStore("log");
  records.forEach((record, i) => store.put(record, [i + 1, Date.now()]));
  await done(tx);
  const write = performance.now() - start;
  start = performance.now();
  const read = await request(db.transaction("log").objectStore("log").getAll());
  const readMs = performance.now() - start;
  db.close();
  await request(indexedDB.deleteDatabase(name));
  if (read.reduce((sum, r) => sum + r.byteLength, 0) !== bytes) throw new Error("the floor lost bytes");
  return { records: records.length, bytes, write, read: readMs };
}

// What the page holds: the JS heap (Chromium's performance.memory; null elsewhere).
export function jsHeapBytes() {
  return performance.memory ? performance.memory.usedJSHeapSize : null;
}
