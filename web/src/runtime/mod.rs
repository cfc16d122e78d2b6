//! The runtime of one database of an application in one tab: the command side, the
//! projections and the process managers, and the tab's place among the other tabs of the same
//! origin. `Runtime<A>` knows nothing of the domain but what `A: Application` declares.
//!
//! - Commands go through the application (`Application::execute`) over the IndexedDB store
//!   (`commands`). After a commit the runtime tells the other tabs (BroadcastChannel) and wakes
//!   its runner.
//! - The leader tab (holder of the Web Lock) runs the projections (`runner`): it reads the log
//!   after the lowest checkpoint in batches, decodes each event once, applies it to every
//!   projection that has not seen it, and writes all changed documents, checkpoints and dead
//!   letters in one transaction. Paused projections wait; delayed ones take one event per delay;
//!   a rebuild folds a replacement beside the live read model. It then lets each process manager
//!   react and saves its progress.
//! - Other tabs answer queries from the persisted read models (`queries`), reloading one when
//!   its persisted checkpoint moves, and send projection controls to the leader.
//! - `log`: export, checked import, bulk appends and reset; `signal`: the tab's own waiting.
//! - Invariant: the log is the only source of truth. Messages between tabs only say "look again";
//!   a lost message costs latency (every waiter also polls), never correctness.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use eventline_core::app::{Application, ApplicationError, Process, check_registry, forgotten_in};
use eventline_core::command::{CommandRequest, InvalidCommand};
use eventline_core::event::Event;
use eventline_core::handler::{CommandMeta, Executed};
use eventline_core::ids::{CausationId, CommandId, CorrelationId, Position, StreamId, StreamVersion};
use eventline_core::projection::{Impossible, Lag};
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
use crate::timings;

/// Events per batch: a flush writes each changed storage record once per batch, so catching up
/// in big batches writes each record a few times instead of hundreds.
pub const BATCH: usize = 32_768;
/// Events of the first batch when nothing was read ahead: a catch-up waits for it before it
/// can apply anything, and reads the next batch while it applies this one.
const FIRST_BATCH: usize = 4096;
/// Events a batch is applied in, each slice through every read model in turn: a whole batch is
/// larger than the processor's cache, a slice stays in it from one read model to the next.
const APPLY_SLICE: usize = 4096;
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

mod commands;
mod log;
mod queries;
mod runner;
mod signal;
#[cfg(feature = "sync")]
mod sync;
#[cfg(feature = "sync")]
mod sync_keys;

pub use queries::{DocumentChange, History, Inspection, QueryPosition};
use runner::{Runner, fresh_runner};
pub use signal::Signal;
use signal::{ReadAhead, Turns};
#[cfg(feature = "sync")]
pub use sync::{Pending, Rejected, SyncOptions, SyncStatus};

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
    /// The log after `position` was replaced: sync put another device's commits before this
    /// one's pending ones. Read models fold it again from the start.
    Rewound { position: u64 },
    /// Sync's status changed (`Runtime::sync_status`).
    Sync,
    /// A command decided again after sync was refused by the domain (`Runtime::rejected_commands`).
    Rejected { command_id: String, code: String, message: String },
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
    /// The log's head when last read by the runner (0: read it): heads only grow, except when
    /// a log is reset, which a read that finds nothing below it shows (`step`).
    known_head: Cell<u64>,
    /// Counts the times what was folded from the log was thrown away (a reset, a rebase): a
    /// batch read before cannot be applied after.
    epoch: Cell<u64>,
    #[cfg(feature = "sync")]
    sync: sync::Syncing,
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
        let waiting = timings::mark();
        let store = Rc::new(IdbStore::open(name).await?);
        timings::add_waiting("opening the database", waiting);
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
            known_head: Cell::new(0),
            epoch: Cell::new(0),
            #[cfg(feature = "sync")]
            sync: sync::Syncing::default(),
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
        let asked = timings::mark();
        let leadership = Leadership::request(
            &lock_name(name),
            take_over,
            move || {
                timings::add_waiting("waiting for leadership", asked);
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
                self.forget_folds();
                self.emit(Notice::Reset);
            }
            "rewound" => {
                self.forget_folds();
                self.emit(Notice::Rewound { position: message.position.unwrap_or(0) });
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

    /// Throws away what this tab folded from the log, after the log was emptied or its tail
    /// replaced: caches, the head, read-ahead, loaded read models, and (leading) the runner's
    /// read models, which start over from the log.
    fn forget_folds(&self) {
        self.0.epoch.set(self.0.epoch.get() + 1);
        self.0.app.clear_caches();
        self.0.known_head.set(0);
        self.0.read_ahead.borrow_mut().take();
        self.0.follower.borrow_mut().clear();
        if self.is_leader() {
            *self.0.runner.borrow_mut() = fresh_runner();
        }
        self.0.wake.notify();
        self.0.progress.notify();
    }

    fn committed(&self, position: Position) {
        self.broadcast(&Message { position: Some(position.0), ..Message::of("committed") });
        self.0.wake.notify();
        #[cfg(feature = "sync")]
        self.wake_sync();
        self.emit(Notice::Committed { position: position.0, local: true });
    }
}
