//! Personal data on an immutable log: values that belong to a data subject (a person), who may
//! ask to be forgotten.
//!
//! A personal value travels in JSON as `{"$personal": "<subject>", "value": ...}`. Stores keep it
//! unreadable at rest (sealed with the subject's own key: `{"$personal": ..., "sealed": "..."}`)
//! and give it back as it was written, or, once the subject is forgotten and the key shredded, as
//! the redaction marker `{"$personal": ..., "redacted": "forgotten"}`. The log keeps its shape:
//! events, versions and positions never change; only what the person said becomes unreadable.
//!
//! A commit that records [`SUBJECT_FORGOTTEN`] for a subject makes the store forget that subject
//! in the same atomic step: there is no state in which the event is recorded and the key still
//! there, or the other way round.
//!
//! Invariants:
//! - no aggregate decides anything on a [`Personal`] value (they are for people to read, never
//!   for rules), so forgetting someone never changes what the log decides;
//! - a forgotten subject stays forgotten: a store refuses new personal values about it
//!   (`SubjectForgotten`), so an old export cannot bring the person back.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The event type that forgets a subject; its payload is `{"subject": "<subject>"}`.
pub const SUBJECT_FORGOTTEN: &str = "SubjectForgotten";

/// The category of the streams that record forgetting: `subject-{id}`.
pub const SUBJECT_CATEGORY: &str = "subject";

/// How every personal value's JSON begins, as serialized here.
const MARKER: &str = r#"{"$personal":"#;

/// Why a personal value cannot be read.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Redaction {
    /// The subject was forgotten: the key that could read it is gone.
    Forgotten,
    /// This store does not hold the subject's key (the value came from elsewhere, sealed).
    Unavailable,
}
// Read by name through one shared decoder (`by_name`), not a derived one per enum.
crate::deserialize_by_name!(Redaction { Forgotten = "forgotten", Unavailable = "unavailable" });

impl fmt::Display for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Redaction::Forgotten => "forgotten",
            Redaction::Unavailable => "unavailable",
        })
    }
}

/// A value about a data subject: readable, redacted, or still sealed by a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Personal<T> {
    Known {
        subject: String,
        value: T,
    },
    Redacted {
        subject: String,
        reason: Redaction,
    },
    /// As a store sealed it (nonce and ciphertext, base64), carried through unopened: a read
    /// model folded from sealed events holds its personal values this way, so a replay costs no
    /// decryption and no plaintext sits in memory; the store opens them when the read model is
    /// asked. Nothing in `core` can read it.
    Sealed {
        subject: String,
        sealed: String,
    },
}

impl<T> Personal<T> {
    pub fn new(subject: impl Into<String>, value: T) -> Personal<T> {
        Personal::Known { subject: subject.into(), value }
    }

    pub fn subject(&self) -> &str {
        match self {
            Personal::Known { subject, .. } | Personal::Redacted { subject, .. } | Personal::Sealed { subject, .. } => {
                subject
            }
        }
    }

    /// The value, if it can be read here.
    pub fn value(&self) -> Option<&T> {
        match self {
            Personal::Known { value, .. } => Some(value),
            Personal::Redacted { .. } | Personal::Sealed { .. } => None,
        }
    }

    /// The same value with its contents gone: what a read model keeps once its subject is
    /// forgotten.
    pub fn redact(&mut self) {
        let subject = std::mem::take(match self {
            Personal::Known { subject, .. } | Personal::Redacted { subject, .. } | Personal::Sealed { subject, .. } => {
                subject
            }
        });
        *self = Personal::Redacted { subject, reason: Redaction::Forgotten };
    }

    /// Redacts the value if it is about `subject`.
    pub fn forget(&mut self, subject: &str) {
        if self.subject() == subject {
            self.redact();
        }
    }
}

