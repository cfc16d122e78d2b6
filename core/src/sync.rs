//! Sync's wire: how a commit travels through NATS JetStream (docs/SYNC.md). Pure, like the rest
//! of the core: the subjects of a log, the message of each stream a commit writes with the
//! headers that make a push safe to retry and a conflict per stream, reading a commit back out of
//! what a server delivers (which is not believed: it is checked like an import), and what a
//! server's answer to a push means.
//!
//! Invariants:
//! - a commit is one message per stream it writes, published as one atomic batch (all stored or
//!   none), the first message carrying the commit's id as `Nats-Msg-Id`: a retried push is
//!   refused as already stored, never stored twice;
//! - each subject's first message in a batch expects the last server sequence its device saw on
//!   it (`Nats-Expected-Last-Subject-Sequence`; nothing comes between a batch's messages, so the
//!   later ones need none): devices writing different streams never conflict, two writing the
//!   same stream do, and a batch with one stale expectation stores nothing;
//! - a commit read back names its subject's stream, its part of the commit and the versions it
//!   continues: anything else on a log's subjects is refused with a reason, never appended.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::envelope::{NewEvent, RecordedEvent};
use crate::ids::{CausationId, CommandId, CorrelationId, EventId, StreamId, StreamVersion, Timestamp};
use crate::import::{check_ids, check_type};
use crate::store::{CommandDigest, Commit, CommitReceipt, StreamWrite};
use crate::version::ExpectedVersion;

/// The commit's id, once per commit: the server keeps it for the stream's duplicate window and
/// refuses a second batch that carries it.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The last server sequence on the message's subject that the device saw (0: none yet).
pub const EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";
/// An atomic batch: its id (fresh for every attempt), each message's place in it from 1, and
/// `1` on the last, which stores the batch.
pub const BATCH_ID: &str = "Nats-Batch-Id";
pub const BATCH_SEQUENCE: &str = "Nats-Batch-Sequence";
pub const BATCH_COMMIT: &str = "Nats-Batch-Commit";
/// The most messages the server takes in one batch (its `max_batch_size`): a commit writes at
/// most this many streams.
pub const MAX_PARTS: usize = 1000;
/// The largest message a log's JetStream stream takes (its `max_msg_size`): one stream's events
/// of one commit.
pub const MAX_MESSAGE: usize = 256 * 1024;

/// Why something cannot go on the wire or come off it. `code` is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct WireError {
    pub code: &'static str,
    pub reason: String,
}

fn refused(code: &'static str, reason: impl Into<String>) -> WireError {
    WireError { code, reason: reason.into() }
}

/// A log's name: 1 to 32 letters, digits, `_` or `-`, since it is a token of every subject and
/// part of the names of its JetStream stream and key bucket.
pub fn check_log(log: &str) -> Result<(), WireError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if log.is_empty() || log.len() > 32 || !log.bytes().all(allowed) {
        return Err(refused("InvalidLog", format!("a log is 1 to 32 letters, digits, _ or -; got {log:?}")));
    }
    Ok(())
}

/// The JetStream stream that holds log `log`.
pub fn stream_name(log: &str) -> String {
    format!("EL_{log}")
}

/// The JetStream key-value bucket that holds log `log`'s subjects' keys.
pub fn key_bucket(log: &str) -> String {
    format!("elkeys_{log}")
}

/// The JetStream stream under log `log`'s key bucket.
pub fn key_stream(log: &str) -> String {
    format!("KV_{}", key_bucket(log))
}

/// The subject data subject `subject`'s key is stored on in log `log`'s key bucket.
pub fn key_subject(log: &str, subject: &str) -> String {
    format!("$KV.{}.{}", key_bucket(log), key_name(subject))
}

/// Every subject of log `log`: what its JetStream stream stores and its users may write.
pub fn subjects(log: &str) -> String {
    format!("el.{log}.s.>")
}

