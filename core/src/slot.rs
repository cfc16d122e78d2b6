//! An application's read models behind one interface, so a runner can hold all of them: apply
//! an event decoded once, hand over changed documents as JSON, restore from stored documents,
//! answer queries. An application registers its read models as a list of slots
//! ([`crate::app::Application::read_models`]); the runner knows nothing else of them.

use serde_json::value::RawValue;

use crate::envelope::{Envelope, RecordedEvent};
use crate::event::DecodeError;
use crate::ids::Position;
use crate::projection::{Applied, Documents, Impossible, Projection, ReadModel, bucket_of};
use crate::query::{InvalidQuery, Query};
use crate::store::StoreError;

/// An event decoded once for every read model, or why it could not be.
pub type Decoded<E> = Result<Envelope<E>, DecodeError>;

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("documents serialize to JSON")
}

fn bucket_key(bucket: u32) -> String {
    format!("bucket-{bucket:03}")
}

/// The buckets of the documents at `keys`, sorted, each once.
fn touched_buckets(keys: Vec<&str>, buckets: u32) -> Vec<u32> {
    let mut touched: Vec<u32> = keys.into_iter().map(|key| bucket_of(key, buckets)).collect();
    touched.sort_unstable();
    touched.dedup();
    touched
}

/// The records of buckets `touched` from their members (bucket, key, document's JSON), as
/// `[[key, doc], ...]`, or `None` for a bucket left empty. Not generic: the read models share it.
fn write_buckets(touched: &[u32], members: &[(u32, &String, String)]) -> Vec<(String, Option<String>)> {
    touched
        .iter()
        .map(|&bucket| {
            let mut json = String::from("[");
            for (_, key, doc) in members.iter().filter(|(b, _, _)| *b == bucket) {
                if json.len() > 1 {
                    json.push(',');
                }
                json.push('[');
                json.push_str(&to_json(key));
                json.push(',');
                json.push_str(doc);
                json.push(']');
            }
            json.push(']');
            (bucket_key(bucket), (json.len() > 2).then_some(json))
        })
        .collect()
}

/// Hands each document of read model `name`'s storage records to `read`, with its key: a record
/// is one document, or (with `buckets`) a bucket of `[key, doc]` pairs. Not generic, so only the
/// documents' own JSON code is compiled per read model.
fn each_document(
    name: &str,
    buckets: u32,
    records: Vec<(String, String)>,
    read: &mut dyn FnMut(String, &str) -> Result<(), serde_json::Error>,
) -> Result<(), StoreError> {
    let corrupt =
        |key: &str, e: serde_json::Error| StoreError::Corrupt { message: format!("{name} record {key}: {e}") };
    for (key, json) in records {
        if buckets == 0 {
            read(key.clone(), &json).map_err(|e| corrupt(&key, e))?;
        } else {
            let bucket: Vec<(String, &RawValue)> = serde_json::from_str(&json).map_err(|e| corrupt(&key, e))?;
            for (doc_key, doc) in bucket {
                read(doc_key, doc.get()).map_err(|e| corrupt(&key, e))?;
            }
        }
    }
    Ok(())
}

/// A read model as a runner holds it. Implemented for every [`Projection`] of a [`ReadModel`]
/// that answers [`Query`]s.
pub trait Slot<E> {
    fn name(&self) -> &'static str;
    /// The event types it reads (`ReadModel::HANDLES`): the runner passes it no others.
    fn handles(&self) -> &'static [&'static str];
    fn checkpoint(&self) -> Position;
    /// Applies one event unless already seen: `AlreadySeen` if the read model did not move, and
    /// `Undecodable` or `Impossible` for an event to keep as a dead letter.
    fn apply(&mut self, recorded: &RecordedEvent, decoded: &Decoded<E>) -> Applied;
    /// Applies a slice of a batch decoded once for every read model, as `apply` does each event,
    /// in one call: an event whose type `kinds[i]` is one `handled` says it does not read (and
    /// that forgets no one: `kinds[i]` is then `None`) only moves the checkpoint, unlooked at.
    /// Whether the read model moved, and the events it could not apply (their index, and why).
    fn apply_slice(
        &mut self,
        events: &[RecordedEvent],
        decoded: &[Decoded<E>],
        kinds: &[Option<usize>],
        handled: &[bool],
    ) -> (bool, Vec<(usize, Impossible)>);
    /// Storage records changed since the last call: key and JSON, or `None` when emptied. A
    /// record is one document, or a bucket of documents (see `ReadModel::DOCUMENT_BUCKETS`).
    fn take_changes(&mut self) -> Vec<(String, Option<String>)>;
    /// Rebuilds the read model from its storage records.
    fn restore(&mut self, checkpoint: Position, records: Vec<(String, String)>) -> Result<(), StoreError>;
    fn reset(&mut self);
    /// Answers a JSON question (text) with JSON text.
    fn query(&self, args: &str) -> Result<String, InvalidQuery>;
    /// A new, empty slot of the same read model.
    fn empty(&self) -> Box<dyn Slot<E>>;
    /// Documents changed since the last call (one by one, whatever the storage records are),
    /// as JSON text.
    fn take_document_changes(&mut self) -> Vec<(String, Option<String>)>;
    /// One document, as JSON text.
    fn document(&self, key: &str) -> Option<String>;
    fn boxed_clone(&self) -> Box<dyn Slot<E>>;
    /// Drops or redacts what the read model holds about a forgotten subject, now.
    fn forget(&mut self, subject: &str);
}

