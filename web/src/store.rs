//! The event store on IndexedDB.
//!
//! Invariants enforced here:
//! - **One readwrite transaction per append or batch** reads the head and every touched stream's
//!   version, runs `Commit::record` (expected versions, positions, times), and writes the chunks.
//!   IndexedDB runs readwrite transactions over the same stores one at a time, across tabs too,
//!   so two writers that read the same version can never both commit.
//! - **The indexes are written with the events**: each chunk's record lists its streams' last
//!   versions and its command ids (`record.rs`), which the unique multi-entry indexes `by_stream`
//!   and `by_command` read in the same `put`. No index record can lag behind the log, and one
//!   request per chunk writes a bulk append, whatever the number of streams and commands.
//! - **A command id commits once**: a single command looks its id up in `by_command` before
//!   writing; a batch lets the index's unique constraint refuse a used id as its chunk is put.
//! - **A chunk holds whole consecutive commits**; positions are gapless because the head is read
//!   and written in the same transaction as the chunk.
//! - **Reading one stream never scans the log**: `by_stream` gives the chunks holding its
//!   versions after a given one, and only those are read; a version missing among them (a record
//!   rewritten without its index fields) is a typed `Corrupt`, never a silent gap.
//! - **Nothing half-written**: if any request fails (quota, for one) the transaction aborts and the
//!   error comes back typed.
//! - **Nothing personal at rest**: personal values are sealed with their subject's key in the
//!   transaction that writes them and opened in the transaction that reads them (`vault.rs`); a
//!   `SubjectForgotten` event shreds the key in the transaction that appends it.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use eventline_core::RecordedEvent;
use eventline_core::ids::{CommandId, Position, StreamId, StreamVersion, Timestamp};
use eventline_core::personal;
use eventline_core::snapshot::{Snapshot, SnapshotStore};
use eventline_core::store::SubjectStatus;
use eventline_core::store::{AppendError, CommandDigest, Commit, CommitReceipt, EventStore, StoreError};
use futures::future::try_join_all;
use indexed_db_futures::KeyRange;
use indexed_db_futures::cursor::CursorDirection;
use indexed_db_futures::database::Database;
use indexed_db_futures::index::Index;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode, TransactionOptions};
use js_sys::{Array, Float64Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

use crate::idb::{
    self, BY_COMMAND, BY_STREAM, CHECKPOINTS, DEAD_LETTERS, DOCUMENTS, KEYS, LEGACY_COMMANDS, LEGACY_LOG,
    LEGACY_SEGMENTS, LEGACY_STREAMS, LOG, META, SNAPSHOTS, delete_range, entries, get, get_all, put, store_error,
};
use crate::vault::{HeldKey, Vault};
use crate::{chunk, record, timings};

/// The event log of one IndexedDB database.
pub struct IdbStore {
    name: String,
    db: RefCell<Option<Database>>,
    vault: Vault,
    /// How appends are committed: `Strict` unless a benchmark says otherwise (`set_durability`).
    durability: Cell<Durability>,
}

/// How durably a transaction is committed: `Strict` waits until the data is on disk, so an
/// accepted command survives a power cut; `Relaxed` (Chromium's default) only until the
/// operating system has it. Browsers that do not know the option ignore it.
pub use indexed_db_futures::transaction::TransactionDurability as Durability;

impl IdbStore {
    /// Opens (or creates, or upgrades) the database `name`; a schema-4 log is moved into
    /// schema 5's `chunks` on the way (`idb.rs`).
    pub async fn open(name: &str) -> Result<IdbStore, StoreError> {
        let store = Self::open_at(name, idb::SCHEMA_VERSION).await?;
        store.move_legacy_log().await?;
        Ok(store)
    }

    /// Opens at an older schema version, as earlier code did, to make an old database for
    /// upgrade tests. Today's code reads and writes schema 5's stores only: such a database is
    /// for `open` to upgrade, not for this handle to write.
    pub async fn open_at(name: &str, version: u32) -> Result<IdbStore, StoreError> {
        let db = idb::open_at(name, version).await?;
        let sealing = db.object_store_names().any(|s| s == KEYS);
        Ok(IdbStore {
            name: name.to_string(),
            db: RefCell::new(Some(db)),
            vault: Vault::new(sealing),
            durability: Cell::new(Durability::Strict),
        })
    }

    /// Opens with personal values stored as they are, unsealed. Only for measuring what sealing
    /// costs: forgetting cannot work on such a database.
    #[doc(hidden)]
    pub async fn open_unsealed(name: &str) -> Result<IdbStore, StoreError> {
        let db = idb::open_at(name, idb::SCHEMA_VERSION).await?;
        let store = IdbStore {
            name: name.to_string(),
            db: RefCell::new(Some(db)),
            vault: Vault::new(false),
            durability: Cell::new(Durability::Strict),
        };
        store.move_legacy_log().await?;
        Ok(store)
    }

    /// The log after `after`, like [`EventStore::read_all`] but with personal values left sealed:
    /// what projections fold, keeping them sealed in their read models (no decryption on a
    /// replay, no plaintext in memory) until [`IdbStore::open_text`] opens an answer.
    pub async fn read_all_sealed(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &[LOG], TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        read_range(&log, after.0 + 1, after.0.saturating_add(limit as u64)).await
    }

    /// `text` (JSON) with its sealed personal values opened, or redacted where the key is gone.
    pub async fn open_text(&self, text: String) -> Result<String, StoreError> {
        if !self.vault.enabled() || !personal::holds_personal(&text) {
            return Ok(text);
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &[KEYS], TransactionMode::Readonly)?;
        let keys = tx.object_store(KEYS).map_err(store_error)?;
        self.vault.load_for(&keys, std::iter::once(text.as_str())).await?;
        Ok(self.vault.open(&text).unwrap_or(text))
    }

    /// `stores`, and the subjects' keys when personal values are sealed here.
    pub(crate) fn with_keys<'a>(&self, stores: &[&'a str]) -> Vec<&'a str> {
        let mut all = stores.to_vec();
        if self.vault.enabled() {
            all.push(KEYS);
        }
        all
    }

    pub(crate) fn vault(&self) -> &Vault {
        &self.vault
    }

    /// How appends are committed from now on. Appends are the promises made to callers (an
    /// accepted command, an imported log), so they are `Strict` unless this says otherwise;
    /// what is derived from the log (read models, snapshots, compaction) stays relaxed.
    pub fn set_durability(&self, durability: Durability) {
        self.durability.set(durability);
    }

    /// The object stores this connection has (what its schema version created).
    pub fn object_stores(&self) -> Vec<String> {
        self.db.borrow().as_ref().map(|db| db.object_store_names().collect()).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the connection; later calls fail with `StoreError::Closed`.
    pub fn close(&self) {
        if let Some(db) = self.db.borrow_mut().take() {
            db.close();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.db.borrow().is_none()
    }

    pub(crate) fn database(&self) -> Result<Database, StoreError> {
        self.db.borrow().clone().ok_or(StoreError::Closed)
    }

    pub(crate) fn transaction<'a>(
        db: &'a Database,
        stores: &[&str],
        mode: TransactionMode,
    ) -> Result<Transaction<'a>, StoreError> {
        db.transaction(stores).with_mode(mode).build().map_err(store_error)
    }

    /// A readwrite transaction for what is derived from the log (read models, checkpoints, saga
    /// progress, snapshots, compaction): relaxed in every browser, since a power cut can only
    /// lose what the log folds back into. Appends and clearing keep the caller's promise, strict.
    pub(crate) fn derived_write<'a>(db: &'a Database, stores: &[&str]) -> Result<Transaction<'a>, StoreError> {
        let mut options = TransactionOptions::new();
        options.set_durability(Durability::Relaxed);
        db.transaction(stores).with_mode(TransactionMode::Readwrite).with_options(options).build().map_err(store_error)
    }
}

