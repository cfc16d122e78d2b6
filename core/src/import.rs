//! What a log from elsewhere must pass before any of it is appended: an import now, a pull from
//! another device later. A log that says something is not a reason to believe it, so its events
//! meet the same gate as the events a command's commit writes:
//!
//! - ids and stream names follow the rules commands follow ([`check_id`], [`StreamId::check`]);
//! - every event id is new (within the log, and, the caller checks, within the store), and every
//!   command id makes one commit, its events consecutive;
//! - every payload decodes, upcasting included, and is written exactly as this code writes it
//!   ([`decode_exact`]): no unknown type, no field this code does not write, no value its types
//!   refuse, and personal values in the one spelling stores recognise ([`personal::check_spelling`]);
//! - personal data is about valid subjects, and a `subject-{id}` stream holds one thing only: the
//!   `SubjectForgotten` of that subject, recorded after this same log held data about them. An
//!   imported forgetting is honoured as the record of one (the key shredded, the values
//!   redacted), never as a way to shred someone else's key;
//! - what the events do to their aggregates is checked by the domain ([`Aggregate::admits`],
//!   through the application), so a log cannot make a state no decision made.
//!
//! Nothing here reads a store: the caller gives what it needs ([`LogCheck`] holds the state
//! across events), so the same rules run natively, in the browser, and later on a sync pull.
//!
//! [`Aggregate::admits`]: crate::aggregate::Aggregate::admits

use std::collections::{HashMap, HashSet};

use crate::envelope::RecordedEvent;
use crate::event::Event;
use crate::ids::{CausationId, CommandId, CorrelationId, MAX_DERIVED_ID, StreamId, check_id, quote};
use crate::personal::{self, SUBJECT_CATEGORY, SUBJECT_FORGOTTEN};

/// Why a log from elsewhere was refused: the event (1-based, in the log's order) and what is
/// wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event {event} (position {position}): {message}")]
pub struct Refused {
    pub event: usize,
    pub position: u64,
    pub message: String,
}

/// Longest event type name.
const MAX_TYPE: usize = 64;

/// The ids and names of a recorded event, checked as a command's are.
pub fn check_form(event: &RecordedEvent) -> Result<(), String> {
    let meta = &event.meta;
    meta.stream.check()?;
    check_ids(&meta.command_id, &meta.correlation_id, &meta.causation_id)?;
    check_type(&event.event_type)
}

/// The form of a commit's ids, as a command's are checked: what an imported event or a commit
/// from a sync server carries.
pub fn check_ids(command: &CommandId, correlation: &CorrelationId, causation: &CausationId) -> Result<(), String> {
    for (what, id) in
        [("commandId", command.as_str()), ("correlationId", correlation.as_str()), ("causationId", causation.as_str())]
    {
        check_id(id, MAX_DERIVED_ID).map_err(|e| format!("`{what}`: {e}"))?;
    }
    Ok(())
}

/// An event type's form: 1 to 64 letters or digits.
pub fn check_type(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_TYPE || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("an event type is 1 to {MAX_TYPE} letters or digits; got {}", quote(name)));
    }
    Ok(())
}

/// Decodes `event` as `E` and checks that its payload is exactly what this code writes for it:
/// at the current schema version, byte for byte what encoding the decoded event gives back; at
/// an older one, decodable through the upcasters with personal values spelt as stores write
/// them. So a changed spelling cannot hide a personal value from sealing, and a field this code
/// does not know cannot ride along.
pub fn decode_exact<E: Event>(event: &RecordedEvent) -> Result<E, String> {
    let decoded = E::decode(&event.event_type, event.schema_version, &event.payload).map_err(|e| e.to_string())?;
    let encoded = decoded.encode();
    if encoded.schema_version == event.schema_version {
        if encoded.payload != *event.payload {
            return Err(format!(
                "the {} payload {} is not as this code writes it ({})",
                event.event_type,
                quote(&event.payload),
                quote(&encoded.payload)
            ));
        }
    } else {
        personal::check_spelling(&event.payload)?;
    }
    Ok(decoded)
}