impl<R> Slot<R::Event> for Projection<R>
where
    R: ReadModel + Query + 'static,
{
    fn name(&self) -> &'static str {
        R::NAME
    }

    fn handles(&self) -> &'static [&'static str] {
        R::HANDLES
    }

    fn checkpoint(&self) -> Position {
        self.checkpoint
    }

    fn apply(&mut self, recorded: &RecordedEvent, decoded: &Decoded<R::Event>) -> Applied {
        self.apply_decoded(recorded, decoded)
    }

    fn apply_slice(
        &mut self,
        events: &[RecordedEvent],
        decoded: &[Decoded<R::Event>],
        kinds: &[Option<usize>],
        handled: &[bool],
    ) -> (bool, Vec<(usize, Impossible)>) {
        let mut moved = false;
        let mut impossible = Vec::new();
        for (i, (recorded, decoded)) in events.iter().zip(decoded).enumerate() {
            let position = recorded.meta.position;
            if position <= self.checkpoint {
                continue;
            }
            moved = true;
            if kinds.get(i).copied().flatten().is_some_and(|k| !handled.get(k).copied().unwrap_or(true)) {
                self.checkpoint = position;
                continue;
            }
            if let Applied::Impossible(why) = self.apply_decoded(recorded, decoded) {
                impossible.push((i, why));
            }
        }
        (moved, impossible)
    }

    fn take_changes(&mut self) -> Vec<(String, Option<String>)> {
        let changes = self.read_model.take_changes();
        if R::DOCUMENT_BUCKETS == 0 {
            return changes.into_iter().map(|c| (c.key, c.doc.as_ref().map(to_json))).collect();
        }
        // A bucket is written whole: every document in a touched bucket.
        let touched = touched_buckets(changes.iter().map(|c| c.key.as_str()).collect(), R::DOCUMENT_BUCKETS);
        // Documents stay in key order within each bucket; no sort, which would be compiled once
        // per read model.
        let members: Vec<(u32, &String, String)> = self
            .read_model
            .documents()
            .iter()
            .map(|(key, doc)| (bucket_of(key, R::DOCUMENT_BUCKETS), key, doc))
            .filter(|(bucket, _, _)| touched.binary_search(bucket).is_ok())
            .map(|(bucket, key, doc)| (bucket, key, to_json(doc)))
            .collect();
        write_buckets(&touched, &members)
    }

    fn restore(&mut self, checkpoint: Position, records: Vec<(String, String)>) -> Result<(), StoreError> {
        let mut docs: Vec<(String, R::Doc)> = Vec::new();
        each_document(R::NAME, R::DOCUMENT_BUCKETS, records, &mut |key, json| {
            docs.push((key, crate::json::from_str(json)?));
            Ok(())
        })?;
        *self = Projection::restore(R::from_documents(docs.into_iter().collect::<Documents<_>>()), checkpoint);
        Ok(())
    }

    fn reset(&mut self) {
        *self = Projection::new();
    }

    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        self.read_model.query(args)
    }

    fn empty(&self) -> Box<dyn Slot<R::Event>> {
        Box::new(Projection::<R>::new())
    }

    fn take_document_changes(&mut self) -> Vec<(String, Option<String>)> {
        let changes = self.read_model.take_changes();
        changes.into_iter().map(|c| (c.key, c.doc.as_ref().map(to_json))).collect()
    }

    fn document(&self, key: &str) -> Option<String> {
        self.read_model.documents().get(key).map(to_json)
    }

    fn boxed_clone(&self) -> Box<dyn Slot<R::Event>> {
        Box::new(self.clone())
    }

    fn forget(&mut self, subject: &str) {
        self.read_model.forget(subject);
    }
}
