//! Data subjects' keys, and personal values sealed with them at rest.
//!
//! Every subject with personal data has its own AES-256-GCM key in the `keys` store. A personal
//! value (`{"$personal": subject, "value": ...}`, see `eventline_core::personal`) is written as
//! `{"$personal": subject, "sealed": base64(nonce | ciphertext | tag)}`: a fresh random 96-bit
//! nonce per value, the subject as associated data (a sealed value cannot pass for someone
//! else's). Reading opens it again, or, if the key was shredded, gives the redaction marker.
//! Forgetting replaces the key with a tombstone in the same transaction as the `SubjectForgotten`
//! event, and bumps a generation counter that every tab's reads check, so no tab keeps reading
//! with a key it cached before.
//!
//! Invariants:
//! - no personal value reaches IndexedDB readable: the store seals events, snapshots, read-model
//!   documents and dead letters through here before writing them;
//! - a key only enters the cache once the transaction that wrote it committed, so nothing is
//!   ever sealed with a key that is not stored;
//! - a value whose key is gone reads as redacted, never as an error or as garbage.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use eventline_core::RecordedEvent;
use eventline_core::personal::{self, Found, Redaction, SUBJECT_FORGOTTEN};
use eventline_core::store::{StoreError, SubjectStatus};
use indexed_db_futures::KeyRange;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};

use crate::idb::store_error;
use crate::idb::{entries, get, put};

/// The `keys` record counting forgettings; not a subject id (those never start with `#`).
const GENERATION: &str = "#generation";
/// What a forgotten subject's key record becomes.
const TOMBSTONE: &str = "forgotten";
const NONCE: usize = 12;
/// Above this many keys to read, one ranged read beats a request per key.
const BULK_LOAD: usize = 16;
/// At most this many keys read per key wanted, for the ranged read to be worth it.
const RANGE_SPREAD: usize = 8;

/// A subject's keys: the first seals, every one opens. A subject has more than one only when two
/// devices each made one before either had seen the other's (sync merges them, `Vault::merge`).
type Keyring = Rc<Vec<Aes256Gcm>>;

/// A subject's key record as bytes: its keys, 32 bytes each, the sealing one first.
const KEY_BYTES: usize = 32;

#[derive(Clone)]
enum Key {
    Live(Keyring),
    Forgotten,
    /// A record that is not a key (damaged storage): that subject's values read as unavailable,
    /// nothing new can be sealed for them, and everyone else's stay readable.
    Damaged,
}

/// Keys a write will add or shred, applied to the cache once it committed.
#[derive(Default)]
pub(crate) struct KeyChanges {
    added: HashMap<String, Key>,
    forgotten: Vec<String>,
}

pub(crate) struct Vault {
    /// Off only to measure what sealing costs (the benchmark's baseline).
    enabled: bool,
    keys: RefCell<HashMap<String, Key>>,
    /// The forgetting generation the cache is from.
    generation: Cell<f64>,
    nonces: RefCell<Vec<u8>>,
}

impl Vault {
    pub(crate) fn new(enabled: bool) -> Vault {
        Vault { enabled, keys: RefCell::default(), generation: Cell::new(-1.0), nonces: RefCell::default() }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether writing `events` involves subjects' keys.
    pub(crate) fn involved<'a>(&self, mut events: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        self.enabled
            && events.any(|(event_type, payload)| event_type == SUBJECT_FORGOTTEN || personal::holds_personal(payload))
    }

    /// Drops cached keys if another tab (or this one) forgot someone since they were read.
    async fn check_generation(&self, keys: &ObjectStore<'_>) -> Result<(), StoreError> {
        let generation = get(keys, JsValue::from_str(GENERATION)).await?.and_then(|v| v.as_f64()).unwrap_or(0.0);
        if generation != self.generation.get() {
            self.keys.borrow_mut().clear();
            self.generation.set(generation);
        }
        Ok(())
    }

