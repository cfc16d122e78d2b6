//! The leader's runner: the projections caught up in batches (each event decoded once, every
//! changed document, checkpoint and dead letter written in one transaction), delays, pauses and
//! blue/green rebuilds, and the process managers interleaved with them.

use super::*;

pub(super) struct Entry<E> {
    pub(super) slot: Box<dyn Slot<E>>,
    pub(super) record: ProjectionRecord,
    /// Applied events whose changes are not written yet.
    pub(super) unwritten: bool,
    /// When a delayed projection may take its next event (ms since the epoch).
    pub(super) next_due: f64,
    /// A rebuild: the replacement built from 0 beside the read model that goes on answering
    /// (blue/green), swapped in when it has caught up.
    pub(super) shadow: Option<Shadow<E>>,
}

pub(super) struct Shadow<E> {
    pub(super) slot: Box<dyn Slot<E>>,
    pub(super) started: f64,
    /// When a delayed projection's replacement may take its next event.
    pub(super) next_due: f64,
}

impl<E> Entry<E> {
    pub(super) fn new(slot: Box<dyn Slot<E>>, record: ProjectionRecord) -> Entry<E> {
        // A rebuild that was under way when the last leader stopped starts over.
        let shadow =
            record.rebuilding.map(|_| Shadow { slot: slot.empty(), started: js_sys::Date::now(), next_due: 0.0 });
        Entry { slot, record, unwritten: false, next_due: 0.0, shadow }
    }

    pub(super) fn runnable(&self, head: u64) -> bool {
        !self.record.paused && self.record.error.is_none() && (self.slot.checkpoint().0 < head || self.unwritten)
    }
}

pub(super) struct Runner<A: Application> {
    pub(super) entries: Vec<Entry<A::Event>>,
    pub(super) processes: Vec<Box<dyn Process<A>>>,
    /// Dead letters met but not written yet.
    pub(super) dead: Vec<DeadLetter>,
}

