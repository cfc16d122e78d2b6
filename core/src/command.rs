//! Commands as they arrive from outside: a JSON object with a `type`, the envelope every command
//! may carry (`commandId`, `correlationId`, `expectedVersion`) and the fields of its type.
//!
//! This is the trust boundary. [`parse`] reads the envelope and hands the rest to an
//! application's own parser as [`Fields`], which remember what the parser read: any field left
//! unread (a misspelt `commandId`, a field of another command type) refuses the command, so a typo
//! never quietly loses an idempotency key or a version check. Parsing never panics; anything that
//! is not a well-formed command is an [`InvalidCommand`] naming the problem.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::aggregate::ErrorCode;
use crate::ids::{CommandId, CorrelationId, MAX_ID, StreamVersion, check_id};
use crate::store::CommandDigest;
use crate::version::ExpectedVersion;

/// A parsed command with the ids the caller gave, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRequest<C> {
    pub command: C,
    pub command_id: Option<CommandId>,
    pub correlation_id: Option<CorrelationId>,
    /// The version the caller saw of the command's aggregate; `Any` unless given.
    pub expected_version: ExpectedVersion,
    /// What it asks, to tell a retry from a reused command id.
    pub digest: CommandDigest,
}

/// The input is not a command this application accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid command: {message}")]
pub struct InvalidCommand {
    pub message: String,
}

impl InvalidCommand {
    pub fn new(message: impl Into<String>) -> InvalidCommand {
        InvalidCommand { message: message.into() }
    }
}

impl ErrorCode for InvalidCommand {
    fn code(&self) -> &'static str {
        "InvalidCommand"
    }
}

fn invalid(message: impl Into<String>) -> InvalidCommand {
    InvalidCommand::new(message)
}

/// The fields of one command, as raw JSON, for its application's parser. Each read is
/// remembered: [`parse`] refuses the fields nobody read, naming those the type takes.
pub struct Fields<'a> {
    kind: String,
    given: Vec<(String, &'a RawValue)>,
    asked: RefCell<Vec<&'static str>>,
}

impl<'a> Fields<'a> {
    /// The command's `type`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Field `name` as given; `null` counts as absent.
    pub fn raw(&self, name: &'static str) -> Option<&'a RawValue> {
        let mut asked = self.asked.borrow_mut();
        if !asked.contains(&name) {
            asked.push(name);
        }
        self.given.iter().find(|(n, _)| n == name).map(|(_, raw)| *raw).filter(|raw| raw.get() != "null")
    }

    pub fn required<T: DeserializeOwned>(&self, name: &'static str) -> Result<T, InvalidCommand> {
        let raw = self.raw(name).ok_or_else(|| invalid(format!("missing field `{name}`")))?;
        value(raw, name)
    }

    pub fn optional<T: DeserializeOwned>(&self, name: &'static str) -> Result<Option<T>, InvalidCommand> {
        self.raw(name).map(|raw| value(raw, name)).transpose()
    }

    /// Free text a person gave: trimmed, 1 to `max` characters, no control characters.
    pub fn text(&self, name: &'static str, max: usize) -> Result<String, InvalidCommand> {
        text(self.required(name)?, name, max)
    }

    pub fn optional_text(&self, name: &'static str, max: usize) -> Result<Option<String>, InvalidCommand> {
        self.optional(name)?.map(|t| text(t, name, max)).transpose()
    }

    /// The fields given but never read, and the ones the parser asked for.
    fn unread(&self) -> Option<(&str, Vec<&'static str>)> {
        let asked = self.asked.borrow();
        let extra = self.given.iter().find(|(n, raw)| raw.get() != "null" && !asked.contains(&n.as_str()))?;
        Some((extra.0.as_str(), asked.clone()))
    }

    /// What the command asks, however it was spelt: its type and the fields it was given, by
    /// name, each as canonical JSON (keys sorted, no spaces). Its ids and expected version are
    /// the envelope, not the request.
    fn digest(&self) -> CommandDigest {
        let mut given: Vec<&(String, &RawValue)> = Vec::new();
        // By name, by insertion: a command has a handful of fields, and a library sort would
        // add its own code to every module for them.
        for field in self.given.iter().filter(|(_, raw)| raw.get() != "null") {
            let at = given.iter().position(|g| g.0 > field.0).unwrap_or(given.len());
            given.insert(at, field);
        }
        let mut text = self.kind.clone();
        for (name, raw) in given {
            text.push('\u{1f}');
            text.push_str(name);
            text.push('=');
            match serde_json::from_str::<serde_json::Value>(raw.get()) {
                Ok(value) => text.push_str(&value.to_string()),
                Err(_) => text.push_str(raw.get()),
            }
        }
        CommandDigest::of(&text)
    }
}

fn value<T: DeserializeOwned>(raw: &RawValue, name: &str) -> Result<T, InvalidCommand> {
    serde_json::from_str(raw.get()).map_err(|e| invalid(format!("`{name}`: {}", reason(e))))
}

fn text(text: String, name: &str, max: usize) -> Result<String, InvalidCommand> {
    let text = text.trim().to_string();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(invalid(format!("`{name}` is 1 to {max} characters of text")));
    }
    Ok(text)
}

