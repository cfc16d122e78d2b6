//! A native client of one log: connect as the log's user, push a commit, pull what the server
//! holds in its order. The browser's client speaks the same wire (`eventline_core::sync`).

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use async_nats::{Client, ConnectOptions, HeaderMap};
use eventline_core::store::CommitReceipt;
use eventline_core::sync::{self, Answer, BATCH_COMMIT, BATCH_ID, Delivered, MSG_ID, Pulled, Reassembly};
use futures::StreamExt;

use crate::SyncError;

/// How long a connection attempt or a request waits before it is a typed failure, not a hang.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to a server as the user of one log.
pub struct LogClient {
    pub log: String,
    pub client: Client,
    pub js: jetstream::Context,
}

impl LogClient {
    /// Connects to `url` as `user`. Replies come to the user's own inbox prefix (`_INBOX_<user>`),
    /// the only one its permissions let it read. An unreachable server is `Unreachable` and
    /// refused credentials `Unauthorized`, each within [`TIMEOUT`].
    /// `urls` are the nodes to try, the first that answers taken (and the others on a reconnect).
    pub async fn connect(urls: &[String], log: &str, user: &str, password: &str) -> Result<LogClient, SyncError> {
        sync::check_log(log)?;
        let url = urls.join(",");
        let addresses = urls
            .iter()
            .map(|u| u.parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SyncError::new("InvalidArgument", format!("a server address: {e}")))?;
        let options = ConnectOptions::new()
            .user_and_password(user.to_string(), password.to_string())
            .custom_inbox_prefix(format!("_INBOX_{user}"))
            .connection_timeout(TIMEOUT)
            .request_timeout(Some(TIMEOUT));
        let client = options.connect(addresses).await.map_err(|e| match e.kind() {
            async_nats::ConnectErrorKind::AuthorizationViolation | async_nats::ConnectErrorKind::Authentication => {
                SyncError::new("Unauthorized", format!("{url} refused {user}'s credentials: {e}"))
            }
            _ => SyncError::new("Unreachable", format!("cannot reach {url}: {e}")),
        })?;
        let js = jetstream::new(client.clone());
        Ok(LogClient { log: log.to_string(), client, js })
    }

    /// Pushes one commit as one atomic batch; `last_seen` is the last server sequence this
    /// device saw on each of its streams' subjects, `attempt` names this try (a retry takes a
    /// new one). The server's answer says what became of it ([`Answer`]); a timeout is
    /// `Err(Timeout)`, after which the commit may or may not be stored: push it again, and the
    /// server answers `AlreadyStored` if it was.
    pub async fn push(
        &self,
        commit: &CommitReceipt,
        last_seen: &dyn Fn(&eventline_core::ids::StreamId) -> u64,
        attempt: &str,
    ) -> Result<Answer, SyncError> {
        self.push_all(std::slice::from_ref(commit), last_seen, attempt).await
    }

    /// Pushes several commits, in order, as one atomic batch ([`sync::batch_of`]): all stored or
    /// none. Stored, the last message's sequence; the others precede it one by one.
    pub async fn push_all(
        &self,
        commits: &[CommitReceipt],
        last_seen: &dyn Fn(&eventline_core::ids::StreamId) -> u64,
        attempt: &str,
    ) -> Result<Answer, SyncError> {
        let messages = sync::batch_of(&self.log, commits, last_seen, attempt)?;
        let last = messages.len() - 1;
        for (i, message) in messages.into_iter().enumerate() {
            let mut headers = HeaderMap::new();
            for (name, value) in &message.headers {
                headers.insert(*name, value.as_str());
            }
            if i < last {
                // No reply for the batch's first messages: the last one's answers for all.
                self.client
                    .publish_with_headers(message.subject, headers, message.body.into())
                    .await
                    .map_err(|e| SyncError::new("Unreachable", e.to_string()))?;
            } else {
                let reply =
                    self.client.request_with_headers(message.subject, headers, message.body.into()).await.map_err(
                        |e| match e.kind() {
                            async_nats::RequestErrorKind::TimedOut => SyncError::new("Timeout", e.to_string()),
                            async_nats::RequestErrorKind::NoResponders => SyncError::new("NoResponders", e.to_string()),
                            _ => SyncError::new("Unreachable", e.to_string()),
                        },
                    )?;
                return Ok(sync::answer(&reply.payload));
            }
        }
        unreachable!("a commit has at least one message")
    }

