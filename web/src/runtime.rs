//! The runtime of one database in one tab: the command side, the projections and the saga, and
//! the tab's place among the other tabs of the same origin.
//!
//! - Commands go through the application (`Application::execute`) over the IndexedDB store. After a commit the runtime tells the
//!   other tabs (BroadcastChannel) and wakes its runner.
//! - The leader tab (holder of the Web Lock) runs the projections: it reads the log after the
//!   lowest checkpoint in batches, decodes each event once, applies it to every projection that
//!   has not seen it, and writes all changed documents, checkpoints and dead letters in one
//!   transaction. Paused projections wait; delayed ones take one event per delay; a rebuild
//!   starts a projection over from 0. It then lets each process manager react and saves its progress.
//! - Other tabs answer queries from the persisted read models, reloading one when its persisted
//!   checkpoint moves, and send projection controls to the leader.
//! - Invariant: the log is the only source of truth. Messages between tabs only say "look again";
//!   a lost message costs latency (every waiter also polls), never correctness.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use eventline_core::app::{Application, ApplicationError, Process, check_registry, forgotten_in};
use eventline_core::command::CommandRequest;
use eventline_core::event::Event;
use eventline_core::handler::{CommandMeta, Executed};
use eventline_core::ids::{CausationId, CommandId, CorrelationId, Position, StreamId, StreamVersion};
use eventline_core::projection::{Applied, Impossible, Lag};
use eventline_core::slot::{Decoded, Slot};
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::{AppendError, Commit, EventStore, StoreError};
use eventline_core::temporal::AsOf;
use eventline_core::{Environment, ErrorCode, RecordedEvent};
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use wasm_bindgen::JsValue;

use crate::app_store::AppStore;
use crate::env::{BrowserEnv, new_command_id};
use crate::exchange;
use crate::failure::Failure;
use crate::persist::{self, DeadLetter, Flush, LastRebuild, ProjectionRecord};
use crate::store::IdbStore;
use crate::tabs::{Channel, Leadership, sleep};

/// Events per batch: a flush writes each changed storage record once per batch, so catching up
/// in big batches writes each record a few times instead of hundreds.
pub const BATCH: usize = 32_768;
/// Events a rebuild folds per step of the leader's loop, between which live work goes first and
/// the rebuild's progress is told.
const REBUILD_BATCH: usize = 4096;
/// Events per transaction while importing.
const IMPORT_BATCH: usize = 8192;
/// How long a waiter or an idle leader sleeps before looking again without being told.
const POLL_MS: u32 = 500;
/// How often a projection catching up writes its progress.
const FLUSH_EVERY_MS: f64 = 250.0;
/// How often an idle leader merges small chunks of the log.
const COMPACT_EVERY_MS: f64 = 5_000.0;
/// Commands the saga dispatches per step of the leader's loop: between two runs of the saga the
/// projections take what its commands appended, so a long backlog of transfers (after a
/// generated or imported log, or a takeover) never holds the read models back for long.
const SAGA_DISPATCHES: usize = 16;
/// Pauses after the handler gave up on a conflict, before the command is reported as conflicting.
const CONFLICT_PAUSES: u32 = 3;

type Batch = Result<Vec<RecordedEvent>, StoreError>;

/// A batch being read while the previous one is applied.
struct ReadAhead {
    after: Position,
    result: Rc<RefCell<Option<Batch>>>,
    done: Rc<Signal>,
}

impl ReadAhead {
    fn start(store: Rc<IdbStore>, after: Position) -> ReadAhead {
        let (result, done) = (Rc::new(RefCell::new(None)), Rc::new(Signal::default()));
        let (slot, signal) = (result.clone(), done.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let read = store.read_all_sealed(after, BATCH).await;
            *slot.borrow_mut() = Some(read);
            signal.notify();
        });
        ReadAhead { after, result, done }
    }

    async fn take(self) -> Result<Vec<RecordedEvent>, StoreError> {
        loop {
            if let Some(result) = self.result.borrow_mut().take() {
                return result;
            }
            self.done.wait().await;
        }
    }
}

/// Streams with a command of this tab in flight: a command waits until all of its are free.
#[derive(Default)]
struct Turns {
    busy: RefCell<std::collections::HashSet<StreamId>>,
    freed: Signal,
}

/// Holds streams until dropped.
struct Turn<'a> {
    turns: &'a Turns,
    streams: Vec<StreamId>,
}

impl Turns {
    async fn take(&self, streams: &[StreamId]) -> Turn<'_> {
        loop {
            {
                let mut busy = self.busy.borrow_mut();
                if streams.iter().all(|s| !busy.contains(s)) {
                    busy.extend(streams.iter().cloned());
                    return Turn { turns: self, streams: streams.to_vec() };
                }
            }
            self.freed.wait().await;
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut busy = self.turns.busy.borrow_mut();
        for stream in &self.streams {
            busy.remove(stream);
        }
        drop(busy);
        self.turns.freed.notify();
    }
}

/// Wakes every task waiting on it.
#[derive(Default)]
pub struct Signal {
    generation: Cell<u64>,
    wakers: RefCell<Vec<Waker>>,
}

impl Signal {
    pub fn notify(&self) {
        self.generation.set(self.generation.get() + 1);
        for waker in self.wakers.take() {
            waker.wake();
        }
    }

    pub async fn wait(&self) {
        let start = self.generation.get();
        poll_fn(|cx| {
            if self.generation.get() != start {
                return Poll::Ready(());
            }
            let mut wakers = self.wakers.borrow_mut();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Waits for a notification or `ms`, whichever comes first.
    pub async fn wait_at_most(&self, ms: u32) {
        futures::future::select(pin!(self.wait()), pin!(sleep(ms))).await;
    }
}

/// What a subscriber hears.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Notice {
    /// New events up to `position`, committed in this tab (`local`) or another.
    Committed { position: u64, local: bool },
    /// A read model moved or its status changed.
    Projections,
    /// This tab started or stopped running the projections.
    Leadership { leader: bool },
    /// The log was emptied.
    Reset,
    /// A data subject was forgotten (here or in another tab): whatever shows their personal
    /// values, stored or folded from the log, must be read again.
    Forgotten { subject: String },
    /// A long task moved on.
    Progress { task: String, done: u64, total: u64 },
}

/// A projection control, sent to whichever tab runs the projections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    Delay { ms: u32 },
    Rebuild,
}

/// A control as JSON: `{"action": "pause" | "resume" | "rebuild"}` or `{"action": "delay", "ms": n}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlWire {
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u32>,
}

impl Control {
    pub fn from_wire(wire: &ControlWire) -> Option<Control> {
        match (wire.action.as_str(), wire.ms) {
            ("pause", None) => Some(Control::Pause),
            ("resume", None) => Some(Control::Resume),
            ("rebuild", None) => Some(Control::Rebuild),
            ("delay", Some(ms)) => Some(Control::Delay { ms }),
            _ => None,
        }
    }

    pub fn to_wire(self) -> ControlWire {
        let (action, ms) = match self {
            Control::Pause => ("pause", None),
            Control::Resume => ("resume", None),
            Control::Rebuild => ("rebuild", None),
            Control::Delay { ms } => ("delay", Some(ms)),
        };
        ControlWire { action: action.into(), ms }
    }
}

/// What tabs tell each other: `committed` (with `position`), `flushed`, `control` (with `name`
/// and `control`), `reset`. Flat, so decoding it needs no buffering.
#[derive(Default, Serialize, Deserialize)]
struct Message {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    control: Option<ControlWire>,
}

