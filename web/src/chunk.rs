//! The bytes of one `log` record: a run of consecutive events, always whole commits.
//!
//! IndexedDB's cost is per record first and per byte second, so events travel in chunks: a
//! single command writes one small chunk, a bulk append or an import writes chunks of up to
//! [`CHUNK_EVENTS`] events, and compaction later merges small chunks. Within a chunk, positions
//! are consecutive (`first + index`) and every repeated string (stream, type, command, correlation
//! and causation ids) is stored once; decoding shares them as `Arc<str>`.
//!
//! The encoding is postcard (varints, length-prefixed strings) behind a format byte. Decoding
//! checks every index and never panics: corrupt bytes are a typed `StoreError::Corrupt`.

use std::collections::HashMap;
use std::sync::Arc;

use eventline_core::ids::{
    CausationId, CommandId, CorrelationId, EventId, Position, StreamId, StreamVersion, Timestamp,
};
use eventline_core::store::StoreError;
use eventline_core::{EventMetadata, RecordedEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Events per chunk written by bulk appends and compaction (a commit is never split, so a chunk
/// holding one large commit can be bigger).
pub const CHUNK_EVENTS: usize = 1024;

const FORMAT: u8 = 1;

#[derive(Serialize, Deserialize)]
struct ChunkWire<'a> {
    format: u8,
    first: u64,
    base_time: u64,
    #[serde(borrow)]
    strings: Vec<&'a str>,
    #[serde(borrow)]
    events: Vec<EventWire<'a>>,
}

#[derive(Serialize, Deserialize)]
struct EventWire<'a> {
    stream: u32,
    version: u64,
    id: [u8; 16],
    event_type: u32,
    schema: u16,
    time_offset: u64,
    command: u32,
    correlation: u32,
    causation: u32,
    #[serde(borrow)]
    payload: &'a str,
}

fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::Corrupt { message: message.into() }
}

#[derive(Default)]
struct Interner<'a> {
    index: HashMap<&'a str, u32>,
    strings: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: &'a str) -> u32 {
        if let Some(&id) = self.index.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s);
        self.index.insert(s, id);
        id
    }
}

/// Encodes consecutive events (positions `first`, `first + 1`, ...) with the payloads given
/// (sealed ones, say), without copying the events.
pub fn encode_with(events: &[&RecordedEvent], payloads: &[&str]) -> Result<Vec<u8>, StoreError> {
    let first = events.first().ok_or_else(|| corrupt("an empty chunk"))?;
    let base_time = first.meta.recorded_at.0;
    let mut strings = Interner::default();
    let mut wire_events = Vec::with_capacity(events.len());
    let mut bytes = 64;
    // Runs of events share their stream, type and command: look them up once per run.
    let mut last: Option<&RecordedEvent> = None;
    let (mut stream, mut event_type, mut command, mut correlation, mut causation) = (0, 0, 0, 0, 0);
    for (i, (event, payload)) in events.iter().zip(payloads).enumerate() {
        let meta = &event.meta;
        if meta.position.0 != first.meta.position.0 + i as u64 {
            return Err(corrupt("chunk positions must be consecutive"));
        }
        let same =
            |f: fn(&RecordedEvent) -> &str| last.is_some_and(|l| std::ptr::eq(f(l), f(event)) || f(l) == f(event));
        if !same(|e| e.meta.stream.as_str()) {
            stream = strings.id(meta.stream.as_str());
        }
        if !same(|e| &e.event_type) {
            event_type = strings.id(&event.event_type);
        }
        if !same(|e| e.meta.command_id.as_str()) {
            command = strings.id(meta.command_id.as_str());
            correlation = strings.id(meta.correlation_id.as_str());
            causation = strings.id(meta.causation_id.as_str());
        }
        last = Some(event);
        bytes += payload.len() + 40;
        wire_events.push(EventWire {
            stream,
            version: meta.version.0,
            id: *meta.event_id.0.as_bytes(),
            event_type,
            schema: event.schema_version,
            time_offset: meta.recorded_at.0.saturating_sub(base_time),
            command,
            correlation,
            causation,
            payload,
        });
    }
    let wire = ChunkWire {
        format: FORMAT,
        first: first.meta.position.0,
        base_time,
        strings: strings.strings,
        events: wire_events,
    };
    postcard::to_extend(&wire, Vec::with_capacity(bytes)).map_err(|e| corrupt(format!("cannot encode a chunk: {e}")))
}

