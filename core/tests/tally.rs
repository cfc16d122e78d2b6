//! The core's own test domain: tallies that count up to a limit, a read model of their totals and
//! a process manager that spills a big addition into an overflow tally. Small on purpose: it
//! exercises the generic machinery (the application contract, command envelopes, the handler,
//! slots, process managers, the registry's checks) with nothing of the demo's.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use eventline_core::aggregate::{Aggregate, ErrorCode};
use eventline_core::app::{Application, ApplicationError, Process, check_registry, forgotten_in};
use eventline_core::command::{CommandRequest, InvalidCommand};
use eventline_core::envelope::Envelope;
use eventline_core::event::{Event, EventPayload};
use eventline_core::handler::{CommandHandler, CommandMeta, Environment, ExecuteError, Executed, LoadError};
use eventline_core::ids::{CommandId, EventId, Position, StreamId, Timestamp};
use eventline_core::memory::InMemoryStore;
use eventline_core::projection::{DocChange, Documents, Impossible, Projection, ReadModel};
use eventline_core::query::{Args, InvalidQuery, Query, to_json};
use eventline_core::saga::{Dispatch, DispatchError, Issued, ProcessManager, Rejection, SagaProgress};
use eventline_core::slot::Slot;
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::{EventStore, StoreError};
use eventline_core::temporal::{AsOf, aggregate_at};
use eventline_core::testing::{Scenario, TestEnv};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// The domain

const LIMIT: u32 = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Added {
    tally: String,
    n: u32,
}
impl EventPayload for Added {
    const TYPE: &'static str = "Added";
}

eventline_core::event_enum! {
    #[derive(Clone, Debug, PartialEq)]
    enum TallyEvent { Added(Added) }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize)]
enum TallyError {
    #[error("tally {tally} would pass {LIMIT}")]
    Full { tally: String, total: u32 },
}
impl ErrorCode for TallyError {
    fn code(&self) -> &'static str {
        "TallyFull"
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Add {
    tally: String,
    n: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Tally {
    total: u32,
}
impl Aggregate for Tally {
    const CATEGORY: &'static str = "tally";
    type Command = Add;
    type Event = TallyEvent;
    type Error = TallyError;
    fn initial() -> Self {
        Tally::default()
    }
    fn evolve(self, TallyEvent::Added(e): &TallyEvent) -> Self {
        Tally { total: self.total + e.n }
    }
    fn decide(&self, add: &Add) -> Result<Vec<TallyEvent>, TallyError> {
        if self.total + add.n > LIMIT {
            return Err(TallyError::Full { tally: add.tally.clone(), total: self.total });
        }
        Ok(vec![Added { tally: add.tally.clone(), n: add.n }.into()])
    }
    fn admits(&self, TallyEvent::Added(e): &TallyEvent) -> Result<(), String> {
        if self.total + e.n > LIMIT { Err(format!("a tally holds at most {LIMIT}")) } else { Ok(()) }
    }
}

/// Totals of every tally.
#[derive(Clone, Debug, Default)]
struct Totals {
    docs: Documents<u32>,
}
impl ReadModel for Totals {
    const NAME: &'static str = "totals";
    const HANDLES: &'static [&'static str] = &["Added"];
    type Event = TallyEvent;
    type Doc = u32;
    fn apply(&mut self, envelope: &Envelope<TallyEvent>) -> Result<(), Impossible> {
        let TallyEvent::Added(e) = &envelope.event;
        self.docs.upsert(&e.tally, || 0, |total| *total += e.n);
        Ok(())
    }
    fn documents(&self) -> &Documents<u32> {
        &self.docs
    }
    fn take_changes(&mut self) -> Vec<DocChange<u32>> {
        self.docs.take_changes()
    }
    fn from_documents(docs: Documents<u32>) -> Self {
        Totals { docs }
    }
}
impl Query for Totals {
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        let args = Args::parse(args, &["tally"])?;
        Ok(match args.parsed("tally", |t: &str| Ok::<_, String>(t.to_string()))? {
            Some(tally) => to_json(self.docs.get(&tally)),
            None => to_json(self.docs.iter().collect::<Vec<_>>()),
        })
    }
}

