//! The event store contract: commits in, recorded events out.
//!
//! A [`Commit`] is the unit of atomicity: the events of one command, to one or several streams,
//! each stream with its own [`ExpectedVersion`]. A store writes all of a commit or none of it.
//! [`Commit::record`] is the one place that turns a commit into recorded events (versions,
//! positions, timestamps), so every store applies the same rules:
//!
//! - every stream's expected version is checked against its version before the commit;
//! - global positions continue from the head with no gap;
//! - `recorded_at` never goes below the head's, so time order and log order agree;
//! - a command id that already produced a commit never produces another
//!   ([`AppendError::DuplicateCommand`] carries the first commit);
//! - personal values ([`crate::personal`]) about a forgotten subject are refused, a commit that
//!   records `SubjectForgotten` forgets its subject in the same atomic step, and everything read
//!   back afterwards shows that subject's values as redacted ([`crate::personal::check_commit`]).

use serde::Serialize;

use crate::aggregate::ErrorCode;
use crate::envelope::{EventMetadata, NewEvent, RecordedEvent};
use crate::ids::{CausationId, CommandId, CorrelationId, Position, StreamId, StreamVersion, Timestamp};
use crate::version::{ExpectedVersion, WrongExpectedVersion};

/// What a command asked for: a digest of its normalized form (type and fields, not its ids).
/// A store remembers it with the command id, so that a command id reused for a different request
/// is refused instead of being answered with the first request's commit.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommandDigest(pub u64);

impl CommandDigest {
    /// FNV-1a over the normalized command's text. Not a cryptographic hash: it tells retries from
    /// mistakes, and a caller who forges a collision only fools themselves.
    pub fn of(normalized: &str) -> CommandDigest {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in normalized.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        CommandDigest(hash)
    }

    /// Whether a command with digest `retry` repeats one committed with `first`. A commit made
    /// without one (a saga step, an import, an older version) is taken to match.
    pub fn same_request(first: Option<CommandDigest>, retry: Option<CommandDigest>) -> bool {
        match (first, retry) {
            (Some(first), Some(retry)) => first == retry,
            _ => true,
        }
    }
}

/// Events for one stream within a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamWrite {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// The events of one command, appended atomically to one or more streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub command_id: CommandId,
    pub correlation_id: CorrelationId,
    pub causation_id: CausationId,
    pub recorded_at: Timestamp,
    pub writes: Vec<StreamWrite>,
    /// What the command asked, remembered with its id; `None` where nobody can say (imports).
    pub digest: Option<CommandDigest>,
}

/// What a commit became in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitReceipt {
    pub command_id: CommandId,
    /// The commit's events in log order; never empty.
    pub events: Vec<RecordedEvent>,
    /// The digest the commit was made with, if any.
    pub digest: Option<CommandDigest>,
}

impl CommitReceipt {
    pub fn first_position(&self) -> Position {
        self.events.first().map_or(Position::ZERO, |e| e.meta.position)
    }

    pub fn last_position(&self) -> Position {
        self.events.last().map_or(Position::ZERO, |e| e.meta.position)
    }

    /// The version `stream` reached with this commit, if the commit wrote to it.
    pub fn version_of(&self, stream: &StreamId) -> Option<StreamVersion> {
        self.events.iter().rev().find(|e| &e.meta.stream == stream).map(|e| e.meta.version)
    }
}

/// A storage failure, independent of what was being stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage quota exceeded: {message}")]
    QuotaExceeded { message: String },
    #[error("the database was written by schema version {found}, newer than this code knows ({known})")]
    SchemaTooNew { found: u32, known: u32 },
    #[error("stored data is corrupt: {message}")]
    Corrupt { message: String },
    #[error("the store is closed")]
    Closed,
    #[error("storage failed: {message}")]
    Backend { message: String },
    /// Personal data about a subject who was forgotten: a forgotten subject stays forgotten.
    #[error("subject {subject} was forgotten: no personal data about them can be recorded again")]
    SubjectForgotten { subject: String },
}

impl ErrorCode for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::QuotaExceeded { .. } => "QuotaExceeded",
            StoreError::SchemaTooNew { .. } => "SchemaTooNew",
            StoreError::Corrupt { .. } => "CorruptData",
            StoreError::Closed => "StoreClosed",
            StoreError::Backend { .. } => "StorageError",
            StoreError::SubjectForgotten { .. } => "SubjectForgotten",
        }
    }
}

