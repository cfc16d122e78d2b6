//! The one error shape callers see: a stable `code`, a human `message`, and `details` when the
//! domain has more to say (the balance and the requested amount of `InsufficientFunds`, say).

use std::fmt::Display;

use eventline_core::ErrorCode;
use eventline_core::demo::app::AppError;
use eventline_core::demo::command::InvalidCommand;
use eventline_core::demo::queries::InvalidQuery;
use eventline_core::store::StoreError;
use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Failure {
        Failure { code: code.to_string(), message: message.into(), details: Value::Null }
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

impl From<AppError> for Failure {
    fn from(e: AppError) -> Failure {
        Failure { details: e.details(), ..Failure::of(&e) }
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
