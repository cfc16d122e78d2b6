//! Optimistic concurrency: what a writer expects a stream's version to be.
//!
//! Invariant: every store checks `ExpectedVersion::check` for every stream of a commit inside the
//! same atomic step that writes the commit, so two writers that loaded the same version can never
//! both win.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{StreamId, StreamVersion};

/// The four cases of KurrentDB/EventStoreDB and Emmett.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "version", rename_all = "camelCase")]
pub enum ExpectedVersion {
    /// No check: append whatever the stream's state.
    Any,
    /// The stream must not exist (it has no events).
    NoStream,
    /// The stream must exist (it has at least one event).
    StreamExists,
    /// The stream's current version must be exactly this. `Exact(StreamVersion(0))` means the
    /// same as `NoStream`.
    Exact(StreamVersion),
}

impl ExpectedVersion {
    /// What a writer that loaded a stream at `version` expects when it appends.
    pub fn from_loaded(version: StreamVersion) -> ExpectedVersion {
        if version.exists() { ExpectedVersion::Exact(version) } else { ExpectedVersion::NoStream }
    }

    pub fn is_satisfied_by(self, actual: StreamVersion) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => !actual.exists(),
            ExpectedVersion::StreamExists => actual.exists(),
            ExpectedVersion::Exact(expected) => expected == actual,
        }
    }

    pub fn check(self, stream: &StreamId, actual: StreamVersion) -> Result<(), WrongExpectedVersion> {
        if self.is_satisfied_by(actual) {
            Ok(())
        } else {
            Err(WrongExpectedVersion { stream: stream.clone(), expected: self, actual })
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("an existing stream"),
            ExpectedVersion::Exact(version) => write!(f, "version {}", version.0),
        }
    }
}

/// A commit was refused because a stream was not at the version its writer expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[error("stream {stream} was expected at {expected} but is at version {}", actual.0)]
pub struct WrongExpectedVersion {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    /// The stream's version when the commit was refused; 0 if it does not exist.
    pub actual: StreamVersion,
}

#[cfg(test)]
mod tests {
    use super::*;

    const V0: StreamVersion = StreamVersion(0);
    const V3: StreamVersion = StreamVersion(3);

    #[test]
    fn the_four_cases() {
        use ExpectedVersion::*;
        assert!(Any.is_satisfied_by(V0) && Any.is_satisfied_by(V3));
        assert!(NoStream.is_satisfied_by(V0) && !NoStream.is_satisfied_by(V3));
        assert!(!StreamExists.is_satisfied_by(V0) && StreamExists.is_satisfied_by(V3));
        assert!(Exact(V3).is_satisfied_by(V3) && !Exact(V3).is_satisfied_by(StreamVersion(2)));
        assert!(Exact(V0).is_satisfied_by(V0));
    }

    #[test]
    fn conflict_carries_expected_and_actual() {
        let stream = StreamId::from("account-a");
        let err = ExpectedVersion::Exact(StreamVersion(2)).check(&stream, V3).unwrap_err();
        assert_eq!(err.expected, ExpectedVersion::Exact(StreamVersion(2)));
        assert_eq!(err.actual, V3);
        assert_eq!(err.to_string(), "stream account-a was expected at version 2 but is at version 3");
    }
}
