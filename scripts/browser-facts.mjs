#!/usr/bin/env node
// Prints, for each browser the suites run in, what a page can observe of the platform features
// Eventline relies on: the facts behind the table of docs/BROWSERS.md, so they can be checked
// again on a new browser version. `node scripts/browser-facts.mjs [chromium firefox webkit]`.
import { launch } from "../tests/support/browsers.mjs";
import { serve } from "../tests/support/server.mjs";
import { fileURLToPath } from "node:url";

/** Runs in the page; every probe uses its own database. */
async function facts() {
  const out = {};
  const open = (name, setup) =>
    new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => setup(request.result);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  const done = (tx) =>
    new Promise((resolve) => {
      tx.oncomplete = () => resolve("committed");
      tx.onabort = () => resolve(`aborted (${tx.error?.name ?? "no error"})`);
    });
  const keys = (db) =>
    new Promise((resolve) => {
      const request = db.transaction("s").objectStore("s").getAllKeys();
      request.onsuccess = () => resolve(request.result);
    });

  // A put, then an add that breaks the key constraint, its error not handled (not prevented):
  // the transaction must abort and the put be lost, whenever commit() is called.
  const failedAdd = async (name, how) => {
    const db = await open(name, (db) => db.createObjectStore("s").put("old", "taken"));
    const tx = db.transaction("s", "readwrite");
    const store = tx.objectStore("s");
    // As Eventline does: the commit's reads first, its writes from the read's callback.
    if (how !== "from the task") await new Promise((resolve) => (store.get("taken").onsuccess = resolve));
    store.put("written", "fresh");
    const add = store.add("again", "taken");
    if (how === "in the error handler") add.onerror = () => tx.commit();
    else if (how !== "never") tx.commit();
    const outcome = await done(tx);
    const kept = (await keys(db)).includes("fresh");
    db.close();
    return `${outcome}, the put ${kept ? "KEPT" : "lost"}`;
  };
  out["put + failing add, no commit() (auto-commit)"] = await failedAdd("facts-a", "never");
  out["put + failing add + commit(), in the task that opened the transaction"] = await failedAdd("facts-b", "from the task");
  out["put + failing add + commit(), in a read's success callback"] = await failedAdd("facts-c", "from a callback");
  out["put + failing add, commit() in the add's error handler"] = await failedAdd("facts-d", "in the error handler");

  // Auto-commit: is the transaction still usable after awaiting a microtask, or a task?
  const db = await open("facts-e", (db) => db.createObjectStore("s"));
  const usable = async (wait) => {
    const tx = db.transaction("s", "readwrite");
    await wait();
    try {
      tx.objectStore("s").put(1, "k");
      await done(tx);
      return "usable";
    } catch (e) {
      return `inactive (${e.name})`;
    }
  };
  out["transaction after awaiting a resolved promise"] = await usable(() => Promise.resolve());
  out["transaction after a setTimeout(0)"] = await usable(() => new Promise((r) => setTimeout(r, 0)));
  out["IDBTransaction.commit()"] = typeof IDBTransaction.prototype.commit === "function" ? "yes" : "no";
  // Only that the option is taken: whether relaxed skips a flush cannot be seen from the page.
  const relaxed = db.transaction("s", "readwrite", { durability: "relaxed" });
  out["durability option: tx.durability for { durability: 'relaxed' }"] = String(relaxed.durability);
  await done(relaxed);
  db.close();
  out["indexedDB.databases()"] = typeof indexedDB.databases === "function" ? "yes" : "no";

  const estimate = await navigator.storage?.estimate?.();
  out["navigator.storage.estimate() quota"] = estimate ? `${(estimate.quota / 2 ** 20).toFixed(0)} MiB` : "none";
  out["navigator.storage.persisted()"] = String(await navigator.storage?.persisted?.());
  out["Web Locks (navigator.locks)"] = navigator.locks ? "yes" : "no";
  if (navigator.locks) {
    const held = await navigator.locks.request("facts", async () => {
      return navigator.locks.request("facts", { ifAvailable: true }, (lock) => (lock === null ? "refused while held" : "granted twice"));
    });
    out["Web Locks ifAvailable while held"] = held;
  }
  out["BroadcastChannel"] = typeof BroadcastChannel === "function" ? "yes" : "no";
  out["crypto.subtle (SHA-256, AES-GCM)"] = crypto.subtle ? "yes" : "no";
  out["document.visibilityState"] = document.visibilityState;
  return out;
}

const server = await serve(fileURLToPath(new URL("..", import.meta.url)));
const base = `http://127.0.0.1:${server.address().port}`;
const engines = process.argv.slice(2).length ? process.argv.slice(2) : ["chromium", "firefox", "webkit"];
const table = {};
try {
  for (const engine of engines) {
    const browser = await launch(engine);
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${base}/tests/npm/harness.html`);
      table[engine] = await page.evaluate(facts);
      await context.close();
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
for (const fact of Object.keys(table[engines[0]])) {
  console.log(`| ${fact} | ${engines.map((e) => table[e][fact]).join(" | ")} |`);
}