impl Message {
    fn of(kind: &str) -> Message {
        Message { kind: kind.into(), ..Message::default() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionStatus {
    pub name: String,
    pub checkpoint: u64,
    pub head: u64,
    pub lag: Lag,
    /// `live`, `catchingUp`, `paused`, `rebuilding` or `failed`.
    pub status: &'static str,
    pub paused: bool,
    pub delay_ms: u32,
    /// Share of a rebuild done, from 0 to 1.
    pub progress: Option<f64>,
    /// The last rebuild that finished: how many events it folded, in how long.
    pub last_rebuild: Option<LastRebuild>,
    pub error: Option<String>,
    /// Whether this tab runs the projections.
    pub runs_here: bool,
}

/// A read model's answer, with how current it is.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryAnswer {
    /// The answer's JSON.
    pub data: Box<RawValue>,
    /// The last position the read model has seen.
    pub position: u64,
    pub lag: Lag,
}

impl QueryAnswer {
    fn new(data: String, position: u64, lag: Lag) -> Result<QueryAnswer, Failure> {
        let data = RawValue::from_string(data).map_err(|e| Failure::new("InternalError", e.to_string()))?;
        Ok(QueryAnswer { data, position, lag })
    }

    /// The answer as a `serde_json::Value`.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.data.get()).unwrap_or(Value::Null)
    }
}

/// Which events to list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventFilter {
    /// First position to consider (default 1).
    pub from: Option<u64>,
    /// Most events to return (default 100, at most 10,000).
    pub limit: Option<usize>,
    pub stream: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub correlation_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Events appended by this import.
    pub events: u64,
    pub commits: u64,
    /// Events at the start of the log that an earlier import of it had already appended.
    pub skipped: u64,
    pub head: u64,
}

struct Entry<E> {
    slot: Box<dyn Slot<E>>,
    record: ProjectionRecord,
    /// Applied events whose changes are not written yet.
    unwritten: bool,
    /// When a delayed projection may take its next event (ms since the epoch).
    next_due: f64,
    /// A rebuild: the replacement built from 0 beside the read model that goes on answering
    /// (blue/green), swapped in when it has caught up.
    shadow: Option<Shadow<E>>,
}

struct Shadow<E> {
    slot: Box<dyn Slot<E>>,
    started: f64,
    /// When a delayed projection's replacement may take its next event.
    next_due: f64,
}

impl<E> Entry<E> {
    fn new(slot: Box<dyn Slot<E>>, record: ProjectionRecord) -> Entry<E> {
        // A rebuild that was under way when the last leader stopped starts over.
        let shadow =
            record.rebuilding.map(|_| Shadow { slot: slot.empty(), started: js_sys::Date::now(), next_due: 0.0 });
        Entry { slot, record, unwritten: false, next_due: 0.0, shadow }
    }

    fn runnable(&self, head: u64) -> bool {
        !self.record.paused && self.record.error.is_none() && (self.slot.checkpoint().0 < head || self.unwritten)
    }
}

struct Runner<A: Application> {
    entries: Vec<Entry<A::Event>>,
    processes: Vec<Box<dyn Process<A>>>,
    /// Dead letters met but not written yet.
    dead: Vec<DeadLetter>,
}

type Listener = Rc<dyn Fn(&Notice)>;

struct Inner<A: Application> {
    store: Rc<IdbStore>,
    app: A,
    /// The names of the application's read models, in registry order.
    names: Vec<&'static str>,
    channel: RefCell<Option<Channel>>,
    leadership: RefCell<Option<Leadership>>,
    leader: Cell<bool>,
    runner: RefCell<Runner<A>>,
    /// Persisted read models as last loaded, in tabs that do not run the projections.
    /// Read models loaded from storage, at most one per name (a `Vec`: a map for seven read
    /// models would compile its own hash table).
    follower: RefCell<Vec<Box<dyn Slot<A::Event>>>>,
    listeners: RefCell<Vec<(u64, Listener)>>,
    next_listener: Cell<u64>,
    /// Wakes the runner.
    wake: Signal,
    /// Wakes `wait_for`.
    progress: Signal,
    closed: Cell<bool>,
    turns: Turns,
    last_compaction: Cell<f64>,
    read_ahead: RefCell<Option<ReadAhead>>,
    last_flush: Cell<f64>,
}

/// One database, run in this tab, for application `A`. Cheap to clone.
pub struct Runtime<A: Application>(Rc<Inner<A>>);

impl<A: Application> Clone for Runtime<A> {
    fn clone(&self) -> Self {
        Runtime(self.0.clone())
    }
}

fn lock_name(database: &str) -> String {
    format!("eventline:{database}:projections")
}