/// The generic rules of a log from elsewhere, checked event by event in log order: ids, event
/// ids, personal data's subjects and the forgetting streams. The domain's own rules come on top
/// (the caller decodes with [`decode_exact`] and asks its aggregates).
#[derive(Default)]
pub struct LogCheck {
    /// Event ids so far, and the command ids of the commits so far (`c:` and the id): a command id
    /// makes one commit, so its events are consecutive. One set of text, whose code every
    /// module already has.
    ids: HashSet<String>,
    last_command: Option<CommandId>,
    /// Subjects this log holds personal data about, so far.
    known: HashSet<String>,
    /// Subjects this log forgot, so far.
    forgotten: HashSet<String>,
    checked: usize,
}

impl LogCheck {
    pub fn new() -> LogCheck {
        LogCheck::default()
    }

    /// How many events were checked: the number of the last one.
    pub fn checked(&self) -> usize {
        self.checked
    }

    /// A refusal of the event checked last.
    pub fn refuse(&self, event: &RecordedEvent, message: impl Into<String>) -> Refused {
        Refused { event: self.checked, position: event.meta.position.0, message: message.into() }
    }

    /// Checks the next event's form, id and personal data.
    pub fn event(&mut self, event: &RecordedEvent) -> Result<(), Refused> {
        self.checked += 1;
        check_form(event).map_err(|m| self.refuse(event, m))?;
        if !self.ids.insert(event.meta.event_id.to_string()) {
            return Err(self.refuse(event, format!("event id {} appears twice in the log", event.meta.event_id)));
        }
        let command = &event.meta.command_id;
        if self.last_command.as_ref() != Some(command) {
            if !self.ids.insert(format!("c:{command}")) {
                return Err(self.refuse(event, format!("command {command} made an earlier commit of this log")));
            }
            self.last_command = Some(command.clone());
        }
        let is_subject_stream = event.meta.stream.category() == SUBJECT_CATEGORY;
        if &*event.event_type == SUBJECT_FORGOTTEN || is_subject_stream {
            return self.forgetting(event);
        }
        personal::check_spelling(&event.payload).map_err(|m| self.refuse(event, m))?;
        for subject in personal::named_subjects(&event.payload) {
            check_id(&subject, crate::ids::MAX_ID)
                .map_err(|e| self.refuse(event, format!("a personal value's subject: {e}")))?;
            if self.forgotten.contains(&subject) && personal::subjects(&event.payload).contains(&subject) {
                return Err(self.refuse(event, format!("personal data about {subject} after this log forgot them")));
            }
            self.known.insert(subject);
        }
        Ok(())
    }

    /// A `subject-{id}` stream records one thing: that this log's data about `id` was forgotten.
    fn forgetting(&mut self, event: &RecordedEvent) -> Result<(), Refused> {
        let stream = &event.meta.stream;
        let subject = stream.aggregate_id();
        if stream.category() != SUBJECT_CATEGORY || &*event.event_type != SUBJECT_FORGOTTEN {
            return Err(self.refuse(
                event,
                format!("a {SUBJECT_FORGOTTEN} belongs on a {SUBJECT_CATEGORY}- stream, and such a stream holds nothing else"),
            ));
        }
        if event.meta.version.0 != 1 {
            return Err(self.refuse(event, format!("{stream} holds one {SUBJECT_FORGOTTEN}, at version 1")));
        }
        let payload = decode_exact::<crate::personal::ForgettingEvent>(event).map_err(|m| self.refuse(event, m))?;
        if payload.subject() != subject {
            return Err(
                self.refuse(event, format!("{stream} forgets {}, not its own subject", quote(payload.subject())))
            );
        }
        if !self.known.contains(subject) {
            return Err(self.refuse(
                event,
                format!(
                    "it forgets {subject}, about whom this log holds no personal data: an imported forgetting is \
                     honoured only as the record of the log's own"
                ),
            ));
        }
        self.forgotten.insert(subject.to_string());
        Ok(())
    }
}

