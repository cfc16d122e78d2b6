//! An event store in memory: the reference implementation of [`EventStore`], used by the core's
//! tests and benchmarks, and by the same contract suite that checks the IndexedDB store.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::envelope::RecordedEvent;
use crate::ids::{CommandId, Position, StreamId, StreamVersion, Timestamp};
use crate::personal;
use crate::snapshot::{Snapshot, SnapshotStore};
use crate::store::SubjectStatus;
use crate::store::{AppendError, CommandDigest, Commit, CommitReceipt, EventStore, StoreError};

#[derive(Default)]
pub struct InMemoryStore {
    log: RefCell<Log>,
}

#[derive(Default)]
struct Log {
    /// `events[i]` has position `i + 1`.
    events: Vec<RecordedEvent>,
    /// Indexes into `events` of each stream's events, in version order.
    streams: HashMap<StreamId, Vec<usize>>,
    commits: HashMap<CommandId, (Range<usize>, Option<CommandDigest>)>,
    snapshots: HashMap<StreamId, Snapshot>,
    /// Subjects with personal data here. Memory is not at rest: values are kept as written and
    /// redacted on the way out once their subject is forgotten.
    known: HashSet<String>,
    forgotten: HashSet<String>,
}

impl Log {
    fn head(&self) -> Position {
        Position(self.events.len() as u64)
    }

    fn head_recorded_at(&self) -> Timestamp {
        self.events.last().map_or(Timestamp(0), |e| e.meta.recorded_at)
    }

    fn version(&self, stream: &StreamId) -> StreamVersion {
        StreamVersion(self.streams.get(stream).map_or(0, |v| v.len() as u64))
    }

    fn receipt(&self, command_id: &CommandId) -> Option<CommitReceipt> {
        let (range, digest) = self.commits.get(command_id)?;
        Some(CommitReceipt {
            command_id: command_id.clone(),
            events: self.events[range.clone()].iter().map(|e| self.out(e)).collect(),
            digest: *digest,
        })
    }

    /// An event as readers see it: personal values of forgotten subjects redacted.
    fn out(&self, event: &RecordedEvent) -> RecordedEvent {
        self.redacted(event).unwrap_or_else(|| event.clone())
    }

    /// A copy of `event` with its forgotten subjects' values redacted, if it holds any.
    fn redacted(&self, event: &RecordedEvent) -> Option<RecordedEvent> {
        if self.forgotten.is_empty() {
            return None;
        }
        let redacted = personal::redact_forgotten(&event.payload, |s| self.forgotten.contains(s))?;
        Some(RecordedEvent { payload: redacted.into(), ..event.clone() })
    }

    /// Lends `events` to `visit` as stored (a redacted copy only where a subject was forgotten).
    fn lend<'a>(&self, events: impl Iterator<Item = &'a RecordedEvent>, visit: &mut dyn FnMut(&RecordedEvent) -> bool) {
        for event in events {
            let go = match self.redacted(event) {
                Some(copy) => visit(&copy),
                None => visit(event),
            };
            if !go {
                return;
            }
        }
    }

    /// Records `commits` against the current log without changing it, so a batch is all or none.
    fn stage(&self, commits: &[Commit]) -> Result<Vec<Vec<RecordedEvent>>, AppendError> {
        let mut head = self.head();
        let mut head_recorded_at = self.head_recorded_at();
        // Versions as `u64`: the map type the browser store uses too, compiled once.
        let mut staged_versions: HashMap<StreamId, u64> = HashMap::new();
        let mut staged_ids: HashMap<&CommandId, usize> = HashMap::new();
        let mut staged = Vec::with_capacity(commits.len());
        let mut forgetting: HashSet<String> = HashSet::new();
        for commit in commits {
            if let Some(receipt) = self.receipt(&commit.command_id) {
                return Err(AppendError::DuplicateCommand(Box::new(receipt)));
            }
            if let Some(&earlier) = staged_ids.get(&commit.command_id) {
                let events: &Vec<RecordedEvent> = &staged[earlier];
                let receipt = CommitReceipt {
                    command_id: commit.command_id.clone(),
                    events: events.clone(),
                    digest: commits[earlier].digest,
                };
                return Err(AppendError::DuplicateCommand(Box::new(receipt)));
            }
            let events = commit.writes.iter().flat_map(|w| &w.events).map(|e| (&*e.event_type, &*e.payload));
            let (_, forgets) =
                personal::check_commit(events, |s| self.forgotten.contains(s) || forgetting.contains(s))?;
            forgetting.extend(forgets);
            let recorded = commit.record(head, head_recorded_at, |stream| {
                staged_versions.get(stream).map_or_else(|| self.version(stream), |&v| StreamVersion(v))
            })?;
            for event in &recorded {
                staged_versions.insert(event.meta.stream.clone(), event.meta.version.0);
            }
            let last = recorded.last().expect("a validated commit has events");
            head = last.meta.position;
            head_recorded_at = last.meta.recorded_at;
            staged_ids.insert(&commit.command_id, staged.len());
            staged.push(recorded);
        }
        Ok(staged)
    }

    fn apply(&mut self, recorded: Vec<RecordedEvent>, digest: Option<CommandDigest>) -> CommitReceipt {
        let start = self.events.len();
        let command_id = recorded[0].meta.command_id.clone();
        for (offset, event) in recorded.iter().enumerate() {
            self.streams.entry(event.meta.stream.clone()).or_default().push(start + offset);
            if &*event.event_type == personal::SUBJECT_FORGOTTEN {
                let subject = personal::forgotten_subject(&event.payload).expect("checked when staged");
                self.known.remove(&subject);
                self.forgotten.insert(subject);
            } else {
                self.known.extend(personal::subjects(&event.payload));
            }
        }
        self.events.extend(recorded);
        self.commits.insert(command_id.clone(), (start..self.events.len(), digest));
        CommitReceipt { command_id, events: self.events[start..].iter().map(|e| self.out(e)).collect(), digest }
    }
}

