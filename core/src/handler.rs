//! The command handler: load, decide, append with the loaded version, retry on conflict.
//!
//! Invariants enforced here:
//! - a commit's expected versions are the versions its decision was made on, so a decision made
//!   on stale state never lands (the store refuses it and the handler decides again, at most
//!   `max_attempts` times);
//! - a caller's own `expected_version` is checked against the log, not the cache, before a
//!   refusal, and a commit made under it carries it, so a decision on what the caller saw never
//!   lands after that changed;
//! - a command id that already produced a commit returns that first commit and appends nothing,
//!   whether the retry arrives before the decision (the store refuses the duplicate atomically) or
//!   is rejected by today's state (the handler looks the id up before reporting a rejection);
//! - a rejected command appends nothing; the rejection is not recorded, so retrying it decides
//!   again against the state of that moment.
//!
//! Loaded states are cached per stream with their version. A decision is made on the cached state
//! without reading the store; the expected version makes a stale decision fail to commit, after
//! which the handler catches the state up and decides again. A refusal is never reported from the
//! cache alone: the state is caught up first. So a stale entry costs a retry, never a wrong
//! outcome, and the common case (this tab wrote last) costs one transaction.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::aggregate::{Aggregate, ErrorCode};
use crate::envelope::{EventMetadata, RecordedEvent};
use crate::event::{DecodeError, Event};
use crate::ids::{CausationId, CommandId, CorrelationId, EventId, StreamId, StreamVersion, Timestamp};
use crate::snapshot::{Snapshot, SnapshotPolicy, SnapshotStore};
use crate::store::{AppendError, CommandDigest, Commit, CommitReceipt, EventStore, StoreError, StreamWrite};
use crate::version::{ExpectedVersion, WrongExpectedVersion};

/// Time and randomness from outside: the core has neither.
pub trait Environment {
    fn now(&self) -> Timestamp;
    fn new_event_id(&self, at: Timestamp) -> EventId;
}

impl<E: Environment + ?Sized> Environment for &E {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
    fn new_event_id(&self, at: Timestamp) -> EventId {
        (**self).new_event_id(at)
    }
}

impl<E: Environment + ?Sized> Environment for Rc<E> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
    fn new_event_id(&self, at: Timestamp) -> EventId {
        (**self).new_event_id(at)
    }
}

/// Who issued a command and in which conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandMeta {
    pub command_id: CommandId,
    pub correlation_id: CorrelationId,
    pub causation_id: CausationId,
    /// The version the caller saw of the command's first stream. With anything but `Any` the
    /// handler does not retry on a conflict: the caller decided on what it saw, and that is gone.
    pub expected_version: ExpectedVersion,
    /// What the command asks ([`CommandDigest`]), so a reused command id is told from a retry.
    pub digest: Option<CommandDigest>,
}

impl CommandMeta {
    /// A command issued by a user: it starts its own conversation.
    pub fn new(command_id: impl Into<CommandId>) -> CommandMeta {
        let command_id = command_id.into();
        CommandMeta {
            correlation_id: CorrelationId::new(command_id.as_str()),
            causation_id: CausationId::new(command_id.as_str()),
            command_id,
            expected_version: ExpectedVersion::Any,
            digest: None,
        }
    }

    /// The command asks what `digest` says (`CommandRequest::digest` of a parsed command).
    pub fn asking(mut self, digest: CommandDigest) -> CommandMeta {
        self.digest = Some(digest);
        self
    }

    /// The command only applies if its first stream is at `expected` (KurrentDB's semantics).
    pub fn expecting(mut self, expected: ExpectedVersion) -> CommandMeta {
        self.expected_version = expected;
        self
    }

    /// A command issued in reaction to an event: same conversation, caused by that event.
    pub fn caused_by(command_id: impl Into<CommandId>, cause: &EventMetadata) -> CommandMeta {
        CommandMeta {
            command_id: command_id.into(),
            correlation_id: cause.correlation_id.clone(),
            causation_id: CausationId::new(cause.event_id.to_string()),
            expected_version: ExpectedVersion::Any,
            digest: None,
        }
    }
}

