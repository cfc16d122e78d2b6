//! The one error shape callers see: a stable `code`, a human `message`, and `details` when the
//! domain has more to say (the balance and the requested amount of `InsufficientFunds`, say).

use std::fmt::Display;

use eventline_core::ErrorCode;
use eventline_core::app::ApplicationError;
use eventline_core::command::InvalidCommand;
use eventline_core::query::InvalidQuery;
use eventline_core::store::StoreError;
use serde::Serialize;
use serde_json::value::RawValue;

#[derive(Clone, Debug, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: String,
    pub message: String,
    /// JSON of the domain's fields, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<RawValue>>,
}

impl PartialEq for Failure {
    fn eq(&self, other: &Failure) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.details.as_ref().map(|d| d.get()) == other.details.as_ref().map(|d| d.get())
    }
}

/// Longest message a caller gets: messages quote input, and input can be megabytes.
const MAX_MESSAGE: usize = 1_000;

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Failure {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE {
            let mut end = MAX_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str("...");
        }
        Failure { code: code.to_string(), message, details: None }
    }

    pub fn of<E: ErrorCode + Display>(error: &E) -> Failure {
        Failure::new(error.code(), error.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::of(&e)
    }
}

impl Failure {
    /// An application's error, with its details.
    pub fn of_app<E: ApplicationError>(e: E) -> Failure {
        let details = e.details().and_then(|json| RawValue::from_string(json).ok());
        Failure { details, ..Failure::of(&e) }
    }
}

impl From<InvalidCommand> for Failure {
    fn from(e: InvalidCommand) -> Failure {
        Failure::of(&e)
    }
}

impl From<InvalidQuery> for Failure {
    fn from(e: InvalidQuery) -> Failure {
        Failure::of(&e)
    }
}