/// Spills: an addition of 50 or more to a tally adds 1 to `overflow-{tally}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Spill {
    spilt: u32,
}
impl ProcessManager for Spill {
    const NAME: &'static str = "spill";
    type Event = TallyEvent;
    type Command = Add;
    fn react(&mut self, envelope: &Envelope<TallyEvent>) -> Vec<Issued<Add>> {
        let TallyEvent::Added(e) = &envelope.event;
        if e.n < 50 || e.tally.starts_with("overflow-") {
            return Vec::new();
        }
        self.spilt += 1;
        let meta = CommandMeta::new(format!("spill-{}", envelope.meta.event_id));
        vec![Issued { meta, command: Add { tally: format!("overflow-{}", e.tally), n: 1 } }]
    }
    fn on_rejected(&mut self, _: &Issued<Add>, _: &Rejection) -> Vec<Issued<Add>> {
        Vec::new()
    }
}

#[derive(Debug, thiserror::Error)]
enum TallyAppError {
    #[error(transparent)]
    Invalid(#[from] InvalidCommand),
    #[error(transparent)]
    Execute(ExecuteError<TallyError>),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
impl ErrorCode for TallyAppError {
    fn code(&self) -> &'static str {
        match self {
            TallyAppError::Invalid(e) => e.code(),
            TallyAppError::Execute(e) => e.code(),
            TallyAppError::Load(e) => e.code(),
            TallyAppError::Store(e) => e.code(),
        }
    }
}
impl ApplicationError for TallyAppError {
    fn is_conflict(&self) -> bool {
        matches!(self, TallyAppError::Execute(ExecuteError::Conflict { .. }))
    }
    fn is_rejection(&self) -> bool {
        matches!(self, TallyAppError::Execute(ExecuteError::Rejected(_)))
    }
    fn details(&self) -> Option<String> {
        match self {
            TallyAppError::Execute(ExecuteError::Rejected(e)) => serde_json::to_string(e).ok(),
            _ => None,
        }
    }
}

/// The test environment, shared by clones.
#[derive(Clone, Default)]
struct Env(Rc<TestEnv>);
impl Environment for Env {
    fn now(&self) -> Timestamp {
        self.0.now()
    }
    fn new_event_id(&self, at: Timestamp) -> EventId {
        self.0.new_event_id(at)
    }
}

type Store = Rc<InMemoryStore>;

struct TallyApp {
    tallies: CommandHandler<Tally, Store, Env>,
}

impl Dispatch<Add> for TallyApp {
    async fn dispatch(&self, issued: &Issued<Add>) -> Result<(), DispatchError> {
        match self.execute(issued.meta.clone(), &issued.command).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_rejection() => {
                Err(DispatchError::Rejected(Rejection { code: e.code().into(), message: e.to_string() }))
            }
            Err(e) => Err(DispatchError::Unavailable { code: e.code().into(), message: e.to_string() }),
        }
    }
}

impl Application for TallyApp {
    type Event = TallyEvent;
    type Command = Add;
    type Error = TallyAppError;
    type Store = Store;
    type Env = Env;
    const EVENT_TYPES: &'static [&'static str] = &["Added", "SubjectForgotten"];
    const COMMAND_TYPES: &'static [&'static str] = &["Add"];
    const ERROR_CODES: &'static [&'static str] = &["InvalidCommand", "TallyFull", "WrongExpectedVersion"];

    fn new(store: Store, env: Env, snapshots: SnapshotPolicy) -> Self {
        TallyApp { tallies: CommandHandler::new(store, env).with_snapshots(snapshots) }
    }
    fn store(&self) -> &Store {
        self.tallies.store()
    }
    fn parse_command(json: &str) -> Result<CommandRequest<Add>, InvalidCommand> {
        eventline_core::command::parse(json, Self::COMMAND_TYPES, |f| {
            Ok(Add { tally: f.required("tally")?, n: f.required("n")? })
        })
    }
    fn streams(command: &Add, _: &CommandId) -> Vec<StreamId> {
        vec![Tally::stream_id(&command.tally)]
    }
    async fn execute(&self, meta: CommandMeta, command: &Add) -> Result<Executed, TallyAppError> {
        self.tallies.execute(meta, &command.tally, command).await.map_err(TallyAppError::Execute)
    }
    fn read_models() -> Vec<Box<dyn Slot<TallyEvent>>> {
        vec![Box::new(Projection::<Totals>::new())]
    }
    fn process_managers() -> Vec<Box<dyn Process<Self>>> {
        vec![Box::new(SagaProgress::<Spill>::default())]
    }
    async fn state_at(&self, stream: &StreamId, as_of: AsOf) -> Result<(String, u64), TallyAppError> {
        let loaded = aggregate_at::<Tally, _>(self.store(), stream.aggregate_id(), as_of).await?;
        Ok((serde_json::to_string(&loaded.state).unwrap(), loaded.version.0))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory operation waited"),
    }
}