/// A `log` key: the chunk's last position and that event's recorded time, so the greatest key
/// is the head of the log (and its time) without a record of its own.
fn chunk_key(last: Position, at: Timestamp) -> JsValue {
    Array::of2(&JsValue::from_f64(last.0 as f64), &JsValue::from_f64(at.0 as f64)).into()
}

/// Every key of chunks ending at or after `position` sorts at or above `[position]`.
fn from_position(position: u64) -> JsValue {
    Array::of1(&JsValue::from_f64(position as f64)).into()
}

fn parse_chunk_key(key: &JsValue) -> Result<(Position, Timestamp), StoreError> {
    let key = Array::from(key);
    match (key.get(0).as_f64(), key.get(1).as_f64()) {
        (Some(last), Some(at)) => Ok((Position(last as u64), Timestamp(at as u64))),
        _ => Err(StoreError::Corrupt { message: "a log key is not [position, time]".into() }),
    }
}

/// The head of the log and its time: the greatest chunk key.
async fn head_of(log: &ObjectStore<'_>) -> Result<(Position, Timestamp), StoreError> {
    let cursor = log.open_key_cursor().with_direction(CursorDirection::Prev).await.map_err(store_error)?;
    match cursor.map(|c| c.primary_key::<JsValue>()) {
        Some(Ok(Some(key))) => parse_chunk_key(&key),
        Some(Err(e)) => Err(store_error(e)),
        _ => Ok((Position::ZERO, Timestamp(0))),
    }
}

/// The first chunk ending at or after `position` (the one holding it, if it exists).
async fn chunk_holding(log: &ObjectStore<'_>, position: u64) -> Result<Option<JsValue>, StoreError> {
    let found = log
        .get_all::<JsValue>()
        .with_query::<JsValue, _>(KeyRange::LowerBound(from_position(position), false))
        .with_limit(1)
        .primitive()
        .map_err(store_error)?
        .await
        .map_err(store_error)?
        .next();
    found.transpose().map_err(store_error)
}

fn f64s(value: &JsValue) -> Result<Vec<f64>, StoreError> {
    value
        .dyn_ref::<Float64Array>()
        .map(Float64Array::to_vec)
        .ok_or_else(|| StoreError::Corrupt { message: "expected a Float64Array".into() })
}

// ---------------------------------------------------------------------------------------------
// The indexes

fn stream_key(stream: &str, version: f64) -> JsValue {
    Array::of2(&JsValue::from_str(stream), &JsValue::from_f64(version)).into()
}

/// `stream`'s `by_stream` entries for its versions from `from` on: the chunks that hold them.
fn stream_from(stream: &str, from: u64) -> KeyRange<JsValue> {
    KeyRange::Bound(stream_key(stream, from as f64), false, stream_key(stream, f64::INFINITY), false)
}

/// A stream's version: its greatest `by_stream` entry, read without its record.
async fn version_of(by_stream: &Index<'_>, stream: &str) -> Result<u64, StoreError> {
    let cursor = by_stream
        .open_key_cursor()
        .with_query::<JsValue, _>(stream_from(stream, 0))
        .with_direction(CursorDirection::Prev)
        .await
        .map_err(store_error)?;
    match cursor {
        Some(cursor) => record::version_in(&cursor.as_sys().key().map_err(|e| store_error(idb::Error::from(e)))?),
        None => Ok(0),
    }
}

