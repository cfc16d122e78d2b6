//! Events as the log holds them, and the metadata every event carries.
//!
//! A [`RecordedEvent`] is the stored form: metadata plus an event type name, a schema version and
//! a JSON payload. It is what stores, exports and the JS API move around, and it can hold events
//! this code does not know (they go to a dead letter, never get dropped). An [`Envelope`] is the
//! decoded form a domain works with.
//!
//! The JSON shape of a recorded event (`to_json_line`/`from_json_line`) is the interchange format
//! of exports and imports and of a future sync adapter, so it is written down here once.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ids::{CausationId, CommandId, CorrelationId, EventId, Position, StreamId, StreamVersion, Timestamp};

/// What the log knows about an event besides its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMetadata {
    pub event_id: EventId,
    pub stream: StreamId,
    /// Version of `stream` after this event (the stream's first event has version 1).
    pub version: StreamVersion,
    /// Position in the whole log (gapless, strictly increasing).
    pub position: Position,
    /// When the commit was recorded. Non-decreasing with `position`: stores clamp a clock that
    /// went backwards, so that "as of a time" always names a prefix of the log.
    pub recorded_at: Timestamp,
    /// The command that produced this event; the same for every event of a commit.
    pub command_id: CommandId,
    pub correlation_id: CorrelationId,
    pub causation_id: CausationId,
}

/// An event as stored: metadata, type name, schema version and JSON payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub meta: EventMetadata,
    pub event_type: Arc<str>,
    /// The schema version the payload was written under; upcasters bring older ones up to date.
    pub schema_version: u16,
    /// JSON text of the payload.
    pub payload: Arc<str>,
}

/// A decoded event with its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<E> {
    pub meta: EventMetadata,
    pub event: E,
}

impl<E> Envelope<E> {
    pub fn position(&self) -> Position {
        self.meta.position
    }

    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> Envelope<F> {
        Envelope { meta: self.meta, event: f(self.event) }
    }
}

/// An event about to be appended: the store assigns its stream version and global position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: EventId,
    pub event_type: Arc<str>,
    pub schema_version: u16,
    pub payload: Arc<str>,
}

/// Flat JSON form of a recorded event; `data` is the payload, embedded as JSON, not as a string.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    position: Position,
    #[serde(borrow)]
    stream: &'a str,
    version: StreamVersion,
    event_id: EventId,
    #[serde(rename = "type", borrow)]
    event_type: &'a str,
    schema_version: u16,
    recorded_at: Timestamp,
    #[serde(borrow)]
    command_id: &'a str,
    #[serde(borrow)]
    correlation_id: &'a str,
    #[serde(borrow)]
    causation_id: &'a str,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Why a JSON line is not a recorded event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a recorded event: {0}")]
pub struct WireError(pub String);

impl RecordedEvent {
    /// The event as one line of JSON (no trailing newline).
    pub fn to_json_line(&self) -> Result<String, WireError> {
        let data: &RawValue = serde_json::from_str(&self.payload)
            .map_err(|e| WireError(format!("payload of {} is not JSON: {e}", self.meta.position)))?;
        let wire = Wire {
            position: self.meta.position,
            stream: self.meta.stream.as_str(),
            version: self.meta.version,
            event_id: self.meta.event_id,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            recorded_at: self.meta.recorded_at,
            command_id: self.meta.command_id.as_str(),
            correlation_id: self.meta.correlation_id.as_str(),
            causation_id: self.meta.causation_id.as_str(),
            data,
        };
        serde_json::to_string(&wire).map_err(|e| WireError(e.to_string()))
    }

    pub fn from_json_line(line: &str) -> Result<RecordedEvent, WireError> {
        let wire: Wire<'_> = crate::json::from_str(line).map_err(|e| WireError(e.to_string()))?;
        if wire.stream.is_empty() || wire.event_type.is_empty() {
            return Err(WireError("stream and type must not be empty".into()));
        }
        if wire.position == Position::ZERO || !wire.version.exists() || wire.schema_version == 0 {
            return Err(WireError("position, version and schemaVersion start at 1".into()));
        }
        Ok(RecordedEvent {
            meta: EventMetadata {
                event_id: wire.event_id,
                stream: StreamId::new(wire.stream),
                version: wire.version,
                position: wire.position,
                recorded_at: wire.recorded_at,
                command_id: CommandId::new(wire.command_id),
                correlation_id: CorrelationId::new(wire.correlation_id),
                causation_id: CausationId::new(wire.causation_id),
            },
            event_type: wire.event_type.into(),
            schema_version: wire.schema_version,
            payload: wire.data.get().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedEvent {
        RecordedEvent {
            meta: EventMetadata {
                event_id: EventId::v7(Timestamp(5), [1; 10]),
                stream: StreamId::from("account-a"),
                version: StreamVersion(2),
                position: Position(7),
                recorded_at: Timestamp(5),
                command_id: CommandId::from("cmd-1"),
                correlation_id: CorrelationId::from("cmd-1"),
                causation_id: CausationId::from("cmd-1"),
            },
            event_type: "MoneyDeposited".into(),
            schema_version: 1,
            payload: r#"{"amount":100}"#.into(),
        }
    }

    #[test]
    fn json_line_round_trips_and_embeds_the_payload() {
        let event = sample();
        let line = event.to_json_line().unwrap();
        assert!(line.contains(r#""data":{"amount":100}"#), "{line}");
        assert!(line.contains(r#""type":"MoneyDeposited""#), "{line}");
        assert_eq!(RecordedEvent::from_json_line(&line).unwrap(), event);
    }

    #[test]
    fn json_line_refuses_what_is_not_an_event() {
        for bad in ["", "null", "{}", "[1,2]", r#"{"position":0}"#] {
            assert!(RecordedEvent::from_json_line(bad).is_err(), "{bad}");
        }
        let line = sample().to_json_line().unwrap().replace(r#""version":2"#, r#""version":0"#);
        assert!(RecordedEvent::from_json_line(&line).is_err());
    }
}
