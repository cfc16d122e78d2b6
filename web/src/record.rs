//! One record of the log's object store (`chunks`): a chunk's bytes (`chunk.rs`) and what the
//! store's two indexes read from it, so that IndexedDB keeps them in the same `put` as the events
//! and a bulk append writes one request per chunk, whatever the number of streams and commands:
//!
//! - `s`: `[stream, its last version in the chunk]` for each stream the chunk holds, read by the
//!   unique multi-entry index `by_stream`: a stream's version is its greatest entry, and the
//!   chunks holding its versions after `v` are the entries from `[stream, v + 1]` on;
//! - `c`: the command id of each commit in the chunk, read by the unique multi-entry index
//!   `by_command`: a command id used twice fails the `put` itself, with no read before it;
//! - `d`: beside `c`, each command's digest as two 32-bit halves (`NaN` when it has none);
//! - `b`: the chunk's bytes.

use std::collections::HashMap;

use eventline_core::RecordedEvent;
use eventline_core::ids::CommandId;
use eventline_core::store::{CommandDigest, StoreError};
use js_sys::{Array, Float64Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// The key path of `by_stream`.
pub const STREAMS: &str = "s";
/// The key path of `by_command`.
pub const COMMANDS: &str = "c";
const DIGESTS: &str = "d";
const BYTES: &str = "b";

fn corrupt(message: &str) -> StoreError {
    StoreError::Corrupt { message: message.into() }
}

fn set(object: &Object, field: &str, value: &JsValue) {
    // Setting a property of a plain object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(field), value);
}

fn field(value: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(value, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined())
}

/// The record of a chunk of whole commits, `events` (in log order) encoded as `bytes`, with the
/// digest of each command id in `digests` (none for one not there).
pub fn value(bytes: &[u8], events: &[&RecordedEvent], digests: &HashMap<String, Option<CommandDigest>>) -> JsValue {
    // Each stream's last version here: events are in log order, so the last one seen.
    let mut streams: Vec<(&str, u64)> = Vec::new();
    let mut commands: Vec<&CommandId> = Vec::new();
    for event in events {
        let meta = &event.meta;
        match streams.iter_mut().rev().find(|(s, _)| *s == meta.stream.as_str()) {
            Some((_, version)) => *version = meta.version.0,
            None => streams.push((meta.stream.as_str(), meta.version.0)),
        }
        // A commit's events are consecutive, so a new command id starts a new commit.
        if commands.last().is_none_or(|c| *c != &meta.command_id) {
            commands.push(&meta.command_id);
        }
    }
    let s = Array::new_with_length(streams.len() as u32);
    for (i, (stream, version)) in streams.iter().enumerate() {
        s.set(i as u32, Array::of2(&JsValue::from_str(stream), &JsValue::from_f64(*version as f64)).into());
    }
    let c = Array::new_with_length(commands.len() as u32);
    let mut d = Vec::with_capacity(commands.len() * 2);
    for (i, command) in commands.iter().enumerate() {
        c.set(i as u32, JsValue::from_str(command.as_str()));
        match digests.get(command.as_str()).copied().flatten() {
            Some(CommandDigest(digest)) => d.extend([(digest >> 32) as f64, (digest & 0xffff_ffff) as f64]),
            None => d.extend([f64::NAN, f64::NAN]),
        }
    }
    let record = Object::new();
    set(&record, BYTES, &Uint8Array::from(bytes).into());
    set(&record, STREAMS, &s.into());
    set(&record, COMMANDS, &c.into());
    set(&record, DIGESTS, &Float64Array::from(&d[..]).into());
    record.into()
}

/// The chunk's bytes. A bare `Uint8Array` is read as a chunk too: it is what schema 4 stored, and
/// what a damaged record may hold (its bytes then fail to decode, as corrupt).
pub fn bytes(value: &JsValue) -> Result<Vec<u8>, StoreError> {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(bytes.to_vec());
    }
    field(value, BYTES)
        .and_then(|b| b.dyn_into::<Uint8Array>().ok())
        .map(|b| b.to_vec())
        .ok_or_else(|| corrupt("a log record holds no chunk"))
}

/// The digest the record keeps for `command`'s commit.
pub fn digest(value: &JsValue, command: &CommandId) -> Result<Option<CommandDigest>, StoreError> {
    let commands =
        field(value, COMMANDS).map(|c| Array::from(&c)).ok_or_else(|| corrupt("a log record lists no commands"))?;
    let index = commands
        .iter()
        .position(|c| c.as_string().as_deref() == Some(command.as_str()))
        .ok_or_else(|| corrupt("a log record does not list its command"))?;
    let digests = field(value, DIGESTS)
        .and_then(|d| d.dyn_into::<Float64Array>().ok())
        .ok_or_else(|| corrupt("a log record has no digests"))?;
    Ok(from_halves((digests.get_index(index as u32 * 2), digests.get_index(index as u32 * 2 + 1))))
}

/// A digest from its two 32-bit halves, or none (`NaN`).
fn from_halves((high, low): (f64, f64)) -> Option<CommandDigest> {
    if high.is_nan() || low.is_nan() {
        return None;
    }
    Some(CommandDigest(((high as u64) << 32) | low as u64))
}

/// Every command's digest in a record, for rewriting it (compaction).
pub fn digests(value: &JsValue) -> Vec<(String, Option<CommandDigest>)> {
    let Some(commands) = field(value, COMMANDS).map(|c| Array::from(&c)) else { return Vec::new() };
    let digests = field(value, DIGESTS).and_then(|d| d.dyn_into::<Float64Array>().ok()).map(|d| d.to_vec());
    let digests = digests.unwrap_or_default();
    commands
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let halves = (*digests.get(i * 2)?, *digests.get(i * 2 + 1)?);
            Some((c.as_string()?, from_halves(halves)))
        })
        .collect()
}

/// The version in a `by_stream` key, `[stream, version]`.
pub fn version_in(key: &JsValue) -> Result<u64, StoreError> {
    Array::from(key)
        .get(1)
        .as_f64()
        .map(|v| v as u64)
        .ok_or_else(|| corrupt("a by_stream key is not [stream, version]"))
}