/// Whether a commit holds `command`, read without its record.
async fn command_used(by_command: &Index<'_>, command: &CommandId) -> Result<bool, StoreError> {
    let count = by_command
        .count()
        .with_query::<JsValue, _>(JsValue::from_str(command.as_str()))
        .primitive()
        .map_err(store_error)?
        .await
        .map_err(store_error)?;
    Ok(count > 0)
}

// ---------------------------------------------------------------------------------------------
// Reading the log

/// The events of chunk records, each decoded (the time it takes is the benchmark's "decode
/// chunks"), keeping those `keep` accepts.
fn decode_records(
    values: Vec<JsValue>,
    keep: &mut dyn FnMut(Position, &str) -> bool,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let started = timings::now();
    let mut events = Vec::new();
    for value in values {
        events.extend(chunk::decode_where(&record::bytes(&value)?, keep)?);
    }
    timings::add("decode chunks", started);
    Ok(events)
}

/// Events with positions in `from..=to` (both inclusive), in order.
async fn read_range(log: &ObjectStore<'_>, from: u64, to: u64) -> Result<Vec<RecordedEvent>, StoreError> {
    if from > to {
        return Ok(Vec::new());
    }
    // Chunks ending within the range, then the one holding `to` if it ends after it.
    let within = KeyRange::Bound(from_position(from), false, chunk_key(Position(to), Timestamp(u64::MAX >> 11)), false);
    let mut events = decode_records(get_all(log, within).await?, &mut |p, _| p.0 >= from && p.0 <= to)?;
    if events.last().is_none_or(|e| e.meta.position.0 < to)
        && let Some(value) = chunk_holding(log, to).await?
    {
        events.extend(decode_records(vec![value], &mut |p, _| p.0 >= from && p.0 <= to)?);
    }
    Ok(events)
}

/// The events at `positions` (sorted), reading only the chunks that hold them.
async fn read_positions(log: &ObjectStore<'_>, positions: &[u64]) -> Result<Vec<RecordedEvent>, StoreError> {
    let wanted: HashSet<u64> = positions.iter().copied().collect();
    let mut events = Vec::with_capacity(positions.len());
    let mut covered_up_to = 0u64;
    for &position in positions {
        if position <= covered_up_to {
            continue;
        }
        let Some(value) = chunk_holding(log, position).await? else {
            return Err(StoreError::Corrupt { message: format!("no chunk holds position {position}") });
        };
        let mut last = position;
        let found = chunk::decode_where(&record::bytes(&value)?, &mut |p, _| {
            last = last.max(p.0);
            wanted.contains(&p.0)
        })?;
        events.extend(found);
        covered_up_to = last;
    }
    Ok(events)
}

/// The commit of `command_id`, found through `by_command`.
async fn receipt(log: &ObjectStore<'_>, command_id: &CommandId) -> Result<Option<CommitReceipt>, StoreError> {
    let by_command = log.index(BY_COMMAND).map_err(store_error)?;
    let found: Option<JsValue> = by_command
        .get(JsValue::from_str(command_id.as_str()))
        .primitive()
        .map_err(store_error)?
        .await
        .map_err(store_error)?;
    let Some(value) = found.filter(|v| !v.is_undefined()) else { return Ok(None) };
    let events: Vec<RecordedEvent> =
        chunk::decode(&record::bytes(&value)?)?.into_iter().filter(|e| &e.meta.command_id == command_id).collect();
    if events.is_empty() {
        return Err(StoreError::Corrupt { message: format!("the chunk of command {command_id} does not hold it") });
    }
    let digest = record::digest(&value, command_id)?;
    Ok(Some(CommitReceipt { command_id: command_id.clone(), events, digest }))
}

// ---------------------------------------------------------------------------------------------
// Appending

/// Where a rebase cuts the log: everything after `after` goes, if the head is still
/// `expected_head` (else a commit landed meanwhile that the caller has not seen); `notes` are
/// put in `meta` with the cut, so that what the caller must do about the commits cut is known
/// even if it never gets to do it.
#[derive(Clone, Copy, Debug)]
struct Cut<'a> {
    after: Position,
    expected_head: Position,
    notes: &'a [(String, String)],
}

/// The stores a rebase empties with the log's tail: everything folded from the log (read
/// models, checkpoints, saga progress, dead letters, snapshots) is folded again.
const DERIVED: [&str; 4] = [SNAPSHOTS, CHECKPOINTS, DOCUMENTS, DEAD_LETTERS];

impl IdbStore {
    /// Replaces the log after `after` with `commits`, in one transaction, if its head is still
    /// `expected_head` (`Ok(None)` otherwise: nothing written). What was folded from the log
    /// (read models, checkpoints, saga progress, dead letters, snapshots) is emptied in the same
    /// transaction, so nothing derived from the old tail survives it (with nothing to cut, with
    /// `after` the head, nothing derived is touched). Sync's way of putting
    /// commits from the server before the commits still pending here. `notes` (key, text) are
    /// put in `meta` in the same transaction.
    pub async fn rebase(
        &self,
        after: Position,
        expected_head: Position,
        commits: Vec<Commit>,
        notes: &[(String, String)],
    ) -> Result<Option<Vec<CommitReceipt>>, AppendError> {
        self.append_all_after(commits, Some(Cut { after, expected_head, notes })).await
    }