/// Why an append wrote nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    WrongExpectedVersion(#[from] WrongExpectedVersion),
    /// The command id already produced this commit; nothing new was written. The caller compares
    /// the receipt's digest with its own: the same request is a retry, another is a mistake.
    #[error("command {} was already committed", .0.command_id)]
    DuplicateCommand(Box<CommitReceipt>),
    #[error("invalid commit: {0}")]
    InvalidCommit(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for AppendError {
    fn code(&self) -> &'static str {
        match self {
            AppendError::WrongExpectedVersion(_) => "WrongExpectedVersion",
            AppendError::DuplicateCommand(_) => "DuplicateCommand",
            AppendError::InvalidCommit(_) => "InvalidCommit",
            AppendError::Store(e) => e.code(),
        }
    }
}

impl Commit {
    pub fn event_count(&self) -> usize {
        self.writes.iter().map(|w| w.events.len()).sum()
    }

    /// Structural checks that do not depend on the log.
    pub fn validate(&self) -> Result<(), AppendError> {
        let invalid = |msg: &str| Err(AppendError::InvalidCommit(msg.to_string()));
        if self.command_id.as_str().is_empty() {
            return invalid("the command id is empty");
        }
        if self.writes.is_empty() {
            return invalid("a commit writes at least one stream");
        }
        for (i, write) in self.writes.iter().enumerate() {
            if write.stream.as_str().is_empty() {
                return invalid("a stream id is empty");
            }
            if write.events.is_empty() {
                return invalid("every stream write carries at least one event");
            }
            // A commit writes a few streams: no hash set (and its code) to tell them apart.
            if self.writes[..i].iter().any(|earlier| earlier.stream == write.stream) {
                return invalid("a commit writes each stream at most once");
            }
            if write.events.iter().any(|e| e.event_type.is_empty() || e.schema_version == 0) {
                return invalid("every event has a type and a schema version from 1");
            }
        }
        Ok(())
    }

    /// Checks expected versions against `version_of` and assigns stream versions, positions after
    /// `head` and the recorded time. Pure: the store supplies the current state and writes the
    /// result in the same atomic step.
    pub fn record(
        &self,
        head: Position,
        head_recorded_at: Timestamp,
        mut version_of: impl FnMut(&StreamId) -> StreamVersion,
    ) -> Result<Vec<RecordedEvent>, AppendError> {
        self.validate()?;
        let recorded_at = self.recorded_at.max(head_recorded_at);
        let mut position = head;
        let mut recorded = Vec::with_capacity(self.event_count());
        for write in &self.writes {
            let mut version = version_of(&write.stream);
            write.expected.check(&write.stream, version)?;
            for event in &write.events {
                position = position.next();
                version = version.next();
                recorded.push(RecordedEvent {
                    meta: EventMetadata {
                        event_id: event.event_id,
                        stream: write.stream.clone(),
                        version,
                        position,
                        recorded_at,
                        command_id: self.command_id.clone(),
                        correlation_id: self.correlation_id.clone(),
                        causation_id: self.causation_id.clone(),
                    },
                    event_type: event.event_type.clone(),
                    schema_version: event.schema_version,
                    payload: event.payload.clone(),
                });
            }
        }
        Ok(recorded)
    }
}

/// Whether a subject's personal data can be read, and whether it was forgotten.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SubjectStatus {
    /// The store holds nothing about this subject.
    Unknown,
    /// The store holds personal data about this subject, readable.
    Known,
    Forgotten,
}

/// An append-only log of events in streams, with optimistic concurrency.
///
/// Futures need not be `Send`: on wasm everything runs on the page's one thread, and natively the
/// stores are used from one task at a time.
#[allow(async_fn_in_trait)]
pub trait EventStore {
    /// Appends one commit atomically.
    async fn append(&self, commit: Commit) -> Result<CommitReceipt, AppendError>;

    /// Appends commits in order, all or none: each is checked as if appended alone after the ones
    /// before it. Stores write the whole batch in one transaction, which is what makes bulk
    /// imports fast.
    async fn append_batch(&self, commits: Vec<Commit>) -> Result<Vec<CommitReceipt>, AppendError>;

