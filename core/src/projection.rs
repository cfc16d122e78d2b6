//! Projections: read models folded from the log, with the position they have reached.
//!
//! A read model's persisted state is a set of keyed [`Documents`] of one type, so a store can
//! write only the documents an event batch changed (in the same transaction as the checkpoint).
//! Indexes derived from the documents (which customer an order belongs to, say) are rebuilt by
//! `from_documents` and never stored.
//!
//! Invariants, enforced by [`Projection`]:
//! - the checkpoint is the position of the last event the read model has seen, and only grows;
//! - an event at or below the checkpoint is a no-op, so re-delivering a batch changes nothing;
//! - events the read model cannot decode advance the checkpoint too (the runner keeps them as
//!   dead letters), so one poison event never stops a projection;
//! - an event a read model cannot apply without making a number nobody decided (a balance below
//!   zero, a total past `u64`) is [`Impossible`]: the read model stays as it was, the checkpoint
//!   moves past it, and the runner keeps it as a dead letter. Read models never wrap or clamp;
//! - folding the log from 0 (a rebuild) equals applying it incrementally in any batch sizes
//!   (property-tested in `core/tests/properties.rs`).

use std::collections::BTreeSet;
use std::fmt;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::envelope::{Envelope, RecordedEvent};
use crate::event::{DecodeError, Event};
use crate::ids::{Position, Timestamp};

/// A keyed set of documents that remembers which keys changed since the last flush.
///
/// The documents sit in a `Vec`, found through one hash map (Fx: keys are the log's own ids). A
/// catch-up looks a document up for every event and every read model, so the lookup is a hash,
/// not a walk of string comparisons down a tree; the order of keys is only needed to list them
/// ([`Documents::iter`]), which sorts. Every document type shares the map's code, which keeps the
/// WebAssembly module small.
#[derive(Clone, Debug)]
pub struct Documents<D> {
    found: FxHashMap<String, usize>,
    docs: Vec<(String, D)>,
    dirty: BTreeSet<String>,
    /// Beside `docs`: whether each is in `dirty` already, so that a document changed by every
    /// event of a batch is looked up in `dirty` once, not once per event.
    flagged: Vec<bool>,
    /// Keys added since the last flush: storage has never seen them, so removing one again
    /// before the next flush leaves nothing to write (a read model that keeps a window, such as
    /// the newest pages of an audit log, writes no page it dropped while catching up).
    added: BTreeSet<String>,
}

impl<D> Default for Documents<D> {
    fn default() -> Self {
        Documents {
            found: FxHashMap::default(),
            docs: Vec::new(),
            dirty: BTreeSet::new(),
            flagged: Vec::new(),
            added: BTreeSet::new(),
        }
    }
}

/// Two document sets are equal when they hold the same documents, whatever is still unflushed.
impl<D: PartialEq> PartialEq for Documents<D> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// A change to flush: the new document, or `None` when it was removed.
#[derive(Clone, Debug, PartialEq)]
pub struct DocChange<D> {
    pub key: String,
    pub doc: Option<D>,
}

