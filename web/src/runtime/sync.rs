//! Sync of this database's log with a log on a sync server (feature `sync`; docs/SYNC.md).
//!
//! The local log is the **confirmed prefix** (positions up to `confirmed`: the server's commits
//! in the server's order) followed by the **pending tail** (this device's commits the server
//! has not stored yet). One tab syncs: the one that runs the projections.
//!
//! - A round pulls first. A pulled commit that is the tail's first (same command, same events)
//!   is confirmed where it stands. Any other is another device's: it is checked as an import is
//!   (the application's checker, kept between pulls), and the server's commits are put
//!   after the confirmed prefix and the tail after them, in one transaction
//!   (`IdbStore::rebase`). A pending commit whose streams the server's commits wrote is
//!   decided again from its command's text (kept in the outbox); if the domain now refuses it,
//!   it is reported as rejected after sync. With no tail, pulled commits are simply appended.
//! - Then it pushes the tail, many commits to an atomic batch, each stream expecting the last
//!   server sequence this device saw on it; the next pull confirms what was stored.
//! - Invariant: a cut of the tail empties every read model, checkpoint, saga progress and
//!   snapshot in its transaction, and this tab's runner starts over (`Runtime::forget_folds`):
//!   nothing folded from a tail that moved survives it.
//! - Invariant: nothing pulled is appended unchecked: `core::sync::read_commit` on every part,
//!   then the application's rules, then the store's expected versions. A refusal is a dead
//!   letter (`dead:{sequence}` in `meta`) and sync goes on past it.

use std::collections::{HashMap, HashSet, VecDeque};

use eventline_core::import::LogChecker;
use eventline_core::store::CommitReceipt;
use eventline_core::sync::{self, Answer, Pulled};

use super::*;
use crate::persist::meta;
use crate::sync::LogClient;
use crate::timings;

/// Where and as whom to sync, as JSON: `{url, log, user, password}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncOptions {
    /// The server's WebSocket, `ws://…` or `wss://…`.
    pub url: String,
    pub log: String,
    pub user: String,
    pub password: String,
}

/// Sync's progress, kept in `meta` under `sync`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SyncState {
    /// The log on the server this database syncs with (a database syncs with one log).
    log: String,
    /// The last position of the confirmed prefix.
    confirmed: u64,
    /// The server's sequence read up to.
    server: u64,
    /// Where the last server sequence seen on each subject was kept before it moved to `seen:`
    /// entries of its own (a record rewritten whole on every round grew with the log's
    /// streams); taken from here once, never written here again.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    seen: HashMap<String, u64>,
}

/// A pending command cut from the log by a rebase, to be decided again: kept in `meta` under
/// `again:{command id}` as `{correlation id}\n{causation id}` (ids hold no line breaks), written
/// with the cut and deleted with the decision (its commit, or its rejection), so that a round
/// that fails, or a page that closes, between the two loses nothing: the next run decides it.
const AGAIN: &str = "again:";

/// How sync is doing, for a status line.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// `off`, `connecting`, `online`, `offline` (unreachable; retried), `refused` (credentials or
    /// permissions; retried slowly) or `standby` (another tab of this database syncs).
    pub state: &'static str,
    pub log: Option<String>,
    /// The last position of the confirmed prefix.
    pub confirmed: u64,
    /// The server's sequence this device has read up to.
    pub server_sequence: u64,
    /// Events waiting to be confirmed (the pending tail's length).
    pub pending: u64,
    /// Commits decided again after another device wrote their streams first, since the start.
    pub redecided: u64,
    /// Commands rejected after sync, held in `rejectedCommands()`.
    pub rejected: u64,
    /// Messages on the log's subjects that were refused, since the start.
    pub dead_letters: u64,
    /// Why the last round failed, if it did.
    pub error: Option<Failure>,
}

/// A command the domain refused when it was decided again after sync.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    pub command_id: String,
    /// The command as it was sent, when this device kept it.
    pub command: Option<String>,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<RawValue>>,
}

/// A commit waiting for the server.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    pub command_id: String,
    /// Its last position in the local log.
    pub position: u64,
    pub streams: Vec<String>,
    pub events: u64,
}

/// Sync's part of the runtime.
#[derive(Default)]
pub(super) struct Syncing {
    options: RefCell<Option<SyncOptions>>,
    status: RefCell<SyncStatus>,
    /// Which start the loop runs for: a stop or a new start ends the loop of an earlier one.
    run: Cell<u64>,
    wake: Signal,
    /// Whether commands keep their text in the outbox (sync was started in this page).
    outbox: Cell<bool>,
    /// Whether a round runs: a loop of an earlier start may still be in one when a new start's
    /// loop begins, and two rounds at once would cut the same tail twice.
    in_round: Cell<bool>,
    /// The checker of logs from elsewhere, folded up to the confirmed prefix, kept between pulls.
    checker: RefCell<Option<Kept>>,
    /// What each subject was last seen at, once read.
    seen: RefCell<Option<Seen>>,
    /// Subjects whose keys the server was seen to hold this session (`sync_keys.rs`).
    pub(super) shared: RefCell<HashSet<String>>,
}

