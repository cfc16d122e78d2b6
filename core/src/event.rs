//! Domain events: their names, schema versions, encoding, and upcasting of older versions.
//!
//! Each event type is a payload struct implementing [`EventPayload`]: its stored name, its
//! current schema version and, for every older version, an upcaster that rewrites the JSON one
//! version up. A domain's event enum lists its payloads with [`event_enum!`](crate::event_enum),
//! which derives [`Event`].
//!
//! Invariant: decoding never guesses. A payload is either brought to the current schema by the
//! declared upcasters and decoded, or refused with a typed [`DecodeError`] (unknown type, newer
//! schema than this code, payload that does not fit), which the projection runner turns into a
//! dead letter.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::envelope::{Envelope, NewEvent, RecordedEvent};
use crate::ids::EventId;

/// An event ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedEvent {
    pub event_type: &'static str,
    pub schema_version: u16,
    pub payload: String,
}

impl EncodedEvent {
    pub fn into_new_event(self, event_id: EventId) -> NewEvent {
        NewEvent {
            event_id,
            event_type: self.event_type.into(),
            schema_version: self.schema_version,
            payload: self.payload.into(),
        }
    }
}

/// Why a stored event could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type `{event_type}`")]
    UnknownEventType { event_type: String },
    #[error("`{event_type}` schema version {found} is newer than this code knows ({known})")]
    UnsupportedSchemaVersion { event_type: String, found: u16, known: u16 },
    #[error("`{event_type}` payload (schema version {schema_version}) does not decode: {reason}")]
    InvalidPayload { event_type: String, schema_version: u16, reason: String },
}

impl DecodeError {
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::UnknownEventType { .. } => "UnknownEventType",
            DecodeError::UnsupportedSchemaVersion { .. } => "UnsupportedSchemaVersion",
            DecodeError::InvalidPayload { .. } => "InvalidEventPayload",
        }
    }
}

/// One event type's payload.
pub trait EventPayload: Serialize + DeserializeOwned {
    /// The name stored with the event. Never change it once events exist under it.
    const TYPE: &'static str;
    /// The schema version new events are written with.
    const SCHEMA_VERSION: u16 = 1;

    /// Rewrites a payload written under `from_version` into the shape of `from_version + 1`.
    /// Every version below `SCHEMA_VERSION` that ever shipped must have an arm here.
    fn upcast(from_version: u16, payload: Value) -> Result<Value, String> {
        let _ = payload;
        Err(format!("no upcaster from schema version {from_version}"))
    }

    fn encode(&self) -> EncodedEvent {
        EncodedEvent {
            event_type: Self::TYPE,
            schema_version: Self::SCHEMA_VERSION,
            // Serializing a plain derived struct to JSON cannot fail.
            payload: serde_json::to_string(self).expect("event payloads serialize to JSON"),
        }
    }

    fn decode(schema_version: u16, payload: &str) -> Result<Self, DecodeError> {
        let current = to_current(Self::TYPE, Self::SCHEMA_VERSION, schema_version, payload, Self::upcast)?;
        crate::json::from_str(&current).map_err(|e| invalid_payload(Self::TYPE, schema_version, e.to_string()))
    }
}

/// A payload brought to schema version `current`: as it is, or upcast step by step. Not generic
/// (the upcaster comes as a function), so each payload type compiles only its own decoder.
fn to_current<'a>(
    event_type: &str,
    current: u16,
    schema_version: u16,
    payload: &'a str,
    upcast: fn(u16, Value) -> Result<Value, String>,
) -> Result<Cow<'a, str>, DecodeError> {
    let invalid = |reason: String| invalid_payload(event_type, schema_version, reason);
    if schema_version == current {
        return Ok(Cow::Borrowed(payload));
    }
    if schema_version > current {
        return Err(DecodeError::UnsupportedSchemaVersion {
            event_type: event_type.to_string(),
            found: schema_version,
            known: current,
        });
    }
    if schema_version == 0 {
        return Err(invalid("schema versions start at 1".into()));
    }
    let mut value: Value = serde_json::from_str(payload).map_err(|e| invalid(e.to_string()))?;
    for version in schema_version..current {
        value = upcast(version, value).map_err(invalid)?;
    }
    // Back to text rather than decoded by `from_value`: every payload type then has one
    // decoder, from text, which keeps the WebAssembly module small; upcasting is the rare path.
    Ok(Cow::Owned(value.to_string()))
}

fn invalid_payload(event_type: &str, schema_version: u16, reason: String) -> DecodeError {
    DecodeError::InvalidPayload { event_type: event_type.to_string(), schema_version, reason }
}

/// A domain's events: usually an enum with one variant per [`EventPayload`].
pub trait Event: Sized + Clone + fmt::Debug {
    fn event_type(&self) -> &'static str;
    fn encode(&self) -> EncodedEvent;
    fn decode(event_type: &str, schema_version: u16, payload: &str) -> Result<Self, DecodeError>;