    async fn append_all(&self, commits: Vec<Commit>) -> Result<Vec<CommitReceipt>, AppendError> {
        // Without a cut, nothing can have moved.
        Ok(self.append_all_after(commits, None).await?.unwrap_or_default())
    }

    /// Cuts the log after `cut.after` within `tx`: chunks ending after it are deleted, and the
    /// one holding it is rewritten with its commits up to it (chunks hold whole commits, and a
    /// rebase cuts between commits). The compaction marker does not stay beyond the cut. False,
    /// with nothing done, if the head is not `cut.expected_head`.
    async fn cut(&self, log: &ObjectStore<'_>, meta: &ObjectStore<'_>, cut: Cut<'_>) -> Result<bool, AppendError> {
        let (head, _) = head_of(log).await?;
        if head != cut.expected_head {
            return Ok(false);
        }
        let first_gone = cut.after.0 + 1;
        let holding = chunk_holding(log, first_gone).await?;
        delete_range(log, KeyRange::LowerBound(from_position(first_gone), false))?;
        if let Some(value) = holding {
            let kept: Vec<RecordedEvent> =
                chunk::decode(&record::bytes(&value)?)?.into_iter().filter(|e| e.meta.position <= cut.after).collect();
            if let Some(last) = kept.last().map(|e| e.meta.clone()) {
                let digests: HashMap<String, Option<CommandDigest>> = record::digests(&value).into_iter().collect();
                let (events, payloads): (Vec<&RecordedEvent>, Vec<&str>) =
                    kept.iter().map(|e| (e, &*e.payload)).unzip();
                let bytes = chunk::encode_with(&events, &payloads)?;
                let value = record::value(&bytes, &events, &digests);
                put(log, chunk_key(last.position, last.recorded_at), value)?;
            }
        }
        let marker = get(meta, JsValue::from_str("compacted")).await?.and_then(|v| v.as_f64()).unwrap_or(0.0);
        if marker > cut.after.0 as f64 {
            put(meta, JsValue::from_str("compacted"), JsValue::from_f64(cut.after.0 as f64))?;
        }
        Ok(true)
    }