    /// Makes sure the cache holds every subject named in `texts` (reading their records).
    async fn load(&self, keys: &ObjectStore<'_>, subjects: Vec<String>) -> Result<(), StoreError> {
        self.check_generation(keys).await?;
        let missing: Vec<String> = {
            let cache = self.keys.borrow();
            let mut missing: Vec<String> = subjects.into_iter().filter(|s| !cache.contains_key(s)).collect();
            // IndexedDB's order of string keys (UTF-16 code units), so first..=last covers them all.
            missing.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            missing.dedup();
            missing
        };
        // Many at once (a replay, an import): one ranged read instead of a request each, unless
        // the range holds far more keys than are missing. Every key it passes is cached, as the
        // next pages will want them too.
        let range = match (missing.first(), missing.last()) {
            (Some(first), Some(last)) if missing.len() > BULK_LOAD => {
                let range = KeyRange::Bound(JsValue::from_str(first), false, JsValue::from_str(last), false);
                let held = keys.count().with_query::<JsValue, _>(range.clone()).primitive().map_err(store_error)?;
                let held = held.await.map_err(store_error)? as usize;
                (held <= missing.len() * RANGE_SPREAD).then_some(range)
            }
            _ => None,
        };
        let records: Vec<(String, Option<JsValue>)> = match range {
            Some(range) => entries(keys, range)
                .await?
                .into_iter()
                .filter_map(|(k, v)| k.as_string().filter(|k| k != GENERATION).map(|k| (k, Some(v))))
                .collect(),
            None => {
                let found =
                    futures::future::try_join_all(missing.iter().map(|s| get(keys, JsValue::from_str(s)))).await?;
                missing.into_iter().zip(found).collect()
            }
        };
        let mut cache = self.keys.borrow_mut();
        for (subject, record) in records {
            match record {
                Some(value) if value.as_string().as_deref() == Some(TOMBSTONE) => {
                    cache.insert(subject, Key::Forgotten);
                }
                Some(value) => {
                    let keyring = value.dyn_into::<Uint8Array>().ok().and_then(|bytes| keyring(&bytes.to_vec()));
                    cache.insert(subject, keyring.map_or(Key::Damaged, Key::Live));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Before a write of `events` (type, payload): loads the subjects' keys, refuses personal
    /// values about forgotten subjects, and stages new keys for new subjects and tombstones for
    /// forgotten ones in `keys`. Nothing reaches the cache until [`Vault::committed`].
    pub(crate) async fn prepare<'a>(
        &self,
        keys: &ObjectStore<'_>,
        events: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<KeyChanges, StoreError> {
        let named: Vec<String> = events.clone().flat_map(|(_, payload)| personal::subjects(payload)).collect();
        self.load(keys, named).await?;
        let (written, forgotten) = personal::check_commit(events, |s| matches!(self.key(s), Some(Key::Forgotten)))?;
        let mut changes = self.new_keys(keys, written)?;
        if !forgotten.is_empty() {
            for subject in &forgotten {
                put(keys, JsValue::from_str(subject), JsValue::from_str(TOMBSTONE))?;
            }
            put(keys, JsValue::from_str(GENERATION), JsValue::from_f64(self.generation.get().max(0.0) + 1.0))?;
        }
        changes.forgotten = forgotten;
        Ok(changes)
    }

    /// Before writing derived texts (snapshots, read-model documents, dead letters): loads their
    /// subjects' keys and stages keys for subjects new here. A value about a forgotten subject is
    /// not refused but written redacted ([`Vault::seal`]): a read model that had not caught up
    /// with the forgetting yet must still be able to save.
    pub(crate) async fn prepare_texts<'a>(
        &self,
        keys: &ObjectStore<'_>,
        texts: impl Iterator<Item = &'a str>,
    ) -> Result<KeyChanges, StoreError> {
        if !self.enabled {
            return Ok(KeyChanges::default());
        }
        let named: Vec<String> = texts.flat_map(personal::subjects).collect();
        if named.is_empty() {
            return Ok(KeyChanges::default());
        }
        self.load(keys, named.clone()).await?;
        let mut new: Vec<String> = named.into_iter().filter(|s| self.key(s).is_none()).collect();
        new.sort();
        new.dedup();
        self.new_keys(keys, new)
    }

    fn new_keys(&self, keys: &ObjectStore<'_>, subjects: Vec<String>) -> Result<KeyChanges, StoreError> {
        let mut changes = KeyChanges::default();
        for subject in subjects {
            if self.key(&subject).is_none() {
                let mut bytes = [0u8; 32];
                crate::env::random_bytes(&mut bytes);
                put(keys, JsValue::from_str(&subject), Uint8Array::from(&bytes[..]).into())?;
                let cipher = Aes256Gcm::new_from_slice(&bytes).expect("32 bytes make a key");
                changes.added.insert(subject, Key::Live(Rc::new(vec![cipher])));
            }
        }
        Ok(changes)
    }

    /// Every key was deleted (a reset): forget the cache, and move the generation on (written in
    /// the clearing transaction) so that every other tab forgets its cache too.
    pub(crate) fn after_clear(&self, keys: &ObjectStore<'_>) -> Result<(), StoreError> {
        let next = self.generation.get().max(0.0) + 1.0 + (js_sys::Math::random() * 1e6).floor();
        put(keys, JsValue::from_str(GENERATION), JsValue::from_f64(next))?;
        self.keys.borrow_mut().clear();
        self.generation.set(-1.0);
        Ok(())
    }

    /// The write that staged `changes` committed.
    pub(crate) fn committed(&self, changes: KeyChanges) {
        let mut cache = self.keys.borrow_mut();
        for (subject, key) in changes.added {
            cache.insert(subject, key);
        }
        if !changes.forgotten.is_empty() {
            for subject in changes.forgotten {
                cache.insert(subject, Key::Forgotten);
            }
            self.generation.set(self.generation.get().max(0.0) + 1.0);
        }
    }

    fn key(&self, subject: &str) -> Option<Key> {
        self.keys.borrow().get(subject).cloned()
    }

    fn nonce(&self) -> [u8; NONCE] {
        let mut pool = self.nonces.borrow_mut();
        if pool.len() < NONCE {
            // One call to the browser's RNG for many values.
            pool.resize(NONCE * 512, 0);
            crate::env::random_bytes(&mut pool);
        }
        let at = pool.len() - NONCE;
        let nonce: [u8; NONCE] = pool[at..].try_into().expect("twelve bytes");
        pool.truncate(at);
        nonce
    }

    /// `text` with every readable personal value sealed, using keys staged by `changes` or
    /// cached. `None` if there was nothing to seal.
    pub(crate) fn seal(&self, text: &str, changes: &KeyChanges) -> Result<Option<String>, StoreError> {
        if !self.enabled || !personal::holds_personal(text) {
            return Ok(None);
        }
        personal::rewrite(text, |subject, found| -> Result<Option<String>, StoreError> {
            let Found::Value(value) = found else { return Ok(None) };
            let staged = changes.added.get(subject).cloned();
            let keyring = match staged.or_else(|| self.key(subject)) {
                Some(Key::Live(keyring)) => keyring,
                Some(Key::Damaged) => return Err(corrupt(subject)),
                // Forgotten (appends of such values were refused before): what is left is the
                // marker, never the value.
                _ => return Ok(Some(personal::redacted_json(subject, Redaction::Forgotten))),
            };
            let nonce = self.nonce();
            let sealed = keyring[0]
                .encrypt(Nonce::from_slice(&nonce), Payload { msg: value.as_bytes(), aad: subject.as_bytes() })
                .map_err(|_| StoreError::Backend { message: "sealing a personal value failed".into() })?;
            let mut bytes = Vec::with_capacity(NONCE + sealed.len());
            bytes.extend_from_slice(&nonce);
            bytes.extend_from_slice(&sealed);
            Ok(Some(personal::sealed_json(subject, &BASE64.encode(bytes))))
        })
    }

    /// Loads the keys that `texts` need, within the caller's transaction.
    pub(crate) async fn load_for<'a>(
        &self,
        keys: &ObjectStore<'_>,
        texts: impl Iterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        let subjects: Vec<String> = texts.flat_map(personal::named_subjects).collect();
        if subjects.is_empty() { Ok(()) } else { self.load(keys, subjects).await }
    }

    /// `text` with every sealed value opened, or redacted if its key is gone. Keys must have
    /// been loaded ([`Vault::load_for`]).
    pub(crate) fn open(&self, text: &str) -> Option<String> {
        if !personal::holds_personal(text) {
            return None;
        }
        personal::rewrite::<()>(text, |subject, found| {
            let Found::Sealed(sealed) = found else { return Ok(None) };
            let opened = self.open_value(subject, sealed).map(|value| {
                let subject = serde_json::to_string(subject).expect("a string serializes");
                format!(r#"{{"$personal":{subject},"value":{value}}}"#)
            });
            Ok(Some(opened.unwrap_or_else(|| {
                // No key here: forgotten (a tombstone) or never held (sealed elsewhere), or a
                // value that does not open with it. Either way, unreadable.
                let reason = if matches!(self.key(subject), Some(Key::Forgotten)) {
                    Redaction::Forgotten
                } else {
                    Redaction::Unavailable
                };
                personal::redacted_json(subject, reason)
            })))
        })
        .unwrap_or(None)
    }

    /// One sealed value of `subject`, opened with the keys cached for it (loaded before), or
    /// `None`: no key here, or none of them sealed it.
    fn open_value(&self, subject: &str, sealed: &str) -> Option<String> {
        let Some(Key::Live(keyring)) = self.key(subject) else { return None };
        let bytes = BASE64.decode(sealed).ok().filter(|bytes| bytes.len() > NONCE)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE);
        // GCM's tag tells the key that sealed it: the others fail at once.
        let plain = keyring.iter().find_map(|cipher| {
            cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: subject.as_bytes() }).ok()
        })?;
        String::from_utf8(plain).ok()
    }