/// The subject of one Eventline stream: `el.<log>.s.<category>.<id>`. An id may hold `.`, which
/// separates a subject's tokens, so it travels as `%2E` (`%` is never in an id).
pub fn subject(log: &str, stream: &StreamId) -> String {
    format!("el.{log}.s.{}.{}", stream.category(), stream.aggregate_id().replace('.', "%2E"))
}

/// The name of data subject `subject`'s key in a log's key bucket. Subject ids may hold `:` and
/// `@`, which key names may not: they travel as `=3A` and `=40` (`=` is never in an id).
pub fn key_name(subject: &str) -> String {
    subject.replace(':', "=3A").replace('@', "=40")
}

/// One message of a commit as it travels: the events one stream got from it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Part {
    pub command: CommandId,
    pub correlation: CorrelationId,
    pub causation: CausationId,
    pub at: Timestamp,
    /// The command's digest, so that a device that gets the commit refuses the same id reused
    /// for another request as the one that made it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<u64>,
    pub stream: StreamId,
    /// The stream's version before these events.
    pub from: u64,
    /// This message's place among the commit's messages, from 0, and how many there are.
    pub part: u32,
    pub parts: u32,
    pub events: Vec<WireEvent>,
}

/// An event as it travels: its personal values sealed, as in the log it came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireEvent {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema: u16,
    pub data: Box<RawValue>,
}

/// A message to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub subject: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The messages of one commit, as one atomic batch. `last_seen` is the last server sequence the
/// device saw on a stream's subject (0 for a stream the server has never had); `batch` names this
/// attempt (a retry takes a new one: a batch id may not be reused while the server still holds a
/// half-sent batch of it), at most 64 characters.
pub fn messages(
    log: &str,
    commit: &CommitReceipt,
    last_seen: &dyn Fn(&StreamId) -> u64,
    batch: &str,
) -> Result<Vec<Outgoing>, WireError> {
    batch_of(log, std::slice::from_ref(commit), last_seen, batch)
}

/// The messages of several commits, in order, as one atomic batch (all stored or none): what an
/// outbox pushes, since the server's cost is per batch. Each commit's first message carries its
/// id; each subject's first message carries the expectation of what the device saw on it, and
/// its later messages none (nothing can come between the messages of a batch). At most
/// [`MAX_PARTS`] messages.
pub fn batch_of(
    log: &str,
    commits: &[CommitReceipt],
    last_seen: &dyn Fn(&StreamId) -> u64,
    batch: &str,
) -> Result<Vec<Outgoing>, WireError> {
    check_log(log)?;
    if batch.is_empty() || batch.len() > 64 {
        return Err(refused("InvalidBatch", "a batch id is 1 to 64 characters"));
    }
    let mut out: Vec<Outgoing> = Vec::new();
    let mut expected: Vec<&StreamId> = Vec::new();
    for commit in commits {
        // The commit's events per stream, in the order the streams were first written.
        let mut streams: Vec<(&StreamId, Vec<&RecordedEvent>)> = Vec::new();
        for event in &commit.events {
            match streams.iter_mut().find(|(stream, _)| **stream == event.meta.stream) {
                Some((_, events)) => events.push(event),
                None => streams.push((&event.meta.stream, vec![event])),
            }
        }
        if streams.is_empty() || out.len() + streams.len() > MAX_PARTS {
            return Err(refused("CommitTooLarge", format!("a batch holds 1 to {MAX_PARTS} streams' messages")));
        }
        let parts = streams.len() as u32;
        for (i, (stream, events)) in streams.iter().enumerate() {
            let first = events[0];
            let part = Part {
                command: commit.command_id.clone(),
                correlation: first.meta.correlation_id.clone(),
                causation: first.meta.causation_id.clone(),
                at: first.meta.recorded_at,
                digest: commit.digest.map(|d| d.0),
                stream: (*stream).clone(),
                from: first.meta.version.0.checked_sub(1).ok_or_else(|| {
                    refused("CorruptData", format!("an event of {stream} at version 0 in commit {}", commit.command_id))
                })?,
                part: i as u32,
                parts,
                events: events
                    .iter()
                    .map(|e| {
                        let data = RawValue::from_string(e.payload.to_string())
                            .map_err(|error| refused("CorruptData", format!("event {}: {error}", e.meta.event_id)))?;
                        Ok(WireEvent {
                            id: e.meta.event_id,
                            event_type: e.event_type.to_string(),
                            schema: e.schema_version,
                            data,
                        })
                    })
                    .collect::<Result<_, WireError>>()?,
            };
            let body = serde_json::to_vec(&part).expect("a part serializes");
            let mut headers = vec![(BATCH_ID, batch.to_string()), (BATCH_SEQUENCE, (out.len() + 1).to_string())];
            if !expected.contains(stream) {
                expected.push(stream);
                headers.push((EXPECTED_LAST_SUBJECT_SEQUENCE, last_seen(stream).to_string()));
            }
            if i == 0 {
                headers.push((MSG_ID, commit.command_id.as_str().to_string()));
            }
            // The server counts the header block with the body: `NATS/1.0`, `name: value` lines
            // (the commit header, on the last message, included).
            let header_bytes: usize = 12 + 22 + headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>();
            if body.len() + header_bytes > MAX_MESSAGE {
                return Err(refused(
                    "CommitTooLarge",
                    format!(
                        "{}'s events of this commit are {} bytes, over {MAX_MESSAGE}",
                        stream,
                        body.len() + header_bytes
                    ),
                ));
            }
            out.push(Outgoing { subject: subject(log, stream), headers, body });
        }
    }
    if let Some(last) = out.last_mut() {
        last.headers.push((BATCH_COMMIT, "1".to_string()));
    }
    Ok(out)
}

