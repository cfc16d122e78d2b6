//! Aggregates in the decide/evolve shape (Emmett's `Decider`).
//!
//! Invariant: `decide` and `evolve` are pure. `decide` reads only the state and the command;
//! `evolve` never fails, because an event records something that already happened. Everything a
//! command handler, a snapshot, a temporal query or a test does with an aggregate is a fold of
//! `evolve` from `initial`, so they all agree.
//!
//! Invariant: a fold never makes a state nobody decided. Before `evolve`, folds ask `admits`
//! whether the event can follow the state at all (a withdrawal within the balance, an order paid
//! for its total); a log that says otherwise (damaged, or forged and imported before imports were
//! checked) makes the stream a typed `CorruptData` error, never a wrapped or clamped number.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::event::Event;
use crate::ids::StreamId;

/// An error with a stable machine-readable code, as JS callers and the UI see it.
pub trait ErrorCode {
    fn code(&self) -> &'static str;
}

/// A consistency boundary: one stream per instance.
pub trait Aggregate: Clone + fmt::Debug + Serialize + DeserializeOwned {
    /// Stream category: instance `x` lives in stream `"{CATEGORY}-x"`.
    const CATEGORY: &'static str;
    /// Bump when the state's shape changes: snapshots of another version are ignored and the
    /// state is rebuilt by full replay.
    const STATE_VERSION: u32 = 1;

    type Command: fmt::Debug;
    type Event: Event;
    type Error: std::error::Error + Clone + ErrorCode;

    fn initial() -> Self;
    fn evolve(self, event: &Self::Event) -> Self;
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// Whether `event` can follow this state by the aggregate's own invariants: why not, if it
    /// cannot. Every event `decide` makes is admitted; folds and imports check it, so a log
    /// cannot bring about a state the rules forbid. Default: every event is admitted.
    fn admits(&self, event: &Self::Event) -> Result<(), String> {
        let _ = event;
        Ok(())
    }

    fn stream_id(id: &str) -> StreamId {
        StreamId::for_aggregate(Self::CATEGORY, id)
    }
}

/// The state after `events`, starting from `initial`.
pub fn replay<'a, A: Aggregate + 'a>(events: impl IntoIterator<Item = &'a A::Event>) -> A {
    events.into_iter().fold(A::initial(), A::evolve)
}