/// An aggregate's state with the stream version it was built from.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<A> {
    pub state: A,
    pub version: StreamVersion,
}

/// A command's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executed {
    pub receipt: CommitReceipt,
    /// True when the command id had been committed before: `receipt` is that first commit and
    /// nothing was appended now.
    pub replayed: bool,
}

/// Why a stream could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stream {stream} holds an event that does not decode: {error}")]
    Decode { stream: StreamId, error: DecodeError },
    /// The stream holds an event its state cannot admit ([`Aggregate::admits`]).
    #[error("stream {stream} is corrupt at {position}: {reason}")]
    Impossible { stream: StreamId, position: crate::ids::Position, reason: String },
}

impl ErrorCode for LoadError {
    fn code(&self) -> &'static str {
        match self {
            LoadError::Store(e) => e.code(),
            LoadError::Decode { error, .. } => error.code(),
            LoadError::Impossible { .. } => "CorruptData",
        }
    }
}

/// Why a command appended nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecuteError<E> {
    /// The domain refused the command.
    #[error("{0}")]
    Rejected(E),
    /// Other writers kept changing the streams; the last conflict is kept.
    #[error("gave up after {attempts} conflicting attempts: {last}")]
    Conflict { attempts: u32, last: WrongExpectedVersion },
    /// The caller's `expected_version` no longer holds; not retried.
    #[error(transparent)]
    WrongExpectedVersion(WrongExpectedVersion),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Store(StoreError),
    /// The caller addressed the command wrongly (no target, the same stream twice).
    #[error("invalid command: {0}")]
    InvalidCommand(String),
    /// The command id already committed a different request (the first commit is kept): a
    /// retry must send the same command, and a new command needs a new id.
    #[error("command id {} already committed a different command (at {})", .0.command_id, .0.last_position())]
    DuplicateCommand(Box<CommitReceipt>),
}

impl<E: ErrorCode> ErrorCode for ExecuteError<E> {
    fn code(&self) -> &'static str {
        match self {
            ExecuteError::Rejected(e) => e.code(),
            ExecuteError::Conflict { .. } | ExecuteError::WrongExpectedVersion(_) => "WrongExpectedVersion",
            ExecuteError::Load(e) => e.code(),
            ExecuteError::Store(e) => e.code(),
            ExecuteError::InvalidCommand(_) => "InvalidCommand",
            ExecuteError::DuplicateCommand(_) => "DuplicateCommand",
        }
    }
}

impl<E: serde::Serialize> ExecuteError<E> {
    /// The error's fields as JSON text, for callers that show more than the message: the domain
    /// error's for a rejection, the stream's versions for a conflict, the first commit for a
    /// reused command id.
    pub fn details(&self) -> Option<String> {
        match self {
            ExecuteError::Rejected(e) => serde_json::to_string(e).ok(),
            ExecuteError::Conflict { last, .. } | ExecuteError::WrongExpectedVersion(last) => conflict_details(last),
            ExecuteError::DuplicateCommand(first) => Some(duplicate_details(first)),
            _ => None,
        }
    }
}

/// Not generic, so one copy serves every aggregate's errors.
#[inline(never)]
fn conflict_details(last: &WrongExpectedVersion) -> Option<String> {
    serde_json::to_string(last).ok()
}

/// What a `DuplicateCommand` names: the command id and where its first commit is.
#[inline(never)]
fn duplicate_details(first: &CommitReceipt) -> String {
    format!(
        r#"{{"commandId":{},"firstPosition":{},"position":{}}}"#,
        serde_json::to_string(first.command_id.as_str()).unwrap_or_default(),
        first.first_position().0,
        first.last_position().0
    )
}

