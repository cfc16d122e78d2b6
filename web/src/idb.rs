//! The IndexedDB schema, its upgrade path, and the few request shapes the store uses.
//!
//! Object stores (schema version 5; version 4 kept the log in `log` with three index stores
//! beside it, `streams`, `stream_segments` and `commands`; version 3 had two-number `commands`
//! records; version 2 had all but `keys`, version 1 neither `keys` nor `dead_letters`):
//!
//! | store | key | value |
//! |---|---|---|
//! | `chunks` | `[last position, its recorded time]`: the greatest key is the head | a chunk of whole commits and what the indexes read from it (`record.rs`) |
//! | `chunks` index `by_stream` (unique, multi-entry) | `[stream id, its last version in the chunk]` | |
//! | `chunks` index `by_command` (unique, multi-entry) | command id | |
//! | `meta` | `"compacted"` | the position up to which compaction has packed the log |
//! | `snapshots` | stream id | JSON of a snapshot |
//! | `checkpoints` | projection or saga name | JSON: checkpoint and controls |
//! | `documents` | `[projection, key]` | JSON of one read-model document |
//! | `dead_letters` | position | JSON: the event as stored and why it could not be read |
//! | `keys` | subject id | `Uint8Array`: the subject's AES-256-GCM key, or `"forgotten"`; and `#generation`, how many forgettings so far (`vault.rs`) |
//!
//! Schema 4's `log`, `streams`, `stream_segments` and `commands` stay, empty: the first open at
//! schema 5 moves their log into `chunks` in one transaction (`IdbStore::open`), which an
//! upgrade callback cannot do (it would have to decode every chunk inside the version change).
//!
//! Invariant: opening never modifies a database written by a newer schema; it refuses it with
//! `StoreError::SchemaTooNew`.

use eventline_core::store::StoreError;
use indexed_db_futures::database::{Database, VersionChangeEvent};
pub(crate) use indexed_db_futures::error::Error;
use indexed_db_futures::error::{DomException, OpenDbError};
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::Transaction;
use indexed_db_futures::{KeyPath, KeyRange};
use wasm_bindgen::JsValue;

pub const SCHEMA_VERSION: u32 = 5;

/// The log: chunks of whole commits, indexed by stream and by command id.
pub const LOG: &str = "chunks";
pub const BY_STREAM: &str = "by_stream";
pub const BY_COMMAND: &str = "by_command";
/// Schema 4's log and its index stores, emptied at the first open at schema 5.
pub const LEGACY_LOG: &str = "log";
pub const LEGACY_STREAMS: &str = "streams";
pub const LEGACY_SEGMENTS: &str = "stream_segments";
pub const LEGACY_COMMANDS: &str = "commands";
pub const META: &str = "meta";
pub const SNAPSHOTS: &str = "snapshots";
pub const CHECKPOINTS: &str = "checkpoints";
pub const DOCUMENTS: &str = "documents";
pub const DEAD_LETTERS: &str = "dead_letters";
pub const KEYS: &str = "keys";

pub const ALL_STORES: [&str; 11] = [
    LOG,
    LEGACY_LOG,
    LEGACY_STREAMS,
    LEGACY_SEGMENTS,
    LEGACY_COMMANDS,
    META,
    SNAPSHOTS,
    CHECKPOINTS,
    DOCUMENTS,
    DEAD_LETTERS,
    KEYS,
];

/// Opens (creating or upgrading) the database `name` at [`SCHEMA_VERSION`].
pub async fn open(name: &str) -> Result<Database, StoreError> {
    open_at(name, SCHEMA_VERSION).await
}

/// Opens `name` at schema `version` (at most [`SCHEMA_VERSION`]), running the migrations up to
/// it. Older versions are for fixtures and upgrade tests: they are what earlier code wrote.
pub async fn open_at(name: &str, version: u32) -> Result<Database, StoreError> {
    let version = version.clamp(1, SCHEMA_VERSION);
    let opened = Database::open(name)
        .with_version(version)
        .with_on_upgrade_needed(move |event: VersionChangeEvent, db: Database| migrate(&event, &db, version))
        .await;
    match opened {
        Ok(db) => Ok(db),
        Err(OpenDbError::Base(e)) if dom_name(&e).as_deref() == Some("VersionError") => {
            Err(StoreError::SchemaTooNew { found: current_version(name).await.unwrap_or(0), known: version })
        }
        Err(OpenDbError::Base(e)) => Err(store_error(e)),
        Err(other) => Err(StoreError::Backend { message: format!("IndexedDB is not available: {other}") }),
    }
}

/// The version of an existing database, read without changing it.
async fn current_version(name: &str) -> Option<u32> {
    let db = Database::open(name).await.ok()?;
    let version = db.version() as u32;
    db.close();
    Some(version)
}