/// Reads one commit out of the messages a server delivered for it (subject and body, in server
/// order): every message must be a part of the same commit, on its stream's subject, each part
/// once. The commit expects each stream at the version its part continues, so appending it to a
/// log that is not there refuses it.
pub fn read_commit(log: &str, messages: &[(&str, &[u8])]) -> Result<Commit, WireError> {
    let mut parts: Vec<Part> = Vec::with_capacity(messages.len());
    for (subject_seen, body) in messages {
        if body.len() > MAX_MESSAGE {
            return Err(refused("ForeignMessage", format!("a message of {} bytes on {subject_seen}", body.len())));
        }
        // Read as every record is (an object, never an array standing for one).
        let part: Part = std::str::from_utf8(body)
            .map_err(|e| e.to_string())
            .and_then(|text| crate::json::from_str(text).map_err(|e| e.to_string()))
            .map_err(|e| refused("ForeignMessage", format!("not an Eventline commit on {subject_seen}: {e}")))?;
        part.stream.check().map_err(|e| refused("ForeignMessage", e))?;
        if subject(log, &part.stream) != *subject_seen {
            return Err(refused(
                "ForeignMessage",
                format!("a part of stream {} arrived on {subject_seen}", part.stream),
            ));
        }
        parts.push(part);
    }
    let Some(first) = parts.first() else { return Err(refused("ForeignMessage", "a commit of no message")) };
    check_ids(&first.command, &first.correlation, &first.causation).map_err(|e| refused("ForeignMessage", e))?;
    if first.parts == 0 || first.at.0 == 0 {
        return Err(refused("ForeignMessage", format!("commit {} of no parts or of no time", first.command)));
    }
    if parts.len() != first.parts as usize {
        return Err(refused(
            "IncompleteCommit",
            format!("commit {} has {} parts, {} arrived", first.command, first.parts, parts.len()),
        ));
    }
    let mut writes: Vec<StreamWrite> = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let same = part.command == first.command
            && part.correlation == first.correlation
            && part.causation == first.causation
            && part.at == first.at
            && part.digest == first.digest
            && part.parts == first.parts;
        if !same || part.part as usize != i {
            return Err(refused(
                "ForeignMessage",
                format!("part {i} of commit {} does not belong to it", first.command),
            ));
        }
        if part.events.is_empty() || writes.iter().any(|w| w.stream == part.stream) {
            return Err(refused(
                "ForeignMessage",
                format!("commit {} writes {} twice or not at all", first.command, part.stream),
            ));
        }
        let expected = match part.from {
            0 => ExpectedVersion::NoStream,
            from => ExpectedVersion::Exact(StreamVersion(from)),
        };
        let events = part
            .events
            .iter()
            .map(|e| {
                if e.schema == 0 {
                    return Err(refused("ForeignMessage", format!("commit {}: an event of schema 0", first.command)));
                }
                check_type(&e.event_type)
                    .map_err(|why| refused("ForeignMessage", format!("commit {}: {why}", first.command)))?;
                Ok(NewEvent {
                    event_id: e.id,
                    event_type: e.event_type.as_str().into(),
                    schema_version: e.schema,
                    payload: e.data.get().into(),
                })
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        writes.push(StreamWrite { stream: part.stream.clone(), expected, events });
    }
    let mut ids: Vec<EventId> = writes.iter().flat_map(|w| w.events.iter().map(|e| e.event_id)).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(refused("ForeignMessage", format!("commit {} holds an event id twice", first.command)));
    }
    Ok(Commit {
        command_id: first.command.clone(),
        correlation_id: first.correlation.clone(),
        causation_id: first.causation.clone(),
        recorded_at: first.at,
        writes,
        digest: first.digest.map(CommandDigest),
    })
}