    /// Appends `commits` after the head, or, with `cut`, after `cut.after`; `None` when the cut
    /// found the head moved (nothing written).
    async fn append_all_after(
        &self,
        commits: Vec<Commit>,
        cut: Option<Cut<'_>>,
    ) -> Result<Option<Vec<CommitReceipt>>, AppendError> {
        let started = timings::now();
        for commit in &commits {
            commit.validate()?;
        }
        timings::add("check commits", started);
        if commits.is_empty() && cut.is_none() {
            return Ok(Some(Vec::new()));
        }
        let db = self.database()?;
        let mut options = TransactionOptions::new();
        options.set_durability(self.durability.get());
        let mut stores = vec![LOG];
        // Appending after the head only needs the head checked; cutting a tail empties what was
        // folded from it.
        if cut.is_some() {
            stores.push(META);
        }
        if cut.is_some_and(|cut| cut.after < cut.expected_head) {
            stores.extend(DERIVED.iter().filter(|s| self.object_stores().iter().any(|p| p == *s)));
        }
        let tx = db
            .transaction(self.with_keys(&stores).as_slice())
            .with_mode(TransactionMode::Readwrite)
            .with_options(options)
            .build()
            .map_err(store_error)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        if let Some(cut) = cut {
            let meta = tx.object_store(META).map_err(store_error)?;
            match self.cut(&log, &meta, cut).await {
                Ok(true) => {}
                Ok(false) => {
                    let _ = tx.abort().await;
                    return Ok(None);
                }
                Err(error) => {
                    let _ = tx.abort().await;
                    return Err(error);
                }
            }
            for (key, text) in cut.notes {
                put(&meta, JsValue::from_str(key), JsValue::from_str(text))?;
            }
            for name in &stores[2..] {
                tx.object_store(name).map_err(store_error)?.clear().map_err(store_error)?;
            }
            if commits.is_empty() {
                idb::commit(tx).await.map_err(store_error)?;
                return Ok(Some(Vec::new()));
            }
        }
        let by_stream = log.index(BY_STREAM).map_err(store_error)?;
        let by_command = log.index(BY_COMMAND).map_err(store_error)?;
        let keys = if self.vault.enabled() { Some(tx.object_store(KEYS).map_err(store_error)?) } else { None };
        let events = || commits.iter().flat_map(|c| &c.writes).flat_map(|w| &w.events);
        let key_changes = match &keys {
            Some(keys) if self.vault.involved(events().map(|e| (&*e.event_type, &*e.payload))) => {
                self.vault.prepare(keys, events().map(|e| (&*e.event_type, &*e.payload))).await?
            }
            _ => Default::default(),
        };

        let touched: Vec<&StreamId> = {
            let mut seen = HashSet::new();
            commits.iter().flat_map(|c| &c.writes).map(|w| &w.stream).filter(|s| seen.insert(*s)).collect()
        };
        // A single commit (a command: latency counts) sends its reads at once: the head, its
        // streams' versions and whether its command id is used. A batch (an import: throughput
        // counts) reads the head first, and its streams' versions only when the log is not
        // empty; its command ids are checked by `by_command`'s constraint as the chunks are put.
        let single = commits.len() == 1;
        let read_versions = || try_join_all(touched.iter().map(|s| version_of(&by_stream, s.as_str())));
        let waiting = timings::mark();
        let ((mut head, mut head_at), versions) = if single {
            let (head, versions, used) = futures::future::try_join3(
                head_of(&log),
                read_versions(),
                command_used(&by_command, &commits[0].command_id),
            )
            .await?;
            if used {
                let first = receipt(&log, &commits[0].command_id).await?;
                let mut first = first.ok_or_else(|| StoreError::Corrupt { message: "a command record lost".into() })?;
                self.vault.open_events(keys.as_ref(), &mut first.events).await?;
                return Err(AppendError::DuplicateCommand(Box::new(first)));
            }
            (head, versions)
        } else {
            let head = head_of(&log).await?;
            let versions = if head.0 == Position::ZERO { vec![0; touched.len()] } else { read_versions().await? };
            (head, versions)
        };
        timings::add_waiting("reading the head and versions", waiting);
        // Owned keys: the map type the memory store uses too, compiled once.
        let mut versions: HashMap<StreamId, u64> = touched.iter().map(|s| (*s).clone()).zip(versions).collect();

        // Decide every commit against the staged state: all or nothing.
        let started = timings::now();
        let mut staged: Vec<Vec<RecordedEvent>> = Vec::with_capacity(commits.len());
        let mut ids_in_batch: HashMap<&CommandId, usize> = HashMap::new();
        for commit in &commits {
            if let Some(&earlier) = ids_in_batch.get(&commit.command_id) {
                let first = CommitReceipt {
                    command_id: commit.command_id.clone(),
                    events: staged[earlier].clone(),
                    digest: commits[earlier].digest,
                };
                return Err(AppendError::DuplicateCommand(Box::new(first)));
            }
            let recorded = match commit.record(head, head_at, |s| StreamVersion(versions.get(s).copied().unwrap_or(0)))
            {
                Ok(recorded) => recorded,
                // A retry of a committed command is answered with its first commit, whatever
                // its expectations say now; only this failure path pays for the lookup.
                Err(AppendError::WrongExpectedVersion(conflict)) => {
                    for commit in &commits {
                        if let Some(mut first) = receipt(&log, &commit.command_id).await? {
                            self.vault.open_events(keys.as_ref(), &mut first.events).await?;
                            return Err(AppendError::DuplicateCommand(Box::new(first)));
                        }
                    }
                    return Err(AppendError::WrongExpectedVersion(conflict));
                }
                Err(other) => return Err(other),
            };
            for write in &commit.writes {
                *versions.entry(write.stream.clone()).or_default() += write.events.len() as u64;
            }
            let last = recorded.last().expect("a validated commit has events");
            (head, head_at) = (last.meta.position, last.meta.recorded_at);
            ids_in_batch.insert(&commit.command_id, staged.len());
            staged.push(recorded);
        }
        timings::add("check commits", started);

        // Writes: one `put` per chunk, its index entries with it.
        // Keyed by text: the map compaction and the schema-4 move use too, compiled once.
        let digests: HashMap<String, Option<CommandDigest>> =
            commits.iter().map(|c| (c.command_id.to_string(), c.digest)).collect();
        // Most batches hold nothing personal: one look over the payloads spares a seal of each.
        let started = timings::now();
        let sealing = self.vault.enabled() && staged.iter().flatten().any(|e| personal::holds_personal(&e.payload));
        timings::add("seal", started);
        let mut puts = Vec::new();
        for events in chunk::pack(staged.iter().map(Vec::as_slice)) {
            let started = timings::now();
            let mut sealed: Vec<Option<String>> = Vec::new();
            if sealing {
                for event in &events {
                    sealed.push(self.vault.seal(&event.payload, &key_changes)?);
                }
            }
            let payloads: Vec<&str> = events
                .iter()
                .enumerate()
                .map(|(i, e)| sealed.get(i).and_then(Option::as_deref).unwrap_or(&e.payload))
                .collect();
            timings::add("seal", started);
            let started = timings::now();
            let bytes = chunk::encode_with(&events, &payloads)?;
            timings::add("encode chunks", started);
            let started = timings::now();
            let value = record::value(&bytes, &events, &digests);
            timings::add("build records", started);
            let last = &events[events.len() - 1].meta;
            let put = log
                .put(value)
                .with_key(chunk_key(last.position, last.recorded_at))
                .without_key_type()
                .primitive()
                .map_err(store_error)?;
            if !single {
                puts.push(put);
            }
        }
        let waiting = timings::mark();
        // A `put` that breaks `by_command` (a command id already used) must abort everything
        // written before it. Chromium aborts on its own; Firefox commits the rest when `commit()`
        // was called before the failure arrived. So a batch's puts are heard first, a failure
        // aborts explicitly, and only then is the commit asked.
        if let Err(error) = try_join_all(puts).await {
            let _ = tx.abort().await;
            if idb::is_constraint(&error) {
                return Err(self.duplicate(&commits).await?);
            }
            return Err(store_error(error).into());
        }
        if let Err(error) = idb::commit(tx).await {
            if idb::is_constraint(&error) {
                return Err(self.duplicate(&commits).await?);
            }
            return Err(store_error(error).into());
        }
        timings::add_waiting("writing and committing", waiting);
        self.vault.committed(key_changes);

        Ok(Some(
            commits
                .into_iter()
                .zip(staged)
                .map(|(c, events)| CommitReceipt { command_id: c.command_id, events, digest: c.digest })
                .collect(),
        ))
    }
}

impl IdbStore {
    /// The events at `positions` (sorted, existing), reading only the chunks that hold them.
    pub async fn read_at(&self, positions: &[u64]) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut sorted = positions.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let db = self.database()?;
        let tx = Self::transaction(&db, &self.with_keys(&[LOG]), TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        let mut events = read_positions(&log, &sorted).await?;
        self.open_in(&tx, &mut events).await?;
        Ok(events)
    }