    /// Up to `limit` events of `stream` with versions after `after`, in order.
    async fn read_stream(
        &self,
        stream: &StreamId,
        after: StreamVersion,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Up to `limit` events of the whole log with positions after `after`, in order.
    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Position of the last event; `Position::ZERO` for an empty log.
    async fn head(&self) -> Result<Position, StoreError>;

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError>;

    /// The commit a command id produced, if it produced one.
    async fn find_commit(&self, command_id: &CommandId) -> Result<Option<CommitReceipt>, StoreError>;

    /// Whether the store holds personal data about `subject`, readable or forgotten.
    async fn subject(&self, subject: &str) -> Result<SubjectStatus, StoreError>;

    /// Hands the events of `stream` after `after` to `visit`, in order, until it returns false:
    /// what a fold needs, without a copy of every event where the store holds them (in memory).
    /// `visit` must not use the store. The default reads pages of [`EventStore::read_stream`].
    async fn visit_stream(
        &self,
        stream: &StreamId,
        after: StreamVersion,
        visit: &mut dyn FnMut(&RecordedEvent) -> bool,
    ) -> Result<(), StoreError> {
        const PAGE: usize = 4096;
        let mut cursor = after;
        loop {
            let page = self.read_stream(stream, cursor, PAGE).await?;
            if !page.iter().all(&mut *visit) {
                return Ok(());
            }
            match page.last() {
                Some(last) if page.len() == PAGE => cursor = last.meta.version,
                _ => return Ok(()),
            }
        }
    }

    /// Hands the log after `after` to `visit`, in order, until it returns false; the default
    /// reads pages of `page` events with [`EventStore::read_all`]. `visit` must not use the store.
    async fn visit_all(
        &self,
        after: Position,
        page: usize,
        visit: &mut dyn FnMut(&RecordedEvent) -> bool,
    ) -> Result<(), StoreError> {
        let page = page.max(1);
        let mut cursor = after;
        loop {
            let events = self.read_all(cursor, page).await?;
            if !events.iter().all(&mut *visit) {
                return Ok(());
            }
            match events.last() {
                Some(last) if events.len() == page => cursor = last.meta.position,
                _ => return Ok(()),
            }
        }
    }
}

/// Reads a whole stream, page by page.
pub async fn read_whole_stream<S: EventStore>(
    store: &S,
    stream: &StreamId,
    after: StreamVersion,
) -> Result<Vec<RecordedEvent>, StoreError> {
    const PAGE: usize = 4096;
    let mut events = Vec::new();
    let mut cursor = after;
    loop {
        let page = store.read_stream(stream, cursor, PAGE).await?;
        let done = page.len() < PAGE;
        if let Some(last) = page.last() {
            cursor = last.meta.version;
        }
        events.extend(page);
        if done {
            return Ok(events);
        }
    }
}

/// Shared handles to a store are stores: several handlers and runners can use one log.
macro_rules! forward_event_store {
    ($($handle:ty),+) => {$(
        impl<S: EventStore + ?Sized> EventStore for $handle {
            async fn append(&self, commit: Commit) -> Result<CommitReceipt, AppendError> {
                (**self).append(commit).await
            }
            async fn append_batch(&self, commits: Vec<Commit>) -> Result<Vec<CommitReceipt>, AppendError> {
                (**self).append_batch(commits).await
            }
            async fn read_stream(
                &self,
                stream: &StreamId,
                after: StreamVersion,
                limit: usize,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                (**self).read_stream(stream, after, limit).await
            }
            async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
                (**self).read_all(after, limit).await
            }
            async fn head(&self) -> Result<Position, StoreError> {
                (**self).head().await
            }
            async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError> {
                (**self).stream_version(stream).await
            }
            async fn find_commit(&self, command_id: &CommandId) -> Result<Option<CommitReceipt>, StoreError> {
                (**self).find_commit(command_id).await
            }
            async fn subject(&self, subject: &str) -> Result<SubjectStatus, StoreError> {
                (**self).subject(subject).await
            }
            async fn visit_stream(
                &self,
                stream: &StreamId,
                after: StreamVersion,
                visit: &mut dyn FnMut(&RecordedEvent) -> bool,
            ) -> Result<(), StoreError> {
                (**self).visit_stream(stream, after, visit).await
            }
            async fn visit_all(
                &self,
                after: Position,
                page: usize,
                visit: &mut dyn FnMut(&RecordedEvent) -> bool,
            ) -> Result<(), StoreError> {
                (**self).visit_all(after, page, visit).await
            }
        }
    )+};
}

forward_event_store!(&S, std::rc::Rc<S>);
