//! The application contract: what a domain declares, once, for a runtime to run it.
//!
//! In the manner of cqrs-es's `CqrsFramework::new(store, queries, services)` and Emmett's
//! projections registered as a list: an [`Application`] names its events, parses its commands
//! (the envelope is the core's, [`crate::command`]), executes them over a store, lists its read
//! models and process managers, folds any of its streams to a point in history and checks a log
//! from elsewhere. A runtime (the browser's is `eventline-web`) knows nothing else of the domain.
//!
//! Invariant: a registry is consistent or refused at start ([`check_registry`]): names are
//! unique, and no read model handles an event type the application does not have.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::aggregate::ErrorCode;
use crate::command::{CommandRequest, InvalidCommand};
use crate::envelope::RecordedEvent;
use crate::event::Event;
use crate::handler::{CommandMeta, Environment, Executed};
use crate::ids::{CommandId, Position, StreamId};
use crate::import::{GenericChecker, LogChecker, Refused};
use crate::saga::{Dispatch, ProcessManager, RunReport, SagaError, SagaProgress};
use crate::slot::Slot;
use crate::snapshot::{SnapshotPolicy, SnapshotStore};
use crate::store::{EventStore, StoreError};
use crate::temporal::AsOf;

/// Why an application's command appended nothing, as callers see it: a stable code, a message,
/// and the domain's fields as JSON when it has any.
pub trait ApplicationError: ErrorCode + fmt::Display + From<StoreError> + From<InvalidCommand> + 'static {
    /// The error's fields as JSON text (the balance and the amount asked, say).
    fn details(&self) -> Option<String> {
        None
    }
    /// Whether other writers kept winning: trying again later may succeed.
    fn is_conflict(&self) -> bool;
    /// Whether the domain refused the command (as opposed to storage or concurrency failing).
    fn is_rejection(&self) -> bool;
}

/// A boxed future: what a list of process managers of different types can share.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// An application's domain, declared once.
#[allow(async_fn_in_trait)]
pub trait Application: Sized + 'static {
    type Event: Event + 'static;
    type Command: Clone + fmt::Debug + 'static;
    type Error: ApplicationError;
    type Store: EventStore + SnapshotStore + Clone + 'static;
    type Env: Environment + Clone + 'static;

    /// Every event type its log may hold.
    const EVENT_TYPES: &'static [&'static str];
    /// Every command type a caller may send.
    const COMMAND_TYPES: &'static [&'static str];
    /// Every code an [`Application::Error`] can carry: what a caller must be ready for.
    const ERROR_CODES: &'static [&'static str];

    /// The command side over `store`.
    fn new(store: Self::Store, env: Self::Env, snapshots: SnapshotPolicy) -> Self;

    fn store(&self) -> &Self::Store;

    /// A command from JSON text, with its envelope (use [`crate::command::parse`]).
    fn parse_command(json: &str) -> Result<CommandRequest<Self::Command>, InvalidCommand>;

    /// The streams `command` may change: a runtime runs commands on one stream one at a time.
    fn streams(command: &Self::Command, command_id: &CommandId) -> Vec<StreamId>;

    /// Decides and appends `command`, routed to its aggregates (one commit, however many
    /// streams it changes).
    async fn execute(&self, meta: CommandMeta, command: &Self::Command) -> Result<Executed, Self::Error>;

    /// Every read model, empty, registered as a list.
    fn read_models() -> Vec<Box<dyn Slot<Self::Event>>>;

    /// Every process manager, with no progress, registered as a list.
    fn process_managers() -> Vec<Box<dyn Process<Self>>> {
        Vec::new()
    }

    /// The state of any of its streams (JSON text) as of a point in history, with its version.
    async fn state_at(&self, stream: &StreamId, as_of: AsOf) -> Result<(String, u64), Self::Error>;

    /// The checker of logs from elsewhere: every rule an event a command writes meets, kept
    /// between the parts of a log that arrives in parts (sync's pulls). Default: the generic
    /// checks only.
    fn log_checker() -> Box<dyn LogChecker> {
        Box::new(GenericChecker::new::<Self::Event>())
    }

    /// Checks the events of a log from elsewhere (`events`, after the part `already` landed by an
    /// earlier import of it) with [`Application::log_checker`]; `stored(stream)` is how many
    /// events of `stream` the store holds.
    fn check_log(
        already: &[RecordedEvent],
        events: &[RecordedEvent],
        stored: &dyn Fn(&StreamId) -> u64,
    ) -> Result<(), Refused> {
        let mut checker = Self::log_checker();
        checker.fold(already)?;
        checker.check(events, stored)
    }

    /// Forgets cached aggregate states, e.g. after the log was replaced by an import.
    fn clear_caches(&self) {}
}

