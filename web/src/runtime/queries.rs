//! The query side: answers from the leader's read models or, in other tabs, from the persisted
//! ones; lag, statuses, read-your-writes (`wait_for`), and the past folded from the log
//! (`query_at`, `history_at`, `inspect`).

use super::*;

impl<A> Runtime<A>
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
    pub(super) fn check_name(&self, name: &str) -> Result<(), Failure> {
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
    pub(super) async fn refresh_follower(&self, name: &str) -> Result<(), Failure> {
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

    pub(super) async fn lag(&self, checkpoint: Position, head: Position) -> Result<Lag, Failure> {
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

    pub(super) async fn lowest_checkpoint(&self, name: Option<&str>) -> Result<u64, Failure> {
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
}

/// Refuses a read model name the application does not have.
pub(super) fn check_name(names: &[&str], name: &str) -> Result<(), Failure> {
    if names.contains(&name) {
        Ok(())
    } else {
        Err(Failure::new("UnknownReadModel", format!("no read model {name:?}; there are {}", names.join(", "))))
    }
}

/// An empty slot for the application's read model `name`, if there is one.
pub(super) fn slot_named<A: Application>(name: &str) -> Option<Box<dyn Slot<A::Event>>> {
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