impl<T: Serialize> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("$personal", self.subject())?;
        match self {
            Personal::Known { value, .. } => map.serialize_entry("value", value)?,
            Personal::Redacted { reason, .. } => map.serialize_entry("redacted", reason)?,
            Personal::Sealed { sealed, .. } => map.serialize_entry("sealed", sealed)?,
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PersonalVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for PersonalVisitor<T> {
            type Value = Personal<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a personal value: {"$personal": subject, "value" | "redacted" | "sealed": ...}"#)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Personal<T>, A::Error> {
                let (mut subject, mut value, mut reason) = (None::<String>, None::<T>, None::<Redaction>);
                let mut sealed = None::<String>;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match &*key {
                        "$personal" => subject = Some(map.next_value()?),
                        "value" => value = Some(map.next_value()?),
                        "redacted" => reason = Some(map.next_value()?),
                        "sealed" => sealed = Some(map.next_value()?),
                        other => {
                            return Err(de::Error::unknown_field(other, &["$personal", "value", "redacted", "sealed"]));
                        }
                    }
                }
                let subject = subject.ok_or_else(|| de::Error::missing_field("$personal"))?;
                match (value, reason, sealed) {
                    (Some(value), None, None) => Ok(Personal::Known { subject, value }),
                    (None, Some(reason), None) => Ok(Personal::Redacted { subject, reason }),
                    (None, None, Some(sealed)) => Ok(Personal::Sealed { subject, sealed }),
                    _ => Err(de::Error::custom("a personal value has exactly one of `value`, `redacted`, `sealed`")),
                }
            }
        }

        deserializer.deserialize_map(PersonalVisitor(std::marker::PhantomData))
    }
}

/// A personal value as found in JSON text by [`rewrite`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found<'a> {
    /// Readable: the value's JSON text.
    Value(&'a str),
    Redacted(Redaction),
    /// Sealed by a store: its text (nonce and ciphertext, base64).
    Sealed(&'a str),
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "$personal", borrow)]
    subject: Cow<'a, str>,
    #[serde(borrow)]
    value: Option<&'a RawValue>,
    redacted: Option<Redaction>,
    #[serde(borrow)]
    sealed: Option<Cow<'a, str>>,
}

/// Whether `json` holds any personal value (cheap: one substring search).
pub fn holds_personal(json: &str) -> bool {
    json.contains(MARKER)
}