/// Brings a database from `event.old_version()` to `target`, one step at a time.
fn migrate(event: &VersionChangeEvent, db: &Database, target: u32) -> Result<(), Error> {
    let old = event.old_version() as u32;
    if old < 1 && target >= 1 {
        db.create_object_store(LEGACY_LOG).build()?;
        db.create_object_store(LEGACY_STREAMS).build()?;
        db.create_object_store(LEGACY_SEGMENTS).build()?;
        db.create_object_store(LEGACY_COMMANDS).build()?;
        db.create_object_store(META).build()?;
        db.create_object_store(SNAPSHOTS).build()?;
        db.create_object_store(CHECKPOINTS).build()?;
        db.create_object_store(DOCUMENTS).build()?;
    }
    if old < 2 && target >= 2 {
        // Events that no projection can read are kept here with the reason (issue 3).
        db.create_object_store(DEAD_LETTERS).build()?;
    }
    if old < 3 && target >= 3 {
        // Data subjects' keys: personal values are sealed at rest (issue 8). Nothing to convert:
        // earlier schemas held no personal values.
        db.create_object_store(KEYS).build()?;
    }
    // Version 4 adds a command's digest to new `commands` records and changes no store: older
    // records keep their two numbers (no digest, taken to match any retry). The version moves
    // so that older code, which reads exactly two, refuses the database instead of calling it
    // corrupt.
    if old < 5 && target >= 5 {
        // The log with its indexes in its own records (issue 17): one request per chunk for a
        // bulk append, whatever the number of streams and commands in it.
        let log = db.create_object_store(LOG).build()?;
        log.create_index(BY_STREAM, KeyPath::One(crate::record::STREAMS))
            .with_unique(true)
            .with_multi_entry(true)
            .build()?;
        log.create_index(BY_COMMAND, KeyPath::One(crate::record::COMMANDS))
            .with_unique(true)
            .with_multi_entry(true)
            .build()?;
    }
    Ok(())
}

/// Deletes a database (every store of it).
pub async fn delete(name: &str) -> Result<(), StoreError> {
    Database::delete_by_name(name)
        .map_err(|e| StoreError::Backend { message: e.to_string() })?
        .await
        .map_err(store_error)
}

fn dom(e: &DomException) -> &web_sys::DomException {
    match e {
        DomException::InvalidStateError(d)
        | DomException::TransactionInactiveError(d)
        | DomException::NotFoundError(d)
        | DomException::ConstraintError(d)
        | DomException::InvalidAccessError(d)
        | DomException::DataError(d)
        | DomException::AbortError(d)
        | DomException::ReadOnlyError(d)
        | DomException::DataCloneError(d)
        | DomException::SyntaxError(d)
        | DomException::Other(d) => d,
    }
}

fn dom_name(e: &Error) -> Option<String> {
    match e {
        Error::DomException(d) => Some(dom(d).name()),
        _ => None,
    }
}

/// Whether a request broke a key constraint (an `add` of an existing key).
pub fn is_constraint(e: &Error) -> bool {
    dom_name(e).as_deref() == Some("ConstraintError")
}

/// Commits `tx`. When the browser aborts it at commit (a full quota is only reported so), the
/// error is the transaction's own, not just "aborted".
pub async fn commit(tx: Transaction<'_>) -> Result<(), Error> {
    use indexed_db_futures::internals::SystemRepr;
    use wasm_bindgen::JsCast;
    let sys: web_sys::IdbTransaction = tx.as_sys().clone().unchecked_into();
    tx.commit().await.map_err(|e| match sys.error() {
        Some(cause) => Error::from(wasm_bindgen::JsValue::from(cause)),
        None => e,
    })
}

/// Maps an IndexedDB failure to the store's error: quota is its own case, because callers can do
/// something about it.
pub fn store_error(e: impl Into<Error>) -> StoreError {
    let e = e.into();
    match &e {
        Error::DomException(d) => {
            let d = dom(d);
            match d.name().as_str() {
                "QuotaExceededError" => StoreError::QuotaExceeded {
                    message: match d.message() {
                        m if m.is_empty() => {
                            "the browser has no more room for this site's data; nothing was written".into()
                        }
                        m => m,
                    },
                },
                name => StoreError::Backend { message: format!("{name}: {}", d.message()) },
            }
        }
        other => StoreError::Backend { message: other.to_string() },
    }
}

// ---------------------------------------------------------------------------------------------
// Requests: the few shapes every store of this crate sends

pub(crate) async fn get(store: &ObjectStore<'_>, key: JsValue) -> Result<Option<JsValue>, StoreError> {
    let value: Option<JsValue> = store.get(key).primitive().map_err(store_error)?.await.map_err(store_error)?;
    Ok(value.filter(|v| !v.is_undefined()))
}

/// Queues a put; a failure aborts the transaction and surfaces at commit.
pub(crate) fn put(store: &ObjectStore<'_>, key: JsValue, value: JsValue) -> Result<(), StoreError> {
    store.put(value).with_key(key).without_key_type().primitive().map_err(store_error)?;
    Ok(())
}

pub(crate) fn delete_range(store: &ObjectStore<'_>, range: KeyRange<JsValue>) -> Result<(), StoreError> {
    store.delete::<JsValue, _>(range).primitive().map_err(store_error)?;
    Ok(())
}

pub(crate) async fn get_all(store: &ObjectStore<'_>, range: KeyRange<JsValue>) -> Result<Vec<JsValue>, StoreError> {
    let values = store
        .get_all::<JsValue>()
        .with_query::<JsValue, _>(range)
        .primitive()
        .map_err(store_error)?
        .await
        .map_err(store_error)?;
    values.collect::<Result<Vec<_>, _>>().map_err(store_error)
}

/// The keys in a key range, in key order.
pub(crate) async fn keys(store: &ObjectStore<'_>, range: KeyRange<JsValue>) -> Result<Vec<JsValue>, StoreError> {
    let keys = store
        .get_all_keys::<JsValue>()
        .with_query::<JsValue, _>(range)
        .primitive()
        .map_err(store_error)?
        .await
        .map_err(store_error)?;
    keys.collect::<Result<Vec<_>, _>>().map_err(store_error)
}

/// Keys and values in a key range, in key order.
pub(crate) async fn entries(
    store: &ObjectStore<'_>,
    range: KeyRange<JsValue>,
) -> Result<Vec<(JsValue, JsValue)>, StoreError> {
    let keys = keys(store, range.clone()).await?;
    let values = get_all(store, range).await?;
    Ok(keys.into_iter().zip(values).collect())
}
