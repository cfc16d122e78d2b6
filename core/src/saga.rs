//! Process managers (sagas): react to events by issuing commands, with their own progress.
//!
//! A process manager's progress is its state plus the position it has reacted up to, like a
//! projection's checkpoint. Invariants:
//! - it issues commands with ids derived from what it reacted to, so reacting twice to the same
//!   event (after a crash between dispatching and saving progress) re-issues the same ids, which
//!   the command handler answers with the first outcome instead of a second commit;
//! - a domain rejection of an issued command is handed back to the manager, which answers with
//!   commands that record it in the log (so its progress stays derivable from the log alone);
//! - when a command cannot be dispatched for another reason (storage, conflicts), the run stops
//!   before that event and its progress is left as it was, to resume later.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::envelope::Envelope;
use crate::event::Event;
use crate::handler::CommandMeta;
use crate::ids::Position;
use crate::store::{EventStore, StoreError};

/// A command issued by a process manager.
#[derive(Clone, Debug, PartialEq)]
pub struct Issued<C> {
    pub meta: CommandMeta,
    pub command: C,
}

/// The domain's reason for refusing a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub code: String,
    pub message: String,
}

/// What became of a dispatched command that did not commit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The domain refused it: the process manager decides what follows.
    #[error("rejected ({}): {}", .0.code, .0.message)]
    Rejected(Rejection),
    /// It could not be decided or stored now; try again later.
    #[error("could not dispatch ({code}): {message}")]
    Unavailable { code: String, message: String },
}

/// Where a process manager's commands go (the application's command side).
#[allow(async_fn_in_trait)]
pub trait Dispatch<C> {
    async fn dispatch(&self, issued: &Issued<C>) -> Result<(), DispatchError>;
}

pub trait ProcessManager: Default + Clone + fmt::Debug + Serialize + DeserializeOwned {
    /// Stable name: the key of its progress in storage.
    const NAME: &'static str;
    type Event: Event;
    type Command: Clone + fmt::Debug;

    /// Folds an event into the progress and returns the commands to issue now.
    fn react(&mut self, envelope: &Envelope<Self::Event>) -> Vec<Issued<Self::Command>>;

    /// Answers the domain's rejection of a command this manager issued.
    fn on_rejected(&mut self, issued: &Issued<Self::Command>, rejection: &Rejection) -> Vec<Issued<Self::Command>>;
}

/// A process manager's state and the position it has reacted up to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaProgress<P> {
    pub state: P,
    pub checkpoint: Position,
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    pub events_seen: usize,
    pub dispatched: usize,
    pub rejected: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SagaError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stopped before {position}: {error}")]
    Stalled { position: Position, error: DispatchError },
}

/// Reacts to every event after the checkpoint, including those its own commands append.
pub async fn run<P, S, D>(
    store: &S,
    dispatch: &D,
    progress: &mut SagaProgress<P>,
    page: usize,
) -> Result<RunReport, SagaError>
where
    P: ProcessManager,
    S: EventStore,
    D: Dispatch<P::Command>,
{
    run_for(store, dispatch, progress, page, usize::MAX).await
}

/// Like [`run`], but returns once `dispatches` commands were dispatched (after the event that
/// issued the last of them): a runner that shares its time with projections calls it again,
/// so the events the manager's commands append are read soon after they land, not after the
/// whole backlog.
pub async fn run_for<P, S, D>(
    store: &S,
    dispatch: &D,
    progress: &mut SagaProgress<P>,
    page: usize,
    dispatches: usize,
) -> Result<RunReport, SagaError>
where
    P: ProcessManager,
    S: EventStore,
    D: Dispatch<P::Command>,
{
    let page = page.max(1);
    let mut report = RunReport::default();
    loop {
        // Its own commands append events it must see too, so only an empty read ends the run.
        let events = store.read_all(progress.checkpoint, page).await?;
        if events.is_empty() {
            return Ok(report);
        }
        for recorded in &events {
            report.events_seen += 1;
            // An event the manager cannot read is not one it reacts to.
            let Ok(envelope) = P::Event::decode_recorded(recorded) else {
                progress.checkpoint = recorded.meta.position;
                continue;
            };
            let before = progress.state.clone();
            let mut pending = progress.state.react(&envelope);
            while let Some(issued) = pending.pop() {
                report.dispatched += 1;
                match dispatch.dispatch(&issued).await {
                    Ok(()) => {}
                    Err(DispatchError::Rejected(rejection)) => {
                        report.rejected += 1;
                        pending.extend(progress.state.on_rejected(&issued, &rejection));
                    }
                    Err(error) => {
                        progress.state = before;
                        return Err(SagaError::Stalled { position: recorded.meta.position, error });
                    }
                }
            }
            progress.checkpoint = recorded.meta.position;
            if report.dispatched >= dispatches {
                return Ok(report);
            }
        }
    }
}