    /// The subjects of sealed values in `texts` that no key here opens, except those forgotten
    /// here: whose keys another device holds. Keys must have been loaded ([`Vault::load_for`]).
    pub(crate) fn unopened<'a>(&self, texts: impl Iterator<Item = &'a str>) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for text in texts.filter(|t| personal::holds_personal(t)) {
            let _ = personal::rewrite::<()>(text, |subject, form| {
                if let Found::Sealed(sealed) = form
                    && !found.iter().any(|s| s == subject)
                    && !matches!(self.key(subject), Some(Key::Forgotten))
                    && self.open_value(subject, sealed).is_none()
                {
                    found.push(subject.to_string());
                }
                Ok(None)
            });
        }
        found
    }

    /// Opens the payloads of `events` in place.
    pub(crate) async fn open_events(
        &self,
        keys: Option<&ObjectStore<'_>>,
        events: &mut [RecordedEvent],
    ) -> Result<(), StoreError> {
        let Some(keys) = keys.filter(|_| self.enabled) else { return Ok(()) };
        self.load_for(keys, events.iter().map(|e| &*e.payload)).await?;
        for event in events.iter_mut() {
            if let Some(opened) = self.open(&event.payload) {
                event.payload = opened.into();
            }
        }
        Ok(())
    }

    /// Whether `subject` has a key here, had one, or never had.
    pub(crate) async fn status(&self, keys: &ObjectStore<'_>, subject: &str) -> Result<SubjectStatus, StoreError> {
        self.load(keys, vec![subject.to_string()]).await?;
        Ok(match self.key(subject) {
            None => SubjectStatus::Unknown,
            // A damaged key is still someone to forget.
            Some(Key::Live(_) | Key::Damaged) => SubjectStatus::Known,
            Some(Key::Forgotten) => SubjectStatus::Forgotten,
        })
    }
}