/// The last server sequence seen on each subject, as `seen:{subject}` in `meta` holds it, read
/// once while the log stays in `epoch` and sync's saved state stays at server sequence `server`
/// (another tab leading sync meanwhile moves it, and what this tab held is stale).
struct Seen {
    epoch: u64,
    server: u64,
    map: HashMap<String, u64>,
}

/// A checker kept between pulls: folded up to position `confirmed` of the log as it was in
/// `epoch` (a reset or a rebase starts a new one).
struct Kept {
    epoch: u64,
    confirmed: u64,
    checker: Box<dyn LogChecker>,
}

/// What a pull can put in the log: the commits admitted, dead letters for the others, and the
/// checker that folded the admitted ones.
struct Admitted {
    commits: Vec<Commit>,
    dead: Vec<(String, String)>,
    checker: Box<dyn LogChecker>,
}

const STATE: &str = "sync";
/// The `meta` prefix of the last server sequence seen on a subject.
const SEEN: &str = "seen:";
/// Events read at a time when a round reads only the start of the tail.
const TAIL_PAGE: usize = 4096;
/// How long an idle device waits before it pulls again without being told of a commit.
const IDLE_MS: u32 = 250;
/// How long before connecting again after the server was unreachable, or refused us.
const OFFLINE_MS: u32 = 1_000;
const REFUSED_MS: u32 = 5_000;

fn outbox_key(command: &str) -> String {
    format!("outbox:{command}")
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::new("CorruptData", format!("{what}: {e}"))
}

/// Whether a pulled commit is this pending one: the same command and the same events.
fn same(pending: &CommitReceipt, pulled: &Commit) -> bool {
    pending.command_id == pulled.command_id
        && pending.events.len() == pulled.event_count()
        && pending
            .events
            .iter()
            .map(|e| e.meta.event_id)
            .eq(pulled.writes.iter().flat_map(|w| w.events.iter().map(|e| e.event_id)))
}

fn streams_of(commit: &CommitReceipt) -> impl Iterator<Item = &StreamId> {
    commit.events.iter().map(|e| &e.meta.stream)
}

