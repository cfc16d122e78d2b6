//! What the page's components share: the runtime, and signals for what they show.

use std::collections::VecDeque;
use std::pin::Pin;

use eventline_demo::web::DemoRuntime as Runtime;
use eventline_web::runtime::{Notice, ProjectionStatus, Rejected, SyncStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Lag samples kept per projection: one every half second, one minute.
pub const LAG_SAMPLES: usize = 120;

/// Each read model's panel title: the page's name for it, in the projections column too.
pub const TITLES: [(&str, &str); 7] = [
    ("balances", "Balances"),
    ("accountSummaries", "Account summaries"),
    ("topAccounts", "Top accounts"),
    ("orderBoard", "Order board"),
    ("customerOrders", "Customer order history"),
    ("transfers", "Transfers and sagas"),
    ("auditLog", "Audit log"),
];

pub fn title(name: &str) -> &'static str {
    TITLES.iter().find(|(n, _)| *n == name).map_or("", |(_, t)| t)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub task: String,
    pub done: u64,
    pub total: u64,
}

/// Signals of the whole page. Copy: every component gets its own handle.
#[derive(Clone, Copy)]
pub struct Demo {
    runtime: StoredValue<Option<Runtime>, LocalStorage>,
    pub ready: RwSignal<bool>,
    pub failure: RwSignal<Option<String>>,
    /// The last position this tab knows of.
    pub head: RwSignal<u64>,
    /// Whether this tab runs the projections.
    pub leader: RwSignal<bool>,
    pub statuses: RwSignal<Vec<ProjectionStatus>>,
    /// Lag in events per projection, oldest first.
    pub lag_history: RwSignal<Vec<(String, VecDeque<u64>)>>,
    /// Wait for the read models before showing the result of one's own command.
    pub read_your_writes: RwSignal<bool>,
    /// The query side's point in history; `None` is live.
    pub as_of: RwSignal<Option<u64>>,
    /// Bumped when the query side should look again.
    pub refresh: RwSignal<u64>,
    /// Bumped when someone is forgotten, in any tab: views folded from the log (the past, the
    /// inspector) read it again, so no one forgotten stays on screen.
    pub forgotten: RwSignal<u64>,
    pub progress: RwSignal<Option<Progress>>,
    /// The event selected in the timeline.
    pub selected: RwSignal<Option<u64>>,
    /// Sync with a server: off until started in the sync panel.
    pub sync: RwSignal<SyncStatus>,
    /// Commands rejected after sync.
    pub rejected: RwSignal<Vec<Rejected>>,
    refresh_pending: StoredValue<bool>,
}

impl Demo {
    pub fn new() -> Demo {
        Demo {
            runtime: StoredValue::new_local(None),
            ready: RwSignal::new(false),
            failure: RwSignal::new(None),
            head: RwSignal::new(0),
            leader: RwSignal::new(false),
            statuses: RwSignal::new(Vec::new()),
            lag_history: RwSignal::new(Vec::new()),
            read_your_writes: RwSignal::new(false),
            as_of: RwSignal::new(None),
            refresh: RwSignal::new(0),
            forgotten: RwSignal::new(0),
            progress: RwSignal::new(None),
            selected: RwSignal::new(None),
            sync: RwSignal::new(SyncStatus::default()),
            rejected: RwSignal::new(Vec::new()),
            refresh_pending: StoredValue::new(false),
        }
    }

    pub fn runtime(&self) -> Option<Runtime> {
        self.runtime.with_value(Clone::clone)
    }

    /// Opens the demo's database and starts listening to it.
    pub fn open(self, database: &'static str) {
        spawn_local(async move {
            match Runtime::open(database).await {
                Ok(runtime) => {
                    let demo = self;
                    runtime.subscribe(move |notice| demo.hear(notice));
                    if let Ok(head) = runtime.head().await {
                        self.head.set(head.0);
                    }
                    self.runtime.set_value(Some(runtime));
                    self.ready.set(true);
                    self.sample();
                    let _ = set_interval_with_handle(move || self.sample(), std::time::Duration::from_millis(500));
                }
                Err(failure) => self.failure.set(Some(format!("{}: {}", failure.code, failure.message))),
            }
        });
    }