    /// Opens the personal values of `events`, read in `tx`.
    async fn open_in(&self, tx: &Transaction<'_>, events: &mut [RecordedEvent]) -> Result<(), StoreError> {
        if !self.vault.enabled() {
            return Ok(());
        }
        let keys = tx.object_store(KEYS).map_err(store_error)?;
        self.vault.open_events(Some(&keys), events).await
    }

    /// The version of each stream: all asked at once, in one transaction.
    pub async fn stream_versions(&self, streams: &[StreamId]) -> Result<Vec<u64>, StoreError> {
        if streams.is_empty() {
            return Ok(Vec::new());
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &[LOG], TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        let by_stream = log.index(BY_STREAM).map_err(store_error)?;
        try_join_all(streams.iter().map(|s| version_of(&by_stream, s.as_str()))).await
    }

    /// Whether each command id has a commit here: all asked at once, in one transaction.
    pub async fn holds_commands(&self, ids: &[&CommandId]) -> Result<Vec<bool>, StoreError> {
        let db = self.database()?;
        let tx = Self::transaction(&db, &[LOG], TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        let by_command = log.index(BY_COMMAND).map_err(store_error)?;
        try_join_all(ids.iter().map(|id| command_used(&by_command, id))).await
    }

    /// The first commit of whichever command in `commits` had already committed.
    async fn duplicate(&self, commits: &[Commit]) -> Result<AppendError, StoreError> {
        for commit in commits {
            if let Some(first) = self.find_commit(&commit.command_id).await? {
                return Ok(AppendError::DuplicateCommand(Box::new(first)));
            }
        }
        Err(StoreError::Corrupt { message: "a command id conflicted but no commit holds it".into() })
    }

    /// Moves a schema-4 log (the `log` store and its three index stores) into `chunks`, in one
    /// transaction: a crash on the way leaves the old log as it was, and the next open moves it.
    async fn move_legacy_log(&self) -> Result<(), StoreError> {
        let db = self.database()?;
        let count = {
            let tx = Self::transaction(&db, &[LEGACY_LOG], TransactionMode::Readonly)?;
            let legacy = tx.object_store(LEGACY_LOG).map_err(store_error)?;
            legacy.count().primitive().map_err(store_error)?.await.map_err(store_error)?
        };
        if count == 0 {
            return Ok(());
        }
        let stores = [LOG, LEGACY_LOG, LEGACY_STREAMS, LEGACY_SEGMENTS, LEGACY_COMMANDS];
        let tx = Self::transaction(&db, &stores, TransactionMode::Readwrite)?;
        let store = |name| tx.object_store(name).map_err(store_error);
        let (log, legacy, commands) = (store(LOG)?, store(LEGACY_LOG)?, store(LEGACY_COMMANDS)?);
        // Another tab may have moved it meanwhile.
        let chunks = entries(&legacy, KeyRange::LowerBound(from_position(0), false)).await?;
        let mut digests: HashMap<String, Option<CommandDigest>> = HashMap::new();
        for (key, value) in entries(&commands, KeyRange::LowerBound(JsValue::from_str(""), false)).await? {
            // A record not as schema 4 wrote it only loses its digest (a retry then matches).
            let digest = match f64s(&value).unwrap_or_default()[..] {
                [_, _, high, low] => Some(CommandDigest(((high as u64) << 32) | low as u64)),
                _ => None,
            };
            digests.insert(key.as_string().unwrap_or_default(), digest);
        }
        for (key, value) in chunks {
            let bytes = record::bytes(&value)?;
            // A damaged chunk moves as it is, with no index entries: reading it stays `Corrupt`,
            // as it was, and the database still opens.
            let events = chunk::decode(&bytes).unwrap_or_default();
            let refs: Vec<&RecordedEvent> = events.iter().collect();
            put(&log, key, record::value(&bytes, &refs, &digests))?;
        }
        for name in [LEGACY_LOG, LEGACY_STREAMS, LEGACY_SEGMENTS, LEGACY_COMMANDS] {
            store(name)?.clear().map_err(store_error)?;
        }
        idb::commit(tx).await.map_err(store_error)
    }
}

impl EventStore for IdbStore {
    async fn append(&self, commit: Commit) -> Result<CommitReceipt, AppendError> {
        let mut receipts = self.append_all(vec![commit]).await?;
        Ok(receipts.pop().expect("one commit in, one receipt out"))
    }

    async fn append_batch(&self, commits: Vec<Commit>) -> Result<Vec<CommitReceipt>, AppendError> {
        self.append_all(commits).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        after: StreamVersion,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &self.with_keys(&[LOG]), TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        let by_stream = log.index(BY_STREAM).map_err(store_error)?;
        // Each chunk holds at least one of the versions wanted, so `limit` chunks are enough.
        let chunks = by_stream
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(stream_from(stream.as_str(), after.0 + 1))
            .with_limit(u32::try_from(limit).unwrap_or(u32::MAX))
            .primitive()
            .map_err(store_error)?
            .await
            .map_err(store_error)?
            .collect::<Result<Vec<JsValue>, _>>()
            .map_err(store_error)?;
        let last = after.0.saturating_add(limit as u64);
        let mut events = decode_records(chunks, &mut |_, s| s == stream.as_str())?;
        events.retain(|e| e.meta.version.0 > after.0 && e.meta.version.0 <= last);
        // Every version after `after`, once, in order: a gap is a chunk that lost its entries.
        for (i, event) in events.iter().enumerate() {
            if event.meta.version.0 != after.0 + 1 + i as u64 {
                return Err(StoreError::Corrupt {
                    message: format!("stream {stream} misses version {} in the log", after.0 + 1 + i as u64),
                });
            }
        }
        self.open_in(&tx, &mut events).await?;
        Ok(events)
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &self.with_keys(&[LOG]), TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        let mut events = read_range(&log, after.0 + 1, after.0.saturating_add(limit as u64)).await?;
        self.open_in(&tx, &mut events).await?;
        Ok(events)
    }

    async fn head(&self) -> Result<Position, StoreError> {
        let db = self.database()?;
        let tx = Self::transaction(&db, &[LOG], TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        Ok(head_of(&log).await?.0)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError> {
        Ok(StreamVersion(self.stream_versions(std::slice::from_ref(stream)).await?[0]))
    }

    async fn find_commit(&self, command_id: &CommandId) -> Result<Option<CommitReceipt>, StoreError> {
        let db = self.database()?;
        let tx = Self::transaction(&db, &self.with_keys(&[LOG]), TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        let Some(mut receipt) = receipt(&log, command_id).await? else { return Ok(None) };
        self.open_in(&tx, &mut receipt.events).await?;
        Ok(Some(receipt))
    }

    async fn subject(&self, subject: &str) -> Result<SubjectStatus, StoreError> {
        if !self.vault.enabled() {
            return Ok(SubjectStatus::Unknown);
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &[KEYS], TransactionMode::Readonly)?;
        let keys = tx.object_store(KEYS).map_err(store_error)?;
        self.vault.status(&keys, subject).await
    }
}

/// Subjects' keys between devices (sync, docs/SYNC.md "Personal data"): what this device holds to
/// share, and keys from elsewhere taken in beside its own.
impl IdbStore {
    /// This device's key records for `subjects` (those it holds or forgot; others are absent).
    pub async fn held_keys(&self, subjects: &[String]) -> Result<Vec<(String, HeldKey)>, StoreError> {
        if !self.vault.enabled() || subjects.is_empty() {
            return Ok(Vec::new());
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &[KEYS], TransactionMode::Readonly)?;
        let keys = tx.object_store(KEYS).map_err(store_error)?;
        self.vault.held(&keys, subjects).await
    }

    /// Takes in keys from another device (32 bytes each), beside this device's own: a subject
    /// forgotten here stays forgotten. Whether anything changed.
    pub async fn merge_keys(&self, from: &[(String, Vec<u8>)]) -> Result<bool, StoreError> {
        if !self.vault.enabled() || from.is_empty() {
            return Ok(false);
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &[KEYS], TransactionMode::Readwrite)?;
        let keys = tx.object_store(KEYS).map_err(store_error)?;
        let changed = self.vault.merge(&keys, from).await?;
        idb::commit(tx).await.map_err(store_error)?;
        if changed {
            self.vault.after_merge();
        }
        Ok(changed)
    }

    /// The subjects of sealed values in `texts` that no key of this device opens (and that it
    /// did not forget): whose keys are to be fetched from another device.
    pub async fn unopened_subjects(&self, texts: &[&str]) -> Result<Vec<String>, StoreError> {
        if !self.vault.enabled() || !texts.iter().any(|t| personal::holds_personal(t)) {
            return Ok(Vec::new());
        }
        let db = self.database()?;
        let tx = Self::transaction(&db, &[KEYS], TransactionMode::Readonly)?;
        let keys = tx.object_store(KEYS).map_err(store_error)?;
        self.vault.load_for(&keys, texts.iter().copied()).await?;
        Ok(self.vault.unopened(texts.iter().copied()))
    }
}

/// Chunks looked at per compaction: a compaction holds the log's store, so appends and reads wait
/// for it; a small window keeps that wait short (a few ms), and compaction runs again when idle.
const COMPACT_WINDOW: u32 = 512;
/// Fewer events than this on average per chunk and a region is worth merging.
const SMALL_CHUNK: usize = chunk::CHUNK_EVENTS / 4;

impl IdbStore {
    /// Merges runs of small chunks (single commands write one each) into chunks of about
    /// `CHUNK_EVENTS`, so that replays move many events per record. Positions, versions and
    /// commits do not change, and a commit is never split. One transaction: readers see the old
    /// chunks or the new ones. Returns how many chunks were replaced.
    pub async fn compact(&self) -> Result<usize, StoreError> {
        let db = self.database()?;
        let tx = Self::derived_write(&db, &[LOG, META])?;
        let (log, meta) = (tx.object_store(LOG).map_err(store_error)?, tx.object_store(META).map_err(store_error)?);
        // Chunks ending after `marker` are still to look at.
        let marker = get(&meta, JsValue::from_str("compacted")).await?.and_then(|v| v.as_f64()).unwrap_or(0.0) as u64;
        let window = KeyRange::LowerBound(from_position(marker + 1), false);
        let keys = log
            .get_all_keys::<JsValue>()
            .with_query::<JsValue, _>(window.clone())
            .with_limit(COMPACT_WINDOW)
            .primitive()
            .map_err(store_error)?
            .await
            .map_err(store_error)?
            .collect::<Result<Vec<JsValue>, _>>()
            .map_err(store_error)?;
        if keys.len() < 16 {
            return Ok(0);
        }
        let last_key = keys[keys.len() - 1].clone();
        let region = KeyRange::Bound(keys[0].clone(), false, last_key, false);
        let mut events = Vec::new();
        let mut digests: HashMap<String, Option<CommandDigest>> = HashMap::new();
        for value in get_all(&log, region.clone()).await? {
            events.extend(chunk::decode(&record::bytes(&value)?)?);
            digests.extend(record::digests(&value));
        }
        // The last run stays open to the commits still to come, so the marker stops before it.
        let mut commits: Vec<&[RecordedEvent]> =
            events.chunk_by(|a, b| a.meta.command_id == b.meta.command_id).collect();
        if events.len() / keys.len() >= SMALL_CHUNK {
            // Already packed (an import, say): move the marker on and keep the chunks.
            let next = parse_chunk_key(&keys[keys.len() - 2])?.0.0;
            put(&meta, JsValue::from_str("compacted"), JsValue::from_f64(next as f64))?;
            idb::commit(tx).await.map_err(store_error)?;
            return Ok(0);
        }
        let packs = chunk::pack(commits.drain(..));
        delete_range(&log, region)?;
        let mut new_marker = marker;
        let pack_count = packs.len();
        for (i, pack) in packs.into_iter().enumerate() {
            let payloads: Vec<&str> = pack.iter().map(|e| &*e.payload).collect();
            let bytes = chunk::encode_with(&pack, &payloads)?;
            let last = &pack[pack.len() - 1].meta;
            let value = record::value(&bytes, &pack, &digests);
            put(&log, chunk_key(last.position, last.recorded_at), value)?;
            if i + 1 < pack_count {
                new_marker = last.position.0;
            }
        }
        put(&meta, JsValue::from_str("compacted"), JsValue::from_f64(new_marker as f64))?;
        idb::commit(tx).await.map_err(store_error)?;
        Ok(keys.len())
    }

    /// How many records the log has (for tests and diagnostics).
    pub async fn chunk_count(&self) -> Result<u32, StoreError> {
        let db = self.database()?;
        let tx = Self::transaction(&db, &[LOG], TransactionMode::Readonly)?;
        let log = tx.object_store(LOG).map_err(store_error)?;
        log.count().primitive().map_err(store_error)?.await.map_err(store_error)
    }

    /// Empties every object store in one transaction: the log, the indexes, snapshots, read
    /// models, checkpoints and dead letters together, or nothing.
    pub async fn clear_all(&self) -> Result<(), StoreError> {
        let db = self.database()?;
        let present = self.object_stores();
        let stores: Vec<&str> = idb::ALL_STORES.into_iter().filter(|s| present.iter().any(|p| p == s)).collect();
        let tx = Self::transaction(&db, &stores, TransactionMode::Readwrite)?;
        for &name in &stores {
            tx.object_store(name).map_err(store_error)?.clear().map_err(store_error)?;
        }
        if stores.contains(&KEYS) {
            // Other tabs cached keys that are gone now: they must see a new generation.
            let keys = tx.object_store(KEYS).map_err(store_error)?;
            self.vault.after_clear(&keys)?;
        }
        idb::commit(tx).await.map_err(store_error)
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotRecord {
    version: u64,
    state_version: u32,
    state: String,
}

impl SnapshotStore for IdbStore {
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let db = self.database()?;
        let tx = Self::transaction(&db, &self.with_keys(&[SNAPSHOTS]), TransactionMode::Readonly)?;
        let snapshots = tx.object_store(SNAPSHOTS).map_err(store_error)?;
        let Some(value) = get(&snapshots, JsValue::from_str(stream.as_str())).await? else { return Ok(None) };
        // An unreadable snapshot is a cache miss, never an error: the log is the truth.
        let Some(mut record) =
            value.as_string().and_then(|json| eventline_core::json::from_str::<SnapshotRecord>(&json).ok())
        else {
            return Ok(None);
        };
        if self.vault.enabled() {
            let keys = tx.object_store(KEYS).map_err(store_error)?;
            self.vault.load_for(&keys, std::iter::once(record.state.as_str())).await?;
            if let Some(opened) = self.vault.open(&record.state) {
                record.state = opened;
            }
        }
        Ok(Some(Snapshot {
            stream: stream.clone(),
            version: StreamVersion(record.version),
            state_version: record.state_version,
            state: record.state.into(),
        }))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let db = self.database()?;
        let tx = Self::derived_write(&db, &self.with_keys(&[SNAPSHOTS]))?;
        let snapshots = tx.object_store(SNAPSHOTS).map_err(store_error)?;
        let key_changes = match self.vault.enabled() {
            true => {
                let keys = tx.object_store(KEYS).map_err(store_error)?;
                self.vault.prepare_texts(&keys, std::iter::once(&*snapshot.state)).await?
            }
            false => Default::default(),
        };
        let key = JsValue::from_str(snapshot.stream.as_str());
        let newer_exists = get(&snapshots, key.clone())
            .await?
            .and_then(|v| v.as_string())
            .and_then(|json| eventline_core::json::from_str::<SnapshotRecord>(&json).ok())
            .is_some_and(|existing| existing.version >= snapshot.version.0);
        if !newer_exists {
            let state = self.vault.seal(&snapshot.state, &key_changes)?.unwrap_or_else(|| snapshot.state.to_string());
            let record = SnapshotRecord { version: snapshot.version.0, state_version: snapshot.state_version, state };
            let json = serde_json::to_string(&record).map_err(|e| StoreError::Corrupt { message: e.to_string() })?;
            put(&snapshots, key, JsValue::from_str(&json))?;
        }
        idb::commit(tx).await.map_err(store_error)?;
        self.vault.committed(key_changes);
        Ok(())
    }
}