/// A JSON value's kind, from its first character.
pub fn describe(json: &str) -> &'static str {
    match json.trim_start().as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

/// A serde error without the position within the field's own text, and cut short: serde quotes
/// the value it refused, and a 50 MB string must not come back whole.
pub fn reason(error: serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(reason, _)| reason);
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    format!("{}...", text.chars().take(MAX).collect::<String>())
}

/// A command object's members in order, each name once.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Members<'de>, M::Error> {
                let mut members: Vec<(String, &'de RawValue)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if members.iter().any(|(n, _)| *n == name) {
                        return Err(serde::de::Error::custom(format_args!("duplicate field `{name}`")));
                    }
                    members.push((name, map.next_value()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Object)
    }
}

/// The envelope's fields: every command may carry them, whatever its type.
const ENVELOPE: [&str; 4] = ["type", "commandId", "correlationId", "expectedVersion"];

/// Parses a command from JSON text (what a JS caller's object becomes with `JSON.stringify`):
/// the envelope here, the rest by `parse_fields` given the type, which must be one of `types`.
pub fn parse<C>(
    json: &str,
    types: &[&str],
    parse_fields: impl FnOnce(&Fields<'_>) -> Result<C, InvalidCommand>,
) -> Result<CommandRequest<C>, InvalidCommand> {
    if !json.trim_start().starts_with('{') {
        serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|e| invalid(format!("not JSON: {e}")))?;
        return Err(invalid(format!("a command is an object with a `type`, not {}", describe(json))));
    }
    let Members(members) = crate::json::from_str(json)
        .map_err(|e| if e.is_data() { invalid(reason(e)) } else { invalid(format!("not JSON: {e}")) })?;
    let envelope =
        |name: &str| members.iter().find(|(n, _)| n == name).map(|(_, raw)| *raw).filter(|raw| raw.get() != "null");
    let kind: String = match envelope("type") {
        None => return Err(invalid("a command needs a `type`")),
        Some(raw) if raw.get().starts_with('"') => value(raw, "type")?,
        Some(raw) => return Err(invalid(format!("`type` is a string, not {}", describe(raw.get())))),
    };
    if !types.contains(&kind.as_str()) {
        return Err(invalid(format!(
            "unknown command type {}; expected one of {}",
            crate::ids::quote(&kind),
            types.join(", ")
        )));
    }
    let command_id = optional_id(envelope("commandId"), "commandId")?.map(CommandId::from);
    let correlation_id = optional_id(envelope("correlationId"), "correlationId")?.map(CorrelationId::from);
    let expected_version = expected_version(envelope("expectedVersion"))?;
    let given = members.iter().filter(|(n, _)| !ENVELOPE.contains(&n.as_str())).cloned().collect();
    let fields = Fields { kind, given, asked: RefCell::new(Vec::new()) };
    let command = parse_fields(&fields)?;
    if let Some((extra, takes)) = fields.unread() {
        return Err(invalid(format!(
            "{} has no field `{extra}`; it takes {}",
            fields.kind,
            if takes.is_empty() { "no other".to_string() } else { takes.join(", ") }
        )));
    }
    Ok(CommandRequest { digest: fields.digest(), command, command_id, correlation_id, expected_version })
}

fn optional_id(raw: Option<&RawValue>, name: &str) -> Result<Option<String>, InvalidCommand> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.get().starts_with('"') => {
            let text: String = value(raw, name)?;
            check_id(&text, MAX_ID).map_err(|e| invalid(format!("`{name}`: {e}")))?;
            Ok(Some(text))
        }
        Some(raw) => Err(invalid(format!("`{name}` is a string, not {}", describe(raw.get())))),
    }
}