impl<E> ExecuteError<E> {
    pub fn map_rejection<F>(self, f: impl FnOnce(E) -> F) -> ExecuteError<F> {
        match self {
            ExecuteError::Rejected(e) => ExecuteError::Rejected(f(e)),
            ExecuteError::Conflict { attempts, last } => ExecuteError::Conflict { attempts, last },
            ExecuteError::WrongExpectedVersion(e) => ExecuteError::WrongExpectedVersion(e),
            ExecuteError::Load(e) => ExecuteError::Load(e),
            ExecuteError::Store(e) => ExecuteError::Store(e),
            ExecuteError::InvalidCommand(m) => ExecuteError::InvalidCommand(m),
            ExecuteError::DuplicateCommand(first) => ExecuteError::DuplicateCommand(first),
        }
    }
}

/// A decision on several aggregates: their states in, one list of events per state out.
pub type Decision<'a, A> = dyn Fn(&[&A]) -> Result<Vec<Vec<<A as Aggregate>::Event>>, <A as Aggregate>::Error> + 'a;

/// How many loaded states the handler keeps before it starts over.
const CACHE_CAPACITY: usize = 8192;

pub struct CommandHandler<A: Aggregate, S, X> {
    store: S,
    env: X,
    snapshots: SnapshotPolicy,
    max_attempts: u32,
    cache: RefCell<HashMap<StreamId, Loaded<A>>>,
}