/// Rewrites each personal value in `json`: `change(subject, found)` returns the replacement JSON
/// text, or `None` to keep it. Returns `None` when nothing changed, so text without personal
/// values costs one substring search. Text outside personal values is kept byte for byte.
pub fn rewrite<E>(
    json: &str,
    mut change: impl FnMut(&str, Found<'_>) -> Result<Option<String>, E>,
) -> Result<Option<String>, E> {
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(offset) = json[search..].find(MARKER) {
        let start = search + offset;
        let mut stream = serde_json::Deserializer::from_str(&json[start..]).into_iter::<Wire<'_>>();
        let Some(Ok(wire)) = stream.next() else {
            // Not one of ours after all: leave it and look further.
            search = start + MARKER.len();
            continue;
        };
        let end = start + stream.byte_offset();
        let found = match (&wire.value, wire.redacted, &wire.sealed) {
            (Some(value), None, None) => Found::Value(value.get()),
            (None, Some(reason), None) => Found::Redacted(reason),
            (None, None, Some(sealed)) => Found::Sealed(sealed),
            _ => {
                search = end;
                continue;
            }
        };
        if let Some(replacement) = change(&wire.subject, found)? {
            out.push_str(&json[copied..start]);
            out.push_str(&replacement);
            copied = end;
        }
        search = end;
    }
    if copied == 0 {
        return Ok(None);
    }
    out.push_str(&json[copied..]);
    Ok(Some(out))
}

/// The subjects `json` holds readable personal values about, in order, with repeats.
pub fn subjects(json: &str) -> Vec<String> {
    let mut found = Vec::new();
    if holds_personal(json) {
        let _ = rewrite::<()>(json, |subject, form| {
            if let Found::Value(_) = form {
                found.push(subject.to_string());
            }
            Ok(None)
        });
    }
    found
}

/// Every subject `json` names in a personal value of any form, with repeats: cheaper than
/// [`subjects`] (only the subject is parsed), for a reader that needs their keys before opening.
pub fn named_subjects(json: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut search = 0;
    while let Some(offset) = json[search..].find(MARKER) {
        search += offset + MARKER.len();
        let mut strings = serde_json::Deserializer::from_str(&json[search..]).into_iter::<Cow<'_, str>>();
        if let Some(Ok(subject)) = strings.next() {
            found.push(subject.into_owned());
        }
    }
    found
}

/// The redaction marker's JSON for `subject`.
pub fn redacted_json(subject: &str, reason: Redaction) -> String {
    serde_json::to_string(&Personal::<()>::Redacted { subject: subject.to_string(), reason })
        .expect("a string and a name serialize")
}

/// The sealed form's JSON for `subject`.
pub fn sealed_json(subject: &str, sealed: &str) -> String {
    let subject = serde_json::to_string(subject).expect("a string serializes");
    format!(r#"{MARKER}{subject},"sealed":"{sealed}"}}"#)
}

/// The subject a [`SUBJECT_FORGOTTEN`] payload names.
pub fn forgotten_subject(payload: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Forgotten {
        subject: String,
    }
    crate::json::from_str::<Forgotten>(payload).ok().map(|f| f.subject)
}

/// Rewrites the readable personal values about subjects `is_forgotten` names into redaction
/// markers: what a store does to everything it reads back once those subjects are forgotten.
pub fn redact_forgotten(json: &str, is_forgotten: impl Fn(&str) -> bool) -> Option<String> {
    if !holds_personal(json) {
        return None;
    }
    rewrite::<()>(json, |subject, found| {
        Ok(match found {
            Found::Value(_) | Found::Sealed(_) if is_forgotten(subject) => {
                Some(redacted_json(subject, Redaction::Forgotten))
            }
            _ => None,
        })
    })
    .unwrap_or(None)
}

/// Checks what a commit does to subjects against what the store knows, in event order: a
/// readable personal value about a forgotten subject is refused; a [`SUBJECT_FORGOTTEN`] event
/// forgets its subject from there on. Returns the subjects the commit writes about and the ones it
/// forgets, for the store to record in the same atomic step as the commit.
pub fn check_commit<'a>(
    events: impl IntoIterator<Item = (&'a str, &'a str)>,
    mut is_forgotten: impl FnMut(&str) -> bool,
) -> Result<(Vec<String>, Vec<String>), crate::store::StoreError> {
    let (mut written, mut forgotten) = (Vec::new(), Vec::<String>::new());
    for (event_type, payload) in events {
        if event_type == SUBJECT_FORGOTTEN {
            let subject = forgotten_subject(payload)
                .filter(|s| crate::ids::check_id(s, crate::ids::MAX_ID).is_ok())
                .ok_or_else(|| crate::store::StoreError::Corrupt {
                    message: format!(
                        "a {SUBJECT_FORGOTTEN} event without a valid subject: {}",
                        crate::ids::quote(payload)
                    ),
                })?;
            forgotten.push(subject);
            continue;
        }
        for subject in subjects(payload) {
            // A subject is an id: never a store's own record (the vault's `#generation`).
            crate::ids::check_id(&subject, crate::ids::MAX_ID).map_err(|e| crate::store::StoreError::Corrupt {
                message: format!("a personal value's subject: {e}"),
            })?;
            if forgotten.contains(&subject) || is_forgotten(&subject) {
                return Err(crate::store::StoreError::SubjectForgotten { subject });
            }
            if !written.contains(&subject) {
                written.push(subject);
            }
        }
    }
    Ok((written, forgotten))
}

/// Checks that every personal value in `json` is spelt as stores write and recognise it
/// (`{"$personal": subject, ...}`, that key first, no escapes in it) and that no object repeats a
/// key. Values are recognised by the text stores search for, so a value spelt any other way
/// (keys reordered, `\u0024personal`, a space after `{`) would pass for ordinary data: kept
/// unsealed yet read back as the person's, and beyond forgetting. What enters from outside (an
/// import, a sync pull) is refused unless it passes.
pub fn check_spelling(json: &str) -> Result<(), String> {
    use serde::de::{DeserializeSeed, SeqAccess};

    /// Walks any JSON, counting objects with a `$personal` key however it is spelt.
    struct Walk<'a>(&'a mut usize);

    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Walk(&mut *self.0))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            // Objects in payloads have a handful of keys: a list beats a hash set, in code too.
            let mut keys: Vec<Cow<'de, str>> = Vec::new();
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == "$personal" {
                    *self.0 += 1;
                }
                if keys.contains(&key) {
                    return Err(de::Error::custom(format_args!("the key {key:?} appears twice in one object")));
                }
                keys.push(key);
                map.next_value_seed(Walk(&mut *self.0))?;
            }
            Ok(())
        }
    }

    let mut parsed = 0;
    let mut deserializer = serde_json::Deserializer::from_str(json);
    Walk(&mut parsed).deserialize(&mut deserializer).map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    if parsed == 0 {
        return Ok(());
    }
    let mut recognised = 0;
    let _ = rewrite::<()>(json, |_, _| {
        recognised += 1;
        Ok(None)
    });
    if recognised != parsed {
        return Err(format!(
            "{parsed} personal value(s), of which {recognised} spelt as stores write them: a personal value \
             is written {{\"$personal\": subject, \"value\" | \"redacted\" | \"sealed\": ...}}, in that order"
        ));
    }
    Ok(())
}