impl<A> Runtime<A>
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
    /// Starts syncing this database with log `options.log` on a sync server, in this tab while
    /// it runs the projections (another tab of the database that was started too takes over
    /// when it leads). Commands decided from now on keep their text until confirmed, so that a
    /// conflict can decide them again. A database syncs with one log: another is refused
    /// (`SyncLogMismatch`).
    pub async fn start_sync(&self, options: SyncOptions) -> Result<(), Failure> {
        self.ensure_open()?;
        sync::check_log(&options.log).map_err(|e| Failure::new(e.code, e.reason))?;
        let state = self.sync_state().await?;
        if !state.log.is_empty() && state.log != options.log {
            return Err(Failure::new(
                "SyncLogMismatch",
                format!("this database syncs with log {}, not {}", state.log, options.log),
            ));
        }
        let syncing = &self.0.sync;
        syncing.outbox.set(true);
        *syncing.options.borrow_mut() = Some(options.clone());
        let run = syncing.run.get() + 1;
        syncing.run.set(run);
        self.set_status(|s| {
            s.state = "connecting";
            s.log = Some(options.log.clone());
        });
        wasm_bindgen_futures::spawn_local(self.clone().sync_loop(run));
        Ok(())
    }

    /// Stops syncing (the connection is closed; commands go on committing locally, pending).
    pub fn stop_sync(&self) {
        let syncing = &self.0.sync;
        syncing.run.set(syncing.run.get() + 1);
        syncing.options.borrow_mut().take();
        syncing.wake.notify();
        self.set_status(|s| s.state = "off");
    }

    pub fn sync_status(&self) -> SyncStatus {
        self.0.sync.status.borrow().clone()
    }

    /// The commits waiting for the server, in log order.
    pub async fn pending_commits(&self) -> Result<Vec<Pending>, Failure> {
        self.ensure_open()?;
        let state = self.sync_state().await?;
        let head = self.0.store.head().await?;
        Ok(self
            .tail(state.confirmed, head.0, None)
            .await?
            .iter()
            .map(|c| {
                let mut streams: Vec<String> = Vec::new();
                for stream in streams_of(c) {
                    if !streams.iter().any(|s| s == stream.as_str()) {
                        streams.push(stream.to_string());
                    }
                }
                Pending {
                    command_id: c.command_id.to_string(),
                    position: c.last_position().0,
                    streams,
                    events: c.events.len() as u64,
                }
            })
            .collect())
    }

    /// The commands rejected after sync: decided again once another device's commits came
    /// first, and refused by the domain then.
    pub async fn rejected_commands(&self) -> Result<Vec<Rejected>, Failure> {
        self.ensure_open()?;
        meta::with_prefix(&self.0.store, "rejected:")
            .await?
            .into_iter()
            .map(|(_, json)| eventline_core::json::from_str(&json).map_err(|e| corrupt("a rejected command", e)))
            .collect()
    }

    /// What the server held that this device refused (JSON: `sequence`, `code`, `reason`), in
    /// the server's order.
    pub async fn sync_dead_letters(&self) -> Result<Vec<Value>, Failure> {
        self.ensure_open()?;
        meta::with_prefix(&self.0.store, "dead:")
            .await?
            .into_iter()
            .map(|(_, json)| serde_json::from_str(&json).map_err(|e| corrupt("a dead letter", e)))
            .collect()
    }

    /// Remembers a command's text until its commit is confirmed, when sync was started here.
    pub(super) async fn keep_for_sync(&self, command_id: &CommandId, text: &str) -> Result<(), Failure> {
        if self.0.sync.outbox.get() {
            meta::write(&self.0.store, &[(outbox_key(command_id.as_str()), text.to_string())], &[]).await?;
        }
        Ok(())
    }

    async fn pending_count(&self) -> Result<u64, Failure> {
        let state = self.sync_state().await?;
        let head = self.0.store.head().await?;
        Ok(head.0.saturating_sub(state.confirmed))
    }

    /// A commit here: push it now rather than at the next idle look.
    pub(super) fn wake_sync(&self) {
        self.0.sync.wake.notify();
    }

    fn set_status(&self, change: impl FnOnce(&mut SyncStatus)) {
        let before = self.0.sync.status.borrow().clone();
        change(&mut self.0.sync.status.borrow_mut());
        if *self.0.sync.status.borrow() != before {
            self.emit(Notice::Sync);
        }
    }

    async fn sync_state(&self) -> Result<SyncState, Failure> {
        match meta::get_text(&self.0.store, STATE).await? {
            Some(json) => eventline_core::json::from_str(&json).map_err(|e| corrupt("sync's state", e)),
            None => Ok(SyncState::default()),
        }
    }

    /// Reads what each subject was last seen at, unless it is held already (a reset, here or in
    /// another tab, starts a new epoch; a round led by another tab moves the saved server
    /// sequence); takes in what an older record of `state` kept.
    async fn load_seen(&self, state: &mut SyncState) -> Result<(), Failure> {
        let epoch = self.0.epoch.get();
        let held = |s: &Seen| s.epoch == epoch && s.server == state.server;
        if state.seen.is_empty() && self.0.sync.seen.borrow().as_ref().is_some_and(held) {
            return Ok(());
        }
        let mut map: HashMap<String, u64> = HashMap::new();
        for (key, value) in meta::with_prefix(&self.0.store, SEEN).await? {
            let seq = value.parse().map_err(|e| corrupt("a subject's last sequence", e))?;
            map.insert(key[SEEN.len()..].to_string(), seq);
        }
        if !state.seen.is_empty() {
            let older: Vec<(String, u64)> = state.seen.drain().collect();
            self.save(state, &older, Vec::new(), &[]).await?;
            for (subject, seq) in older {
                let last = map.entry(subject).or_default();
                *last = (*last).max(seq);
            }
        }
        *self.0.sync.seen.borrow_mut() = Some(Seen { epoch, server: state.server, map });
        Ok(())
    }

    /// The last server sequence seen on `subject` (0: never).
    fn seen(&self, subject: &str) -> u64 {
        self.0.sync.seen.borrow().as_ref().and_then(|s| s.map.get(subject).copied()).unwrap_or(0)
    }

    /// Saves sync's progress in one write: `state`, the subjects `seen` at new sequences, `more`
    /// puts, and `done` deleted; what is held of `seen` follows once it is written.
    async fn save(
        &self,
        state: &SyncState,
        seen: &[(String, u64)],
        more: Vec<(String, String)>,
        done: &[String],
    ) -> Result<(), Failure> {
        let mut puts = more;
        puts.push((STATE.into(), serde_json::to_string(state).expect("sync's state serializes")));
        puts.extend(seen.iter().map(|(subject, seq)| (format!("{SEEN}{subject}"), seq.to_string())));
        meta::write(&self.0.store, &puts, done).await?;
        if let Some(held) = self.0.sync.seen.borrow_mut().as_mut() {
            held.server = state.server;
            for (subject, seq) in seen {
                let last = held.map.entry(subject.clone()).or_default();
                *last = (*last).max(*seq);
            }
        }
        Ok(())
    }

    fn running(&self, run: u64) -> bool {
        self.0.sync.run.get() == run && !self.0.closed.get()
    }

    async fn sync_loop(self, run: u64) {
        let mut client: Option<LogClient> = None;
        // A run starts with what an earlier one (or page) cut and did not decide.
        let mut recover = true;
        while self.running(run) {
            if !self.is_leader() {
                client = None;
                self.set_status(|s| s.state = "standby");
                self.0.sync.wake.wait_at_most(POLL_MS).await;
                continue;
            }
            let Some(options) = self.0.sync.options.borrow().clone() else { return };
            // What waits is told offline too: commands commit here whatever the connection.
            let started = timings::mark();
            if let Ok(pending) = self.pending_count().await {
                self.set_status(|s| s.pending = pending);
            }
            timings::add_waiting("sync: pending counted", started);
            if client.as_ref().is_none_or(|c| c.connection().closed().is_some()) {
                self.set_status(|s| s.state = "connecting");
                match LogClient::connect(&options.url, &options.log, &options.user, &options.password).await {
                    Ok(connected) => {
                        // Another device's commit wakes this loop at once; without the news
                        // (an older server, say), the loop still looks every IDLE_MS.
                        if let Ok(mut news) = connected.watch().await {
                            let this = self.clone();
                            wasm_bindgen_futures::spawn_local(async move {
                                while futures::StreamExt::next(&mut news).await.is_some() {
                                    this.0.sync.wake.notify();
                                }
                            });
                        }
                        client = Some(connected);
                    }
                    Err(_) if !self.running(run) => return,
                    Err(error) => {
                        let refused = matches!(error.code.as_str(), "Unauthorized" | "Forbidden");
                        self.set_status(|s| {
                            s.state = if refused { "refused" } else { "offline" };
                            s.error = Some(error);
                        });
                        sleep(if refused { REFUSED_MS } else { OFFLINE_MS }).await;
                        continue;
                    }
                }
            }
            let Some(connected) = client.as_ref() else { continue };
            while self.0.sync.in_round.get() {
                sleep(5).await;
            }
            if !self.running(run) {
                return;
            }
            self.0.sync.in_round.set(true);
            // News (another device's commit, a command here) that comes during the round is not
            // missed: the round may have read too early for it.
            let news = self.0.sync.wake.generation();
            let round = self.sync_round(connected, &options.log, run, recover).await;
            // What a failed round cut and did not decide is decided at the next one's start.
            recover = round.is_err();
            self.0.sync.in_round.set(false);
            if !self.running(run) {
                // Stopped meanwhile: the status says so already.
                return;
            }
            match round {
                Ok(worked) => {
                    self.set_status(|s| {
                        s.state = "online";
                        s.error = None;
                    });
                    if !worked {
                        self.0.sync.wake.wait_at_most_since(news, IDLE_MS).await;
                    }
                }
                Err(error) => {
                    if !self.running(run) {
                        return;
                    }
                    let lost = client.as_ref().and_then(|c| c.connection().closed()).is_some()
                        || matches!(error.code.as_str(), "Unreachable" | "Timeout" | "Protocol");
                    if lost {
                        client = None;
                    }
                    self.set_status(|s| {
                        s.state = if lost { "offline" } else { "online" };
                        s.error = Some(error);
                    });
                    sleep(OFFLINE_MS).await;
                }
            }
        }
        // Dropping the client closes its connection.
        drop(client);
    }

    /// Pulls, then pushes what is pending, after deciding what an earlier round cut when
    /// `recover`. Whether anything moved.
    async fn sync_round(&self, client: &LogClient, log: &str, run: u64, recover: bool) -> Result<bool, Failure> {
        if recover {
            self.decide_what_was_cut().await?;
        }
        // The spans (feature `timings`) are the sync benchmark's breakdown: each counts what the
        // spans inside it (the store's, the server's) do not.
        let started = timings::mark();
        let mut state = self.sync_state().await?;
        if state.log.is_empty() {
            state.log = log.to_string();
        }
        self.load_seen(&mut state).await?;
        timings::add_waiting("sync: state read", started);
        let started = timings::mark();
        let pulled = self.pull_round(client, &mut state).await;
        timings::add_waiting("sync: pulled, checked, put in the log", started);
        let pulled = pulled?;
        if !self.running(run) {
            return Ok(pulled);
        }
        // What was stored, not what the pull saw: a pull that could not put what it read in place
        // (the head moved) saw subjects' sequences this log does not hold yet, and a push
        // expecting them would be stored over commits this device never decided on.
        let mut stored = self.sync_state().await?;
        if stored.log.is_empty() {
            stored.log = log.to_string();
        }
        let started = timings::mark();
        let pushed = self.push_round(client, &stored).await;
        timings::add_waiting("sync: push, the rest", started);
        Ok(pulled || pushed?)
    }

    /// The pending tail after `confirmed`, as commits (their events as stored: personal values
    /// sealed); with `limit`, its first `limit` commits only, read a page at a time, so that a
    /// round over a long tail reads what it works on, not the whole tail.
    async fn tail(&self, confirmed: u64, head: u64, limit: Option<usize>) -> Result<VecDeque<CommitReceipt>, Failure> {
        let mut commits: VecDeque<CommitReceipt> = VecDeque::new();
        let mut after = Position(confirmed);
        let page_size = if limit.is_some() { TAIL_PAGE } else { BATCH };
        while after.0 < head && limit.is_none_or(|limit| commits.len() <= limit) {
            let page = self.0.store.read_all_sealed(after, page_size).await?;
            let Some(last) = page.last() else { break };
            after = last.meta.position;
            for event in page {
                match commits.back_mut() {
                    Some(commit) if commit.command_id == event.meta.command_id => commit.events.push(event),
                    _ => commits.push_back(CommitReceipt {
                        command_id: event.meta.command_id.clone(),
                        events: vec![event],
                        digest: None,
                    }),
                }
            }
        }
        if let Some(limit) = limit {
            // The commit after the first `limit` may be cut by the page's end.
            commits.truncate(limit);
        }
        Ok(commits)
    }

    /// Reads what the server holds after `state.server` and puts it in the local log. Whether
    /// anything was read.
    async fn pull_round(&self, client: &LogClient, state: &mut SyncState) -> Result<bool, Failure> {
        let started = timings::mark();
        let (pulled, seen) = client.pull_seen(state.server).await?;
        timings::add_waiting("sync: pull from the server", started);
        let Some(last) = pulled.last().map(|p| p.seq) else { return Ok(false) };
        let head = self.0.store.head().await?;
        // Own commits come back in the tail's order: its first commits are all they can match.
        let mut tail = self.tail(state.confirmed, head.0, Some(pulled.len())).await?;
        let mut foreign: Vec<(u64, Commit)> = Vec::new();
        let (mut dead, mut done) = (Vec::new(), Vec::new());
        let before = state.confirmed;
        let mut mine_events: Vec<RecordedEvent> = Vec::new();
        for Pulled { seq, commit } in pulled {
            match commit {
                Err(refused) => dead.push(dead_letter(seq, refused.code, &refused.reason)),
                Ok(commit) => {
                    if foreign.is_empty() && tail.front().is_some_and(|t| same(t, &commit)) {
                        let mine = tail.pop_front().expect("just looked");
                        state.confirmed = mine.last_position().0;
                        done.push(outbox_key(mine.command_id.as_str()));
                        mine_events.extend(mine.events);
                    } else {
                        foreign.push((seq, commit));
                    }
                }
            }
        }
        self.checker_confirms(before, &mine_events);
        let mut seen: Vec<(String, u64)> =
            seen.into_iter().filter(|(subject, seq)| *seq > self.seen(subject)).collect();
        state.server = last;
        if !foreign.is_empty() {
            // Another device's commits go before the whole tail.
            let tail = self.tail(state.confirmed, head.0, None).await?;
            let Some(Admitted { commits, dead: refused, checker }) =
                self.admit(state.confirmed, head, &tail, foreign).await?
            else {
                // A command landed meanwhile: nothing was written; the next round reads again.
                return Ok(true);
            };
            dead.extend(refused);
            // Their keys first, so that what is folded from them reads the values.
            let started = timings::mark();
            self.fetch_keys(client, &commits).await?;
            timings::add_waiting("sync: keys fetched", started);
            if !self.put_before_tail(state, &seen, head, tail, commits, &mut done).await? {
                // A command landed meanwhile: nothing was written; the next round reads again.
                return Ok(true);
            }
            self.keep_checker(state.confirmed, checker);
            // Saved with the commits' place: not written again below.
            seen.clear();
        }
        let dead_count = dead.len() as u64;
        self.save(state, &seen, dead, &done).await?;
        let pending = self.0.store.head().await?.0.saturating_sub(state.confirmed);
        self.set_status(|s| {
            s.confirmed = state.confirmed;
            s.server_sequence = state.server;
            s.dead_letters += dead_count;
            s.pending = pending;
        });
        Ok(true)
    }

    /// The checker of logs from elsewhere folded up to `confirmed`: the one kept from the last
    /// pull if it is there, or one folded from the log's start (once a session, or after a
    /// refusal or a reset).
    async fn checker_at(&self, confirmed: u64) -> Result<Box<dyn LogChecker>, Failure> {
        let kept = self.0.sync.checker.borrow_mut().take();
        if let Some(kept) = kept
            && kept.epoch == self.0.epoch.get()
            && kept.confirmed == confirmed
        {
            return Ok(kept.checker);
        }
        let started = timings::mark();
        let mut checker = A::log_checker();
        let mut after = Position::ZERO;
        while after.0 < confirmed {
            let mut page = self.0.store.read_all_sealed(after, BATCH).await?;
            let Some(last) = page.last() else { break };
            after = last.meta.position;
            page.retain(|e| e.meta.position.0 <= confirmed);
            checker.fold(&page).map_err(|why| corrupt("the confirmed log", why))?;
        }
        timings::add_waiting("sync: checker folded from the log's start", started);
        Ok(checker)
    }

    /// Keeps `checker`, folded up to `confirmed`, for the next pull.
    fn keep_checker(&self, confirmed: u64, checker: Box<dyn LogChecker>) {
        *self.0.sync.checker.borrow_mut() = Some(Kept { epoch: self.0.epoch.get(), confirmed, checker });
    }

    /// The confirmed prefix grew from `from` by this device's own `events`: the kept checker
    /// folds them too, if it was at `from`.
    fn checker_confirms(&self, from: u64, events: &[RecordedEvent]) {
        let kept = self.0.sync.checker.borrow_mut().take();
        if let Some(mut kept) = kept
            && kept.epoch == self.0.epoch.get()
            && kept.confirmed == from
            && kept.checker.fold(events).is_ok()
        {
            kept.confirmed = events.last().map_or(from, |e| e.meta.position.0);
            *self.0.sync.checker.borrow_mut() = Some(kept);
        }
    }

    /// The server's commits this log can take after its confirmed prefix, with the checker that
    /// folded them, and dead letters for the others: each must continue its streams from the
    /// confirmed prefix's versions and pass the application's rules for a log from elsewhere
    /// (`Application::log_checker`, kept between pulls, so a pull's cost is what it brings).
    /// `None` if the head moved from `head` (the tail is read at it) meanwhile.
    async fn admit(
        &self,
        confirmed: u64,
        head: Position,
        tail: &VecDeque<CommitReceipt>,
        foreign: Vec<(u64, Commit)>,
    ) -> Result<Option<Admitted>, Failure> {
        let mut checker = self.checker_at(confirmed).await?;
        // Versions at the confirmed prefix: the store's, less what the pending tail wrote.
        let streams: Vec<StreamId> = {
            let mut all: Vec<StreamId> =
                foreign.iter().flat_map(|(_, c)| c.writes.iter().map(|w| w.stream.clone())).collect();
            all.sort();
            all.dedup();
            all
        };
        let held = self.0.store.stream_versions(&streams).await?;
        if self.0.store.head().await? != head {
            self.keep_checker(confirmed, checker);
            return Ok(None);
        }
        let mut versions: HashMap<StreamId, u64> = streams.into_iter().zip(held).collect();
        for event in tail.iter().flat_map(|c| &c.events) {
            if let Some(version) = versions.get_mut(&event.meta.stream) {
                *version = version.saturating_sub(1);
            }
        }
        let mut position = Position(confirmed);
        let mut at = match confirmed {
            0 => eventline_core::ids::Timestamp(0),
            _ => self
                .0
                .store
                .read_all_sealed(Position(confirmed - 1), 1)
                .await?
                .first()
                .map_or(eventline_core::ids::Timestamp(0), |e| e.meta.recorded_at),
        };
        let (mut admitted, mut admitted_events, mut dead) = (Vec::new(), Vec::new(), Vec::new());
        for (seq, commit) in foreign {
            // A commit must continue its streams where the confirmed prefix and the commits
            // admitted before it left them.
            let recorded = match commit.record(position, at, |s| StreamVersion(versions.get(s).copied().unwrap_or(0))) {
                Ok(recorded) => recorded,
                Err(error) => {
                    dead.push(dead_letter(seq, "ForeignMessage", &format!("commit {}: {error}", commit.command_id)));
                    continue;
                }
            };
            if let Err(why) = checker.check(&recorded, &|_: &StreamId| 0) {
                dead.push(dead_letter(
                    seq,
                    "ForeignMessage",
                    &format!("commit {}: {}", commit.command_id, why.message),
                ));
                // Spent by the refusal: folded again, up to the commits admitted before it.
                checker = self.checker_at(confirmed).await?;
                checker.fold(&admitted_events).map_err(|why| corrupt("an admitted commit", why))?;
                continue;
            }
            for event in &recorded {
                versions.insert(event.meta.stream.clone(), event.meta.version.0);
            }
            let last = &recorded[recorded.len() - 1].meta;
            (position, at) = (last.position, last.recorded_at);
            admitted_events.extend(recorded);
            admitted.push(commit);
        }
        Ok(Some(Admitted { commits: admitted, dead, checker }))
    }

    /// Puts the server's `commits` after the confirmed prefix and the pending `tail` after
    /// them, in one transaction (`IdbStore::rebase`); pending commits on streams the server's
    /// commits wrote are decided again after it. False when the head moved from `head`
    /// meanwhile (nothing written).
    async fn put_before_tail(
        &self,
        state: &mut SyncState,
        seen: &[(String, u64)],
        head: Position,
        tail: VecDeque<CommitReceipt>,
        commits: Vec<Commit>,
        done: &mut Vec<String>,
    ) -> Result<bool, Failure> {
        let arrived: usize = commits.iter().map(Commit::event_count).sum();
        let theirs: HashSet<CommandId> = commits.iter().map(|c| c.command_id.clone()).collect();
        let mut moved: HashSet<StreamId> =
            commits.iter().flat_map(|c| c.writes.iter().map(|w| w.stream.clone())).collect();
        // This tab's commands on the streams the server's commits write wait for the rebase:
        // one decided on a state from before it could commit after it, on a state that is gone
        // (a stream can keep its version number with other events: a pending deposit cut,
        // another device's withdrawal in its place).
        let turn = self.0.turns.take(&moved.iter().cloned().collect::<Vec<_>>()).await;
        // What was committed here since `head` joins the tail rather than failing the rebase:
        // the pull was checked against the confirmed prefix, which only this round moves.
        let mut tail = tail;
        let now = self.0.store.head().await?;
        if now != head {
            let more = self.tail(head.0, now.0, None).await?;
            tail.extend(more.into_iter().filter(|c| c.last_position() <= now));
        }
        let (mut kept, mut again) = (Vec::new(), Vec::new());
        for pending in tail {
            if theirs.contains(&pending.command_id) {
                // Decided on another device too (a process manager's step, say): the server's
                // decision stands.
                done.push(outbox_key(pending.command_id.as_str()));
            } else if streams_of(&pending).any(|s| moved.contains(s)) {
                moved.extend(streams_of(&pending).cloned());
                again.push(pending);
            } else {
                kept.push(pending);
            }
        }
        let cuts = !kept.is_empty() || !again.is_empty() || now.0 > state.confirmed;
        let kept_events: Vec<RecordedEvent> = kept.into_iter().flat_map(|c| c.events).collect();
        let mut writes = commits;
        writes.extend(exchange::commits_from_events(&kept_events)?);
        if cuts {
            self.forget_folds();
            // What subjects were seen at is not folded from the log: it stays held.
            if let Some(held) = self.0.sync.seen.borrow_mut().as_mut() {
                held.epoch = self.0.epoch.get();
            }
        }
        let notes: Vec<(String, String)> = again
            .iter()
            .map(|c| {
                let first = &c.events[0].meta;
                (format!("{AGAIN}{}", c.command_id), format!("{}\n{}", first.correlation_id, first.causation_id))
            })
            .collect();
        let Some(_) = self.0.store.rebase(Position(state.confirmed), now, writes, &notes).await.map_err(|e| {
            self.0.app.clear_caches();
            Failure::of(&e)
        })?
        else {
            return Ok(false);
        };
        self.0.app.clear_caches();
        drop(turn);
        let rewound_from = state.confirmed;
        state.confirmed += arrived as u64;
        // Saved before deciding again: the commits put in place are confirmed whatever follows.
        self.save(state, seen, Vec::new(), &[]).await?;
        if cuts {
            self.broadcast(&Message { position: Some(rewound_from), ..Message::of("rewound") });
            self.emit(Notice::Rewound { position: rewound_from });
        }
        let head = self.0.store.head().await?;
        self.committed(head);
        for (pending, (_, note)) in again.iter().zip(&notes) {
            self.decide_again(&pending.command_id, note, done).await?;
        }
        Ok(true)
    }

    /// Decides again what a rebase cut and no decision followed: a round that failed, or a page
    /// that closed, between the two. A command whose commit is here already is not decided
    /// twice (a rejection deletes its note in the write that keeps it).
    async fn decide_what_was_cut(&self) -> Result<(), Failure> {
        let notes = meta::with_prefix(&self.0.store, AGAIN).await?;
        if notes.is_empty() {
            return Ok(());
        }
        let ids: Vec<CommandId> =
            notes.iter().map(|(key, _)| CommandId::from(key[AGAIN.len()..].to_string())).collect();
        let held = self.0.store.holds_commands(&ids.iter().collect::<Vec<_>>()).await?;
        let mut done = Vec::new();
        for ((id, (key, note)), held) in ids.iter().zip(&notes).zip(held) {
            if held {
                done.push(key.clone());
                continue;
            }
            self.decide_again(id, note, &mut done).await?;
        }
        Ok(meta::write(&self.0.store, &[], &done).await?)
    }

    /// Decides a pending command again on what the log holds now, under its command id, from
    /// the text the outbox kept. A refusal by the domain is kept as rejected after sync and
    /// told (`Notice::Rejected`). A process manager's command has no text: the process manager
    /// issues it again when it sees the log again (its progress was emptied with the tail).
    /// `note` is what the cut kept of it (`again:`); the note goes with `done`.
    async fn decide_again(&self, id: &CommandId, note: &str, done: &mut Vec<String>) -> Result<(), Failure> {
        let id = id.clone();
        done.push(format!("{AGAIN}{id}"));
        let (correlation, causation) =
            note.split_once('\n').ok_or_else(|| corrupt("a command cut to be decided again", note))?;
        let text = meta::get_text(&self.0.store, &outbox_key(id.as_str())).await?;
        let by_user = causation == id.as_str();
        let outcome = match &text {
            None if !by_user => return Ok(()),
            None => Err(Failure::new(
                "NotDecidedAgain",
                format!("command {id} was decided before sync started in this page: its text was not kept"),
            )),
            Some(text) => match A::parse_command(text) {
                Err(invalid) => Err(Failure::from(invalid)),
                Ok(request) => {
                    let meta = CommandMeta {
                        command_id: id.clone(),
                        correlation_id: CorrelationId::new(correlation),
                        causation_id: CausationId::new(causation),
                        expected_version: request.expected_version,
                        digest: Some(request.digest),
                    };
                    let streams = A::streams(&request.command, &id);
                    let _turn = self.0.turns.take(&streams).await;
                    let decided = self.0.app.execute(meta, &request.command).await;
                    match decided {
                        Ok(executed) => {
                            self.after(&executed);
                            Ok(())
                        }
                        Err(e) => Err(Failure::of_app(e)),
                    }
                }
            },
        };
        match outcome {
            Ok(()) => self.set_status(|s| s.redecided += 1),
            Err(failure) => {
                let rejected = Rejected {
                    command_id: id.to_string(),
                    command: text,
                    code: failure.code.clone(),
                    message: failure.message.clone(),
                    details: failure.details.clone(),
                };
                let json = serde_json::to_string(&rejected).expect("a rejection serializes");
                // With its note: a rejection kept is a decision made.
                meta::write(&self.0.store, &[(format!("rejected:{id}"), json)], &[format!("{AGAIN}{id}")]).await?;
                done.push(outbox_key(id.as_str()));
                self.set_status(|s| s.rejected += 1);
                self.emit(Notice::Rejected {
                    command_id: id.to_string(),
                    code: failure.code,
                    message: failure.message,
                });
            }
        }
        Ok(())
    }

    /// Pushes the pending tail's first commits as one atomic batch. Whether there was any.
    async fn push_round(&self, client: &LogClient, state: &SyncState) -> Result<bool, Failure> {
        let started = timings::mark();
        let head = self.0.store.head().await?;
        if head.0 <= state.confirmed {
            return Ok(false);
        }
        let tail = self.tail(state.confirmed, head.0, Some(sync::MAX_PARTS)).await?;
        timings::add_waiting("sync: tail read", started);
        let (mut batch, mut parts) = (Vec::new(), 0);
        for commit in tail {
            let streams: HashSet<&StreamId> = streams_of(&commit).collect();
            if !batch.is_empty() && parts + streams.len() > sync::MAX_PARTS {
                break;
            }
            parts += streams.len();
            batch.push(commit);
        }
        let started = timings::mark();
        self.share_keys(client, &batch).await?;
        timings::add_waiting("sync: keys shared", started);
        let mut attempt = [0u8; 16];
        crate::env::random_bytes(&mut attempt);
        let attempt: String = attempt.iter().map(|b| format!("{b:02x}")).collect();
        let seen = |stream: &StreamId| self.seen(&sync::subject(&state.log, stream));
        let started = timings::now();
        let messages =
            sync::batch_of(&state.log, &batch, &seen, &attempt).map_err(|e| Failure::new(e.code, e.reason))?;
        timings::add("sync: batch made", started);
        let started = timings::mark();
        let answer = client.push_messages(&messages).await?;
        timings::add_waiting("sync: push to the server", started);
        match answer {
            // Stored right after what this device last read: nothing came between, so the batch
            // is confirmed where it stands, with no pull to learn it.
            Answer::Stored { seq } if seq == state.server + messages.len() as u64 => {
                let mut state = state.clone();
                let events: Vec<RecordedEvent> = batch.iter().flat_map(|c| c.events.iter().cloned()).collect();
                self.checker_confirms(state.confirmed, &events);
                state.confirmed = batch.last().map_or(state.confirmed, |c| c.last_position().0);
                state.server = seq;
                // Each subject once, at its last message: a batch writes a stream many times.
                let first = seq + 1 - messages.len() as u64;
                let last: HashMap<&str, u64> =
                    messages.iter().zip(first..).map(|(message, seq)| (message.subject.as_str(), seq)).collect();
                let seen: Vec<(String, u64)> =
                    last.into_iter().map(|(subject, seq)| (subject.to_string(), seq)).collect();
                let done: Vec<String> = batch.iter().map(|c| outbox_key(c.command_id.as_str())).collect();
                let started = timings::mark();
                self.save(&state, &seen, Vec::new(), &done).await?;
                timings::add_waiting("sync: progress saved", started);
                let pending = head.0.saturating_sub(state.confirmed);
                self.set_status(|s| {
                    s.confirmed = state.confirmed;
                    s.server_sequence = state.server;
                    s.pending = pending;
                });
                Ok(true)
            }
            // The next pull confirms them, in the server's order.
            Answer::Stored { .. } | Answer::AlreadyStored => Ok(true),
            // Another device's commit is there, or our own is still being stored: the next
            // pull shows which, a moment later.
            Answer::Conflict => {
                sleep(20).await;
                Ok(true)
            }
            Answer::Retry => {
                sleep(100).await;
                Ok(true)
            }
            Answer::Refused(why) => Err(Failure::new("ServerRefused", why)),
        }
    }
}

fn dead_letter(seq: u64, code: &str, reason: &str) -> (String, String) {
    let json = serde_json::json!({ "sequence": seq, "code": code, "reason": reason });
    (format!("dead:{seq:020}"), json.to_string())
}
