//! Identifiers and counters that every envelope carries.
//!
//! Positions and versions are plain `u64` newtypes so that they cannot be confused with one
//! another or with amounts. Textual ids are `Arc<str>`: an event's stream id, command id and
//! correlation id are shared by every event of a commit, and cloning an envelope must stay cheap on
//! the replay path.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest id a person gives (an account, an order, a customer): what fits in a stream name.
pub const MAX_ID: usize = 64;
/// Longest id the system derives from others (a saga step's command id is its transfer's id and
/// the step's name; a causation id may be an event id).
pub const MAX_DERIVED_ID: usize = 128;

/// Checks an id: 1 to `max` letters, digits or `. _ : @ -`. Anything else could not be shown,
/// typed or put in a stream name safely, and cannot collide with a store's own records (the
/// vault's `#generation`, say). Commands, imports and every other boundary use this one rule.
pub fn check_id(value: &str, max: usize) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '-');
    if value.is_empty() || value.len() > max || !value.chars().all(allowed) {
        return Err(format!("an id is 1 to {max} letters, digits or . _ : @ -; got {}", quote(value)));
    }
    Ok(())
}

/// At most this many characters of a caller's text are quoted back in a message: an error about
/// a 50 MB field must not be 50 MB long.
pub const QUOTE_CHARS: usize = 64;

/// `value` as a JSON string, cut to [`QUOTE_CHARS`] characters (with `...` when cut): how
/// messages quote what a caller sent.
pub fn quote(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    let quoted = serde_json::to_string(&head).unwrap_or_default();
    if chars.next().is_some() { format!("{quoted}...") } else { quoted }
}

/// An id as a caller gives it (of an account, an item, a customer): 1 to [`MAX_ID`] letters,
/// digits, or `. _ : @ -` ([`check_id`]), checked on deserialization. Anything else could not be
/// shown, typed or put in a stream name safely.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EntityId(Arc<str>);

impl EntityId {
    pub const MAX_LEN: usize = MAX_ID;