    async fn keys(&self) -> Result<async_nats::jetstream::kv::Store, SyncError> {
        self.js
            .get_key_value(sync::key_bucket(&self.log))
            .await
            .map_err(|e| SyncError::new("ServerRefused", format!("the key bucket of log {}: {e}", self.log)))
    }

    /// Puts data subject `subject`'s key in the log's key bucket, for the log's other devices.
    pub async fn put_key(&self, subject: &str, key: &[u8]) -> Result<(), SyncError> {
        let keys = self.keys().await?;
        keys.put(sync::key_name(subject), key.to_vec().into())
            .await
            .map_err(|e| SyncError::new("ServerRefused", format!("putting {subject}'s key: {e}")))?;
        Ok(())
    }

    /// Data subject `subject`'s key, if the bucket holds it (not after it was forgotten).
    pub async fn key(&self, subject: &str) -> Result<Option<Vec<u8>>, SyncError> {
        let keys = self.keys().await?;
        let value = keys
            .get(sync::key_name(subject))
            .await
            .map_err(|e| SyncError::new("ServerRefused", format!("reading {subject}'s key: {e}")))?;
        Ok(value.map(|v| v.to_vec()))
    }

    /// Forgets data subject `subject` on the server: the stored key is erased (its bytes
    /// overwritten in the server's files, which a key-value delete or purge alone leaves there),
    /// then purged, which leaves a tombstone so that the other devices learn of it.
    pub async fn forget_key(&self, subject: &str) -> Result<(), SyncError> {
        let keys = self.keys().await?;
        let name = sync::key_name(subject);
        let refused = |e: &dyn std::fmt::Display| SyncError::new("ServerRefused", format!("forgetting {subject}: {e}"));
        if let Some(entry) = keys.entry(name.clone()).await.map_err(|e| refused(&e))? {
            keys.stream.delete_message(entry.revision).await.map_err(|e| refused(&e))?;
        }
        keys.purge(name).await.map_err(|e| refused(&e))?;
        Ok(())
    }

    /// The last sequence the server holds for this log (0 when empty).
    pub async fn last_sequence(&self) -> Result<u64, SyncError> {
        let mut stream = self
            .js
            .get_stream(sync::stream_name(&self.log))
            .await
            .map_err(|e| SyncError::new("ServerRefused", format!("log {}: {e}", self.log)))?;
        let info = stream.info().await.map_err(|e| SyncError::new("ServerRefused", e.to_string()))?;
        Ok(info.state.last_sequence)
    }

    /// Every commit the server holds after sequence `after`, in its order, each read and checked
    /// ([`sync::read_commit`]): what is not an Eventline commit comes back as the reason it was
    /// refused, with its sequence, and the pull goes on past it.
    pub async fn pull(&self, after: u64) -> Result<Vec<Pulled>, SyncError> {
        let until = self.last_sequence().await?;
        if until <= after {
            return Ok(Vec::new());
        }
        let stream = self
            .js
            .get_stream(sync::stream_name(&self.log))
            .await
            .map_err(|e| SyncError::new("ServerRefused", e.to_string()))?;
        let reader = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: after + 1 },
                ..Default::default()
            })
            .await
            .map_err(|e| SyncError::new("ServerRefused", format!("reading log {}: {e}", self.log)))?;
        let mut messages = reader.messages().await.map_err(|e| SyncError::new("ServerRefused", e.to_string()))?;
        let mut commits = Reassembly::default();
        loop {
            let next = tokio::time::timeout(TIMEOUT, messages.next())
                .await
                .map_err(|_| SyncError::new("Timeout", format!("log {}: no message within {TIMEOUT:?}", self.log)))?;
            let Some(message) = next else { break };
            let message = message.map_err(|e| SyncError::new("ServerRefused", e.to_string()))?;
            let seq = message.info().map_err(|e| SyncError::new("ServerRefused", e.to_string()))?.stream_sequence;
            let header =
                |name: &str| message.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_string());
            let batch = header(BATCH_ID);
            commits.take(
                &self.log,
                Delivered {
                    subject: message.subject.to_string(),
                    body: message.payload.to_vec(),
                    seq,
                    batch: batch.as_deref(),
                    commits: header(BATCH_COMMIT).is_some(),
                    begins: header(MSG_ID).is_some(),
                },
            );
            if seq >= until {
                break;
            }
        }
        Ok(commits.finish())
    }
}