/// A check of a log from elsewhere that keeps what it has folded, for a log that arrives in parts
/// (sync's pulls, each continuing the last): each part is checked on the states the parts before
/// it left, never from the log's start again. `Application::log_checker` gives a domain's.
pub trait LogChecker {
    /// Folds `already`, the log's next events that the store holds (checked when they landed),
    /// for the states the rest continues from.
    fn fold(&mut self, already: &[RecordedEvent]) -> Result<(), Refused>;

    /// Checks `events`, the log's next part in whole commits, and folds them. A stream the log
    /// has not written so far must hold nothing here (`stored(stream)` events, 0 or refused).
    /// After a refusal the checker is spent: what it holds is no longer any log's state.
    fn check(&mut self, events: &[RecordedEvent], stored: &dyn Fn(&StreamId) -> u64) -> Result<(), Refused>;
}

/// The generic checks of a log from elsewhere, for an application with no rules of its own on
/// top: every event's form, ids and personal data ([`LogCheck`]), its payload exactly as this
/// version writes it ([`decode_exact`]), and each stream continued from what the store holds
/// (`stored(stream)` events, which must be this log's own) one version at a time. A domain's
/// checker builds on it.
pub struct GenericChecker {
    check: LogCheck,
    versions: HashMap<StreamId, u64>,
    /// [`decode_exact`] for the application's event type (a function pointer keeps the checker
    /// free of the type, so any domain's can be boxed).
    decodes: fn(&RecordedEvent) -> Result<(), String>,
}

impl GenericChecker {
    /// The generic checker of logs of `E`.
    pub fn new<E: Event>() -> GenericChecker {
        GenericChecker {
            check: LogCheck::new(),
            versions: HashMap::new(),
            decodes: |event| decode_exact::<E>(event).map(|_| ()),
        }
    }

    /// How many events were checked or folded: the number of the last one.
    pub fn checked(&self) -> usize {
        self.check.checked()
    }

    /// Checks and folds the log's next event; `stored` for one that arrives (not yet held).
    pub fn next(&mut self, event: &RecordedEvent, stored: Option<&dyn Fn(&StreamId) -> u64>) -> Result<(), Refused> {
        self.check.event(event)?;
        let stream = &event.meta.stream;
        let last = match self.versions.get(stream) {
            Some(&last) => last,
            None => match stored.map(|stored| stored(stream)) {
                Some(held) if held != 0 => {
                    let message = format!("{stream} already holds {held} event(s) here that are not this log's");
                    return Err(self.check.refuse(event, message));
                }
                _ => 0,
            },
        };
        if event.meta.version.0 != last + 1 {
            let message = format!("{stream} goes from version {last} to {}", event.meta.version.0);
            return Err(self.check.refuse(event, message));
        }
        // Owned keys, cloned once per stream, not per event.
        match self.versions.get_mut(stream) {
            Some(version) => *version += 1,
            None => {
                self.versions.insert(stream.clone(), 1);
            }
        }
        if !matches!(&*event.event_type, SUBJECT_FORGOTTEN) {
            (self.decodes)(event).map_err(|m| self.check.refuse(event, m))?;
        }
        Ok(())
    }
}

impl LogChecker for GenericChecker {
    fn fold(&mut self, already: &[RecordedEvent]) -> Result<(), Refused> {
        already.iter().try_for_each(|event| self.next(event, None))
    }

    fn check(&mut self, events: &[RecordedEvent], stored: &dyn Fn(&StreamId) -> u64) -> Result<(), Refused> {
        events.iter().try_for_each(|event| self.next(event, Some(stored)))
    }
}

/// [`GenericChecker`] over a whole log at once: `already` held, `events` arriving.
pub fn check_events<E: Event>(
    already: &[RecordedEvent],
    events: &[RecordedEvent],
    stored: &dyn Fn(&StreamId) -> u64,
) -> Result<(), Refused> {
    let mut checker = GenericChecker::new::<E>();
    checker.fold(already)?;
    checker.check(events, stored)
}
