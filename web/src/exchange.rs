//! The export format, and reading it back: one recorded event per line (NDJSON, the core's
//! `RecordedEvent::to_json_line`), then one end line that counts the events and carries the
//! SHA-256 of everything before it:
//!
//! ```text
//! {"position":1,"stream":"account-a",...,"data":{...}}
//! ...
//! {"eventlineExport":"end","events":2,"sha256":"9f86d0..."}
//! ```
//!
//! An import refuses a log without that line or with another count (cut short: its last commit
//! may be torn) and one whose digest does not match (changed after export: damaged in transit,
//! edited by hand). The digest is not a signature: whoever can edit the file can recompute it,
//! so it tells a changed log from an intact one, not a forged log from a true one; what a forged
//! log may say is limited by the import's checks of every event (`eventline_core::import`).
//!
//! Pure parsing; the digest is computed by the caller (the browser's WebCrypto, `env::sha256_hex`).

use eventline_core::ids::{CommandId, StreamVersion};
use eventline_core::store::{Commit, StreamWrite};
use eventline_core::version::ExpectedVersion;
use eventline_core::{NewEvent, RecordedEvent};
use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// The last line of an export.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportEnd {
    eventline_export: String,
    events: u64,
    /// SHA-256, lower-case hex, of the export's text before this line.
    #[serde(default)]
    sha256: Option<String>,
}

/// The end line of an export of `events` events whose text before it has digest `sha256`.
pub fn end_line(events: u64, sha256: String) -> String {
    let end = ExportEnd { eventline_export: "end".into(), events, sha256: Some(sha256) };
    serde_json::to_string(&end).expect("plain fields serialize")
}

/// An export, read: its events in order, and what its end line says of them.
pub struct ParsedLog {
    pub events: Vec<RecordedEvent>,
    /// The line of each event in the text, from 1.
    pub lines: Vec<usize>,
    /// Byte length of the text before the end line: what the digest covers.
    pub body_len: usize,
    /// The digest the end line carries.
    pub sha256: String,
}

fn invalid(line: usize, message: impl Into<String>) -> Failure {
    Failure::new("InvalidImport", format!("line {line}: {}", message.into()))
}

/// Reads an export: every line an event, positions consecutive, then the end line counting them
/// with its digest. The digest itself is checked by the caller, over `body_len` bytes.
#[inline(never)]
pub fn parse(ndjson: &str) -> Result<ParsedLog, Failure> {
    let mut events: Vec<RecordedEvent> = Vec::new();
    let mut lines = Vec::new();
    let mut end: Option<(usize, ExportEnd, usize)> = None;
    let mut offset = 0;
    for (index, line) in ndjson.split_inclusive('\n').enumerate() {
        let (number, start) = (index + 1, offset);
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        if end.is_some() {
            return Err(invalid(number, "nothing may follow the end line"));
        }
        match RecordedEvent::from_json_line(line) {
            Ok(event) => {
                if let Some(previous) = events.last()
                    && event.meta.position.0 != previous.meta.position.0 + 1
                {
                    return Err(invalid(
                        number,
                        format!(
                            "position {} follows {}: events are missing",
                            event.meta.position, previous.meta.position
                        ),
                    ));
                }
                events.push(event);
                lines.push(number);
            }
            Err(e) => match eventline_core::json::from_str::<ExportEnd>(line) {
                Ok(marker) if marker.eventline_export == "end" => end = Some((number, marker, start)),
                _ => return Err(invalid(number, e.to_string())),
            },
        }
    }
    let Some((line, marker, body_len)) = end else {
        return Err(Failure::new(
            "InvalidImport",
            "the log has no end line: it was cut short, or is not an export of Eventline",
        ));
    };
    if marker.events != events.len() as u64 {
        return Err(invalid(line, format!("the export had {} events; {} arrived", marker.events, events.len())));
    }
    let Some(sha256) = marker.sha256 else {
        return Err(invalid(
            line,
            "the end line has no digest (`sha256`), so nothing shows the log is as it was exported; \
             export it again with this version",
        ));
    };
    Ok(ParsedLog { events, lines, body_len, sha256 })
}

/// The digest check's refusal.
pub fn tampered() -> Failure {
    Failure::new(
        "InvalidImport",
        "the log was changed after it was exported: its SHA-256 does not match the one its end line carries",
    )
}

/// Groups recorded events back into commits: consecutive events with the same command id are one
/// commit, and each stream's events in it one write expecting the version before its first.
#[inline(never)]
pub fn commits_from_events(events: &[RecordedEvent]) -> Result<Vec<Commit>, Failure> {
    let mut commits: Vec<Commit> = Vec::new();
    let mut last_command: Option<CommandId> = None;
    for (index, event) in events.iter().enumerate() {
        let new_event = NewEvent {
            event_id: event.meta.event_id,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            payload: event.payload.clone(),
        };
        if last_command.as_ref() != Some(&event.meta.command_id) {
            commits.push(Commit {
                command_id: event.meta.command_id.clone(),
                correlation_id: event.meta.correlation_id.clone(),
                causation_id: event.meta.causation_id.clone(),
                recorded_at: event.meta.recorded_at,
                writes: Vec::new(),
                digest: None,
            });
            last_command = Some(event.meta.command_id.clone());
        }
        let commit = commits.last_mut().expect("just pushed");
        match commit.writes.iter_mut().find(|w| w.stream == event.meta.stream) {
            Some(write) => {
                let expected = match write.expected {
                    ExpectedVersion::Exact(v) => v.0 + write.events.len() as u64 + 1,
                    _ => write.events.len() as u64 + 1,
                };
                if event.meta.version.0 != expected {
                    return Err(Failure::new(
                        "InvalidImport",
                        format!(
                            "event {}: {} jumps to version {}, expected {expected}",
                            index + 1,
                            event.meta.stream,
                            event.meta.version.0
                        ),
                    ));
                }
                write.events.push(new_event);
            }
            None => commit.writes.push(StreamWrite {
                stream: event.meta.stream.clone(),
                expected: ExpectedVersion::from_loaded(StreamVersion(event.meta.version.0 - 1)),
                events: vec![new_event],
            }),
        }
    }
    Ok(commits)
}