/// The keys of a key record, or `None` if it is no whole number of keys.
fn keyring(bytes: &[u8]) -> Option<Keyring> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(KEY_BYTES) {
        return None;
    }
    let keys = bytes.chunks(KEY_BYTES).map(|key| Aes256Gcm::new_from_slice(key).expect("32 bytes make a key"));
    Some(Rc::new(keys.collect()))
}

/// What a device holds of a subject's keys, to share or to merge with another's.
#[derive(Clone, Debug, PartialEq)]
pub enum HeldKey {
    /// The subject's keys, 32 bytes each, the sealing one first.
    Keys(Vec<u8>),
    /// Forgotten here: nothing to share, and nothing is taken in again.
    Forgotten,
}

/// `held` with every key of `other` it lacks added after its own, or `None` if it has them all.
pub fn merged(held: &[u8], other: &[u8]) -> Option<Vec<u8>> {
    let mut all = held.to_vec();
    for key in other.chunks_exact(KEY_BYTES) {
        if !all.chunks_exact(KEY_BYTES).any(|k| k == key) {
            all.extend_from_slice(key);
        }
    }
    (all.len() > held.len()).then_some(all)
}

impl Vault {
    /// The key records of `subjects` (those this device holds or forgot), read in `keys`'s
    /// transaction.
    pub(crate) async fn held(
        &self,
        keys: &ObjectStore<'_>,
        subjects: &[String],
    ) -> Result<Vec<(String, HeldKey)>, StoreError> {
        let mut held = Vec::new();
        for subject in subjects {
            let Some(record) = get(keys, JsValue::from_str(subject)).await? else { continue };
            if record.as_string().as_deref() == Some(TOMBSTONE) {
                held.push((subject.clone(), HeldKey::Forgotten));
            } else if let Some(bytes) = record.dyn_into::<Uint8Array>().ok().map(|b| b.to_vec())
                && keyring(&bytes).is_some()
            {
                held.push((subject.clone(), HeldKey::Keys(bytes)));
            }
        }
        Ok(held)
    }

