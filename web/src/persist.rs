//! Read models, checkpoints, dead letters and saga progress in IndexedDB.
//!
//! Invariants: a projection's document changes, its checkpoint and the dead letters of the events
//! it passed over are written in one transaction ([`flush`]), so after a crash a read model is
//! never ahead of or behind its checkpoint; personal values in documents and dead letters are
//! sealed like the log's (`vault.rs`), so a forgotten subject's key is the only copy that
//! mattered.

use eventline_core::store::StoreError;
use futures::future::LocalBoxFuture;
use indexed_db_futures::KeyRange;
use indexed_db_futures::transaction::TransactionMode;
use js_sys::Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use crate::idb::{self, CHECKPOINTS, DEAD_LETTERS, DOCUMENTS, KEYS, store_error};
use crate::idb::{delete_range, entries, get, get_all, put};
use crate::store::IdbStore;
use crate::timings;

/// A projection's persisted progress and controls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionRecord {
    pub checkpoint: u64,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub delay_ms: u32,
    /// While rebuilding: the head position to reach. The read model answering meanwhile is the
    /// one from before; its replacement is built beside it and swapped in once it caught up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuilding: Option<u64>,
    /// While rebuilding: the position the replacement has reached.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rebuilt: u64,
    /// The last rebuild that finished: how many events, how long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rebuild: Option<LastRebuild>,
    /// Why the projection stopped, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A finished rebuild.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRebuild {
    pub events: u64,
    pub ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What one projection writes in a flush.
#[derive(Clone, Debug, Default)]
pub struct Flush {
    pub name: String,
    pub record: ProjectionRecord,
    /// Document key and new JSON, or `None` to delete.
    pub changes: Vec<(String, Option<String>)>,
    /// Delete every document first (a rebuild from 0).
    pub reset: bool,
}

/// An event no projection could read, kept with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub position: u64,
    pub stream: String,
    pub event_type: String,
    pub schema_version: u16,
    pub code: String,
    pub reason: String,
    /// The event as stored, as one JSON line.
    pub event: String,
}

fn doc_key(name: &str, key: &str) -> JsValue {
    Array::of2(&name.into(), &key.into()).into()
}

/// Every document key of projection `name`: `[name, any string]` sorts below `[name, []]`.
fn all_docs(name: &str) -> KeyRange<JsValue> {
    KeyRange::Bound(doc_key(name, ""), false, Array::of2(&name.into(), &Array::new()).into(), true)
}

fn parse<T: for<'de> Deserialize<'de>>(value: &JsValue, what: &str) -> Result<T, StoreError> {
    value
        .as_string()
        .and_then(|json| eventline_core::json::from_str(&json).ok())
        .ok_or_else(|| StoreError::Corrupt { message: format!("unreadable {what}") })
}

fn json<T: Serialize>(value: &T) -> JsValue {
    JsValue::from_str(&serde_json::to_string(value).expect("plain records serialize"))
}

/// A projection's record with its documents' storage records (key, JSON).
pub type Stored = (ProjectionRecord, Vec<(String, String)>);

/// A projection's record and every document, as stored: personal values stay sealed, as in the
/// read models folded from the log; answers are opened on their way out (`Runtime::query`).
/// Boxed, so its two callers (the leader's and a follower's load) share one copy of it (0.6 KB
/// of the demo's .wasm, gzipped).
pub fn load<'a>(store: &'a IdbStore, name: &'a str) -> LocalBoxFuture<'a, Result<Stored, StoreError>> {
    Box::pin(async move {
        let db = store.database()?;
        let tx = IdbStore::transaction(&db, &[CHECKPOINTS, DOCUMENTS], TransactionMode::Readonly)?;
        let checkpoints = tx.object_store(CHECKPOINTS).map_err(store_error)?;
        let documents = tx.object_store(DOCUMENTS).map_err(store_error)?;
        let record = match get(&checkpoints, name.into()).await? {
            Some(value) => parse(&value, "checkpoint")?,
            None => ProjectionRecord::default(),
        };
        let mut docs = Vec::new();
        for (key, value) in entries(&documents, all_docs(name)).await? {
            let key = Array::from(&key).get(1).as_string().unwrap_or_default();
            let doc =
                value.as_string().ok_or_else(|| StoreError::Corrupt { message: format!("document {name}/{key}") })?;
            docs.push((key, doc));
        }
        Ok((record, docs))
    })
}

/// Each read model's [`Stored`] and each process manager's progress, if it has any.
pub type Loaded = (Vec<Stored>, Vec<Option<String>>);

