//! The browser's client of one log on a sync server (feature `sync`): push a commit, pull what
//! the server holds in its order, over [`crate::nats`] and the wire every client shares
//! (`eventline_core::sync`). The same model as the native client (`sync/src/client.rs`).

use eventline_core::ids::StreamId;
use eventline_core::store::CommitReceipt;
use eventline_core::sync::{self, Answer, BATCH_COMMIT, BATCH_ID, Delivered, MSG_ID, Pulled, Reassembly};
use serde_json::json;

use crate::failure::Failure;
use crate::nats::{Connection, TIMEOUT_MS, next};

/// Pages a read asks again for when the server answers one with nothing before the last sequence.
const EMPTY_PAGES: u32 = 3;

/// Messages asked for per pull request.
const PULL_BATCH: u64 = 1000;

/// A data subject's keys as a log's key bucket holds them.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerKey {
    /// No device shared a key for the subject.
    Absent,
    /// Forgotten: erased, and a tombstone left so that no device shares a key again.
    Forgotten,
    /// The subject's keys (32 bytes each), in the message with server sequence `seq`.
    Held { seq: u64, keys: Vec<u8> },
}

/// A connection to a sync server as the user of one log.
pub struct LogClient {
    pub log: String,
    connection: Connection,
}

fn api_error(what: &str, reply: &serde_json::Value) -> Option<Failure> {
    let error = reply.get("error")?;
    let description = error.get("description").and_then(|d| d.as_str()).unwrap_or("refused");
    Some(Failure::new("ServerRefused", format!("{what}: {description}")))
}

impl LogClient {
    /// Connects to `url` (`ws://…`) as `user`, for log `log`.
    pub async fn connect(url: &str, log: &str, user: &str, password: &str) -> Result<LogClient, Failure> {
        sync::check_log(log).map_err(|e| Failure::new(e.code, e.reason))?;
        Ok(LogClient { log: log.to_string(), connection: Connection::open(url, user, password).await? })
    }

    /// Pushes one commit as one atomic batch ([`sync::messages`]); the server's answer says what
    /// became of it. `Timeout`: it may or may not be stored; push it again under a new
    /// `attempt`, and the server answers `AlreadyStored` if it was.
    pub async fn push(
        &self,
        commit: &CommitReceipt,
        last_seen: &dyn Fn(&StreamId) -> u64,
        attempt: &str,
    ) -> Result<Answer, Failure> {
        self.push_all(std::slice::from_ref(commit), last_seen, attempt).await
    }

    /// Pushes several commits, in order, as one atomic batch ([`sync::batch_of`]): all stored or
    /// none, at the server's cost of one batch. Stored, the last message's sequence; the others
    /// precede it one by one.
    pub async fn push_all(
        &self,
        commits: &[CommitReceipt],
        last_seen: &dyn Fn(&StreamId) -> u64,
        attempt: &str,
    ) -> Result<Answer, Failure> {
        let messages =
            sync::batch_of(&self.log, commits, last_seen, attempt).map_err(|e| Failure::new(e.code, e.reason))?;
        self.push_messages(&messages).await
    }

    /// Sends the messages of a batch made by [`sync::batch_of`]; the server's answer to it.
    pub async fn push_messages(&self, messages: &[sync::Outgoing]) -> Result<Answer, Failure> {
        let Some(last) = messages.len().checked_sub(1) else {
            return Err(Failure::new("InvalidBatch", "a batch holds at least one message"));
        };
        for message in &messages[..last] {
            self.connection.publish(&message.subject, &message.headers, &message.body)?;
        }
        let message = &messages[last];
        let reply = self.connection.request(&message.subject, &message.headers, &message.body).await?;
        Ok(sync::answer(&reply.data))
    }

    async fn api(&self, subject: &str, body: serde_json::Value) -> Result<serde_json::Value, Failure> {
        let reply = self.connection.request(subject, &[], body.to_string().as_bytes()).await?;
        let value: serde_json::Value = serde_json::from_slice(&reply.data)
            .map_err(|e| Failure::new("ServerRefused", format!("{subject}: an answer that is not JSON: {e}")))?;
        match api_error(subject, &value) {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }

    /// Data subject `subject`'s keys in the log's key bucket.
    pub async fn key(&self, subject: &str) -> Result<ServerKey, Failure> {
        let get =
            format!("$JS.API.DIRECT.GET.{}.{}", sync::key_stream(&self.log), sync::key_subject(&self.log, subject));
        let reply = self.connection.request(&get, &[], b"").await?;
        match reply.status {
            404 => Ok(ServerKey::Absent),
            0 if matches!(reply.header("KV-Operation"), Some("DEL" | "PURGE")) => Ok(ServerKey::Forgotten),
            0 => {
                let seq = reply
                    .header("Nats-Sequence")
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Failure::new("Protocol", format!("{subject}'s key came without its sequence")))?;
                Ok(ServerKey::Held { seq, keys: reply.data })
            }
            status => Err(Failure::new("ServerRefused", format!("reading {subject}'s key: status {status}"))),
        }
    }