impl<D> Documents<D> {
    pub fn get(&self, key: &str) -> Option<&D> {
        self.found.get(key).map(|&i| &self.docs[i].1)
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Documents in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &D)> {
        key_order(self.docs.iter().map(|(key, _)| key.as_str()).collect())
            .into_iter()
            .map(|i| (&self.docs[i].0, &self.docs[i].1))
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &D> {
        self.iter().map(|(_, doc)| doc)
    }

    /// Marks document `i` changed.
    fn touch(&mut self, i: usize) {
        if !self.flagged[i] {
            self.flagged[i] = true;
            self.dirty.insert(self.docs[i].0.clone());
        }
    }

    /// Adds a document under a new key: `i`.
    fn push(&mut self, key: String, doc: D) -> usize {
        // A key still dirty without a document was removed since the last flush: storage may
        // hold it, so removing it again must still be written.
        if !self.dirty.contains(&key) {
            self.added.insert(key.clone());
        }
        self.found.insert(key.clone(), self.docs.len());
        self.docs.push((key, doc));
        self.flagged.push(false);
        self.docs.len() - 1
    }

    pub fn put(&mut self, key: impl Into<String>, doc: D) {
        let key = key.into();
        let i = match self.found.get(&key) {
            Some(&i) => {
                self.docs[i].1 = doc;
                i
            }
            None => self.push(key, doc),
        };
        self.touch(i);
    }

    /// Changes an existing document; returns false (and changes nothing) if there is none.
    pub fn update(&mut self, key: &str, change: impl FnOnce(&mut D)) -> bool {
        let Some(&i) = self.found.get(key) else { return false };
        change(&mut self.docs[i].1);
        self.touch(i);
        true
    }

    /// Changes an existing document, found once, if `change` says it may: `change` checks, then
    /// changes, and an `Err` must leave the document as it was (it is not marked changed).
    /// `None` if there is no document at `key`.
    pub fn try_update<E>(&mut self, key: &str, change: impl FnOnce(&mut D) -> Result<(), E>) -> Option<Result<(), E>> {
        let &i = self.found.get(key)?;
        let changed = change(&mut self.docs[i].1);
        if changed.is_ok() {
            self.touch(i);
        }
        Some(changed)
    }

    /// Changes every document `matches` picks; returns how many.
    pub fn update_where(&mut self, matches: impl Fn(&D) -> bool, mut change: impl FnMut(&mut D)) -> usize {
        let keys: Vec<String> = self.docs.iter().filter(|(_, d)| matches(d)).map(|(k, _)| k.clone()).collect();
        for key in &keys {
            self.update(key, &mut change);
        }
        keys.len()
    }

    /// Changes the document at `key`, creating it with `create` first if needed.
    pub fn upsert(&mut self, key: &str, create: impl FnOnce() -> D, change: impl FnOnce(&mut D)) {
        let i = match self.found.get(key) {
            Some(&i) => i,
            None => self.push(key.to_string(), create()),
        };
        change(&mut self.docs[i].1);
        self.touch(i);
    }

    pub fn remove(&mut self, key: &str) -> Option<D> {
        let i = self.found.remove(key)?;
        let (_, doc) = self.docs.swap_remove(i);
        self.flagged.swap_remove(i);
        if let Some((moved, _)) = self.docs.get(i) {
            self.found.insert(moved.clone(), i);
        }
        if self.added.remove(key) {
            self.dirty.remove(key);
        } else if !self.dirty.contains(key) {
            self.dirty.insert(key.to_string());
        }
        Some(doc)
    }

    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty()
    }
}

impl<D: Clone> Documents<D> {
    /// The changes since the last call, in key order.
    pub fn take_changes(&mut self) -> Vec<DocChange<D>> {
        self.added.clear();
        std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|key| {
                let i = self.found.get(&key).copied();
                if let Some(i) = i {
                    self.flagged[i] = false;
                }
                DocChange { doc: i.map(|i| self.docs[i].1.clone()), key }
            })
            .collect()
    }
}

impl<D> FromIterator<(String, D)> for Documents<D> {
    /// Documents as loaded from storage: nothing to flush.
    fn from_iter<I: IntoIterator<Item = (String, D)>>(iter: I) -> Self {
        let mut documents = Documents::default();
        for (key, doc) in iter {
            documents.put(key, doc);
        }
        documents.dirty.clear();
        documents.added.clear();
        documents.flagged.fill(false);
        documents
    }
}

/// The positions of `keys` in key order. Not generic, so every document type shares one sort.
fn key_order(keys: Vec<&str>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_unstable_by_key(|&i| keys[i]);
    order
}

/// The storage bucket of document `key` among `buckets` (FNV-1a). Stored data depends on it:
/// never change it.
pub fn bucket_of(key: &str, buckets: u32) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in key.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    hash % buckets.max(1)
}