impl<A> Runtime<A>
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
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
    pub(super) fn apply_control<'a>(
        &'a self,
        name: &'a str,
        control: Control,
    ) -> LocalBoxFuture<'a, Result<(), Failure>> {
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

    pub(super) fn projections_moved(&self) {
        self.broadcast(&Message::of("flushed"));
        self.0.progress.notify();
        self.emit(Notice::Projections);
    }

    // -----------------------------------------------------------------------------------------
    // The leader's runner

    pub(super) async fn lead(self) {
        if self.0.closed.get() {
            return;
        }
        let waiting = timings::mark();
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
        timings::add_waiting("loading read models", waiting);
        // A catch-up's first writes wait like the later ones (FLUSH_EVERY_MS), not at once.
        self.0.last_flush.set(js_sys::Date::now());
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
    pub(super) fn load_runner(&self) -> LocalBoxFuture<'_, Result<Runner<A>, Failure>> {
        Box::pin(async move {
            let slots = A::read_models();
            let mut processes = A::process_managers();
            let names: Vec<&'static str> = slots.iter().map(|slot| slot.name()).collect();
            let sagas: Vec<&'static str> = processes.iter().map(|process| process.name()).collect();
            let (stored, progress) = persist::load_all(&self.0.store, &names, &sagas).await?;
            let mut entries = Vec::new();
            for (mut slot, (record, docs)) in slots.into_iter().zip(stored) {
                slot.restore(Position(record.checkpoint), docs)?;
                entries.push(Entry::new(slot, record));
            }
            for (process, json) in processes.iter_mut().zip(progress) {
                if let Some(json) = json {
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
    pub(super) fn fail_running(&self, error: &Failure) {
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

    pub(super) fn next_due_in(&self) -> Option<f64> {
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
    pub(super) async fn step(&self) -> Result<bool, Failure> {
        // The head only grows: while a live read model is still behind the head last read, that
        // one is good enough for this step (a catch-up reads the head once, not once a batch).
        let known = self.0.known_head.get();
        let behind_known = self.0.runner.borrow().entries.iter().any(|e| {
            e.record.delay_ms == 0 && !e.record.paused && e.record.error.is_none() && e.slot.checkpoint().0 < known
        });
        let head = if behind_known { known } else { self.0.store.head().await?.0 };
        self.0.known_head.set(head.max(known));
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
            let waiting = timings::mark();
            let epoch = self.0.epoch.get();
            let events = if from < head { self.read_batch(Position(from), head).await? } else { Vec::new() };
            timings::add_waiting("waiting for the log", waiting);
            if self.0.epoch.get() != epoch {
                // The log was reset or its tail replaced while this batch was read.
                return Ok(true);
            }
            if events.is_empty() && behind_known {
                // Nothing where the head last read said there was: the log was reset. Read it.
                self.0.known_head.set(0);
                return Ok(true);
            }
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
            let epoch = self.0.epoch.get();
            let events =
                if checkpoint.0 < head { self.0.store.read_all_sealed(checkpoint, 1).await? } else { Vec::new() };
            if self.0.epoch.get() != epoch {
                return Ok(true);
            }
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
    pub(super) async fn rebuild_step(&self, now: f64) -> Result<bool, Failure> {
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
    pub(super) async fn read_batch(&self, from: Position, head: u64) -> Result<Vec<RecordedEvent>, Failure> {
        let ahead = self.0.read_ahead.borrow_mut().take();
        let events = match ahead {
            Some(ahead) if ahead.after == from => ahead.take().await?,
            // Nothing read ahead: a catch-up starting, or the first events after a quiet spell.
            // A small batch, so that applying it starts soon; the next is read meanwhile.
            _ => self.0.store.read_all_sealed(from, FIRST_BATCH).await?,
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
    pub(super) async fn apply_batch(
        &self,
        events: &[RecordedEvent],
        take: impl Fn(&Entry<A::Event>) -> bool,
        behind: bool,
    ) -> Result<(), Failure> {
        let started = timings::now();
        let decoded: Vec<Decoded<A::Event>> = events.iter().map(A::Event::decode_recorded).collect();
        // Each event's type as an index into the batch's few distinct types, so that each read
        // model looks its `HANDLES` up once per type, not once per event; `None` for an event
        // every read model must see (undecodable, or forgetting someone).
        let mut kinds: Vec<&'static str> = Vec::new();
        let kind_of: Vec<Option<usize>> = decoded
            .iter()
            .map(|decoded| {
                let event = &decoded.as_ref().ok()?.event;
                if event.forgets().is_some() {
                    return None;
                }
                let kind = event.event_type();
                // The types are constants: the same pointer, found without comparing text.
                Some(kinds.iter().position(|k| std::ptr::eq(*k, kind)).unwrap_or_else(|| {
                    kinds.push(kind);
                    kinds.len() - 1
                }))
            })
            .collect();
        timings::add("decode events", started);
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
            let handled: Vec<Vec<bool>> = runner
                .entries
                .iter()
                .map(|entry| kinds.iter().map(|kind| entry.slot.handles().contains(kind)).collect())
                .collect();
            // A slice of the batch at a time through every read model, so that its events are
            // still in the processor's cache for the next one.
            for ((events, decoded), kind_of) in
                events.chunks(APPLY_SLICE).zip(decoded.chunks(APPLY_SLICE)).zip(kind_of.chunks(APPLY_SLICE))
            {
                for (entry, handled) in runner.entries.iter_mut().zip(&handled).filter(|(e, _)| take(e)) {
                    let started = timings::now();
                    let (moved, refused) = entry.slot.apply_slice(events, decoded, kind_of, handled);
                    entry.unwritten |= moved;
                    for (i, why) in refused {
                        impossible.push(impossible_letter(&events[i], entry.slot.name(), &why));
                    }
                    timings::add(entry.slot.name(), started);
                }
            }
            for entry in runner.entries.iter_mut().filter(|e| take(e)) {
                if !write_now || !entry.unwritten {
                    continue;
                }
                entry.unwritten = false;
                entry.record.checkpoint = entry.slot.checkpoint().0;
                if entry.record.rebuilding.is_some_and(|target| entry.record.checkpoint >= target) {
                    entry.record.rebuilding = None;
                }
                let started = timings::now();
                flushes.push(Flush {
                    name: entry.slot.name().to_string(),
                    record: entry.record.clone(),
                    changes: entry.slot.take_changes(),
                    reset: false,
                });
                timings::add("documents to JSON", started);
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
        let waiting = timings::mark();
        persist::flush(&self.0.store, &flushes, &dead).await?;
        timings::add_waiting("waiting for writes", waiting);
        if !flushes.is_empty() {
            self.projections_moved();
        }
        Ok(())
    }

    /// Lets each process manager behind the log react, a few commands at a time. Whether any
    /// had events to see.
    pub(super) async fn run_saga(&self, head: u64) -> Result<bool, Failure> {
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
}

/// The dead letter of an event read model `name` could not apply: the log says something no
/// decision made (a withdrawal past the balance, say), so the read model passed over it.
pub(super) fn impossible_letter(recorded: &RecordedEvent, name: &str, why: &Impossible) -> DeadLetter {
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

pub(super) fn fresh_runner<A: Application>() -> Runner<A> {
    let entries = A::read_models().into_iter().map(|slot| Entry::new(slot, ProjectionRecord::default())).collect();
    Runner { entries, processes: A::process_managers(), dead: Vec::new() }
}
