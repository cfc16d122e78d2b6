//! Databases as files: an IndexedDB database dumped to JSON (every store, key and value, typed
//! arrays and binary kept exact) and restored from it at the version it was written with.
//!
//! The upgrade suite checks in dumps written by earlier schema versions and restores them, so the
//! current code opens a database exactly as an earlier release left it.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
const request = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

const base64 = (bytes) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
const unbase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

// Structured-clone values as JSON: typed arrays and buffers are tagged, the rest is plain.
const encode = (value) => {
  if (value instanceof Uint8Array) return { $u8: base64(value) };
  if (value instanceof Float64Array) return { $f64: Array.from(value) };
  if (value instanceof ArrayBuffer) return { $buffer: base64(new Uint8Array(value)) };
  if (Array.isArray(value)) return value.map(encode);
  if (value !== null && typeof value === "object") {
    if (Object.getPrototypeOf(value) !== Object.prototype) throw new Error(`cannot dump a ${value.constructor?.name}`);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`cannot dump ${value}`);
  return value;
};
const decode = (value) => {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === "object") {
    if ("$u8" in value) return unbase64(value.$u8);
    if ("$f64" in value) return Float64Array.from(value.$f64);
    if ("$buffer" in value) return unbase64(value.$buffer).buffer;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
};

export async function dump_database(name) {
  const db = await request(indexedDB.open(name));
  const out = { version: db.version, stores: [] };
  for (const storeName of Array.from(db.objectStoreNames).sort()) {
    const store = db.transaction(storeName).objectStore(storeName);
    const [keys, values] = [await request(store.getAllKeys()), await request(store.getAll())];
    out.stores.push({
      name: storeName,
      keyPath: store.keyPath,
      autoIncrement: store.autoIncrement,
      indexes: Array.from(store.indexNames).map((n) => {
        const index = store.index(n);
        return { name: n, keyPath: index.keyPath, unique: index.unique, multiEntry: index.multiEntry };
      }),
      records: keys.map((key, i) => [encode(key), encode(values[i])]),
    });
  }
  db.close();
  return JSON.stringify(out);
}

export async function restore_database(name, json) {
  const dump = JSON.parse(json);
  await request(indexedDB.deleteDatabase(name));
  const opening = indexedDB.open(name, dump.version);
  opening.onupgradeneeded = () => {
    for (const s of dump.stores) {
      const store = opening.result.createObjectStore(s.name, { keyPath: s.keyPath, autoIncrement: s.autoIncrement });
      for (const i of s.indexes) store.createIndex(i.name, i.keyPath, { unique: i.unique, multiEntry: i.multiEntry });
    }
  };
  const db = await request(opening);
  const tx = db.transaction(Array.from(db.objectStoreNames), "readwrite");
  for (const s of dump.stores) {
    const store = tx.objectStore(s.name);
    for (const [key, value] of s.records) {
      if (s.keyPath === null) store.put(decode(value), decode(key));
      else store.put(decode(value));
    }
  }
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
  db.close();
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn dump_database(name: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn restore_database(name: &str, json: &str) -> Result<(), JsValue>;
}

/// Every store of database `name` with its keys and values, as JSON text:
/// `{"version": n, "stores": [{"name", "keyPath", "autoIncrement", "indexes", "records": [[key, value]]}]}`.
pub async fn dump(name: &str) -> Result<String, String> {
    let json = dump_database(name).await.map_err(|e| format!("{e:?}"))?;
    json.as_string().ok_or_else(|| "the dump is not text".to_string())
}

/// Replaces database `name` with a [`dump`], at the version it was dumped at.
pub async fn restore(name: &str, dump: &str) -> Result<(), String> {
    restore_database(name, dump).await.map_err(|e| format!("{e:?}"))
}