/// One commit as pulled: the server's sequence of its last message, and the commit or why it
/// was refused (a dead letter: a pull goes on past it).
#[derive(Debug)]
pub struct Pulled {
    pub seq: u64,
    pub commit: Result<Commit, WireError>,
}

/// A message as delivered: its subject, body and sequence, and what its headers say about its
/// batch (`Nats-Batch-Id`, `Nats-Batch-Commit`) and commit (`Nats-Msg-Id`).
#[derive(Debug)]
pub struct Delivered<'a> {
    pub subject: String,
    pub body: Vec<u8>,
    pub seq: u64,
    pub batch: Option<&'a str>,
    pub commits: bool,
    pub begins: bool,
}

/// Gathers the messages a server delivers, in its order, into commits: a batch is whole when
/// its committing message arrives (`Nats-Batch-Commit`), a message of no batch is a commit of its
/// own, and a batch interrupted by another message never will be whole.
#[derive(Debug, Default)]
pub struct Reassembly {
    /// Subject, body, sequence, and whether it begins a commit.
    open: Vec<(String, Vec<u8>, u64, bool)>,
    batch: Option<String>,
    pub pulled: Vec<Pulled>,
}

impl Reassembly {
    /// Takes the message at sequence `seq`: its subject, body and headers (`Nats-Batch-Id`,
    /// whether it carries `Nats-Batch-Commit`, and whether it carries a commit's id, which begins
    /// each commit of a batch of several).
    pub fn take(&mut self, log: &str, message: Delivered<'_>) {
        let Delivered { subject, body, seq, batch, commits, begins } = message;
        if self.batch.is_some() && self.batch.as_deref() != batch {
            self.cut();
        }
        self.batch = batch.map(str::to_string);
        self.open.push((subject, body, seq, begins));
        if batch.is_none() || commits {
            let messages = std::mem::take(&mut self.open);
            let mut start = 0;
            for end in 1..=messages.len() {
                if end == messages.len() || messages[end].3 {
                    let parts: Vec<(&str, &[u8])> =
                        messages[start..end].iter().map(|(s, b, _, _)| (s.as_str(), b.as_slice())).collect();
                    let seq = messages[end - 1].2;
                    self.pulled.push(Pulled { seq, commit: read_commit(log, &parts) });
                    start = end;
                }
            }
            self.batch = None;
        }
    }