/// `expectedVersion`: a stream version (0 for "no stream yet") or `"any"`, `"noStream"`,
/// `"streamExists"`.
fn expected_version(raw: Option<&RawValue>) -> Result<ExpectedVersion, InvalidCommand> {
    let Some(raw) = raw else { return Ok(ExpectedVersion::Any) };
    let text = raw.get();
    if text.starts_with('"') {
        let name: String = value(raw, "expectedVersion")?;
        return match name.as_str() {
            "any" => Ok(ExpectedVersion::Any),
            "noStream" => Ok(ExpectedVersion::NoStream),
            "streamExists" => Ok(ExpectedVersion::StreamExists),
            _ => Err(invalid("`expectedVersion` is a version number, \"any\", \"noStream\" or \"streamExists\"")),
        };
    }
    match serde_json::from_str::<u64>(text) {
        Ok(0) => Ok(ExpectedVersion::NoStream),
        Ok(version) if version <= MAX_SAFE_INTEGER => Ok(ExpectedVersion::Exact(StreamVersion(version))),
        _ => Err(invalid(format!(
            "`expectedVersion` is a whole number from 0 to 2^53 - 1 or a name, not {}",
            if describe(text) == "a number" {
                text.chars().take(32).collect::<String>()
            } else {
                describe(text).into()
            }
        ))),
    }
}

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Cmd {
        Add { n: u32, note: Option<String> },
        Reset,
    }

    fn parse_cmd(json: &str) -> Result<CommandRequest<Cmd>, InvalidCommand> {
        parse(json, &["Add", "Reset"], |f| match f.kind() {
            "Add" => Ok(Cmd::Add { n: f.required("n")?, note: f.optional_text("note", 10)? }),
            _ => Ok(Cmd::Reset),
        })
    }

    #[test]
    fn the_envelope_is_read_for_every_type() {
        let r = parse_cmd(r#"{"type":"Add","n":2,"commandId":"c-1","correlationId":"k","expectedVersion":3}"#).unwrap();
        assert_eq!(r.command, Cmd::Add { n: 2, note: None });
        assert_eq!(r.command_id, Some(CommandId::from("c-1")));
        assert_eq!(r.correlation_id, Some(CorrelationId::from("k")));
        assert_eq!(r.expected_version, ExpectedVersion::Exact(StreamVersion(3)));
        assert_eq!(
            parse_cmd(r#"{"type":"Reset","expectedVersion":0}"#).unwrap().expected_version,
            ExpectedVersion::NoStream
        );
    }

    #[test]
    fn a_field_nobody_reads_refuses_the_command() {
        let cases = [
            (r#"{"type":"Reset","n":1}"#, "Reset has no field `n`; it takes no other"),
            (r#"{"type":"Add","n":1,"comandId":"x"}"#, "Add has no field `comandId`; it takes n, note"),
            (r#"{"type":"Add","n":1,"n":2}"#, "duplicate field `n`"),
            (r#"{"type":"Add"}"#, "missing field `n`"),
            (r#"{"type":"Add","n":"1"}"#, "`n`: invalid type"),
            (r#"{"type":"Add","n":1,"note":"  "}"#, "`note` is 1 to 10 characters"),
            (r#"{"type":"Mint"}"#, "unknown command type \"Mint\"; expected one of Add, Reset"),
            (r#"{"type":"Add","n":1,"commandId":"a b"}"#, "`commandId`: an id is"),
            (r#"{"type":"Add","n":1,"expectedVersion":-1}"#, "`expectedVersion` is a whole number"),
            ("[]", "not an array"),
            ("{", "not JSON"),
        ];
        for (json, expected) in cases {
            let error = parse_cmd(json).unwrap_err();
            assert!(error.message.contains(expected), "{json}: {}", error.message);
        }
        // `null` is absent, wherever it is.
        assert_eq!(parse_cmd(r#"{"type":"Reset","n":null,"commandId":null}"#).unwrap().command, Cmd::Reset);
    }

    #[test]
    fn the_digest_is_what_is_asked_however_it_is_spelt() {
        let digest = |json: &str| parse_cmd(json).unwrap().digest;
        let a = digest(r#"{"type":"Add","n":1,"note":"x","commandId":"c"}"#);
        assert_eq!(a, digest(r#"{ "note": "x", "n": 1, "type": "Add", "commandId": "other" }"#));
        assert_ne!(a, digest(r#"{"type":"Add","n":2,"note":"x"}"#));
        assert_ne!(a, digest(r#"{"type":"Add","n":1}"#));
    }
}