    pub fn parse(value: &str) -> Result<EntityId, String> {
        check_id(value, Self::MAX_LEN)?;
        Ok(EntityId(value.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EntityId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        EntityId::parse(&value)
    }
}

impl From<EntityId> for String {
    fn from(value: EntityId) -> String {
        value.0.to_string()
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for EntityId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Global position of an event in the log: 1 for the first event, gapless and strictly increasing.
///
/// `Position::ZERO` is "before the first event": the head of an empty log and the checkpoint of a
/// projection that has seen nothing.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Position(pub u64);

impl Position {
    pub const ZERO: Position = Position(0);

    pub fn next(self) -> Position {
        Position(self.0 + 1)
    }

    /// How many events lie after `self` up to and including `head`.
    pub fn distance_to(self, head: Position) -> u64 {
        head.0.saturating_sub(self.0)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Version of a stream: the number of events in it. The first event of a stream has version 1;
/// version 0 means the stream does not exist yet.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamVersion(pub u64);

impl StreamVersion {
    pub const NONE: StreamVersion = StreamVersion(0);

    pub fn next(self) -> StreamVersion {
        StreamVersion(self.0 + 1)
    }

    pub fn exists(self) -> bool {
        self.0 > 0
    }
}

impl fmt::Display for StreamVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Milliseconds since the Unix epoch. The core has no clock: timestamps come in as arguments.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Globally unique id of an event: a UUID v7, so ids sort by creation time and never depend on a
/// local position (events written in different browsers can meet in one log without clashing).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub Uuid);

impl EventId {
    /// Builds a v7 id from a time and 10 random bytes supplied by the caller (the core has no RNG).
    pub fn v7(at: Timestamp, random: [u8; 10]) -> EventId {
        EventId(uuid::Builder::from_unix_timestamp_millis(at.0, &random).into_uuid())
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        impl $name {
            pub fn new(value: impl Into<Arc<str>>) -> Self {
                $name(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.into())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value.into())
            }
        }
    };
}

text_id!(
    /// Id of a command. A command id that already produced a commit never produces another
    /// (idempotent retries). Process managers derive their command ids from what they react to,
    /// so that re-running a reaction re-issues the same ids.
    CommandId
);
text_id!(
    /// Id shared by every message of one conversation: a user's command, the events it produced,
    /// and everything a process manager did in reaction to them.
    CorrelationId
);
text_id!(
    /// Id of the message that caused an event: the command id for a user's command, or the id of
    /// the event a process manager reacted to.
    CausationId
);

/// Name of a stream: `"{category}-{id}"`, e.g. `account-acc-1`. The category is everything before
/// the first `-`, which tells which aggregate type the stream holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamId(Arc<str>);

impl StreamId {
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        StreamId(value.into())
    }

    pub fn for_aggregate(category: &str, id: &str) -> Self {
        StreamId(format!("{category}-{id}").into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The aggregate category, e.g. `account` for `account-acc-1`.
    pub fn category(&self) -> &str {
        self.0.split_once('-').map_or(&self.0, |(category, _)| category)
    }

    /// The aggregate id within its category, e.g. `acc-1` for `account-acc-1`.
    pub fn aggregate_id(&self) -> &str {
        self.0.split_once('-').map_or("", |(_, id)| id)
    }

    /// Checks the name's form: a category of lower-case letters, `-`, and an id ([`check_id`]).
    /// Whether the category is one an application has is the application's to say.
    pub fn check(&self) -> Result<(), String> {
        let category = self.category();
        if category.is_empty()
            || category.len() > 32
            || !category.bytes().all(|b| b.is_ascii_lowercase())
            || !self.0.contains('-')
        {
            return Err(format!("a stream is `category-id` with a lower-case category; got {}", quote(&self.0)));
        }
        check_id(self.aggregate_id(), MAX_ID).map_err(|e| format!("stream {}: {e}", quote(&self.0)))
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for StreamId {
    fn from(value: &str) -> Self {
        StreamId(value.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_id_splits_at_first_dash() {
        let id = StreamId::for_aggregate("account", "acc-1");
        assert_eq!(id.as_str(), "account-acc-1");
        assert_eq!(id.category(), "account");
        assert_eq!(id.aggregate_id(), "acc-1");
    }

    #[test]
    fn ids_and_stream_names_follow_one_rule() {
        assert!(check_id("acc-1", MAX_ID).is_ok());
        assert!(check_id("alice@example.com", MAX_ID).is_ok());
        for bad in ["", "a b", "x/y", "é", "#generation", "javascript:alert(1)()", &"x".repeat(65)] {
            assert!(check_id(bad, MAX_ID).is_err(), "{bad:?}");
        }
        assert!(check_id(&"x".repeat(100), MAX_DERIVED_ID).is_ok());
        for good in ["account-acc-1", "subject-c-1", "order-o.1"] {
            assert_eq!(StreamId::from(good).check(), Ok(()), "{good}");
        }
        for bad in ["account", "account-", "-a", "Account-a", "account-a b", "subject-#generation", "a1-x"] {
            assert!(StreamId::from(bad).check().is_err(), "{bad}");
        }
    }

    #[test]
    fn quoting_cuts_long_text() {
        assert_eq!(quote("ab\"c"), r#""ab\"c""#);
        let long = quote(&"x".repeat(50_000_000 / 1000));
        assert!(long.len() < 80 && long.ends_with("..."), "{long}");
    }

    #[test]
    fn event_ids_are_v7_and_sort_by_time() {
        let a = EventId::v7(Timestamp(1_000), [9; 10]);
        let b = EventId::v7(Timestamp(2_000), [0; 10]);
        assert_eq!(a.0.get_version_num(), 7);
        assert!(a < b);
    }
}
