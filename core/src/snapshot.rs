//! Snapshots: an aggregate's state at a stream version, so loading replays only the tail.
//!
//! Invariant: a snapshot is a cache, never a source of truth. Loading from a snapshot plus the
//! events after it gives the same state as a full replay (property-tested in
//! `core/tests/properties.rs`); a snapshot whose `state_version` differs from the aggregate's
//! `STATE_VERSION`, or that does not decode, is ignored.

use std::sync::Arc;

use crate::aggregate::Aggregate;
use crate::ids::{StreamId, StreamVersion};
use crate::store::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub stream: StreamId,
    pub version: StreamVersion,
    pub state_version: u32,
    /// JSON of the aggregate state.
    pub state: Arc<str>,
}

impl Snapshot {
    pub fn of<A: Aggregate>(stream: StreamId, version: StreamVersion, state: &A) -> Snapshot {
        Snapshot {
            stream,
            version,
            state_version: A::STATE_VERSION,
            state: serde_json::to_string(state).expect("aggregate states serialize to JSON").into(),
        }
    }

    /// The state, if this snapshot was taken by the current shape of `A`.
    pub fn restore<A: Aggregate>(&self) -> Option<A> {
        if self.state_version != A::STATE_VERSION {
            return None;
        }
        crate::json::from_str(&self.state).ok()
    }
}

/// When the command handler takes a snapshot.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SnapshotPolicy {
    Never,
    /// Whenever a commit takes the stream across a multiple of `n` events.
    Every(u64),
}

impl SnapshotPolicy {
    pub fn is_due(self, before: StreamVersion, after: StreamVersion) -> bool {
        match self {
            SnapshotPolicy::Never => false,
            SnapshotPolicy::Every(0) => false,
            SnapshotPolicy::Every(n) => before.0 / n != after.0 / n,
        }
    }
}

/// Where snapshots are kept.
#[allow(async_fn_in_trait)]
pub trait SnapshotStore {
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError>;
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError>;
}

impl<S: SnapshotStore + ?Sized> SnapshotStore for &S {
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        (**self).load_snapshot(stream).await
    }
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        (**self).save_snapshot(snapshot).await
    }
}

impl<S: SnapshotStore + ?Sized> SnapshotStore for std::rc::Rc<S> {
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        (**self).load_snapshot(stream).await
    }
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        (**self).save_snapshot(snapshot).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_n_fires_when_crossing_a_multiple() {
        let p = SnapshotPolicy::Every(10);
        assert!(!p.is_due(StreamVersion(0), StreamVersion(9)));
        assert!(p.is_due(StreamVersion(9), StreamVersion(10)));
        assert!(p.is_due(StreamVersion(8), StreamVersion(12)));
        assert!(!p.is_due(StreamVersion(10), StreamVersion(19)));
        assert!(!SnapshotPolicy::Never.is_due(StreamVersion(0), StreamVersion(100)));
    }
}
