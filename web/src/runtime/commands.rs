//! The command side: commands queued per stream within the tab and retried on conflicts with
//! other tabs, the head, states at a point in history, and events for timelines.

use super::*;

impl<A> Runtime<A>
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
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
        self.after(&executed);
        Ok(executed)
    }

    /// Parses and executes a command given as JSON text (what the JS API receives). With sync
    /// started, the text is kept until the commit is confirmed, so that a conflict with another
    /// device can decide it again.
    pub async fn execute_text(&self, json: &str) -> Result<Executed, Failure> {
        #[allow(unused_mut)]
        let mut request = A::parse_command(json)?;
        #[cfg(feature = "sync")]
        {
            let id = request.command_id.get_or_insert_with(|| CommandId::from(new_command_id())).clone();
            self.keep_for_sync(&id, json).await?;
        }
        self.execute(request).await
    }

    /// Tells the other tabs and the runner of a commit; a commit that forgot someone, whatever
    /// the command, purges them everywhere at once.
    pub(super) fn after(&self, executed: &Executed) {
        if !executed.replayed {
            self.committed(executed.receipt.last_position());
        }
        if let Some(subject) = forgotten_in(&executed.receipt.events) {
            self.purge(&subject);
            self.broadcast(&Message { name: Some(subject), ..Message::of("forgotten") });
        }
    }

    /// Forgets data subject `subject`, in any application (`eventline_core::forget`): every
    /// personal value about them becomes unreadable, everywhere. Idempotent: forgetting again
    /// answers with the first forgetting, replayed.
    pub async fn forget(&self, subject: &str, command_id: Option<CommandId>) -> Result<Executed, Failure> {
        self.ensure_open()?;
        // Refused as the command it stands for (`ForgetSubject` in the demo) would be.
        eventline_core::ids::check_id(subject, eventline_core::ids::MAX_ID)
            .map_err(|e| Failure::of(&InvalidCommand::new(format!("`subject`: {e}"))))?;
        let command_id = command_id.unwrap_or_else(|| CommandId::from(new_command_id()));
        let digest = eventline_core::store::CommandDigest::of(&format!("forget\u{1f}{subject}"));
        let meta = CommandMeta::new(command_id).asking(digest);
        let stream = eventline_core::forget::subject_stream(subject);
        let _turn = self.0.turns.take(std::slice::from_ref(&stream)).await;
        let executed =
            eventline_core::forget::forget(self.0.app.store(), &BrowserEnv, meta, subject).await.map_err(|e| {
                let details = e.details().and_then(|json| RawValue::from_string(json).ok());
                Failure { details, ..Failure::of(&e) }
            })?;
        self.after(&executed);
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
}