impl InMemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of events in the log.
    pub fn len(&self) -> usize {
        self.log.borrow().events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with every event from position `after + 1` on, without copying them; the
    /// benchmarks use it to measure replay without the cost of a store read.
    pub fn for_each_after(&self, after: Position, mut f: impl FnMut(&RecordedEvent)) {
        let log = self.log.borrow();
        for event in log.events.iter().skip(after.0 as usize) {
            f(event);
        }
    }
}

impl EventStore for InMemoryStore {
    async fn append(&self, commit: Commit) -> Result<CommitReceipt, AppendError> {
        let mut receipts = self.append_batch(vec![commit]).await?;
        Ok(receipts.pop().expect("one commit in, one receipt out"))
    }

    async fn append_batch(&self, commits: Vec<Commit>) -> Result<Vec<CommitReceipt>, AppendError> {
        let mut log = self.log.borrow_mut();
        let staged = log.stage(&commits)?;
        Ok(staged.into_iter().zip(&commits).map(|(recorded, commit)| log.apply(recorded, commit.digest)).collect())
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        after: StreamVersion,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let log = self.log.borrow();
        let Some(indexes) = log.streams.get(stream) else { return Ok(Vec::new()) };
        Ok(indexes.iter().skip(after.0 as usize).take(limit).map(|&i| log.out(&log.events[i])).collect())
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let log = self.log.borrow();
        Ok(log.events.iter().skip(after.0 as usize).take(limit).map(|e| log.out(e)).collect())
    }

    async fn visit_stream(
        &self,
        stream: &StreamId,
        after: StreamVersion,
        visit: &mut dyn FnMut(&RecordedEvent) -> bool,
    ) -> Result<(), StoreError> {
        let log = self.log.borrow();
        if let Some(indexes) = log.streams.get(stream) {
            log.lend(indexes.iter().skip(after.0 as usize).map(|&i| &log.events[i]), visit);
        }
        Ok(())
    }

    async fn visit_all(
        &self,
        after: Position,
        _page: usize,
        visit: &mut dyn FnMut(&RecordedEvent) -> bool,
    ) -> Result<(), StoreError> {
        let log = self.log.borrow();
        log.lend(log.events.iter().skip(after.0 as usize), visit);
        Ok(())
    }

    async fn head(&self) -> Result<Position, StoreError> {
        Ok(self.log.borrow().head())
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError> {
        Ok(self.log.borrow().version(stream))
    }

    async fn find_commit(&self, command_id: &CommandId) -> Result<Option<CommitReceipt>, StoreError> {
        Ok(self.log.borrow().receipt(command_id))
    }

    async fn subject(&self, subject: &str) -> Result<SubjectStatus, StoreError> {
        let log = self.log.borrow();
        Ok(if log.forgotten.contains(subject) {
            SubjectStatus::Forgotten
        } else if log.known.contains(subject) {
            SubjectStatus::Known
        } else {
            SubjectStatus::Unknown
        })
    }
}

impl SnapshotStore for InMemoryStore {
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let log = self.log.borrow();
        let Some(mut snapshot) = log.snapshots.get(stream).cloned() else { return Ok(None) };
        if let Some(redacted) = personal::redact_forgotten(&snapshot.state, |s| log.forgotten.contains(s)) {
            snapshot.state = redacted.into();
        }
        Ok(Some(snapshot))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let mut log = self.log.borrow_mut();
        // A slower writer must not replace a newer snapshot with an older one.
        if log.snapshots.get(&snapshot.stream).is_none_or(|s| s.version < snapshot.version) {
            log.snapshots.insert(snapshot.stream.clone(), snapshot);
        }
        Ok(())
    }
}
