//! Forgetting a data subject, for any application: one commit that records `SubjectForgotten` on
//! `subject-{id}`, which the store turns into shredding their key in the same atomic step.
//!
//! Idempotent: forgetting again (here, in another tab, or a retry) answers with the first
//! forgetting's commit, replayed. A runtime learns of a forgetting from the commit itself
//! ([`crate::app::forgotten_in`]), whatever command made it.

use crate::aggregate::ErrorCode;
use crate::event::EventPayload;
use crate::handler::{CommandMeta, Environment, ExecuteError, Executed, replay};
use crate::ids::{StreamId, StreamVersion};
use crate::personal::{SUBJECT_CATEGORY, SubjectForgotten};
use crate::store::{AppendError, Commit, EventStore, StoreError, StreamWrite, SubjectStatus};
use crate::version::ExpectedVersion;

/// Why nobody was forgotten.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForgetError {
    #[error("nothing personal is recorded about {0}: there is no one to forget")]
    UnknownSubject(String),
    /// The command id was used for another command.
    #[error(transparent)]
    Duplicate(ExecuteError<NeverRejected>),
    #[error("invalid command: {0}")]
    InvalidCommand(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for ForgetError {
    fn code(&self) -> &'static str {
        match self {
            ForgetError::UnknownSubject(_) => "UnknownSubject",
            ForgetError::Duplicate(e) => e.code(),
            ForgetError::InvalidCommand(_) => "InvalidCommand",
            ForgetError::Store(e) => e.code(),
        }
    }
}

impl ForgetError {
    /// The first commit of a reused command id, as JSON text.
    pub fn details(&self) -> Option<String> {
        match self {
            ForgetError::Duplicate(e) => e.details(),
            _ => None,
        }
    }
}

/// Forgetting is never refused by a domain: the only rejection type it can carry is none.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("never")]
pub enum NeverRejected {}

impl ErrorCode for NeverRejected {
    fn code(&self) -> &'static str {
        match *self {}
    }
}

/// The stream that records the forgetting of `subject`.
pub fn subject_stream(subject: &str) -> StreamId {
    StreamId::new(format!("{SUBJECT_CATEGORY}-{subject}"))
}

/// Forgets `subject`: every personal value about them becomes unreadable, everywhere. `subject`
/// must already be a valid id (the caller parsed it as one).
pub async fn forget<S: EventStore, X: Environment>(
    store: &S,
    env: &X,
    meta: CommandMeta,
    subject: &str,
) -> Result<Executed, ForgetError> {
    let stream = subject_stream(subject);
    match store.subject(subject).await? {
        SubjectStatus::Unknown => return Err(ForgetError::UnknownSubject(subject.to_string())),
        SubjectStatus::Forgotten => return first_forgetting(store, &stream).await,
        SubjectStatus::Known => {}
    }
    let now = env.now();
    let event = SubjectForgotten { subject: subject.to_string() }.encode().into_new_event(env.new_event_id(now));
    let commit = Commit {
        command_id: meta.command_id.clone(),
        correlation_id: meta.correlation_id.clone(),
        causation_id: meta.causation_id.clone(),
        recorded_at: now,
        writes: vec![StreamWrite { stream: stream.clone(), expected: ExpectedVersion::NoStream, events: vec![event] }],
        digest: meta.digest,
    };
    match store.append(commit).await {
        Ok(receipt) => Ok(Executed { receipt, replayed: false }),
        Err(AppendError::DuplicateCommand(first)) => replay(&meta, first).map_err(ForgetError::Duplicate),
        // Another tab forgot them first.
        Err(AppendError::WrongExpectedVersion(_)) => first_forgetting(store, &stream).await,
        Err(AppendError::Store(e)) => Err(e.into()),
        Err(AppendError::InvalidCommit(message)) => Err(ForgetError::InvalidCommand(message)),
    }
}

/// The commit that forgot the subject of `stream`. Only a `SubjectForgotten` about that very
/// subject counts: whatever else a stream of that name holds is not a forgetting.
async fn first_forgetting<S: EventStore>(store: &S, stream: &StreamId) -> Result<Executed, ForgetError> {
    let first = store.read_stream(stream, StreamVersion::NONE, 1).await?;
    let forgetting = first
        .first()
        .filter(|e| {
            &*e.event_type == SubjectForgotten::TYPE
                && SubjectForgotten::decode(e.schema_version, &e.payload)
                    .is_ok_and(|f| f.subject == stream.aggregate_id())
        })
        .ok_or_else(|| StoreError::Corrupt {
            message: format!("{stream} is forgotten but does not begin with its SubjectForgotten event"),
        })?;
    let receipt = store
        .find_commit(&forgetting.meta.command_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt { message: format!("the commit of {stream}'s first event is missing") })?;
    Ok(Executed { receipt, replayed: true })
}