impl<A, S, X> CommandHandler<A, S, X>
where
    A: Aggregate,
    S: EventStore + SnapshotStore,
    X: Environment,
{
    pub fn new(store: S, env: X) -> Self {
        CommandHandler {
            store,
            env,
            snapshots: SnapshotPolicy::Never,
            max_attempts: 5,
            cache: RefCell::new(HashMap::new()),
        }
    }

    pub fn with_snapshots(mut self, policy: SnapshotPolicy) -> Self {
        self.snapshots = policy;
        self
    }

    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn env(&self) -> &X {
        &self.env
    }

    /// Forgets every cached state (another writer replaced the log, for example).
    pub fn clear_cache(&self) {
        self.cache.borrow_mut().clear();
    }

    /// The current state of aggregate `id`: the cached state brought up to date with the events
    /// after it (usually none), or snapshot plus tail.
    pub async fn load(&self, id: &str) -> Result<Loaded<A>, LoadError> {
        self.load_stream(&A::stream_id(id)).await
    }

    async fn load_stream(&self, stream: &StreamId) -> Result<Loaded<A>, LoadError> {
        let cached = self.cache.borrow().get(stream).cloned();
        match cached {
            Some(hit) => self.catch_up(stream, hit).await,
            None => self.load_from_store(stream).await,
        }
    }

    /// Snapshot plus tail, bypassing the cache, then caches the result.
    pub async fn load_from_store(&self, stream: &StreamId) -> Result<Loaded<A>, LoadError> {
        let snapshot = match self.snapshots {
            SnapshotPolicy::Never => None,
            SnapshotPolicy::Every(_) => self.store.load_snapshot(stream).await?,
        };
        let start = snapshot
            .and_then(|s| s.restore::<A>().map(|state| Loaded { state, version: s.version }))
            .unwrap_or(Loaded { state: A::initial(), version: StreamVersion::NONE });
        self.catch_up(stream, start).await
    }

    async fn catch_up(&self, stream: &StreamId, from: Loaded<A>) -> Result<Loaded<A>, LoadError> {
        let loaded = fold_stream(&self.store, stream, from, &|_| true).await?;
        self.remember(stream.clone(), loaded.clone());
        Ok(loaded)
    }

    /// Decides `command` on aggregate `id` and appends the result.
    pub async fn execute(
        &self,
        meta: CommandMeta,
        id: &str,
        command: &A::Command,
    ) -> Result<Executed, ExecuteError<A::Error>> {
        self.execute_on(meta, &[id], &|states| Ok(vec![states[0].decide(command)?])).await
    }

    /// Decides on several aggregates at once and appends all their events in one commit, or
    /// none. `decide` gets the states in the order of `ids` and returns one list of events per id.
    /// (A `dyn` decision: one copy of this loop per aggregate, not one per kind of decision.)
    pub async fn execute_on(
        &self,
        meta: CommandMeta,
        ids: &[&str],
        decide: &Decision<'_, A>,
    ) -> Result<Executed, ExecuteError<A::Error>> {
        let streams: Vec<StreamId> = ids.iter().map(|id| A::stream_id(id)).collect();
        if streams.is_empty() {
            return Err(ExecuteError::InvalidCommand("a command addresses at least one aggregate".into()));
        }
        if (1..streams.len()).any(|i| streams[..i].contains(&streams[i])) {
            return Err(ExecuteError::InvalidCommand("a command addresses each aggregate once".into()));
        }
        let mut last_conflict = None;
        let mut attempts = 0;
        // After a conflict, or before refusing on cached state, states come from the store.
        let mut fresh = false;
        while attempts < self.max_attempts {
            let mut loaded = Vec::with_capacity(streams.len());
            let mut used_cache = false;
            for stream in &streams {
                // Optimistically decide on the cached state without reading: the expected
                // version makes the store refuse the commit if it was stale.
                let cached = if fresh { None } else { self.cache.borrow().get(stream).cloned() };
                used_cache |= cached.is_some();
                loaded.push(match cached {
                    Some(hit) => hit,
                    None => self.load_stream(stream).await?,
                });
            }
            if let Err(conflict) = meta.expected_version.check(&streams[0], loaded[0].version) {
                // The cache may lag behind the log: only the log can prove the caller wrong.
                if used_cache {
                    fresh = true;
                    continue;
                }
                return Err(ExecuteError::WrongExpectedVersion(conflict));
            }
            let states: Vec<&A> = loaded.iter().map(|l| &l.state).collect();
            let decided = match decide(&states) {
                Ok(decided) => decided,
                // A stale cache may refuse what the log allows: judge refusals on the log only.
                Err(_) if used_cache => {
                    fresh = true;
                    continue;
                }
                Err(rejection) => return self.rejected(&meta, rejection).await,
            };
            if decided.len() != streams.len() {
                return Err(ExecuteError::InvalidCommand("one list of events per aggregate".into()));
            }
            if decided.iter().all(Vec::is_empty) {
                let receipt =
                    CommitReceipt { command_id: meta.command_id.clone(), events: Vec::new(), digest: meta.digest };
                return Ok(Executed { receipt, replayed: false });
            }
            attempts += 1;
            let commit = self.commit(&meta, &streams, &loaded, &decided);
            match self.store.append(commit).await {
                Ok(receipt) => {
                    self.after_commit(&streams, loaded, decided, &receipt).await;
                    return Ok(Executed { receipt, replayed: false });
                }
                Err(AppendError::DuplicateCommand(first)) => return replay(&meta, first),
                Err(AppendError::WrongExpectedVersion(conflict)) => {
                    fresh = true;
                    last_conflict = Some(conflict);
                }
                Err(AppendError::Store(e)) => return Err(ExecuteError::Store(e)),
                Err(AppendError::InvalidCommit(m)) => return Err(ExecuteError::InvalidCommand(m)),
            }
        }
        Err(ExecuteError::Conflict {
            attempts,
            last: last_conflict.expect("every failed attempt records its conflict"),
        })
    }

    async fn rejected(&self, meta: &CommandMeta, rejection: A::Error) -> Result<Executed, ExecuteError<A::Error>> {
        // A retry of a command that already committed is judged by its first outcome, not by
        // today's state (a repeated withdrawal may no longer be covered, yet it did succeed).
        match self.store.find_commit(&meta.command_id).await {
            Ok(Some(receipt)) => replay(meta, Box::new(receipt)),
            Ok(None) => Err(ExecuteError::Rejected(rejection)),
            Err(e) => Err(ExecuteError::Store(e)),
        }
    }

    fn commit(
        &self,
        meta: &CommandMeta,
        streams: &[StreamId],
        loaded: &[Loaded<A>],
        decided: &[Vec<A::Event>],
    ) -> Commit {
        let now = self.env.now();
        let writes = streams
            .iter()
            .zip(loaded)
            .zip(decided)
            .filter(|(_, events)| !events.is_empty())
            .map(|((stream, loaded), events)| StreamWrite {
                stream: stream.clone(),
                expected: ExpectedVersion::from_loaded(loaded.version),
                events: events.iter().map(|e| e.encode().into_new_event(self.env.new_event_id(now))).collect(),
            })
            .collect();
        Commit {
            command_id: meta.command_id.clone(),
            correlation_id: meta.correlation_id.clone(),
            causation_id: meta.causation_id.clone(),
            recorded_at: now,
            writes,
            digest: meta.digest,
        }
    }

    async fn after_commit(
        &self,
        streams: &[StreamId],
        loaded: Vec<Loaded<A>>,
        decided: Vec<Vec<A::Event>>,
        receipt: &CommitReceipt,
    ) {
        for ((stream, before), events) in streams.iter().zip(loaded).zip(decided) {
            if events.is_empty() {
                continue;
            }
            let version = receipt.version_of(stream).expect("the commit wrote this stream");
            let state = events.iter().fold(before.state, A::evolve);
            if self.snapshots.is_due(before.version, version) {
                // A snapshot only saves work on the next load: failing to write one is no
                // reason to report a committed command as failed.
                let _ = self.store.save_snapshot(Snapshot::of(stream.clone(), version, &state)).await;
            }
            self.remember(stream.clone(), Loaded { state, version });
        }
    }

    fn remember(&self, stream: StreamId, loaded: Loaded<A>) {
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(&stream) {
            cache.clear();
        }
        match cache.get(&stream) {
            // Concurrent tasks may finish out of order; keep the newest.
            Some(existing) if existing.version > loaded.version => {}
            _ => {
                cache.insert(stream, loaded);
            }
        }
    }
}