impl<A> Runtime<A>
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
    /// Opens database `name` and joins the other tabs working on it.
    pub async fn open(name: &str) -> Result<Runtime<A>, Failure> {
        Self::open_with(name, false).await
    }

    /// Opens like [`Runtime::open`]; with `take_over`, takes the projections over at once from
    /// whoever runs them: for reopening after this tab's previous instance died while leading.
    pub async fn open_with(name: &str, take_over: bool) -> Result<Runtime<A>, Failure> {
        check_registry::<A>().map_err(|e| Failure::new("InvalidApplication", e))?;
        let store = Rc::new(IdbStore::open(name).await?);
        let inner = Inner {
            app: A::new(AppStore::Browser(store.clone()), BrowserEnv, SnapshotPolicy::Every(64)),
            names: A::read_models().iter().map(|slot| slot.name()).collect(),
            store,
            channel: RefCell::new(None),
            leadership: RefCell::new(None),
            leader: Cell::new(false),
            runner: RefCell::new(fresh_runner()),
            follower: RefCell::new(Vec::new()),
            listeners: RefCell::new(Vec::new()),
            next_listener: Cell::new(0),
            wake: Signal::default(),
            progress: Signal::default(),
            closed: Cell::new(false),
            turns: Turns::default(),
            last_compaction: Cell::new(0.0),
            read_ahead: RefCell::new(None),
            last_flush: Cell::new(0.0),
        };
        let runtime = Runtime(Rc::new(inner));
        let weak = Rc::downgrade(&runtime.0);
        let channel = Channel::open(&format!("eventline:{name}"), move |text| {
            if let Some(inner) = weak.upgrade() {
                Runtime(inner).on_message(&text);
            }
        })
        .map_err(|_| Failure::new("Unsupported", "this browser has no BroadcastChannel"))?;
        *runtime.0.channel.borrow_mut() = Some(channel);
        let (granted, lost) = (Rc::downgrade(&runtime.0), Rc::downgrade(&runtime.0));
        let leadership = Leadership::request(
            &lock_name(name),
            take_over,
            move || {
                if let Some(inner) = granted.upgrade() {
                    wasm_bindgen_futures::spawn_local(Runtime(inner).lead());
                }
            },
            move || {
                if let Some(inner) = lost.upgrade() {
                    Runtime(inner).step_down();
                }
            },
        );
        *runtime.0.leadership.borrow_mut() = Some(leadership);
        Ok(runtime)
    }

    pub fn database(&self) -> &str {
        self.0.store.name()
    }

    pub fn store(&self) -> &Rc<IdbStore> {
        &self.0.store
    }

    pub fn app(&self) -> &A {
        &self.0.app
    }

    /// Whether this tab runs the projections and the saga.
    pub fn is_leader(&self) -> bool {
        self.0.leader.get()
    }

    /// Leaves the other tabs, stops the runner and closes the database.
    pub fn close(&self) {
        if self.0.closed.replace(true) {
            return;
        }
        if let Some(leadership) = self.0.leadership.borrow_mut().take() {
            leadership.release();
        }
        if let Some(channel) = self.0.channel.borrow_mut().take() {
            channel.close();
        }
        self.0.leader.set(false);
        self.0.wake.notify();
        self.0.progress.notify();
        self.0.store.close();
    }

    /// Another request took the lock: stop running the projections (the new holder continues
    /// from what was persisted).
    fn step_down(&self) {
        if self.0.leader.replace(false) {
            self.0.wake.notify();
            self.emit(Notice::Leadership { leader: false });
        }
    }

    fn ensure_open(&self) -> Result<(), Failure> {
        if self.0.closed.get() { Err(Failure::new("StoreClosed", "this Eventline instance is closed")) } else { Ok(()) }
    }

    // -----------------------------------------------------------------------------------------
    // Notices and messages

    /// Calls `listener` on every notice until [`Runtime::unsubscribe`].
    pub fn subscribe(&self, listener: impl Fn(&Notice) + 'static) -> u64 {
        let id = self.0.next_listener.get();
        self.0.next_listener.set(id + 1);
        self.0.listeners.borrow_mut().push((id, Rc::new(listener)));
        id
    }

    pub fn unsubscribe(&self, id: u64) {
        self.0.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    fn emit(&self, notice: Notice) {
        // Listeners may subscribe or unsubscribe while being told.
        let listeners: Vec<_> = self.0.listeners.borrow().iter().map(|(_, l)| l.clone()).collect();
        for listener in listeners {
            listener(&notice);
        }
    }

    fn broadcast(&self, message: &Message) {
        if let Some(channel) = self.0.channel.borrow().as_ref() {
            channel.post(&serde_json::to_string(message).expect("messages serialize"));
        }
    }

    fn on_message(&self, text: &str) {
        let Ok(message) = eventline_core::json::from_str::<Message>(text) else { return };
        match message.kind.as_str() {
            "committed" => {
                self.0.wake.notify();
                self.emit(Notice::Committed { position: message.position.unwrap_or(0), local: false });
            }
            "flushed" => {
                self.0.progress.notify();
                self.emit(Notice::Projections);
            }
            "control" => {
                let control = message.control.as_ref().and_then(Control::from_wire);
                if let (true, Some(name), Some(control)) = (self.is_leader(), message.name, control) {
                    let this = self.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let _ = this.apply_control(&name, control).await;
                    });
                }
            }
            "forgotten" => {
                if let Some(subject) = message.name {
                    self.purge(&subject);
                }
            }
            "reset" => {
                self.0.app.clear_caches();
                self.0.follower.borrow_mut().clear();
                if self.is_leader() {
                    *self.0.runner.borrow_mut() = fresh_runner();
                }
                self.0.wake.notify();
                self.0.progress.notify();
                self.emit(Notice::Reset);
            }
            // A message from a newer version of the page: nothing this one knows to do.
            _ => {}
        }
    }

    /// Someone was forgotten, here or in another tab: every read model held in memory forgets
    /// them at once, whatever it is doing (paused, delayed, behind), and copies of stored read
    /// models are dropped. The log's own `SubjectForgotten` event does the same when each
    /// projection reaches it; this only closes the time until then.
    fn purge(&self, subject: &str) {
        for entry in &mut self.0.runner.borrow_mut().entries {
            entry.slot.forget(subject);
            entry.unwritten = true;
        }
        self.0.follower.borrow_mut().clear();
        self.0.wake.notify();
        self.emit(Notice::Forgotten { subject: subject.to_string() });
        self.emit(Notice::Projections);
    }

    fn committed(&self, position: Position) {
        self.broadcast(&Message { position: Some(position.0), ..Message::of("committed") });
        self.0.wake.notify();
        self.emit(Notice::Committed { position: position.0, local: true });
    }

    // -----------------------------------------------------------------------------------------
    // Command side

    /// Decides and appends a command. Without a command id, one is made (so the command cannot be
    /// retried idempotently: give one to retry safely).
    ///
    /// Commands of this tab on the same aggregate run one after the other, so they never conflict
    /// with each other; conflicts with other tabs are retried by the handler and then, after a
    /// short random pause, a few more times, before `WrongExpectedVersion` is returned.
    pub async fn execute(&self, request: CommandRequest<A::Command>) -> Result<Executed, Failure> {
        self.ensure_open()?;
        let command_id = request.command_id.unwrap_or_else(|| CommandId::from(new_command_id()));
        let meta = CommandMeta {
            correlation_id: request.correlation_id.unwrap_or_else(|| CorrelationId::new(command_id.as_str())),
            causation_id: CausationId::new(command_id.as_str()),
            command_id,
            expected_version: request.expected_version,
            digest: Some(request.digest),
        };
        let streams = A::streams(&request.command, &meta.command_id);
        let _turn = self.0.turns.take(&streams).await;
        let mut pauses = 0;
        let executed = loop {
            match self.0.app.execute(meta.clone(), &request.command).await {
                Err(e) if e.is_conflict() && pauses < CONFLICT_PAUSES => {
                    pauses += 1;
                    let mut jitter = [0u8; 1];
                    crate::env::random_bytes(&mut jitter);
                    sleep(1 + u32::from(jitter[0] % 8) * pauses).await;
                }
                other => break other.map_err(Failure::of_app)?,
            }
        };
        if !executed.replayed {
            self.committed(executed.receipt.last_position());
        }
        // Whatever the command, a commit that forgot someone purges them everywhere at once.
        if let Some(subject) = forgotten_in(&executed.receipt.events) {
            self.purge(&subject);
            self.broadcast(&Message { name: Some(subject), ..Message::of("forgotten") });
        }
        Ok(executed)
    }

    pub async fn head(&self) -> Result<Position, Failure> {
        self.ensure_open()?;
        Ok(self.0.store.head().await?)
    }

    /// A stream's state as of a point in history, with its version.
    /// A stream's state (JSON text) as of a point in history, with its version.
    pub async fn state_at(&self, stream: &str, as_of: AsOf) -> Result<(String, u64), Failure> {
        self.ensure_open()?;
        self.0.app.state_at(&StreamId::from(stream), as_of).await.map_err(Failure::of_app)
    }

    /// Events in log order, filtered.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<RecordedEvent>, Failure> {
        self.ensure_open()?;
        let limit = match filter.limit {
            None => 100,
            Some(n) if (1..=10_000).contains(&n) => n,
            Some(n) => return Err(Failure::new("InvalidArgument", format!("limit is 1 to 10000; got {n}"))),
        };
        let from = filter.from.unwrap_or(1).max(1);
        let matches = |e: &RecordedEvent| {
            filter.event_type.as_deref().is_none_or(|t| &*e.event_type == t)
                && filter.correlation_id.as_deref().is_none_or(|c| e.meta.correlation_id.as_str() == c)
                && filter.stream.as_deref().is_none_or(|s| e.meta.stream.as_str() == s)
        };
        if let Some(stream) = &filter.stream {
            // A stream is read through its own index, never by scanning the log.
            let all = eventline_core::store::read_whole_stream(
                &*self.0.store,
                &StreamId::from(stream.as_str()),
                StreamVersion::NONE,
            )
            .await?;
            return Ok(all.into_iter().filter(|e| e.meta.position.0 >= from && matches(e)).take(limit).collect());
        }
        let mut found = Vec::new();
        let mut after = Position(from - 1);
        loop {
            let page = self.0.store.read_all(after, BATCH).await?;
            let Some(last) = page.last() else { return Ok(found) };
            after = last.meta.position;
            found.extend(page.into_iter().filter(|e| matches(e)).take(limit - found.len()));
            if found.len() >= limit {
                return Ok(found);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Query side

    fn check_name(&self, name: &str) -> Result<(), Failure> {
        check_name(&self.0.names, name)
    }

    /// The names of the application's read models.
    pub fn read_model_names(&self) -> &[&'static str] {
        &self.0.names
    }

    /// Asks read model `name`, wherever it runs.
    /// `args` is JSON text: an object, or empty for none.
    pub async fn query(&self, name: &str, args: &str) -> Result<QueryAnswer, Failure> {
        self.ensure_open()?;
        self.check_name(name)?;
        let (data, checkpoint) = if self.is_leader() {
            let runner = self.0.runner.borrow();
            let entry = runner.entries.iter().find(|e| e.slot.name() == name).expect("every read model has a slot");
            (entry.slot.query(args)?, entry.slot.checkpoint())
        } else {
            self.refresh_follower(name).await?;
            let follower = self.0.follower.borrow();
            let slot = follower.iter().find(|s| s.name() == name).expect("just loaded");
            (slot.query(args)?, slot.checkpoint())
        };
        // Read models hold personal values as the log does, sealed; the answer opens them.
        let data = self.0.store.open_text(data).await?;
        let head = self.0.store.head().await?;
        QueryAnswer::new(data, checkpoint.0, self.lag(checkpoint, head).await?)
    }

    /// Reloads a persisted read model if its persisted checkpoint moved.
    async fn refresh_follower(&self, name: &str) -> Result<(), Failure> {
        let record = persist::load_record(&self.0.store, name).await?;
        let cached = self.0.follower.borrow().iter().find(|s| s.name() == name).map(|s| s.checkpoint().0);
        if cached == Some(record.checkpoint) {
            return Ok(());
        }
        let (record, docs) = persist::load(&self.0.store, name).await?;
        let mut slot = slot_named::<A>(name).expect("a known name");
        slot.restore(Position(record.checkpoint), docs)?;
        let mut follower = self.0.follower.borrow_mut();
        follower.retain(|s| s.name() != name);
        follower.push(slot);
        Ok(())
    }

    async fn lag(&self, checkpoint: Position, head: Position) -> Result<Lag, Failure> {
        let oldest = if checkpoint < head {
            match self.0.store.read_all(checkpoint, 1).await {
                Ok(events) => events.first().map(|e| e.meta.recorded_at),
                // A damaged record: the statuses still answer (the projection says why it
                // failed), with the lag in events and its age unknown.
                Err(StoreError::Corrupt { .. }) => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        Ok(Lag::new(checkpoint, head, oldest, BrowserEnv.now()))
    }

    /// Read model `name` as it was at `as_of`, folded from the log.
    pub async fn query_at(&self, name: &str, args: &str, as_of: AsOf) -> Result<QueryAnswer, Failure> {
        self.ensure_open()?;
        self.check_name(name)?;
        let mut slot = slot_named::<A>(name).expect("a known name");
        let mut after = Position::ZERO;
        'fold: loop {
            let page = self.0.store.read_all(after, BATCH).await?;
            let Some(last) = page.last() else { break };
            after = last.meta.position;
            for recorded in &page {
                if !as_of.includes(&recorded.meta) {
                    break 'fold;
                }
                slot.apply(recorded, &A::Event::decode_recorded(recorded));
            }
        }
        QueryAnswer::new(slot.query(args)?, slot.checkpoint().0, Lag::default())
    }

    /// Every read model as it was at `as_of`: one fold of the log from 0, each event decoded
    /// once. The scrubber's view of the past.
    pub async fn history_at(&self, as_of: AsOf) -> Result<History<A::Event>, Failure> {
        self.ensure_open()?;
        let mut slots = A::read_models();
        let mut after = Position::ZERO;
        'fold: loop {
            let page = self.0.store.read_all(after, BATCH).await?;
            if page.is_empty() {
                break;
            }
            for recorded in &page {
                if !as_of.includes(&recorded.meta) {
                    break 'fold;
                }
                let decoded = A::Event::decode_recorded(recorded);
                for slot in &mut slots {
                    slot.apply(recorded, &decoded);
                }
                after = recorded.meta.position;
            }
        }
        Ok(History { position: after.0, slots, names: self.0.names.clone() })
    }

    /// The event at `position`: its aggregate before and after it, and every read-model document
    /// it changed, before and after.
    pub async fn inspect(&self, position: u64) -> Result<Inspection, Failure> {
        self.ensure_open()?;
        let head = self.0.store.head().await?.0;
        if position == 0 || position > head {
            return Err(Failure::new(
                "InvalidArgument",
                format!("no event at position {position}; the log ends at {head}"),
            ));
        }
        let mut history = self.history_at(AsOf::Position(Position(position - 1))).await?;
        for slot in &mut history.slots {
            slot.take_document_changes();
        }
        let before: Vec<Box<dyn Slot<A::Event>>> = history.slots.iter().map(|s| s.boxed_clone()).collect();
        let event = self
            .0
            .store
            .read_all(Position(position - 1), 1)
            .await?
            .pop()
            .ok_or_else(|| Failure::new("CorruptData", "the event vanished"))?;
        let decoded = A::Event::decode_recorded(&event);
        let mut changes = Vec::new();
        for (slot, before) in history.slots.iter_mut().zip(&before) {
            slot.apply(&event, &decoded);
            for (key, after) in slot.take_document_changes() {
                let before = before.document(&key);
                changes.push(DocumentChange { read_model: slot.name().to_string(), before, after, key });
            }
        }
        let stream = event.meta.stream.clone();
        let state = |at: u64| self.0.app.state_at(&stream, AsOf::Position(Position(at)));
        let (state_before, state_after) = match (state(position - 1).await, state(position).await) {
            (Ok((before, _)), Ok((after, _))) => (Some(before), Some(after)),
            _ => (None, None),
        };
        Ok(Inspection { decode_error: decoded.err().map(|e| e.to_string()), event, state_before, state_after, changes })
    }

    /// Positions of every event matching the filter's stream, type and correlation id (its
    /// `from` and `limit` are ignored): the rows of a filtered timeline.
    pub async fn positions(&self, filter: &EventFilter) -> Result<Vec<u64>, Failure> {
        self.ensure_open()?;
        let all = EventFilter { from: None, limit: Some(10_000), ..filter.clone() };
        let mut positions = Vec::new();
        let mut from = 1;
        loop {
            let page = self.events(&EventFilter { from: Some(from), ..all.clone() }).await?;
            let Some(last) = page.last() else { return Ok(positions) };
            from = last.meta.position.0 + 1;
            positions.extend(page.iter().map(|e| e.meta.position.0));
            if filter.stream.is_some() {
                return Ok(positions);
            }
        }
    }

    /// The events at these positions, in order.
    pub async fn events_at(&self, positions: &[u64]) -> Result<Vec<RecordedEvent>, Failure> {
        self.ensure_open()?;
        Ok(self.0.store.read_at(positions).await?)
    }

    /// Each projection's checkpoint, lag and status.
    pub async fn statuses(&self) -> Result<Vec<ProjectionStatus>, Failure> {
        self.ensure_open()?;
        let head = self.0.store.head().await?;
        let leader = self.is_leader();
        let records: Vec<(String, ProjectionRecord)> = if leader {
            let runner = self.0.runner.borrow();
            runner
                .entries
                .iter()
                .map(|e| {
                    (
                        e.slot.name().to_string(),
                        ProjectionRecord { checkpoint: e.slot.checkpoint().0, ..e.record.clone() },
                    )
                })
                .collect()
        } else {
            let mut records = Vec::new();
            for name in self.0.names.iter().copied() {
                records.push((name.to_string(), persist::load_record(&self.0.store, name).await?));
            }
            records
        };
        let mut statuses = Vec::with_capacity(records.len());
        for (name, record) in records {
            let checkpoint = Position(record.checkpoint);
            let status = if record.error.is_some() {
                "failed"
            } else if record.rebuilding.is_some() {
                "rebuilding"
            } else if record.paused {
                "paused"
            } else if checkpoint < head {
                "catchingUp"
            } else {
                "live"
            };
            let progress = record
                .rebuilding
                .map(|target| if target == 0 { 1.0 } else { (record.rebuilt as f64 / target as f64).min(1.0) });
            statuses.push(ProjectionStatus {
                name,
                checkpoint: checkpoint.0,
                head: head.0,
                lag: self.lag(checkpoint, head).await?,
                status,
                paused: record.paused,
                delay_ms: record.delay_ms,
                progress,
                last_rebuild: record.last_rebuild,
                error: record.error,
                runs_here: leader,
            });
        }
        Ok(statuses)
    }

    /// Waits until read model `name` (or every read model) has seen `position`: read-your-writes.
    pub async fn wait_for(&self, position: u64, name: Option<&str>, timeout_ms: u32) -> Result<QueryPosition, Failure> {
        if let Some(name) = name {
            self.check_name(name)?;
        }
        let started = js_sys::Date::now();
        loop {
            self.ensure_open()?;
            let reached = self.lowest_checkpoint(name).await?;
            if reached >= position {
                return Ok(QueryPosition { position: reached });
            }
            let waited = js_sys::Date::now() - started;
            if waited >= f64::from(timeout_ms) {
                return Err(Failure::new(
                    "WaitTimeout",
                    format!(
                        "{} reached position {reached}, not {position}, within {timeout_ms} ms",
                        name.unwrap_or("the read models")
                    ),
                ));
            }
            self.0.progress.wait_at_most((f64::from(timeout_ms) - waited).clamp(1.0, f64::from(POLL_MS)) as u32).await;
        }
    }

    async fn lowest_checkpoint(&self, name: Option<&str>) -> Result<u64, Failure> {
        let names: Vec<&str> = match name {
            Some(n) => vec![n],
            None => self.0.names.clone(),
        };
        if self.is_leader() {
            let runner = self.0.runner.borrow();
            let lowest =
                runner.entries.iter().filter(|e| names.contains(&e.slot.name())).map(|e| e.slot.checkpoint().0).min();
            return Ok(lowest.unwrap_or(0));
        }
        let mut lowest = u64::MAX;
        for name in names {
            lowest = lowest.min(persist::load_record(&self.0.store, name).await?.checkpoint);
        }
        Ok(lowest)
    }

    /// Pauses, resumes, delays or rebuilds projection `name`, in whichever tab runs it.
    pub async fn control(&self, name: &str, control: Control) -> Result<(), Failure> {
        self.ensure_open()?;
        self.check_name(name)?;
        if let Control::Delay { ms } = control
            && ms > 60_000
        {
            return Err(Failure::new("InvalidArgument", format!("a delay is at most 60000 ms; got {ms}")));
        }
        if self.is_leader() {
            self.apply_control(name, control).await
        } else {
            self.broadcast(&Message {
                name: Some(name.to_string()),
                control: Some(control.to_wire()),
                ..Message::of("control")
            });
            Ok(())
        }
    }

    /// Boxed, so its two callers share one copy of it (0.9 KB of the demo's .wasm, gzipped).
    fn apply_control<'a>(&'a self, name: &'a str, control: Control) -> LocalBoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let head = self.0.store.head().await?;
            let flush = {
                let mut runner = self.0.runner.borrow_mut();
                let Some(entry) = runner.entries.iter_mut().find(|e| e.slot.name() == name) else { return Ok(()) };
                match control {
                    Control::Pause => entry.record.paused = true,
                    Control::Resume => entry.record.paused = false,
                    Control::Delay { ms } => {
                        entry.record.delay_ms = ms;
                        entry.next_due = 0.0;
                    }
                    Control::Rebuild => {
                        let slot = entry.slot.empty();
                        entry.shadow = Some(Shadow { slot, started: js_sys::Date::now(), next_due: 0.0 });
                        entry.record.error = None;
                        entry.record.rebuilding = Some(head.0);
                        entry.record.rebuilt = 0;
                    }
                }
                // Only the record: the documents are the ones answering until a rebuild swaps them.
                Flush {
                    name: name.to_string(),
                    record: ProjectionRecord { checkpoint: entry.record.checkpoint, ..entry.record.clone() },
                    ..Flush::default()
                }
            };
            persist::flush(&self.0.store, &[flush], &[]).await?;
            self.projections_moved();
            self.0.wake.notify();
            Ok(())
        })
    }

    fn projections_moved(&self) {
        self.broadcast(&Message::of("flushed"));
        self.0.progress.notify();
        self.emit(Notice::Projections);
    }

    // -----------------------------------------------------------------------------------------
    // The leader's runner

    async fn lead(self) {
        if self.0.closed.get() {
            return;
        }
        loop {
            match self.load_runner().await {
                Ok(runner) => {
                    *self.0.runner.borrow_mut() = runner;
                    break;
                }
                Err(_) if self.0.closed.get() => return,
                Err(_) => sleep(POLL_MS).await,
            }
        }
        self.0.leader.set(true);
        self.emit(Notice::Leadership { leader: true });
        self.projections_moved();
        while !self.0.closed.get() && self.0.leader.get() {
            let worked = match self.step().await {
                Ok(worked) => worked,
                Err(_) if self.0.closed.get() => break,
                Err(error) => {
                    self.fail_running(&error);
                    false
                }
            };
            if !worked && js_sys::Date::now() - self.0.last_compaction.get() > COMPACT_EVERY_MS {
                self.0.last_compaction.set(js_sys::Date::now());
                // Compaction only saves later reads: a failure is no reason to stop leading.
                let _ = self.0.store.compact().await;
            }
            if !worked {
                let wait = self.next_due_in().map_or(POLL_MS, |ms| ms.clamp(1.0, f64::from(POLL_MS)) as u32);
                self.0.wake.wait_at_most(wait).await;
            }
        }
    }

    /// Boxed, so its two callers share one copy of it rather than each inlining it (0.8 KB of
    /// the demo's .wasm, gzipped).
    fn load_runner(&self) -> LocalBoxFuture<'_, Result<Runner<A>, Failure>> {
        Box::pin(async move {
            let mut entries = Vec::new();
            for mut slot in A::read_models() {
                let (record, docs) = persist::load(&self.0.store, slot.name()).await?;
                slot.restore(Position(record.checkpoint), docs)?;
                entries.push(Entry::new(slot, record));
            }
            let mut processes = A::process_managers();
            for process in &mut processes {
                if let Some(json) = persist::load_saga(&self.0.store, process.name()).await? {
                    process
                        .restore(&json)
                        .map_err(|e| Failure::new("CorruptData", format!("{} progress: {e}", process.name())))?;
                }
            }
            Ok(Runner { entries, processes, dead: Vec::new() })
        })
    }

    /// Marks running projections failed after a storage error, and reloads them from what was
    /// persisted on the next step (the in-memory state may be ahead of it).
    fn fail_running(&self, error: &Failure) {
        let mut runner = self.0.runner.borrow_mut();
        for entry in &mut runner.entries {
            if !entry.record.paused {
                entry.record.error = Some(error.message.clone());
            }
        }
        drop(runner);
        self.emit(Notice::Projections);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            sleep(2_000).await;
            if let Ok(runner) = this.load_runner().await {
                let mut runner = runner;
                for entry in &mut runner.entries {
                    entry.record.error = None;
                }
                *this.0.runner.borrow_mut() = runner;
                this.0.wake.notify();
                this.emit(Notice::Projections);
            }
        });
    }

    fn next_due_in(&self) -> Option<f64> {
        let runner = self.0.runner.borrow();
        let now = js_sys::Date::now();
        runner
            .entries
            .iter()
            .filter(|e| e.record.delay_ms > 0 && !e.record.paused)
            .map(|e| e.next_due - now)
            .reduce(f64::min)
    }

    /// One unit of the leader's work; whether there was any.
    async fn step(&self) -> Result<bool, Failure> {
        let head = self.0.store.head().await?.0;
        let from = {
            let runner = self.0.runner.borrow();
            runner
                .entries
                .iter()
                .filter(|e| e.record.delay_ms == 0 && e.runnable(head))
                .map(|e| e.slot.checkpoint().0)
                .min()
        };
        if let Some(from) = from {
            let events = if from < head { self.read_batch(Position(from), head).await? } else { Vec::new() };
            let behind = events.last().is_some_and(|e| e.meta.position.0 < head);
            self.apply_batch(&events, |e| e.record.delay_ms == 0 && e.runnable(head), behind).await?;
            return Ok(true);
        }
        let now = js_sys::Date::now();
        let due = {
            let runner = self.0.runner.borrow();
            runner.entries.iter().position(|e| e.record.delay_ms > 0 && e.runnable(head) && e.next_due <= now)
        };
        if let Some(index) = due {
            let (checkpoint, delay) = {
                let runner = self.0.runner.borrow();
                (runner.entries[index].slot.checkpoint(), f64::from(runner.entries[index].record.delay_ms))
            };
            let events =
                if checkpoint.0 < head { self.0.store.read_all_sealed(checkpoint, 1).await? } else { Vec::new() };
            // A delay holds every event that long after it was recorded, the first of a quiet
            // spell too, and spaces a burst out by as much.
            if let Some(event) = events.first()
                && event.meta.recorded_at.0 as f64 + delay > now
            {
                self.0.runner.borrow_mut().entries[index].next_due = event.meta.recorded_at.0 as f64 + delay;
                return self.run_saga(head).await;
            }
            let name = self.0.runner.borrow().entries[index].slot.name();
            self.apply_batch(&events, |e| e.slot.name() == name, false).await?;
            let mut runner = self.0.runner.borrow_mut();
            runner.entries[index].next_due = now + delay;
            return Ok(true);
        }
        if self.rebuild_step(now).await? {
            return Ok(true);
        }
        self.run_saga(head).await
    }

    /// One batch of a rebuild, once the live read models have nothing to do: the replacement
    /// folds the log from 0 beside the read model that goes on answering, and takes its place
    /// (documents and checkpoint written in one transaction) once it has caught up with it.
    /// Whether there was a rebuild to work on.
    async fn rebuild_step(&self, now: f64) -> Result<bool, Failure> {
        let found = self.0.runner.borrow().entries.iter().position(|e| {
            !e.record.paused && e.shadow.as_ref().is_some_and(|s| e.record.delay_ms == 0 || s.next_due <= now)
        });
        let Some(index) = found else { return Ok(false) };
        let (from, delay) = {
            let runner = self.0.runner.borrow();
            let entry = &runner.entries[index];
            (entry.shadow.as_ref().expect("found above").slot.checkpoint(), entry.record.delay_ms)
        };
        // A delayed projection rebuilds at its pace too, so that a rebuild can be watched.
        let limit = if delay > 0 { 1 } else { REBUILD_BATCH };
        let events = self.0.store.read_all_sealed(from, limit).await?;
        let decoded: Vec<Decoded<A::Event>> = events.iter().map(A::Event::decode_recorded).collect();
        let flush = {
            let mut runner = self.0.runner.borrow_mut();
            let entry = &mut runner.entries[index];
            let Some(shadow) = entry.shadow.as_mut() else { return Ok(true) };
            for (recorded, decoded) in events.iter().zip(&decoded) {
                shadow.slot.apply(recorded, decoded);
            }
            shadow.next_due = now + f64::from(delay);
            entry.record.rebuilt = shadow.slot.checkpoint().0;
            if shadow.slot.checkpoint() >= entry.slot.checkpoint() {
                let shadow = entry.shadow.take().expect("a shadow");
                let events = shadow.slot.checkpoint().0;
                entry.slot = shadow.slot;
                entry.unwritten = false;
                entry.record.checkpoint = events;
                entry.record.rebuilding = None;
                entry.record.rebuilt = 0;
                entry.record.last_rebuild =
                    Some(LastRebuild { events, ms: (js_sys::Date::now() - shadow.started).max(0.0) as u64 });
                Some(Flush {
                    name: entry.slot.name().to_string(),
                    record: entry.record.clone(),
                    changes: entry.slot.take_changes(),
                    reset: true,
                })
            } else {
                None
            }
        };
        match flush {
            Some(flush) => persist::flush(&self.0.store, &[flush], &[]).await?,
            None => {
                // The progress, for other tabs: the record alone (its checkpoint the one last
                // written with the documents, which stay as they were).
                let (name, record) = {
                    let runner = self.0.runner.borrow();
                    let entry = &runner.entries[index];
                    (entry.slot.name().to_string(), entry.record.clone())
                };
                persist::flush(&self.0.store, &[Flush { name, record, ..Flush::default() }], &[]).await?;
            }
        }
        self.projections_moved();
        Ok(true)
    }

    /// The batch after `from`: read ahead by the previous step if it could be, and when more is
    /// to come, the next one is asked for now, so the browser reads it while this one is applied.
    async fn read_batch(&self, from: Position, head: u64) -> Result<Vec<RecordedEvent>, Failure> {
        let ahead = self.0.read_ahead.borrow_mut().take();
        let events = match ahead {
            Some(ahead) if ahead.after == from => ahead.take().await?,
            _ => self.0.store.read_all_sealed(from, BATCH).await?,
        };
        if let Some(last) = events.last()
            && last.meta.position.0 < head
        {
            *self.0.read_ahead.borrow_mut() = Some(ReadAhead::start(self.0.store.clone(), last.meta.position));
            // One turn of the event loop: the read-ahead sends its request before we compute.
            let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL)).await;
        }
        Ok(events)
    }

    /// Applies a batch to the projections `take` selects. Their changes are written now, or,
    /// while they are still far behind, with a later batch: a projection catching up writes each
    /// storage record once per [`FLUSH_EVERY_MS`] instead of once per batch. A checkpoint is only
    /// ever written with the documents it belongs to.
    async fn apply_batch(
        &self,
        events: &[RecordedEvent],
        take: impl Fn(&Entry<A::Event>) -> bool,
        behind: bool,
    ) -> Result<(), Failure> {
        let decoded: Vec<Decoded<A::Event>> = events.iter().map(A::Event::decode_recorded).collect();
        let dead = events.iter().zip(&decoded).filter_map(|(recorded, decoded)| {
            let error = decoded.as_ref().err()?;
            Some(DeadLetter {
                position: recorded.meta.position.0,
                stream: recorded.meta.stream.to_string(),
                event_type: recorded.event_type.to_string(),
                schema_version: recorded.schema_version,
                code: error.code().to_string(),
                reason: error.to_string(),
                event: recorded.to_json_line().unwrap_or_default(),
            })
        });
        let now = js_sys::Date::now();
        let write_now = !behind || now - self.0.last_flush.get() >= FLUSH_EVERY_MS;
        let mut flushes = Vec::new();
        let dead: Vec<DeadLetter> = {
            let mut runner = self.0.runner.borrow_mut();
            runner.dead.extend(dead);
            let mut impossible = Vec::new();
            for entry in runner.entries.iter_mut().filter(|e| take(e)) {
                for (recorded, decoded) in events.iter().zip(&decoded) {
                    match entry.slot.apply(recorded, decoded) {
                        Applied::AlreadySeen => {}
                        Applied::Impossible(why) => {
                            entry.unwritten = true;
                            impossible.push(impossible_letter(recorded, entry.slot.name(), &why));
                        }
                        Applied::Applied | Applied::Skipped | Applied::Undecodable(_) => entry.unwritten = true,
                    }
                }
                if !write_now || !entry.unwritten {
                    continue;
                }
                entry.unwritten = false;
                entry.record.checkpoint = entry.slot.checkpoint().0;
                if entry.record.rebuilding.is_some_and(|target| entry.record.checkpoint >= target) {
                    entry.record.rebuilding = None;
                }
                flushes.push(Flush {
                    name: entry.slot.name().to_string(),
                    record: entry.record.clone(),
                    changes: entry.slot.take_changes(),
                    reset: false,
                });
            }
            runner.dead.extend(impossible);
            if write_now { std::mem::take(&mut runner.dead) } else { Vec::new() }
        };
        if !write_now {
            // This tab's queries and waiters see the projections move even before they are written.
            self.0.progress.notify();
            return Ok(());
        }
        self.0.last_flush.set(now);
        persist::flush(&self.0.store, &flushes, &dead).await?;
        if !flushes.is_empty() {
            self.projections_moved();
        }
        Ok(())
    }

    /// Lets each process manager behind the log react, a few commands at a time. Whether any
    /// had events to see.
    async fn run_saga(&self, head: u64) -> Result<bool, Failure> {
        let behind = self.0.runner.borrow().processes.iter().position(|p| p.checkpoint().0 < head);
        let Some(index) = behind else { return Ok(false) };
        // Taken out while it runs: its commands are appended by the same application.
        let mut process = self.0.runner.borrow_mut().processes.remove(index);
        let result = process.run_for(&self.0.app, SAGA_DISPATCHES).await;
        // Progress is saved as far as it got, even when a command could not be dispatched: the
        // run stopped before that event and will take it up again.
        let saved = persist::save_saga(&self.0.store, process.name(), &process.save()).await;
        {
            let mut runner = self.0.runner.borrow_mut();
            // Unless a reset gave the runner fresh process managers meanwhile.
            if !runner.processes.iter().any(|p| p.name() == process.name()) {
                let at = index.min(runner.processes.len());
                runner.processes.insert(at, process);
            }
        }
        saved?;
        match result {
            Ok(report) => {
                if report.dispatched > report.rejected {
                    self.committed(self.0.store.head().await?);
                }
                Ok(report.events_seen > 0)
            }
            Err(_) => Ok(false),
        }
    }

    /// Dead letters recorded so far.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, Failure> {
        self.ensure_open()?;
        Ok(persist::dead_letters(&self.0.store).await?)
    }

    // -----------------------------------------------------------------------------------------
    // Export, import, reset, compaction

    /// The whole log as NDJSON: one recorded event per line, then the end line that counts them
    /// and carries their digest (`exchange`).
    pub async fn export(&self, on_progress: &dyn Fn(u64, u64)) -> Result<String, Failure> {
        self.ensure_open()?;
        let head = self.0.store.head().await?;
        let mut out = String::new();
        let (mut after, mut count) = (Position::ZERO, 0u64);
        loop {
            let page = self.0.store.read_all(after, BATCH).await?;
            let Some(last) = page.last() else { break };
            after = last.meta.position;
            for event in &page {
                out.push_str(&event.to_json_line().map_err(|e| Failure::new("CorruptData", e.to_string()))?);
                out.push('\n');
            }
            count += page.len() as u64;
            on_progress(after.0, head.0);
            self.emit(Notice::Progress { task: "export".into(), done: after.0, total: head.0 });
        }
        let digest = crate::env::sha256_hex(out.as_bytes()).await?;
        out.push_str(&exchange::end_line(count, digest));
        out.push('\n');
        Ok(out)
    }

    /// Appends the events of an export after the current head, commit by commit, in batches.
    /// Nothing is written until all of it passed: the end line's count and digest, every event's
    /// form, payload and effect on its aggregate (`Application::check_log`), fresh event and command
    /// ids. Then each batch is whole or absent.
    ///
    /// Resumable: an import that stopped part way (quota, a closed tab) left a prefix of whole
    /// commits, and importing the same log again skips that prefix, found by the commits' ids.
    /// So importing a log twice appends it once.
    pub async fn import(&self, ndjson: &str, on_progress: &dyn Fn(u64, u64)) -> Result<ImportReport, Failure> {
        self.ensure_open()?;
        let log = exchange::parse(ndjson)?;
        if crate::env::sha256_hex(&ndjson.as_bytes()[..log.body_len]).await? != log.sha256 {
            return Err(exchange::tampered());
        }
        let mut commits = exchange::commits_from_events(&log.events)?;
        let landed = self.imported_prefix(&commits).await?;
        let skipped: usize = commits[..landed].iter().map(Commit::event_count).sum();
        let (prefix, rest) = log.events.split_at(skipped);
        let streams: Vec<StreamId> = {
            let mut seen = std::collections::HashSet::new();
            rest.iter().map(|e| &e.meta.stream).filter(|s| seen.insert(*s)).cloned().collect()
        };
        let held: HashMap<StreamId, u64> =
            streams.iter().cloned().zip(self.0.store.stream_versions(&streams).await?).collect();
        A::check_log(prefix, rest, &|stream| held.get(stream).copied().unwrap_or(0)).map_err(|refused| {
            let line = log.lines.get(refused.event - 1).copied().unwrap_or(0);
            Failure::new("InvalidImport", format!("line {line}: {}", refused.message))
        })?;
        let rest = commits.split_off(landed);
        self.check_ids_are_new(&rest, &log.lines[skipped..]).await?;
        let report = self.append_commits(rest, "import", on_progress).await?;
        Ok(ImportReport { skipped: skipped as u64, ..report })
    }

    /// Refuses commits whose command ids or event ids this log already holds (outside the prefix
    /// an earlier import of the same log landed): such a log is not a continuation of this one.
    async fn check_ids_are_new(&self, commits: &[Commit], lines: &[usize]) -> Result<(), Failure> {
        if commits.is_empty() || self.0.store.head().await?.0 == 0 {
            return Ok(());
        }
        let ids: Vec<&CommandId> = commits.iter().map(|c| &c.command_id).collect();
        let held = self.0.store.holds_commands(&ids).await?;
        if let Some(index) = held.iter().position(|&h| h) {
            let line: usize = commits[..index].iter().map(Commit::event_count).sum();
            return Err(Failure::new(
                "InvalidImport",
                format!(
                    "line {}: command {} already committed other events in this log",
                    lines.get(line).copied().unwrap_or(0),
                    ids[index]
                ),
            ));
        }
        let new: std::collections::HashSet<String> = commits
            .iter()
            .flat_map(|c| c.writes.iter().flat_map(|w| w.events.iter().map(|e| e.event_id.to_string())))
            .collect();
        let mut after = Position::ZERO;
        loop {
            let page = self.0.store.read_all_sealed(after, BATCH).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = last.meta.position;
            if let Some(event) = page.iter().find(|e| new.contains(&e.meta.event_id.to_string())) {
                return Err(Failure::new(
                    "InvalidImport",
                    format!("event id {} is already in this log, at {}", event.meta.event_id, event.meta.position),
                ));
            }
        }
    }

    /// How many leading commits of `commits` the log already holds. Imports land in order, so
    /// the commits present form a prefix: found by bisection, a handful of reads.
    async fn imported_prefix(&self, commits: &[Commit]) -> Result<usize, Failure> {
        let store = &self.0.store;
        let present = |i: usize| store.find_commit(&commits[i].command_id);
        if commits.is_empty() || store.head().await?.0 == 0 || present(0).await?.is_none() {
            return Ok(0);
        }
        let (mut found, mut missing) = (0, commits.len());
        while missing - found > 1 {
            let middle = found + (missing - found) / 2;
            if present(middle).await?.is_some() { found = middle } else { missing = middle }
        }
        // The commits taken as imported must be these commits, not others that share their ids:
        // the ends of the prefix are compared event by event.
        for end in [0, found] {
            let receipt = present(end).await?.expect("found above");
            let stored = receipt.events.iter().map(|e| e.meta.event_id);
            if !stored.eq(commits[end].writes.iter().flat_map(|w| w.events.iter().map(|e| e.event_id))) {
                return Err(Failure::new(
                    "InvalidImport",
                    format!("the log already holds command {} with other events", commits[end].command_id),
                ));
            }
        }
        Ok(missing)
    }

    /// Appends commits in batches of about [`IMPORT_BATCH`] events, each batch one transaction.
    async fn append_commits(
        &self,
        commits: Vec<Commit>,
        task: &str,
        on_progress: &dyn Fn(u64, u64),
    ) -> Result<ImportReport, Failure> {
        let total: u64 = commits.iter().map(|c| c.event_count() as u64).sum();
        let commit_count = commits.len() as u64;
        let (mut done, mut batch, mut batch_events) = (0u64, Vec::new(), 0usize);
        let mut head = self.0.store.head().await?;
        let mut commits = commits.into_iter().peekable();
        while let Some(commit) = commits.next() {
            batch_events += commit.event_count();
            batch.push(commit);
            if batch_events >= IMPORT_BATCH || commits.peek().is_none() {
                let receipts = self.0.store.append_batch(std::mem::take(&mut batch)).await.map_err(|e| {
                    self.0.app.clear_caches();
                    interrupted(&e, task, done, total, head)
                })?;
                done += batch_events as u64;
                batch_events = 0;
                if let Some(last) = receipts.last() {
                    head = last.last_position();
                }
                on_progress(done, total);
                self.emit(Notice::Progress { task: task.into(), done, total });
                // Let the page draw the progress and the leader catch up between batches.
                self.committed(head);
                sleep(0).await;
            }
        }
        self.0.app.clear_caches();
        Ok(ImportReport { events: total, commits: commit_count, skipped: 0, head: head.0 })
    }

    /// Appends whole recorded events (of a log decided elsewhere, such as on a scratch log) as
    /// their commits, in batches of about [`IMPORT_BATCH`] events, each batch one transaction,
    /// telling `task`'s progress. The bulk path of imports and generated traffic.
    pub async fn append_events(
        &self,
        events: &[RecordedEvent],
        task: &str,
        on_progress: &dyn Fn(u64, u64),
    ) -> Result<ImportReport, Failure> {
        self.ensure_open()?;
        let commits = exchange::commits_from_events(events)?;
        self.append_commits(commits, task, on_progress).await
    }

    /// The application over a log in memory that nothing else sees, with that log: for deciding
    /// traffic fast, outside any transaction, before appending it with [`Runtime::append_events`].
    #[cfg(feature = "scratch")]
    pub fn scratch(&self) -> (A, Rc<eventline_core::memory::InMemoryStore>) {
        let log = Rc::new(eventline_core::memory::InMemoryStore::new());
        (A::new(AppStore::Scratch(log.clone()), BrowserEnv, SnapshotPolicy::Never), log)
    }

    /// Tells subscribers that long task `task` moved on.
    pub fn tell_progress(&self, task: &str, done: u64, total: u64) {
        self.emit(Notice::Progress { task: task.into(), done, total });
    }

    /// Empties the log, the read models and everything else of this database, in every tab.
    pub async fn reset(&self) -> Result<(), Failure> {
        self.ensure_open()?;
        self.0.store.clear_all().await?;
        self.0.read_ahead.borrow_mut().take();
        self.0.app.clear_caches();
        self.0.follower.borrow_mut().clear();
        if self.is_leader() {
            *self.0.runner.borrow_mut() = fresh_runner();
        }
        self.broadcast(&Message::of("reset"));
        self.0.wake.notify();
        self.0.progress.notify();
        self.emit(Notice::Reset);
        Ok(())
    }
}