    /// Whether a batch is begun and not yet whole.
    pub fn is_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// The commits read. A batch still open at the end is not among them: the server stores a
    /// batch whole, so its rest is there for the next pull, which starts after the last commit
    /// returned (a stream's last sequence, read while a batch is being stored, can fall inside
    /// it).
    pub fn finish(self) -> Vec<Pulled> {
        self.pulled
    }

    fn cut(&mut self) {
        if let Some((_, _, seq, _)) = self.open.last() {
            let seq = *seq;
            self.open.clear();
            let reason = format!("a batch ending at {seq} was never committed");
            self.pulled.push(Pulled { seq, commit: Err(refused("IncompleteCommit", reason)) });
        }
        self.batch = None;
    }
}

/// What a server's answer to a push means for the commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Stored; the sequence of its last message.
    Stored { seq: u64 },
    /// Stored by an earlier attempt (its id is in the duplicate window): done, nothing twice.
    AlreadyStored,
    /// Another device wrote one of its streams first: pull, decide again, push the new decision.
    Conflict,
    /// Nothing stored, and the same push may be tried again (a leader changing, a full queue).
    Retry,
    /// Refused for good, with the server's words.
    Refused(String),
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    stream: String,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    duplicate: bool,
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

/// Reads a server's reply to the last message of a batch (JetStream's JSON answer).
pub fn answer(raw: &[u8]) -> Answer {
    let Ok(reply) = serde_json::from_slice::<Reply>(raw) else {
        return Answer::Refused(format!("an answer that is not JetStream's: {}", String::from_utf8_lossy(raw)));
    };
    match reply.error {
        None if reply.stream.is_empty() || reply.seq == 0 => {
            Answer::Refused(format!("an answer that names no stored message: {}", String::from_utf8_lossy(raw)))
        }
        None if reply.duplicate => Answer::AlreadyStored,
        None => Answer::Stored { seq: reply.seq },
        Some(error) => match error.err_code {
            // Wrong last sequence: another device's message is on the subject. 10164 also when a
            // message of the subject is still being stored (in a cluster; our own earlier attempt,
            // even): a pull then shows which, at the cost of one pull.
            10071 | 10164 => Answer::Conflict,
            // The batch holds an id already stored: an earlier attempt of this commit landed.
            10201 => Answer::AlreadyStored,
            // An id in process, too many open batches, a batch cut short by a leader change.
            10158 | 10210 | 10176 => Answer::Retry,
            _ => Answer::Refused(format!("{} (err_code {})", error.description, error.err_code)),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::envelope::EventMetadata;
    use crate::ids::Position;

    fn receipt(writes: &[(&str, u64)]) -> CommitReceipt {
        let events = writes
            .iter()
            .enumerate()
            .map(|(i, (stream, before))| RecordedEvent {
                meta: EventMetadata {
                    event_id: EventId(uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + i as u128)),
                    stream: StreamId::from(*stream),
                    version: StreamVersion(before + 1),
                    position: Position(9 + i as u64),
                    recorded_at: Timestamp(5),
                    command_id: "cmd-1".into(),
                    correlation_id: "corr".into(),
                    causation_id: "cmd-1".into(),
                },
                event_type: Arc::from("MoneyDeposited"),
                schema_version: 1,
                payload: Arc::from(r#"{"amount":5}"#),
            })
            .collect();
        CommitReceipt { command_id: "cmd-1".into(), events, digest: Some(CommandDigest(7)) }
    }

    fn wire(messages: &[Outgoing]) -> Vec<(&str, &[u8])> {
        messages.iter().map(|m| (m.subject.as_str(), m.body.as_slice())).collect()
    }

    #[test]
    fn a_commit_goes_out_as_one_batch_and_comes_back_whole() {
        let commit = receipt(&[("account-a.1", 3), ("account-b", 0)]);
        let seen = |s: &StreamId| if s.as_str() == "account-a.1" { 41 } else { 0 };
        let out = messages("log_1", &commit, &seen, "try-1").unwrap();
        assert_eq!(out[0].subject, "el.log_1.s.account.a%2E1");
        assert_eq!(out[1].subject, "el.log_1.s.account.b");
        let header = |m: &Outgoing, name: &str| m.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        assert_eq!(header(&out[0], MSG_ID).as_deref(), Some("cmd-1"), "the commit's id, once");
        assert_eq!(header(&out[1], MSG_ID), None);
        assert_eq!(header(&out[0], EXPECTED_LAST_SUBJECT_SEQUENCE).as_deref(), Some("41"));
        assert_eq!(header(&out[1], EXPECTED_LAST_SUBJECT_SEQUENCE).as_deref(), Some("0"));
        assert_eq!(header(&out[0], BATCH_COMMIT), None);
        assert_eq!(header(&out[1], BATCH_COMMIT).as_deref(), Some("1"));
        assert_eq!(header(&out[1], BATCH_SEQUENCE).as_deref(), Some("2"));

        let back = read_commit("log_1", &wire(&out)).unwrap();
        assert_eq!(back.command_id.as_str(), "cmd-1");
        assert_eq!(back.correlation_id.as_str(), "corr");
        assert_eq!(back.digest, Some(CommandDigest(7)));
        assert_eq!(back.writes[0].expected, ExpectedVersion::Exact(StreamVersion(3)));
        assert_eq!(back.writes[1].expected, ExpectedVersion::NoStream);
        assert_eq!(&*back.writes[0].events[0].payload, r#"{"amount":5}"#);
        assert_eq!(back.writes[0].events[0].event_id, commit.events[0].meta.event_id);
    }

    #[test]
    fn what_is_not_a_whole_commit_is_refused_with_a_reason() {
        let commit = receipt(&[("account-a", 0), ("account-b", 0)]);
        let out = messages("log", &commit, &|_| 0, "t").unwrap();
        let code = |m: &[(&str, &[u8])]| read_commit("log", m).err().map(|e| e.code);
        // Half a commit, a part on another stream's subject, another log's subject, not JSON.
        assert_eq!(code(&wire(&out)[..1]), Some("IncompleteCommit"));
        assert_eq!(code(&[(out[1].subject.as_str(), out[0].body.as_slice()), wire(&out)[1]]), Some("ForeignMessage"));
        assert_eq!(read_commit("other", &wire(&out)).err().map(|e| e.code), Some("ForeignMessage"));
        assert_eq!(code(&[("el.log.s.account.a", b"hello"), wire(&out)[1]]), Some("ForeignMessage"));
        assert_eq!(code(&[]), Some("ForeignMessage"));
        // Parts of two commits, one part twice, a forged event type or id.
        let other =
            messages("log", &CommitReceipt { command_id: "cmd-2".into(), ..receipt(&[("account-b", 0)]) }, &|_| 0, "u")
                .unwrap();
        let mut forged = Part::deserialize(&mut serde_json::Deserializer::from_slice(&other[0].body)).unwrap();
        forged.parts = 2;
        forged.part = 1;
        let forged = serde_json::to_vec(&forged).unwrap();
        assert_eq!(code(&[wire(&out)[0], (out[1].subject.as_str(), &forged)]), Some("ForeignMessage"));
        assert_eq!(code(&[wire(&out)[0], wire(&out)[0]]), Some("ForeignMessage"));
        let text = String::from_utf8(out[0].body.clone()).unwrap();
        for bad in [
            text.replace("MoneyDeposited", "Money Deposited"),
            text.replace("\"command\":\"cmd-1\"", "\"command\":\"a b\""),
        ] {
            assert_eq!(
                code(&[(out[0].subject.as_str(), bad.as_bytes()), wire(&out)[1]]),
                Some("ForeignMessage"),
                "{bad}"
            );
        }
        assert_eq!(
            code(&[(out[0].subject.as_str(), &vec![b' '; MAX_MESSAGE + 1]), wire(&out)[1]]),
            Some("ForeignMessage")
        );
        // No time, no parts, an event id twice.
        for (from, to) in [("\"at\":5", "\"at\":0"), ("\"parts\":2", "\"parts\":0")] {
            let bad: Vec<Vec<u8>> =
                out.iter().map(|m| String::from_utf8_lossy(&m.body).replace(from, to).into_bytes()).collect();
            let bad: Vec<(&str, &[u8])> =
                out.iter().zip(&bad).map(|(m, b)| (m.subject.as_str(), b.as_slice())).collect();
            assert_eq!(code(&bad), Some("ForeignMessage"), "{to}");
        }
        let mut twice = receipt(&[("account-a", 0), ("account-b", 0)]);
        twice.events[1].meta.event_id = twice.events[0].meta.event_id;
        let twice = messages("log", &twice, &|_| 0, "t").unwrap();
        assert_eq!(code(&wire(&twice)), Some("ForeignMessage"));
    }

    #[test]
    fn several_commits_go_out_as_one_batch_and_come_back_apart() {
        let first = receipt(&[("account-a", 0), ("account-b", 0)]);
        let mut second = receipt(&[("account-a", 1)]);
        second.command_id = "cmd-2".into();
        let seen = |s: &StreamId| if s.as_str() == "account-a" { 7 } else { 0 };
        let out = batch_of("log", &[first, second], &seen, "t").unwrap();
        let header = |m: &Outgoing, name: &str| m.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        let column = |name: &str| out.iter().map(|m| header(m, name)).collect::<Vec<_>>();
        assert_eq!(column(MSG_ID), [Some("cmd-1".to_string()), None, Some("cmd-2".to_string())]);
        // Each subject's expectation on its first message only: nothing comes between a batch's.
        assert_eq!(column(EXPECTED_LAST_SUBJECT_SEQUENCE), [Some("7".to_string()), Some("0".to_string()), None]);
        assert_eq!(column(BATCH_SEQUENCE), [Some("1".to_string()), Some("2".to_string()), Some("3".to_string())]);
        assert_eq!(column(BATCH_COMMIT), [None, None, Some("1".to_string())]);
        let mut commits = Reassembly::default();
        for (i, m) in out.iter().enumerate() {
            let has = |name: &str| m.headers.iter().any(|(n, _)| *n == name);
            let (subject, body) = (m.subject.clone(), m.body.clone());
            let seq = 10 + i as u64;
            commits.take(
                "log",
                Delivered { subject, body, seq, batch: Some("t"), commits: has(BATCH_COMMIT), begins: has(MSG_ID) },
            );
        }
        let read: Vec<(u64, String, usize)> = commits
            .finish()
            .into_iter()
            .map(|p| {
                let commit = p.commit.unwrap();
                (p.seq, commit.command_id.to_string(), commit.writes.len())
            })
            .collect();
        assert_eq!(read, vec![(11, "cmd-1".to_string(), 2), (12, "cmd-2".to_string(), 1)]);
    }

    #[test]
    fn what_cannot_go_out_is_refused_before_it_does() {
        let mut zero = receipt(&[("account-a", 0)]);
        zero.events[0].meta.version = StreamVersion(0);
        assert_eq!(messages("log", &zero, &|_| 0, "t").err().map(|e| e.code), Some("CorruptData"));
        // Headers count with the body against the server's limit: a body 20 bytes under it is
        // over it with its headers.
        let with_note = |length: usize| {
            let mut commit = receipt(&[("account-a", 0)]);
            commit.events[0].payload = Arc::from(format!(r#"{{"note":"{}"}}"#, "x".repeat(length)));
            messages("log", &commit, &|_| 0, "t")
        };
        let small = with_note(0).unwrap()[0].body.len();
        assert_eq!(with_note(MAX_MESSAGE - 20 - small).err().map(|e| e.code), Some("CommitTooLarge"));
        assert!(with_note(MAX_MESSAGE - 400 - small).is_ok());
    }

    #[test]
    fn delivered_messages_are_gathered_into_commits() {
        let two = messages("log", &receipt(&[("account-a", 0), ("account-b", 0)]), &|_| 0, "t").unwrap();
        let one =
            messages("log", &CommitReceipt { command_id: "cmd-2".into(), ..receipt(&[("account-c", 0)]) }, &|_| 0, "u")
                .unwrap();
        let mut commits = Reassembly::default();
        let take = |commits: &mut Reassembly, m: &Outgoing, seq: u64, batch: &str| {
            let has = |name: &str| m.headers.iter().any(|(n, _)| *n == name);
            let (subject, body) = (m.subject.clone(), m.body.clone());
            let message =
                Delivered { subject, body, seq, batch: Some(batch), commits: has(BATCH_COMMIT), begins: has(MSG_ID) };
            commits.take("log", message);
        };
        // A whole batch; a batch cut by another message; a message of no batch; a batch begun
        // at the end, left for the next pull.
        take(&mut commits, &two[0], 1, "t");
        take(&mut commits, &two[1], 2, "t");
        take(&mut commits, &two[0], 3, "x");
        take(&mut commits, &one[0], 4, "u");
        let foreign = Delivered {
            subject: "el.log.s.account.d".into(),
            body: b"hello".to_vec(),
            seq: 5,
            batch: None,
            commits: false,
            begins: false,
        };
        commits.take("log", foreign);
        take(&mut commits, &two[0], 6, "y");
        let read: Vec<(u64, Result<String, &str>)> = commits
            .finish()
            .into_iter()
            .map(|p| (p.seq, p.commit.map(|c| c.command_id.to_string()).map_err(|e| e.code)))
            .collect();
        assert_eq!(
            read,
            vec![
                (2, Ok("cmd-1".into())),
                (3, Err("IncompleteCommit")),
                (4, Ok("cmd-2".into())),
                (5, Err("ForeignMessage")),
            ]
        );
    }

    #[test]
    fn a_log_name_is_one_token_and_a_batch_id_fits() {
        for bad in ["", "a.b", "a b", "a*", ">", &"x".repeat(33)] {
            assert!(check_log(bad).is_err(), "{bad:?}");
        }
        assert!(messages("log", &receipt(&[("account-a", 0)]), &|_| 0, &"b".repeat(65)).is_err());
        assert_eq!(key_name("cust:1@x.y"), "cust=3A1=40x.y");
    }

    #[test]
    fn a_servers_answer_says_what_became_of_a_push() {
        assert_eq!(answer(br#"{"stream":"EL_x","seq":7,"batch":"b","count":2}"#), Answer::Stored { seq: 7 });
        assert_eq!(answer(br#"{"stream":"EL_x","seq":7,"duplicate":true}"#), Answer::AlreadyStored);
        assert!(matches!(answer(b"{}"), Answer::Refused(_)), "no stream, no sequence: not a store");
        let error = |code: u64| format!(r#"{{"error":{{"code":400,"err_code":{code},"description":"d"}}}}"#);
        assert_eq!(answer(error(10071).as_bytes()), Answer::Conflict);
        assert_eq!(answer(error(10164).as_bytes()), Answer::Conflict);
        assert_eq!(answer(error(10201).as_bytes()), Answer::AlreadyStored);
        assert_eq!(answer(error(10176).as_bytes()), Answer::Retry);
        assert_eq!(answer(error(10999).as_bytes()), Answer::Refused("d (err_code 10999)".into()));
        assert!(matches!(answer(b"-ERR"), Answer::Refused(_)));
    }
}