    /// The subject this event forgets, if it is a `SubjectForgotten`: every read model drops
    /// or redacts what it holds about them ([`crate::projection::ReadModel::forget`]).
    fn forgets(&self) -> Option<&str> {
        None
    }

    fn decode_recorded(recorded: &RecordedEvent) -> Result<Envelope<Self>, DecodeError> {
        let event = Self::decode(&recorded.event_type, recorded.schema_version, &recorded.payload)?;
        Ok(Envelope { meta: recorded.meta.clone(), event })
    }
}

/// Declares an event enum over [`EventPayload`] structs and implements [`Event`] for it.
///
/// ```
/// use eventline_core::event::EventPayload;
/// #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// pub struct Pinged { pub n: u32 }
/// impl EventPayload for Pinged { const TYPE: &'static str = "Pinged"; }
/// eventline_core::event_enum! {
///     #[derive(Clone, Debug, PartialEq)]
///     pub enum PingEvent { Pinged(Pinged) }
/// }
/// ```
#[macro_export]
macro_rules! event_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident($payload:ty)),+ $(,)? }) => {
        $(#[$meta])*
        $vis enum $name { $($variant($payload)),+ }

        impl $crate::event::Event for $name {
            fn event_type(&self) -> &'static str {
                match self { $($name::$variant(_) => <$payload as $crate::event::EventPayload>::TYPE),+ }
            }

            fn encode(&self) -> $crate::event::EncodedEvent {
                match self { $($name::$variant(p) => $crate::event::EventPayload::encode(p)),+ }
            }

            fn decode(
                event_type: &str,
                schema_version: u16,
                payload: &str,
            ) -> Result<Self, $crate::event::DecodeError> {
                $(
                    if event_type == <$payload as $crate::event::EventPayload>::TYPE {
                        return <$payload as $crate::event::EventPayload>::decode(schema_version, payload)
                            .map($name::$variant);
                    }
                )+
                Err($crate::event::DecodeError::UnknownEventType { event_type: event_type.to_string() })
            }
        }

        $(impl From<$payload> for $name {
            fn from(payload: $payload) -> Self { $name::$variant(payload) }
        })+
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// Version 1 stored `{"sku": ..}`; version 2 renamed it and added a quantity; version 3 added
    /// a note. Upcasting walks every step.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct ItemPicked {
        product: String,
        quantity: u32,
        note: String,
    }

    impl EventPayload for ItemPicked {
        const TYPE: &'static str = "ItemPicked";
        const SCHEMA_VERSION: u16 = 3;

        fn upcast(from_version: u16, mut payload: Value) -> Result<Value, String> {
            let object = payload.as_object_mut().ok_or("payload is not an object")?;
            match from_version {
                1 => {
                    let sku = object.remove("sku").ok_or("v1 payload lacks `sku`")?;
                    object.insert("product".into(), sku);
                    object.insert("quantity".into(), 1.into());
                }
                2 => {
                    object.insert("note".into(), "".into());
                }
                other => return Err(format!("no upcaster from schema version {other}")),
            }
            Ok(payload)
        }
    }

    event_enum! {
        #[derive(Clone, Debug, PartialEq)]
        enum PickEvent { Picked(ItemPicked) }
    }

    #[test]
    fn current_version_round_trips() {
        let event = PickEvent::Picked(ItemPicked { product: "p".into(), quantity: 2, note: "n".into() });
        let encoded = event.encode();
        assert_eq!((encoded.event_type, encoded.schema_version), ("ItemPicked", 3));
        assert_eq!(PickEvent::decode("ItemPicked", 3, &encoded.payload).unwrap(), event);
    }

    #[test]
    fn older_versions_are_upcast_step_by_step() {
        let v1 = PickEvent::decode("ItemPicked", 1, r#"{"sku":"abc"}"#).unwrap();
        assert_eq!(v1, PickEvent::Picked(ItemPicked { product: "abc".into(), quantity: 1, note: "".into() }));
        let v2 = PickEvent::decode("ItemPicked", 2, r#"{"product":"abc","quantity":4}"#).unwrap();
        assert_eq!(v2, PickEvent::Picked(ItemPicked { product: "abc".into(), quantity: 4, note: "".into() }));
    }

    #[test]
    fn what_cannot_be_decoded_is_a_typed_error() {
        assert_eq!(PickEvent::decode("Nope", 1, "{}").unwrap_err().code(), "UnknownEventType");
        assert_eq!(PickEvent::decode("ItemPicked", 4, "{}").unwrap_err().code(), "UnsupportedSchemaVersion");
        for (version, payload) in [(3, "{"), (3, "[]"), (1, "{}"), (1, "7"), (0, "{}")] {
            let err = PickEvent::decode("ItemPicked", version, payload).unwrap_err();
            assert_eq!(err.code(), "InvalidEventPayload", "{version} {payload}");
        }
    }
}