fn app() -> TallyApp {
    TallyApp::new(Rc::new(InMemoryStore::new()), Env::default(), SnapshotPolicy::Every(4))
}

/// Runs a command as a runtime does: parsed from JSON, its envelope into the metadata.
fn send(app: &TallyApp, json: &str) -> Result<Executed, TallyAppError> {
    let request = TallyApp::parse_command(json)?;
    let mut meta = CommandMeta::new(request.command_id.clone().unwrap_or_else(|| CommandId::from("c")));
    meta.expected_version = request.expected_version;
    meta.digest = Some(request.digest);
    run_ready(app.execute(meta, &request.command))
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn given_when_then() {
    let add = |n| Add { tally: "t".into(), n };
    let added = |n| TallyEvent::from(Added { tally: "t".into(), n });
    Scenario::<Tally>::given(vec![added(60)]).when(add(40)).then_expect_events(vec![added(40)]);
    Scenario::<Tally>::given(vec![added(60)])
        .when(add(41))
        .then_expect_error(TallyError::Full { tally: "t".into(), total: 60 });
}

#[test]
fn its_registry_is_consistent() {
    assert_eq!(check_registry::<TallyApp>(), Ok(()));
}

#[test]
fn commands_go_through_the_envelope_and_the_handler() {
    let app = app();
    let first = send(&app, r#"{"type":"Add","tally":"a","n":30,"commandId":"c-1"}"#).unwrap();
    assert_eq!(first.receipt.last_position(), Position(1));
    // A retry is answered with the first commit; the same id for another addition is refused.
    assert!(send(&app, r#"{"n":30,"tally":"a","type":"Add","commandId":"c-1"}"#).unwrap().replayed);
    let reused = send(&app, r#"{"type":"Add","tally":"a","n":31,"commandId":"c-1"}"#).unwrap_err();
    assert_eq!(reused.code(), "DuplicateCommand");
    let stale = send(&app, r#"{"type":"Add","tally":"a","n":1,"commandId":"c-2","expectedVersion":0}"#);
    assert_eq!(stale.unwrap_err().code(), "WrongExpectedVersion");
    let full = send(&app, r#"{"type":"Add","tally":"a","n":71,"commandId":"c-3"}"#).unwrap_err();
    assert_eq!((full.code(), full.details().unwrap()), ("TallyFull", r#"{"Full":{"tally":"a","total":30}}"#.into()));
    for (json, why) in [
        (r#"{"type":"Add","tally":"a"}"#, "missing field `n`"),
        (r#"{"type":"Add","tally":"a","n":1,"m":2}"#, "Add has no field `m`; it takes tally, n"),
        (r#"{"type":"Subtract","tally":"a","n":1}"#, "expected one of Add"),
    ] {
        let error = send(&app, json).unwrap_err();
        assert!(error.code() == "InvalidCommand" && error.to_string().contains(why), "{json}: {error}");
    }
    let (state, version) = run_ready(app.state_at(&Tally::stream_id("a"), AsOf::Head)).unwrap();
    assert_eq!((state.as_str(), version), (r#"{"total":30}"#, 1));
}

#[test]
fn registered_read_models_fold_the_log_and_answer_queries() {
    let app = app();
    for (i, (tally, n)) in [("a", 10), ("b", 5), ("a", 7)].into_iter().enumerate() {
        send(&app, &format!(r#"{{"type":"Add","tally":"{tally}","n":{n},"commandId":"c-{i}"}}"#)).unwrap();
    }
    let log = run_ready(app.store().read_all(Position::ZERO, 100)).unwrap();
    let mut slots = TallyApp::read_models();
    for recorded in &log {
        let decoded = TallyEvent::decode_recorded(recorded);
        for slot in &mut slots {
            slot.apply(recorded, &decoded);
        }
    }
    let totals = &slots[0];
    assert_eq!((totals.name(), totals.checkpoint()), ("totals", Position(3)));
    assert_eq!(totals.query(r#"{"tally":"a"}"#).unwrap(), "17");
    assert_eq!(totals.query("").unwrap(), r#"[["a",17],["b",5]]"#);
    assert_eq!(totals.query(r#"{"tally":7}"#).unwrap_err().code(), "InvalidQuery");
}

#[test]
fn registered_process_managers_react_and_keep_their_progress() {
    let app = app();
    send(&app, r#"{"type":"Add","tally":"a","n":60,"commandId":"big"}"#).unwrap();
    send(&app, r#"{"type":"Add","tally":"b","n":3,"commandId":"small"}"#).unwrap();
    let mut processes = TallyApp::process_managers();
    let report = run_ready(processes[0].run_for(&app, usize::MAX)).unwrap();
    assert_eq!((report.dispatched, processes[0].checkpoint()), (1, Position(3)));
    let (overflow, _) = run_ready(app.state_at(&Tally::stream_id("overflow-a"), AsOf::Head)).unwrap();
    assert_eq!(overflow, r#"{"total":1}"#);
    // Its progress round-trips, and a restored manager reacts to nothing twice.
    let saved = processes[0].save();
    let mut restored = TallyApp::process_managers();
    restored[0].restore(&saved).unwrap();
    assert_eq!(run_ready(restored[0].run_for(&app, usize::MAX)).unwrap().dispatched, 0);
    assert!(restored[0].restore("{").is_err());
}

#[test]
fn no_commit_of_this_domain_forgets_anyone() {
    let app = app();
    let executed = send(&app, r#"{"type":"Add","tally":"a","n":1}"#).unwrap();
    assert_eq!(forgotten_in(&executed.receipt.events), None);
}

/// An application whose registry contradicts itself.
macro_rules! broken {
    ($name:ident, events: $events:expr, commands: $commands:expr, read_models: $read_models:expr) => {
        struct $name(TallyApp);
        impl Application for $name {
            type Event = TallyEvent;
            type Command = Add;
            type Error = TallyAppError;
            type Store = Store;
            type Env = Env;
            const EVENT_TYPES: &'static [&'static str] = $events;
            const COMMAND_TYPES: &'static [&'static str] = $commands;
            const ERROR_CODES: &'static [&'static str] = &["InvalidCommand"];
            fn new(store: Store, env: Env, snapshots: SnapshotPolicy) -> Self {
                $name(TallyApp::new(store, env, snapshots))
            }
            fn store(&self) -> &Store {
                self.0.store()
            }
            fn parse_command(json: &str) -> Result<CommandRequest<Add>, InvalidCommand> {
                TallyApp::parse_command(json)
            }
            fn streams(command: &Add, id: &CommandId) -> Vec<StreamId> {
                TallyApp::streams(command, id)
            }
            async fn execute(&self, meta: CommandMeta, command: &Add) -> Result<Executed, TallyAppError> {
                self.0.execute(meta, command).await
            }
            fn read_models() -> Vec<Box<dyn Slot<TallyEvent>>> {
                $read_models
            }
            async fn state_at(&self, stream: &StreamId, as_of: AsOf) -> Result<(String, u64), TallyAppError> {
                self.0.state_at(stream, as_of).await
            }
        }
    };
}

broken!(TwoOfOneName, events: &["Added"], commands: &["Add"],
    read_models: vec![Box::new(Projection::<Totals>::new()), Box::new(Projection::<Totals>::new())]);
broken!(CommandTwice, events: &["Added"], commands: &["Add", "Add"], read_models: Vec::new());
broken!(UnknownEvent, events: &["Removed"], commands: &["Add"], read_models: vec![Box::new(Projection::<Totals>::new())]);

#[test]
fn an_inconsistent_registry_is_refused_with_a_reason() {
    assert_eq!(check_registry::<TwoOfOneName>(), Err(r#"read model "totals" is listed twice"#.into()));
    assert_eq!(check_registry::<CommandTwice>(), Err(r#"command type "Add" is listed twice"#.into()));
    assert_eq!(
        check_registry::<UnknownEvent>(),
        Err(r#"read model "totals" handles "Added", which is not an event type of this application"#.into())
    );
}