/// The event that forgets a subject (its key shredded in the same commit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectForgotten {
    pub subject: String,
}

impl crate::event::EventPayload for SubjectForgotten {
    const TYPE: &'static str = SUBJECT_FORGOTTEN;
}

crate::event_enum! {
    /// The one event of a `subject-{id}` stream, as an [`Event`](crate::event::Event).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ForgettingEvent { Forgotten(SubjectForgotten) }
}

impl ForgettingEvent {
    pub fn subject(&self) -> &str {
        let ForgettingEvent::Forgotten(forgotten) = self;
        &forgotten.subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        name: String,
    }

    #[test]
    fn a_personal_value_round_trips_and_redacts() {
        let known = Personal::new("c-1", Holder { name: "Ada".into() });
        let json = serde_json::to_string(&known).unwrap();
        assert_eq!(json, r#"{"$personal":"c-1","value":{"name":"Ada"}}"#);
        assert_eq!(serde_json::from_str::<Personal<Holder>>(&json).unwrap(), known);
        let mut redacted = known;
        redacted.forget("c-2");
        assert!(redacted.value().is_some(), "another subject's forgetting changes nothing");
        redacted.forget("c-1");
        let json = serde_json::to_string(&redacted).unwrap();
        assert_eq!(json, r#"{"$personal":"c-1","redacted":"forgotten"}"#);
        assert_eq!(serde_json::from_str::<Personal<Holder>>(&json).unwrap(), redacted);
        let sealed: Personal<Holder> = serde_json::from_str(&sealed_json("c-1", "AAAA")).unwrap();
        assert_eq!(sealed, Personal::Sealed { subject: "c-1".into(), sealed: "AAAA".into() });
        assert_eq!(sealed.value(), None, "nothing in core can read it");
        assert_eq!(serde_json::to_string(&sealed).unwrap(), sealed_json("c-1", "AAAA"), "carried through as it was");
        let mut forgotten = sealed;
        forgotten.forget("c-1");
        assert_eq!(forgotten, Personal::Redacted { subject: "c-1".into(), reason: Redaction::Forgotten });
        for bad in [r#"{"value":1}"#, r#"{"$personal":"c","value":1,"redacted":"forgotten"}"#, r#"{"$personal":"c"}"#] {
            assert!(serde_json::from_str::<Personal<u32>>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rewrite_finds_every_personal_value_and_keeps_the_rest_byte_for_byte() {
        let json = r#"{"z":1,"holder":{"$personal":"c-1","value":{"name":"A \"q\""}},"reason":"{\"$personal\":\"x\"}","address":{"$personal":"c-2","value":"1 Main St"}}"#;
        assert_eq!(subjects(json), vec!["c-1".to_string(), "c-2".to_string()]);
        let sealed = rewrite::<()>(json, |subject, found| {
            let Found::Value(text) = found else { panic!("{found:?}") };
            Ok(Some(sealed_json(subject, &text.len().to_string())))
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            sealed,
            r#"{"z":1,"holder":{"$personal":"c-1","sealed":"18"},"reason":"{\"$personal\":\"x\"}","address":{"$personal":"c-2","sealed":"11"}}"#
        );
        assert_eq!(named_subjects(&sealed), vec!["c-1".to_string(), "c-2".to_string()], "sealed ones too");
        assert_eq!(named_subjects(json), subjects(json));
        assert_eq!(rewrite::<()>(r#"{"amount":5}"#, |_, _| panic!("nothing to see")).unwrap(), None);
        let kept = rewrite::<()>(json, |_, _| Ok(None)).unwrap();
        assert_eq!(kept, None, "nothing changed, nothing copied");
        assert_eq!(forgotten_subject(r#"{"subject":"c-9"}"#).as_deref(), Some("c-9"));
    }
}
