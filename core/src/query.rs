//! The query side's questions, as JSON text: each read model answers `query(args)` from its
//! documents with the answer's JSON.
//!
//! Arguments are validated like commands: unknown fields, wrong types and out-of-range limits are
//! an [`InvalidQuery`], never a panic. Text in and text out, not `serde_json::Value`: each answer
//! type then needs only its serializer to text, which keeps the WebAssembly module small.

use serde::Serialize;
use serde_json::Value;

use crate::aggregate::ErrorCode;

/// The arguments do not fit the read model's questions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid query: {message}")]
pub struct InvalidQuery {
    pub message: String,
}

impl InvalidQuery {
    pub fn new(message: impl Into<String>) -> InvalidQuery {
        InvalidQuery { message: message.into() }
    }
}

impl ErrorCode for InvalidQuery {
    fn code(&self) -> &'static str {
        "InvalidQuery"
    }
}

/// A read model that answers JSON questions: `args` is JSON text (an object, `null` or empty),
/// the answer is JSON text.
pub trait Query {
    fn query(&self, args: &str) -> Result<String, InvalidQuery>;
}

/// A query's arguments: a JSON object of known fields. Parsed as a `Value`, whose parser the
/// core has anyway, and then read field by field: one argument parser in the WebAssembly module
/// rather than a serde-derived one per read model.
pub struct Args(serde_json::Map<String, Value>);

impl Args {
    /// `args` is an object, `null` or empty, with no field outside `known`.
    pub fn parse(args: &str, known: &[&str]) -> Result<Args, InvalidQuery> {
        let args = args.trim();
        if args.is_empty() || args == "null" {
            return Ok(Args(serde_json::Map::new()));
        }
        let fields = match serde_json::from_str(args) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => return Err(InvalidQuery::new("query arguments are an object")),
            Err(e) => return Err(InvalidQuery::new(e.to_string())),
        };
        if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            return Err(InvalidQuery::new(format!("unknown field `{unknown}`, expected {}", expected.join(" or "))));
        }
        Ok(Args(fields))
    }

    /// A field that is absent or `null` is `None`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A string field, checked by `parse` (an id's rules, say).
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, InvalidQuery> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => parse(text).map(Some).map_err(|e| InvalidQuery::new(format!("`{name}`: {e}"))),
            Some(other) => Err(InvalidQuery::new(format!("`{name}` is a string, not {other}"))),
        }
    }

    pub fn flag(&self, name: &str) -> Result<bool, InvalidQuery> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(other) => Err(InvalidQuery::new(format!("`{name}` is true or false, not {other}"))),
        }
    }

    /// `limit`, 1 to `max`; `default` when absent.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, InvalidQuery> {
        match self.get("limit") {
            None => Ok(default),
            Some(n) => match n.as_u64() {
                Some(n) if (1..=max as u64).contains(&n) => Ok(n as usize),
                _ => Err(InvalidQuery::new(format!("limit is 1 to {max}; got {n}"))),
            },
        }
    }
}

/// An answer as JSON text.
pub fn to_json<T: Serialize>(value: T) -> String {
    serde_json::to_string(&value).unwrap_or_else(|_| "null".into())
}