/// What the leader loads before it runs: the [`Stored`] of each read model in `names` and the
/// progress of each process manager in `sagas`, in that order. One transaction of four requests
/// (every checkpoint record, every document), where a [`load`] per read model would be three
/// requests each, one after the other.
pub fn load_all<'a>(
    store: &'a IdbStore,
    names: &'a [&'static str],
    sagas: &'a [&'static str],
) -> LocalBoxFuture<'a, Result<Loaded, StoreError>> {
    Box::pin(async move {
        let db = store.database()?;
        let tx = IdbStore::transaction(&db, &[CHECKPOINTS, DOCUMENTS], TransactionMode::Readonly)?;
        let checkpoints = tx.object_store(CHECKPOINTS).map_err(store_error)?;
        let documents = tx.object_store(DOCUMENTS).map_err(store_error)?;
        // Checkpoint keys are names (strings); document keys are [name, key] (arrays, above them).
        let records = entries(&checkpoints, KeyRange::LowerBound(JsValue::from_str(""), false)).await?;
        let docs = entries(&documents, KeyRange::LowerBound(Array::new().into(), false)).await?;
        let record_of = |name: &str| records.iter().find(|(key, _)| key.as_string().as_deref() == Some(name));
        let mut stored: Vec<Stored> = Vec::new();
        for name in names {
            let record = match record_of(name) {
                Some((_, value)) => parse(value, "checkpoint")?,
                None => ProjectionRecord::default(),
            };
            stored.push((record, Vec::new()));
        }
        for (key, value) in docs {
            let key = Array::from(&key);
            let name = key.get(0).as_string().unwrap_or_default();
            // Documents of a read model no longer registered stay where they are, unread.
            let Some(i) = names.iter().position(|n| *n == name) else { continue };
            let key = key.get(1).as_string().unwrap_or_default();
            let doc =
                value.as_string().ok_or_else(|| StoreError::Corrupt { message: format!("document {name}/{key}") })?;
            stored[i].1.push((key, doc));
        }
        let progress = sagas
            .iter()
            .map(|name| record_of(&format!("saga:{name}")).and_then(|(_, value)| value.as_string()))
            .collect();
        Ok((stored, progress))
    })
}

/// A projection's record alone.
pub async fn load_record(store: &IdbStore, name: &str) -> Result<ProjectionRecord, StoreError> {
    let db = store.database()?;
    let tx = IdbStore::transaction(&db, &[CHECKPOINTS], TransactionMode::Readonly)?;
    let checkpoints = tx.object_store(CHECKPOINTS).map_err(store_error)?;
    match get(&checkpoints, name.into()).await? {
        Some(value) => parse(&value, "checkpoint"),
        None => Ok(ProjectionRecord::default()),
    }
}

/// Writes projections' changes, records and dead letters in one transaction.
pub async fn flush(store: &IdbStore, flushes: &[Flush], dead: &[DeadLetter]) -> Result<(), StoreError> {
    if flushes.is_empty() && dead.is_empty() {
        return Ok(());
    }
    let db = store.database()?;
    let scope = store.with_keys(&[CHECKPOINTS, DOCUMENTS, DEAD_LETTERS]);
    let tx = IdbStore::derived_write(&db, &scope)?;
    let checkpoints = tx.object_store(CHECKPOINTS).map_err(store_error)?;
    let documents = tx.object_store(DOCUMENTS).map_err(store_error)?;
    let letters = tx.object_store(DEAD_LETTERS).map_err(store_error)?;
    let vault = store.vault();
    let key_changes = if vault.enabled() {
        let keys = tx.object_store(KEYS).map_err(store_error)?;
        let texts = flushes.iter().flat_map(|f| f.changes.iter().filter_map(|(_, doc)| doc.as_deref()));
        vault.prepare_texts(&keys, texts.chain(dead.iter().map(|l| l.event.as_str()))).await?
    } else {
        Default::default()
    };
    let started = timings::now();
    for flush in flushes {
        if flush.reset {
            delete_range(&documents, all_docs(&flush.name))?;
        }
        for (key, doc) in &flush.changes {
            match doc {
                Some(json) => {
                    let sealed = vault.seal(json, &key_changes)?;
                    put(&documents, doc_key(&flush.name, key), JsValue::from_str(sealed.as_deref().unwrap_or(json)))?
                }
                None => delete_range(&documents, KeyRange::Only(doc_key(&flush.name, key)))?,
            }
        }
        put(&checkpoints, flush.name.as_str().into(), json(&flush.record))?;
    }
    for letter in dead {
        let event = vault.seal(&letter.event, &key_changes)?.unwrap_or_else(|| letter.event.clone());
        put(&letters, JsValue::from_f64(letter.position as f64), json(&DeadLetter { event, ..letter.clone() }))?;
    }
    timings::add("write documents", started);
    idb::commit(tx).await.map_err(store_error)?;
    vault.committed(key_changes);
    Ok(())
}