/// A process manager as a runtime holds it, beside the others of its application: its progress,
/// saved and restored as JSON, and a run over the log.
pub trait Process<A: Application> {
    fn name(&self) -> &'static str;
    fn checkpoint(&self) -> Position;
    /// Its progress as JSON, to store.
    fn save(&self) -> String;
    /// Takes up stored progress.
    fn restore(&mut self, json: &str) -> Result<(), String>;
    /// Reacts to the log after its checkpoint until it has dispatched `dispatches` commands or
    /// seen the end ([`crate::saga::run_for`]).
    fn run_for<'a>(&'a mut self, app: &'a A, dispatches: usize) -> LocalFuture<'a, Result<RunReport, SagaError>>;
}

/// Events a process manager reads per page of the log.
const PROCESS_PAGE: usize = 512;

impl<A, P> Process<A> for SagaProgress<P>
where
    A: Application + Dispatch<P::Command>,
    P: ProcessManager<Event = A::Event> + 'static,
{
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn checkpoint(&self) -> Position {
        self.checkpoint
    }

    fn save(&self) -> String {
        serde_json::to_string(self).expect("a process manager's progress serializes")
    }

    fn restore(&mut self, json: &str) -> Result<(), String> {
        *self = crate::json::from_str(json).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn run_for<'a>(&'a mut self, app: &'a A, dispatches: usize) -> LocalFuture<'a, Result<RunReport, SagaError>> {
        Box::pin(crate::saga::run_for(app.store(), app, self, PROCESS_PAGE, dispatches))
    }
}

/// Refuses an inconsistent registry: a name or type listed twice, a read model handling an event
/// type the application does not have.
pub fn check_registry<A: Application>() -> Result<(), String> {
    fn unique(what: &str, names: &[&str]) -> Result<(), String> {
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(format!("{what} {name:?} is listed twice"));
            }
        }
        Ok(())
    }
    unique("event type", A::EVENT_TYPES)?;
    unique("command type", A::COMMAND_TYPES)?;
    unique("error code", A::ERROR_CODES)?;
    let read_models = A::read_models();
    let names: Vec<&str> = read_models.iter().map(|r| r.name()).collect();
    unique("read model", &names)?;
    for read_model in &read_models {
        if let Some(unknown) = read_model.handles().iter().find(|t| !A::EVENT_TYPES.contains(t)) {
            return Err(format!(
                "read model {:?} handles {unknown:?}, which is not an event type of this application",
                read_model.name()
            ));
        }
    }
    let processes: Vec<&str> = A::process_managers().iter().map(|p| p.name()).collect();
    unique("process manager", &processes)?;
    if let Some(clash) = processes.iter().find(|p| names.contains(p)) {
        return Err(format!("{clash:?} names both a read model and a process manager"));
    }
    Ok(())
}

/// The subject a commit forgot, if it recorded a `SubjectForgotten`: how a runtime knows to purge
/// personal values at once, whatever command it was.
pub fn forgotten_in(events: &[RecordedEvent]) -> Option<String> {
    use crate::event::EventPayload;
    use crate::personal::SubjectForgotten;
    events
        .iter()
        .filter(|e| &*e.event_type == SubjectForgotten::TYPE)
        .find_map(|e| SubjectForgotten::decode(e.schema_version, &e.payload).ok())
        .map(|f| f.subject)
}