    /// Adds keys from another device to `keys` (whole records, 32 bytes a key) within the
    /// caller's transaction: a subject forgotten here stays forgotten, a damaged record is left
    /// as it is, and the keys this device seals with stay first. Whether anything changed; if
    /// so, the generation moves on in the same transaction, so that every tab reads the keys
    /// again ([`Vault::after_merge`] once it committed).
    pub(crate) async fn merge(&self, keys: &ObjectStore<'_>, from: &[(String, Vec<u8>)]) -> Result<bool, StoreError> {
        let mut changed = false;
        for (subject, other) in from {
            if keyring(other).is_none() {
                continue;
            }
            let record = get(keys, JsValue::from_str(subject)).await?;
            let write = match record {
                None => Some(other.clone()),
                Some(record) => match record.dyn_into::<Uint8Array>().ok().map(|b| b.to_vec()) {
                    Some(held) if keyring(&held).is_some() => merged(&held, other),
                    // A tombstone, or damaged: neither is mended from elsewhere.
                    _ => None,
                },
            };
            if let Some(bytes) = write {
                put(keys, JsValue::from_str(subject), Uint8Array::from(&bytes[..]).into())?;
                changed = true;
            }
        }
        if changed {
            let generation = get(keys, JsValue::from_str(GENERATION)).await?.and_then(|v| v.as_f64()).unwrap_or(0.0);
            put(keys, JsValue::from_str(GENERATION), JsValue::from_f64(generation + 1.0))?;
        }
        Ok(changed)
    }

    /// A merge that changed keys committed: what this tab cached is read again.
    pub(crate) fn after_merge(&self) {
        self.keys.borrow_mut().clear();
        self.generation.set(-1.0);
    }
}

fn corrupt(subject: &str) -> StoreError {
    StoreError::Corrupt {
        message: format!("the key record of subject {subject} is damaged: nothing new about them can be sealed"),
    }
}
