// WebCrypto's AES-GCM, for the privacy benchmark (tests/tests/bench_privacy.rs): the same job as
// the aes-gcm crate's, per personal value, in the same page, so the two can be compared.

function values(count, bytes) {
  const encoder = new TextEncoder();
  return Array.from({ length: count }, (_, i) => encoder.encode(`${i}`.padEnd(bytes, "x")));
}

/** Seals then opens `count` values of `bytes` bytes, one at a time (awaiting each, as a write
 * would), with a non-extractable key. Returns [seal ms, open ms]. */
export async function sealAndOpen(count, bytes) {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const plain = values(count, bytes);
  const subject = new TextEncoder().encode("customer-1");
  const sealed = [];
  let start = performance.now();
  for (const value of plain) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: subject }, key, value);
    sealed.push([iv, ciphertext]);
  }
  const seal = performance.now() - start;
  start = performance.now();
  let opened = 0;
  for (const [iv, ciphertext] of sealed) {
    opened += (await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: subject }, key, ciphertext)).byteLength;
  }
  const open = performance.now() - start;
  if (opened !== count * bytes) throw new Error("WebCrypto opened something else");
  return [seal, open];
}

/** The same, with every value's promise in flight at once (the best WebCrypto can do, possible
 * only outside an IndexedDB transaction). Returns [seal ms, open ms]. */
export async function sealAndOpenAllAtOnce(count, bytes) {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const plain = values(count, bytes);
  const subject = new TextEncoder().encode("customer-1");
  let start = performance.now();
  const sealed = await Promise.all(
    plain.map(async (value) => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      return [iv, await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: subject }, key, value)];
    }),
  );
  const seal = performance.now() - start;
  start = performance.now();
  await Promise.all(sealed.map(([iv, c]) => crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: subject }, key, c)));
  const open = performance.now() - start;
  return [seal, open];
}

/** Whether WebCrypto can seal inside an IndexedDB transaction, as a write must to read the
 * subject's key and store the sealed value atomically: reads a key record, awaits one encrypt,
 * then writes in the same readwrite transaction. Returns "ok" or the error's name. */
export async function encryptInsideTransaction() {
  const name = "bench-webcrypto-tx";
  await new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = r.onerror = resolve;
  });
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("s");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  const tx = db.transaction("s", "readwrite");
  const store = tx.objectStore("s");
  await new Promise((resolve) => {
    const get = store.get("key-of-customer-1");
    get.onsuccess = get.onerror = resolve;
  });
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array(40));
  try {
    store.put(sealed, "event-1");
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onabort = tx.onerror = () => reject(tx.error ?? new Error("aborted"));
    });
    const check = db.transaction("s").objectStore("s").get("event-1");
    const stored = await new Promise((resolve) => (check.onsuccess = () => resolve(check.result)));
    return stored ? "ok (committed)" : "the write vanished";
  } catch (e) {
    return e.name;
  } finally {
    db.close();
  }
}
