//! Sync's server side and a native client, over NATS JetStream (docs/SYNC.md).
//!
//! - [`log`]: a log on the server: its JetStream stream (one subject per Eventline stream, atomic
//!   batches, a day's duplicate window) and its key bucket. What the server tool does.
//! - [`client`]: connecting as a log's user, pushing a commit (one atomic batch, retried safely)
//!   and pulling commits in the server's order, each checked before it is believed
//!   (`eventline_core::sync`, the wire every client shares).
//! - [`server`]: starting `nats-server` from the repository's configs (`sync/nats/`): one node, or
//!   a three-node cluster with a node to kill. What the tests and `scripts/sync-server.sh` run.
//!
//! Native only (async-nats, tokio): on wasm32 the crate is empty.
#![cfg(not(target_arch = "wasm32"))]

pub mod client;
pub mod log;
pub mod server;

/// What went wrong talking to a server. `code` is stable.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SyncError {
    pub code: &'static str,
    pub message: String,
}

impl SyncError {
    pub fn new(code: &'static str, message: impl Into<String>) -> SyncError {
        SyncError { code, message: message.into() }
    }
}

impl From<eventline_core::sync::WireError> for SyncError {
    fn from(error: eventline_core::sync::WireError) -> SyncError {
        SyncError::new(error.code, error.reason)
    }
}