    /// Stores `keys` as data subject `subject`'s, if the last message of its key is still the one
    /// with sequence `expected` (0: none). False if another device's came first.
    pub async fn put_key(&self, subject: &str, keys: &[u8], expected: u64) -> Result<bool, Failure> {
        let headers = [(sync::EXPECTED_LAST_SUBJECT_SEQUENCE, expected.to_string())];
        let reply = self.connection.request(&sync::key_subject(&self.log, subject), &headers, keys).await?;
        match sync::answer(&reply.data) {
            Answer::Stored { .. } => Ok(true),
            Answer::Conflict | Answer::Retry | Answer::AlreadyStored => Ok(false),
            Answer::Refused(why) => Err(Failure::new("ServerRefused", format!("putting {subject}'s key: {why}"))),
        }
    }

    /// Erases the message with sequence `seq` from the key bucket: its bytes are overwritten in
    /// the server's files, which a key-value delete, a purge or a newer value alone leave there.
    pub async fn erase_key_message(&self, seq: u64) -> Result<(), Failure> {
        let stream = sync::key_stream(&self.log);
        let erased = self.api(&format!("$JS.API.STREAM.MSG.DELETE.{stream}"), json!({ "seq": seq })).await;
        match erased {
            // Gone already (erased by another device meanwhile).
            Err(e) if e.message.contains("no message found") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Forgets data subject `subject` on the server: its stored keys erased
    /// ([`LogClient::erase_key_message`]), then a tombstone in their place, so that every device
    /// learns it and none shares a key for the subject again.
    pub async fn forget_key(&self, subject: &str) -> Result<(), Failure> {
        if let ServerKey::Held { seq, .. } = self.key(subject).await? {
            self.erase_key_message(seq).await?;
        }
        let headers = [("KV-Operation", "PURGE".to_string()), ("Nats-Rollup", "sub".to_string())];
        let reply = self.connection.request(&sync::key_subject(&self.log, subject), &headers, b"").await?;
        match sync::answer(&reply.data) {
            Answer::Stored { .. } | Answer::AlreadyStored => Ok(()),
            Answer::Conflict | Answer::Retry => {
                Err(Failure::new("Timeout", format!("forgetting {subject}: try again")))
            }
            Answer::Refused(why) => Err(Failure::new("ServerRefused", format!("forgetting {subject}: {why}"))),
        }
    }

    /// The last sequence the server holds for this log (0 when empty).
    pub async fn last_sequence(&self) -> Result<u64, Failure> {
        let stream = sync::stream_name(&self.log);
        let info = self.api(&format!("$JS.API.STREAM.INFO.{stream}"), json!({})).await?;
        Ok(info.pointer("/state/last_seq").and_then(|v| v.as_u64()).unwrap_or(0))
    }

    /// Every commit the server holds after sequence `after`, in its order, each read and checked
    /// ([`sync::read_commit`]); what is not a commit comes back as why it was refused, and the
    /// pull goes on past it.
    pub async fn pull(&self, after: u64) -> Result<Vec<Pulled>, Failure> {
        Ok(self.pull_seen(after).await?.0)
    }

    /// Like [`LogClient::pull`], with the last sequence of every subject the returned commits
    /// and refusals cover: what a device expects of a subject when it next writes it. A
    /// message on a subject that is no commit counts too (the server counts it), and a batch
    /// left open for the next pull does not (its commit is not read yet).
    pub async fn pull_seen(&self, after: u64) -> Result<(Vec<Pulled>, Vec<(String, u64)>), Failure> {
        let mut commits = Reassembly::default();
        let mut seen: Vec<(String, u64)> = Vec::new();
        self.read(after, &mut |message, seq| {
            let batch = message.header(BATCH_ID).map(str::to_string);
            let (ends, begins) = (message.header(BATCH_COMMIT).is_some(), message.header(MSG_ID).is_some());
            let (subject, body) = (message.subject, message.data);
            seen.push((subject.clone(), seq));
            commits.take(&self.log, Delivered { subject, body, seq, batch: batch.as_deref(), commits: ends, begins });
        })
        .await?;
        let pulled = commits.finish();
        let read_up_to = pulled.last().map_or(after, |p| p.seq);
        let mut last: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        for (subject, seq) in seen.into_iter().filter(|(_, seq)| *seq <= read_up_to) {
            last.insert(subject, seq);
        }
        Ok((pulled, last.into_iter().collect()))
    }

    /// How many messages the server holds after sequence `after`, fetched as [`LogClient::pull`]
    /// fetches them but neither grouped nor read: the benchmark's raw baseline.
    pub async fn count_raw(&self, after: u64) -> Result<u64, Failure> {
        let mut count = 0;
        self.read(after, &mut |_, _| count += 1).await?;
        Ok(count)
    }

    /// News of every message stored on the log from now on, without its body: a JetStream
    /// consumer delivering headers only to this connection's inbox. A device waits on it
    /// instead of looking again every so often, so another device's commit is pulled at once.
    pub async fn watch(&self) -> Result<futures::channel::mpsc::UnboundedReceiver<crate::nats::Msg>, Failure> {
        let (inbox, _, news) = self.connection.subscribe("news")?;
        let stream = sync::stream_name(&self.log);
        self.api(
            &format!("$JS.API.CONSUMER.CREATE.{stream}"),
            json!({"stream_name": stream, "config": {
                "deliver_subject": inbox, "deliver_policy": "new", "ack_policy": "none",
                "headers_only": true, "mem_storage": true, "num_replicas": 1,
                "inactive_threshold": 60_000_000_000u64,
            }}),
        )
        .await?;
        Ok(news)
    }

    /// The connection, for sending what is not a commit (the benchmark's raw baseline).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Hands every message after sequence `after`, up to the last one when asked, to `take`
    /// with its sequence: an ephemeral consumer from `after + 1`, acknowledging nothing, read in
    /// pages, each to an inbox of its own (so nothing of an earlier page, such as the status that
    /// ends it, is read as part of this one).
    async fn read(&self, after: u64, take: &mut dyn FnMut(crate::nats::Msg, u64)) -> Result<(), Failure> {
        let until = self.last_sequence().await?;
        if until <= after {
            return Ok(());
        }
        let stream = sync::stream_name(&self.log);
        let created = self
            .api(
                &format!("$JS.API.CONSUMER.CREATE.{stream}"),
                json!({"stream_name": stream, "config": {
                    "deliver_policy": "by_start_sequence", "opt_start_seq": after + 1,
                    "ack_policy": "none", "mem_storage": true, "num_replicas": 1,
                    "inactive_threshold": 60_000_000_000u64,
                }}),
            )
            .await?;
        let consumer = created.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
        let next_subject = format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}");
        let (mut seq, mut page, mut empty) = (0, 0, 0);
        while seq < until {
            page += 1;
            let (inbox, sid, mut deliveries) = self.connection.subscribe(&format!("pull{page}"))?;
            let ask = json!({"batch": PULL_BATCH, "no_wait": true}).to_string();
            self.connection.publish_with_reply(&next_subject, &inbox, ask.as_bytes())?;
            let mut got = 0;
            let read = loop {
                let message = match next(&mut deliveries, TIMEOUT_MS, "reading the log").await {
                    Ok(message) => message,
                    Err(error) => break Err(error),
                };
                match message.status {
                    0 => {}
                    // A heartbeat; otherwise the page ended (404 no messages, 408 expired).
                    100 => continue,
                    _ => break Ok(()),
                }
                got += 1;
                let Some(at) = ack_sequence(&message.reply) else {
                    break Err(Failure::new("Protocol", "a JetStream message without its sequence"));
                };
                seq = at;
                take(message, seq);
                if got == PULL_BATCH || seq >= until {
                    break Ok(());
                }
            };
            self.connection.unsubscribe(sid);
            read?;
            if got == 0 {
                // A consumer just made can answer "no messages" before it holds what the stream
                // does (seen in WebKit's runs): asked again a moment later, a few times.
                empty += 1;
                if empty > EMPTY_PAGES {
                    break;
                }
                crate::tabs::sleep(10 * empty).await;
            }
        }
        Ok(())
    }
}

/// The stream sequence of a JetStream message, from its reply subject
/// (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.…`, or with a domain and an account
/// hash after `$JS.ACK`: 12 tokens or more).
fn ack_sequence(reply: &str) -> Option<u64> {
    let tokens: Vec<&str> = reply.split('.').collect();
    if tokens.len() < 9 || tokens[0] != "$JS" || tokens[1] != "ACK" {
        return None;
    }
    let at = if tokens.len() >= 12 { 7 } else { 5 };
    tokens.get(at)?.parse().ok()
}