/// Why a bulk append stopped after `done` of `total` events, with how far it got. Storage can
/// fail part way (a full quota, a closed tab): the batches before stay, and the same log imported
/// again resumes. Anything else means another tab wrote the same streams meanwhile.
fn interrupted(error: &AppendError, task: &str, done: u64, total: u64, head: Position) -> Failure {
    let details = RawValue::from_string(format!(r#"{{"imported":{done},"total":{total},"head":{}}}"#, head.0)).ok();
    let failure = match error {
        AppendError::Store(store) => {
            let resumable =
                matches!(store, StoreError::QuotaExceeded { .. } | StoreError::Backend { .. } | StoreError::Closed);
            let again = if task == "import" && resumable { "; import the same log again to continue" } else { "" };
            Failure::new(store.code(), format!("{store}: {done} of {total} events were appended{again}"))
        }
        other => Failure::new(
            "InvalidImport",
            format!("{other}: another tab wrote to the same streams meanwhile; {done} of {total} events were appended"),
        ),
    };
    Failure { details, ..failure }
}

/// The dead letter of an event read model `name` could not apply: the log says something no
/// decision made (a withdrawal past the balance, say), so the read model passed over it.
fn impossible_letter(recorded: &RecordedEvent, name: &str, why: &Impossible) -> DeadLetter {
    DeadLetter {
        position: recorded.meta.position.0,
        stream: recorded.meta.stream.to_string(),
        event_type: recorded.event_type.to_string(),
        schema_version: recorded.schema_version,
        code: "CorruptData".into(),
        reason: format!("{name} cannot apply it: {why}"),
        event: recorded.to_json_line().unwrap_or_default(),
    }
}

/// Refuses a read model name the application does not have.
fn check_name(names: &[&str], name: &str) -> Result<(), Failure> {
    if names.contains(&name) {
        Ok(())
    } else {
        Err(Failure::new("UnknownReadModel", format!("no read model {name:?}; there are {}", names.join(", "))))
    }
}

/// An empty slot for the application's read model `name`, if there is one.
fn slot_named<A: Application>(name: &str) -> Option<Box<dyn Slot<A::Event>>> {
    A::read_models().into_iter().find(|s| s.name() == name)
}

/// Every read model at a point in history.
pub struct History<E> {
    /// The last position folded.
    pub position: u64,
    slots: Vec<Box<dyn Slot<E>>>,
    names: Vec<&'static str>,
}

impl<E> History<E> {
    /// `args` and the answer are JSON text, as for [`Runtime::query`].
    pub fn query(&self, name: &str, args: &str) -> Result<String, Failure> {
        check_name(&self.names, name)?;
        let slot = self.slots.iter().find(|s| s.name() == name).expect("every read model has a slot");
        Ok(slot.query(args)?)
    }
}

/// A document an event changed: JSON before and after (`None` where it did not exist).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentChange {
    pub read_model: String,
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One event, and what it did.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspection {
    pub event: RecordedEvent,
    /// Why no read model could read it, if none could.
    pub decode_error: Option<String>,
    /// The event's aggregate before and after it (JSON text), when its stream is a known
    /// aggregate.
    pub state_before: Option<String>,
    pub state_after: Option<String>,
    pub changes: Vec<DocumentChange>,
}

/// Where a read model stands after `wait_for`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QueryPosition {
    pub position: u64,
}

fn fresh_runner<A: Application>() -> Runner<A> {
    let entries = A::read_models().into_iter().map(|slot| Entry::new(slot, ProjectionRecord::default())).collect();
    Runner { entries, processes: A::process_managers(), dead: Vec::new() }
}