/// Why a read model could not apply an event: what it would have made of its numbers. A log that
/// admits only what aggregates decided never causes one; a damaged or forged one may.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Impossible(pub String);

impl Impossible {
    /// `value + delta` as a `u64`, or why not: the one way read models move their numbers.
    pub fn shift(value: u64, delta: i128, what: &str) -> Result<u64, Impossible> {
        u64::try_from(i128::from(value) + delta).map_err(|_| {
            // Told as two u64s: formatting an i128 would cost the module its own code.
            let (sign, by) = if delta < 0 { ("less", delta.unsigned_abs()) } else { ("more", delta.unsigned_abs()) };
            Impossible(format!("{what} of {value} cannot be {} {sign}", by as u64))
        })
    }
}

/// A read model: documents folded from events.
pub trait ReadModel: Default + Clone + fmt::Debug {
    /// Stable name: the key of its checkpoint and documents in storage, and its name in the JS API.
    const NAME: &'static str;
    /// A storage hint: how many records a store spreads the documents over. Stores pay per
    /// record, so many small documents are best gathered in a few records; large documents
    /// (0) get a record each.
    const DOCUMENT_BUCKETS: u32 = 32;
    /// The event types it reads. Others only move its checkpoint ([`Applied::Skipped`]), and
    /// an application's registry refuses a type it does not have.
    const HANDLES: &'static [&'static str];
    type Event: Event;
    type Doc: Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned;

    /// Folds one event in. `Err` leaves the read model exactly as it was: check, then change.
    fn apply(&mut self, envelope: &Envelope<Self::Event>) -> Result<(), Impossible>;

    /// Drops or redacts everything held about `subject`, who was forgotten. Called for their
    /// `SubjectForgotten` event before `apply`, and by a runtime at once when they are forgotten,
    /// whatever the projection is doing (paused, delayed, behind): forgetting does not wait.
    fn forget(&mut self, subject: &str) {
        let _ = subject;
    }

    /// Sees an event that does not decode. Most read models ignore it; an audit log records it.
    fn apply_undecodable(&mut self, recorded: &RecordedEvent, error: &DecodeError) {
        let _ = (recorded, error);
    }

    fn documents(&self) -> &Documents<Self::Doc>;

    /// The documents changed since the last call, to write with the checkpoint.
    fn take_changes(&mut self) -> Vec<DocChange<Self::Doc>>;

    /// Rebuilds the read model (and any derived index) from stored documents.
    fn from_documents(docs: Documents<Self::Doc>) -> Self;
}

/// A read model with its checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection<R> {
    pub read_model: R,
    pub checkpoint: Position,
}

impl<R: ReadModel> Default for Projection<R> {
    fn default() -> Self {
        Projection { read_model: R::default(), checkpoint: Position::ZERO }
    }
}

/// What happened to one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// At or below the checkpoint: already seen.
    AlreadySeen,
    /// Of a type the read model does not read (`ReadModel::HANDLES`): the checkpoint moved past
    /// it, the documents did not change.
    Skipped,
    /// Could not be decoded: the checkpoint moved past it and the caller should dead-letter it.
    Undecodable(DecodeError),
    /// Decoded, but the read model could not apply it ([`Impossible`]): the checkpoint moved
    /// past it, the read model did not change, and the caller should dead-letter it.
    Impossible(Impossible),
}