    fn hear(self, notice: &Notice) {
        match notice {
            Notice::Committed { position, .. } => {
                self.head.update(|head| *head = (*head).max(*position));
                self.refresh_soon();
            }
            Notice::Projections => self.refresh_soon(),
            Notice::Forgotten { .. } => {
                self.forgotten.update(|n| *n += 1);
                self.refresh_soon();
            }
            Notice::Leadership { leader } => self.leader.set(*leader),
            Notice::Reset => {
                self.head.set(0);
                self.as_of.set(None);
                self.selected.set(None);
                self.lag_history.set(Vec::new());
                self.refresh_soon();
            }
            Notice::Progress { task, done, total } => {
                let progress = Progress { task: task.clone(), done: *done, total: *total };
                self.progress.set((done < total).then_some(progress));
            }
            Notice::Rewound { .. } => {
                self.selected.set(None);
                self.refresh_soon();
            }
            Notice::Sync => {
                if let Some(runtime) = self.runtime() {
                    self.sync.set(runtime.sync_status());
                }
                self.refresh_soon();
            }
            Notice::Rejected { .. } => self.load_rejected(),
        }
    }

    /// Reads the commands rejected after sync.
    pub fn load_rejected(self) {
        let Some(runtime) = self.runtime() else { return };
        spawn_local(async move {
            if let Ok(rejected) = runtime.rejected_commands().await {
                self.rejected.set(rejected);
            }
        });
    }

    /// Whether position `at` is still only this device's: sync runs and has not confirmed it.
    pub fn is_local(self, at: u64) -> bool {
        self.sync.with(|s| !matches!(s.state, "off" | "") && at > s.confirmed)
    }

    /// Asks the query side to look again, at most every 150 ms however many notices arrive.
    pub fn refresh_soon(self) {
        if self.refresh_pending.get_value() {
            return;
        }
        self.refresh_pending.set_value(true);
        set_timeout(
            move || {
                self.refresh_pending.set_value(false);
                self.refresh.update(|n| *n += 1);
                // The statuses too (a rebuild's progress, a pause): the badges and the
                // projections column move with the panels, not only at the next sample.
                if let Some(runtime) = self.runtime() {
                    spawn_local(async move {
                        if let Ok(statuses) = runtime.statuses().await {
                            self.statuses.set(statuses);
                        }
                    });
                }
            },
            std::time::Duration::from_millis(150),
        );
    }

    /// Reads the projections' statuses and records their lag.
    fn sample(self) {
        let Some(runtime) = self.runtime() else { return };
        spawn_local(async move {
            let Ok(statuses) = runtime.statuses().await else { return };
            if let Some(head) = statuses.first().map(|s| s.head) {
                self.head.update(|h| *h = (*h).max(head));
            }
            self.leader.set(runtime.is_leader());
            self.lag_history.update(|history| {
                for status in &statuses {
                    let at = match history.iter().position(|(name, _)| *name == status.name) {
                        Some(at) => at,
                        None => {
                            history.push((status.name.clone(), VecDeque::new()));
                            history.len() - 1
                        }
                    };
                    let samples = &mut history[at].1;
                    samples.push_back(status.lag.events);
                    while samples.len() > LAG_SAMPLES {
                        samples.pop_front();
                    }
                }
            });
            self.statuses.set(statuses);
        });
    }
}

/// A value loaded asynchronously, and loaded again whenever a signal that `load` reads changes.
/// This is `LocalResource` without the Suspense and transition bookkeeping the page does not
/// use (about 14 KB of the release .wasm, gzipped). The newest load wins; until it lands the
/// previous value stays, so panels do not flicker while they refresh.
pub fn loaded<T, F>(load: impl Fn() -> F + 'static) -> ReadSignal<Option<T>, LocalStorage>
where
    T: 'static,
    F: Future<Output = Option<T>> + 'static,
{
    let value = RwSignal::new_local(None);
    reload(Box::new(move || {
        let future = load();
        Box::pin(async move {
            let result = future.await;
            Box::new(move || {
                value.try_set(result);
            }) as Box<dyn FnOnce()>
        })
    }));
    value.read_only()
}

/// A load that ends in what to do with its result.
type Load = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Box<dyn FnOnce()>>>>>;

/// The effect and task behind every [`loaded`], compiled once rather than once per use (1.8 KB
/// of the .wasm, gzipped): runs `load` now and whenever what it read changes; the newest lands.
fn reload(load: Load) {
    let latest = StoredValue::new(0u64);
    Effect::new(move || {
        let future = load();
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        spawn_local(async move {
            let land = future.await;
            if latest.try_get_value() == Some(ticket) {
                land();
            }
        });
    });
}