/// The answer to a command whose id already committed `first`: that commit, replayed, if it
/// was made for the same request; otherwise a refusal naming it.
pub fn replay<E>(meta: &CommandMeta, first: Box<CommitReceipt>) -> Result<Executed, ExecuteError<E>> {
    if CommandDigest::same_request(first.digest, meta.digest) {
        Ok(Executed { receipt: *first, replayed: true })
    } else {
        Err(ExecuteError::DuplicateCommand(first))
    }
}

/// Folds the events of `stream` after `from` onto it, as the store lends them (no copy of the
/// stream), while `includes` takes them: the one fold of a stream, for loading an aggregate and
/// for its state in the past. An event that does not decode, or that the state does not admit,
/// stops the fold with a typed error.
pub async fn fold_stream<A: Aggregate, S: EventStore>(
    store: &S,
    stream: &StreamId,
    from: Loaded<A>,
    includes: &dyn Fn(&EventMetadata) -> bool,
) -> Result<Loaded<A>, LoadError> {
    let (mut state, mut version, mut failed) = (Some(from.state), from.version, None);
    store
        .visit_stream(stream, from.version, &mut |event| {
            if !includes(&event.meta) {
                return false;
            }
            match fold_one(state.take().expect("kept between events"), event) {
                Ok(next) => (state, version) = (Some(next), event.meta.version),
                Err(error) => failed = Some(error),
            }
            failed.is_none()
        })
        .await?;
    match (failed, state) {
        (Some(error), _) => Err(error),
        (None, state) => Ok(Loaded { state: state.expect("kept after the last event"), version }),
    }
}

/// `state` after one recorded event of its stream: decoded, admitted, evolved.
fn fold_one<A: Aggregate>(state: A, recorded: &RecordedEvent) -> Result<A, LoadError> {
    let event = A::Event::decode(&recorded.event_type, recorded.schema_version, &recorded.payload)
        .map_err(|error| LoadError::Decode { stream: recorded.meta.stream.clone(), error })?;
    state.admits(&event).map_err(|reason| LoadError::Impossible {
        stream: recorded.meta.stream.clone(),
        position: recorded.meta.position,
        reason,
    })?;
    Ok(state.evolve(&event))
}