impl<R: ReadModel> Projection<R> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn restore(read_model: R, checkpoint: Position) -> Self {
        Projection { read_model, checkpoint }
    }

    /// Applies a decoded event unless it was already seen.
    pub fn apply(&mut self, envelope: &Envelope<R::Event>) -> Applied {
        if envelope.meta.position <= self.checkpoint {
            return Applied::AlreadySeen;
        }
        if let Some(subject) = envelope.event.forgets() {
            self.read_model.forget(subject);
        }
        if !handles(R::HANDLES, envelope.event.event_type()) {
            self.checkpoint = envelope.meta.position;
            return Applied::Skipped;
        }
        let applied = self.read_model.apply(envelope);
        self.checkpoint = envelope.meta.position;
        match applied {
            Ok(()) => Applied::Applied,
            Err(impossible) => Applied::Impossible(impossible),
        }
    }

    /// Decodes and applies a stored event; an undecodable one only moves the checkpoint.
    pub fn apply_recorded(&mut self, recorded: &RecordedEvent) -> Applied {
        if recorded.meta.position <= self.checkpoint {
            return Applied::AlreadySeen;
        }
        self.apply_decoded(recorded, &R::Event::decode_recorded(recorded))
    }

    /// Applies an event decoded once for several projections.
    pub fn apply_decoded(
        &mut self,
        recorded: &RecordedEvent,
        decoded: &Result<Envelope<R::Event>, DecodeError>,
    ) -> Applied {
        if recorded.meta.position <= self.checkpoint {
            return Applied::AlreadySeen;
        }
        match decoded {
            Ok(envelope) => self.apply(envelope),
            Err(error) => {
                self.read_model.apply_undecodable(recorded, error);
                self.checkpoint = recorded.meta.position;
                Applied::Undecodable(error.clone())
            }
        }
    }
}

/// Whether `event_type` is in `types`. The types are constants, so the one looked for is
/// usually the same pointer as its entry: found without comparing text, which a catch-up would
/// do for every event and every read model.
fn handles(types: &[&str], event_type: &str) -> bool {
    types.iter().any(|t| std::ptr::eq(*t, event_type)) || types.contains(&event_type)
}

/// How far a read model is behind the log.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lag {
    /// Events in the log the read model has not seen.
    pub events: u64,
    /// Age of the oldest event it has not seen; 0 when it is up to date, or when that event
    /// cannot be read (a damaged record).
    pub ms: u64,
}

impl Lag {
    /// `oldest_unseen` is the recorded time of the event at `checkpoint + 1`, if there is one.
    pub fn new(checkpoint: Position, head: Position, oldest_unseen: Option<Timestamp>, now: Timestamp) -> Lag {
        let events = checkpoint.distance_to(head);
        let ms = match (events, oldest_unseen) {
            (0, _) | (_, None) => 0,
            (_, Some(at)) => now.millis_since(at),
        };
        Lag { events, ms }
    }

    pub fn is_up_to_date(&self) -> bool {
        self.events == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(docs: &mut Documents<u32>) -> Vec<(String, Option<u32>)> {
        docs.take_changes().into_iter().map(|c| (c.key, c.doc)).collect()
    }

    /// What storage holds must end as what the documents hold, whatever happened between two
    /// flushes.
    #[test]
    fn every_sequence_between_flushes_writes_what_storage_needs() {
        // Stored, removed, added again and removed again: still deleted.
        let mut docs: Documents<u32> = [("k".to_string(), 1)].into_iter().collect();
        docs.remove("k");
        docs.put("k", 2);
        docs.remove("k");
        assert_eq!(changes(&mut docs), vec![("k".to_string(), None)]);
        // Added and removed before any flush: nothing to write.
        docs.put("n", 3);
        docs.remove("n");
        assert_eq!(changes(&mut docs), vec![]);
        // Flushed, then removed and added again: written with its new value.
        docs.put("m", 4);
        assert_eq!(changes(&mut docs), vec![("m".to_string(), Some(4))]);
        docs.remove("m");
        docs.upsert("m", || 5, |v| *v += 1);
        assert_eq!(changes(&mut docs), vec![("m".to_string(), Some(6))]);
        // Changed by many updates: written once; a refused change is not written.
        for _ in 0..3 {
            docs.update("m", |v| *v += 1);
        }
        assert_eq!(docs.try_update("m", |_| Err::<(), _>("no")), Some(Err("no")));
        assert_eq!(changes(&mut docs), vec![("m".to_string(), Some(9))]);
        assert_eq!(docs.try_update("m", |_| Err::<(), _>("no")), Some(Err("no")));
        assert_eq!(changes(&mut docs), vec![]);
    }
}
