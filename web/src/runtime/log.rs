//! The log as a whole: export with its digest, import checked before anything is written and
//! resumable, bulk appends (imports, traffic decided on a scratch log), and reset.

use super::*;

impl<A> Runtime<A>
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
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
    pub(super) async fn check_ids_are_new(&self, commits: &[Commit], lines: &[usize]) -> Result<(), Failure> {
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
    pub(super) async fn imported_prefix(&self, commits: &[Commit]) -> Result<usize, Failure> {
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
    pub(super) async fn append_commits(
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
        // Before: a batch being read now is dropped (the epoch moved); after: nothing folded
        // while the stores were being emptied survives.
        self.forget_folds();
        self.0.store.clear_all().await?;
        self.forget_folds();
        self.broadcast(&Message::of("reset"));
        self.emit(Notice::Reset);
        Ok(())
    }
}

/// Why a bulk append stopped after `done` of `total` events, with how far it got. Storage can
/// fail part way (a full quota, a closed tab): the batches before stay, and the same log imported
/// again resumes. Anything else means another tab wrote the same streams meanwhile.
pub(super) fn interrupted(error: &AppendError, task: &str, done: u64, total: u64, head: Position) -> Failure {
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