/// Decodes a chunk, keeping only the events `keep` accepts (decoding the rest costs little: their
/// strings are borrowed, not copied).
pub fn decode_where(
    bytes: &[u8],
    keep: &mut dyn FnMut(Position, &str) -> bool,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let wire: ChunkWire<'_> = postcard::from_bytes(bytes).map_err(|e| corrupt(format!("unreadable chunk: {e}")))?;
    if wire.format != FORMAT {
        return Err(corrupt(format!("unknown chunk format {}", wire.format)));
    }
    let shared: Vec<Arc<str>> = wire.strings.iter().map(|s| Arc::<str>::from(*s)).collect();
    let string = |i: u32| shared.get(i as usize).cloned().ok_or_else(|| corrupt(format!("string {i} is out of range")));
    let mut events = Vec::new();
    for (i, e) in wire.events.iter().enumerate() {
        let position = Position(wire.first + i as u64);
        let stream = wire.strings.get(e.stream as usize).ok_or_else(|| corrupt("stream out of range"))?;
        if !keep(position, stream) {
            continue;
        }
        events.push(RecordedEvent {
            meta: EventMetadata {
                event_id: EventId(Uuid::from_bytes(e.id)),
                stream: StreamId::new(string(e.stream)?),
                version: StreamVersion(e.version),
                position,
                recorded_at: Timestamp(wire.base_time.saturating_add(e.time_offset)),
                command_id: CommandId::new(string(e.command)?),
                correlation_id: CorrelationId::new(string(e.correlation)?),
                causation_id: CausationId::new(string(e.causation)?),
            },
            event_type: string(e.event_type)?,
            schema_version: e.schema,
            payload: e.payload.into(),
        });
    }
    Ok(events)
}

/// Decodes every event of a chunk.
pub fn decode(bytes: &[u8]) -> Result<Vec<RecordedEvent>, StoreError> {
    decode_where(bytes, &mut |_, _| true)
}

/// Splits consecutive commits into chunks of about [`CHUNK_EVENTS`] events, never splitting a
/// commit.
pub fn pack<'a>(commits: impl IntoIterator<Item = &'a [RecordedEvent]>) -> Vec<Vec<&'a RecordedEvent>> {
    let mut chunks: Vec<Vec<&RecordedEvent>> = Vec::new();
    let mut current: Vec<&RecordedEvent> = Vec::new();
    for commit in commits {
        if !current.is_empty() && current.len() + commit.len() > CHUNK_EVENTS {
            chunks.push(std::mem::take(&mut current));
        }
        current.extend(commit);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(events: &[RecordedEvent]) -> Result<Vec<u8>, StoreError> {
        let refs: Vec<&RecordedEvent> = events.iter().collect();
        let payloads: Vec<&str> = events.iter().map(|e| &*e.payload).collect();
        encode_with(&refs, &payloads)
    }

    fn event(position: u64, stream: &str, command: &str, payload: &str) -> RecordedEvent {
        RecordedEvent {
            meta: EventMetadata {
                event_id: EventId::v7(Timestamp(1_000 + position), [position as u8; 10]),
                stream: StreamId::from(stream),
                version: StreamVersion(position),
                position: Position(position),
                recorded_at: Timestamp(1_000 + position),
                command_id: CommandId::from(command),
                correlation_id: CorrelationId::from(command),
                causation_id: CausationId::from(command),
            },
            event_type: "MoneyDeposited".into(),
            schema_version: 1,
            payload: payload.into(),
        }
    }

    #[test]
    fn round_trips_and_filters() {
        let events =
            vec![event(7, "account-a", "c1", r#"{"amount":1}"#), event(8, "account-b", "c1", r#"{"é":"日本"}"#)];
        let bytes = encode(&events).unwrap();
        assert_eq!(decode(&bytes).unwrap(), events);
        let only_b = decode_where(&bytes, &mut |_, stream| stream == "account-b").unwrap();
        assert_eq!(only_b, vec![events[1].clone()]);
    }

    #[test]
    fn refuses_gaps_and_corruption_without_panicking() {
        assert!(encode(&[event(1, "s", "c", "{}"), event(3, "s", "c", "{}")]).is_err());
        let bytes = encode(&[event(1, "s", "c", "{}")]).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "a chunk cut at {cut} decoded");
        }
        let mut flipped = bytes.clone();
        flipped[0] = 9;
        assert!(decode(&flipped).is_err());
        for garbage in [&b""[..], b"\x01", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"] {
            assert!(decode(garbage).is_err());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2_000, failure_persistence: None, ..Default::default() })]

        /// Stored bytes are untrusted: a chunk from anywhere decodes or is refused as corrupt.
        #[test]
        fn arbitrary_bytes_decode_or_are_refused(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Err(e) = decode(&bytes) {
                proptest::prop_assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
            }
        }

        /// One byte of a real chunk changed: never a panic, and what decodes is still a run of
        /// consecutive positions.
        #[test]
        fn a_damaged_chunk_never_panics(at in 0usize..4096, byte in proptest::prelude::any::<u8>()) {
            let events: Vec<RecordedEvent> =
                (1..=5).map(|p| event(p, "account-a", "c", r#"{"amount":1}"#)).collect();
            let mut bytes = encode(&events).unwrap();
            let at = at % bytes.len();
            bytes[at] = byte;
            if let Ok(decoded) = decode(&bytes) {
                for pair in decoded.windows(2) {
                    proptest::prop_assert_eq!(pair[1].meta.position.0, pair[0].meta.position.0 + 1);
                }
            }
        }
    }

    #[test]
    fn packing_never_splits_a_commit() {
        let commit: Vec<RecordedEvent> = (1..=600).map(|p| event(p, "s", "big", "{}")).collect();
        let small: Vec<RecordedEvent> = (601..=1200).map(|p| event(p, "s", "other", "{}")).collect();
        let chunks = pack([&commit[..], &small[..300], &small[300..]]);
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![900, 300]);
    }
}