/// Every dead letter, in log order.
pub async fn dead_letters(store: &IdbStore) -> Result<Vec<DeadLetter>, StoreError> {
    let db = store.database()?;
    let tx = IdbStore::transaction(&db, &store.with_keys(&[DEAD_LETTERS]), TransactionMode::Readonly)?;
    let letters = tx.object_store(DEAD_LETTERS).map_err(store_error)?;
    let all = KeyRange::LowerBound(JsValue::from_f64(0.0), false);
    let mut letters: Vec<DeadLetter> =
        get_all(&letters, all).await?.iter().map(|v| parse(v, "dead letter")).collect::<Result<_, _>>()?;
    if store.vault().enabled() {
        let keys = tx.object_store(KEYS).map_err(store_error)?;
        store.vault().load_for(&keys, letters.iter().map(|l| l.event.as_str())).await?;
        for letter in &mut letters {
            if let Some(opened) = store.vault().open(&letter.event) {
                letter.event = opened;
            }
        }
    }
    Ok(letters)
}

/// Saga progress as JSON, kept beside the projections' records under `saga:{name}`.
pub async fn load_saga(store: &IdbStore, name: &str) -> Result<Option<String>, StoreError> {
    let db = store.database()?;
    let tx = IdbStore::transaction(&db, &[CHECKPOINTS], TransactionMode::Readonly)?;
    let checkpoints = tx.object_store(CHECKPOINTS).map_err(store_error)?;
    Ok(get(&checkpoints, format!("saga:{name}").into()).await?.and_then(|v| v.as_string()))
}

pub async fn save_saga(store: &IdbStore, name: &str, progress: &str) -> Result<(), StoreError> {
    let db = store.database()?;
    let tx = IdbStore::derived_write(&db, &[CHECKPOINTS])?;
    let checkpoints = tx.object_store(CHECKPOINTS).map_err(store_error)?;
    put(&checkpoints, format!("saga:{name}").into(), JsValue::from_str(progress))?;
    idb::commit(tx).await.map_err(store_error)
}

/// Sync's records in `meta` (feature `sync`): its state under `sync`, a command's text under
/// `outbox:{command id}` until its commit is confirmed, a command refused after sync under
/// `rejected:{command id}`, a command a rebase cut that is still to be decided again under
/// `again:{command id}`, a message the server held that was no commit under
/// `dead:{sequence}`. Values are JSON text, but for `again:` notes.
#[cfg(feature = "sync")]
pub mod meta {
    use super::*;
    use crate::idb::META;

    pub async fn get_text(store: &IdbStore, key: &str) -> Result<Option<String>, StoreError> {
        let db = store.database()?;
        let tx = IdbStore::transaction(&db, &[META], TransactionMode::Readonly)?;
        let meta = tx.object_store(META).map_err(store_error)?;
        Ok(get(&meta, JsValue::from_str(key)).await?.and_then(|v| v.as_string()))
    }

    /// Every record whose key starts with `prefix`, in key order.
    pub async fn with_prefix(store: &IdbStore, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let db = store.database()?;
        let tx = IdbStore::transaction(&db, &[META], TransactionMode::Readonly)?;
        let meta = tx.object_store(META).map_err(store_error)?;
        let range =
            KeyRange::Bound(JsValue::from_str(prefix), false, JsValue::from_str(&format!("{prefix}\u{ffff}")), false);
        Ok(entries(&meta, range)
            .await?
            .into_iter()
            .filter_map(|(key, value)| Some((key.as_string()?, value.as_string()?)))
            .collect())
    }

    /// Writes `puts` and deletes `deletes` in one transaction, strictly: sync's progress and its
    /// outbox decide what is pushed and what is believed confirmed.
    pub async fn write(store: &IdbStore, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError> {
        let db = store.database()?;
        let tx = IdbStore::transaction(&db, &[META], TransactionMode::Readwrite)?;
        let meta = tx.object_store(META).map_err(store_error)?;
        // Most keys to delete are not there (a pushed commit's outbox text is kept only for
        // commands given as text): the keys present in their span are read in one request per
        // kind (`outbox:`, `again:`; a span over both would read every dead letter between),
        // and only those deleted, not one request per key.
        let mut sorted: Vec<&String> = deletes.iter().collect();
        sorted.sort_unstable();
        for kind in sorted.chunk_by(|a, b| a.split(':').next() == b.split(':').next()) {
            let (first, last) = (kind[0], kind[kind.len() - 1]);
            let span = KeyRange::Bound(JsValue::from_str(first), false, JsValue::from_str(last), false);
            for key in crate::idb::keys(&meta, span).await? {
                if key.as_string().is_some_and(|k| kind.binary_search(&&k).is_ok()) {
                    delete_range(&meta, KeyRange::Only(key))?;
                }
            }
        }
        for (key, value) in puts {
            put(&meta, JsValue::from_str(key), JsValue::from_str(value))?;
        }
        idb::commit(tx).await.map_err(store_error)
    }
}
