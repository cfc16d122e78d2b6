//! The store the runtime's command side runs on: the browser's log, or (with the `scratch`
//! feature) a scratch log in memory.
//!
//! Traffic (the demo's generated data, say) is decided against a scratch log, fast and outside any
//! transaction, then appended
//! to the browser's log in bulk. Both go through one application over `AppStore`, so the command
//! handlers, the saga and every aggregate are compiled into the WebAssembly module once rather
//! than once per store type (the second copy cost the demo page about 8 KB gzipped).

use std::rc::Rc;

#[cfg(feature = "scratch")]
use eventline_core::InMemoryStore;
use eventline_core::RecordedEvent;
use eventline_core::ids::{CommandId, Position, StreamId, StreamVersion};
use eventline_core::snapshot::{Snapshot, SnapshotStore};
use eventline_core::store::SubjectStatus;
use eventline_core::store::{AppendError, Commit, CommitReceipt, EventStore, StoreError};

use crate::store::IdbStore;

#[derive(Clone)]
pub enum AppStore {
    /// The log in IndexedDB.
    Browser(Rc<IdbStore>),
    /// A log in memory that nothing else sees.
    #[cfg(feature = "scratch")]
    Scratch(Rc<InMemoryStore>),
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AppStore::Browser($store) => $call.await,
            #[cfg(feature = "scratch")]
            AppStore::Scratch($store) => $call.await,
        }
    };
}

impl EventStore for AppStore {
    async fn append(&self, commit: Commit) -> Result<CommitReceipt, AppendError> {
        delegate!(self, s => s.append(commit))
    }
    async fn append_batch(&self, commits: Vec<Commit>) -> Result<Vec<CommitReceipt>, AppendError> {
        delegate!(self, s => s.append_batch(commits))
    }
    async fn read_stream(
        &self,
        stream: &StreamId,
        after: StreamVersion,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        delegate!(self, s => s.read_stream(stream, after, limit))
    }
    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        delegate!(self, s => s.read_all(after, limit))
    }
    async fn head(&self) -> Result<Position, StoreError> {
        delegate!(self, s => s.head())
    }
    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion, StoreError> {
        delegate!(self, s => s.stream_version(stream))
    }
    async fn find_commit(&self, command_id: &CommandId) -> Result<Option<CommitReceipt>, StoreError> {
        delegate!(self, s => s.find_commit(command_id))
    }
    async fn subject(&self, subject: &str) -> Result<SubjectStatus, StoreError> {
        delegate!(self, s => s.subject(subject))
    }
}

impl SnapshotStore for AppStore {
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        delegate!(self, s => s.load_snapshot(stream))
    }
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        delegate!(self, s => s.save_snapshot(snapshot))
    }
}
