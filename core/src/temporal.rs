//! Temporal folds: an aggregate's or a read model's state as of a past position or time.
//!
//! Because stores keep `recorded_at` non-decreasing along the log, "as of a time" names a prefix
//! of the log just as "as of a position" does, and both folds stop at the first event past it.

use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::envelope::EventMetadata;
use crate::event::DecodeError;
use crate::handler::{LoadError, Loaded, fold_stream};
use crate::ids::{Position, StreamVersion, Timestamp};
use crate::projection::{Applied, Impossible, Projection, ReadModel};
use crate::store::{EventStore, StoreError};

/// A point in the log's history.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AsOf {
    /// After the event at this position (inclusive).
    Position(Position),
    /// After every event recorded at or before this time.
    Time(Timestamp),
    /// Now: the whole log.
    Head,
}

impl AsOf {
    pub fn includes(&self, meta: &EventMetadata) -> bool {
        match *self {
            AsOf::Position(position) => meta.position <= position,
            AsOf::Time(time) => meta.recorded_at <= time,
            AsOf::Head => true,
        }
    }
}

/// Aggregate `id` as it was at `as_of`.
pub async fn aggregate_at<A: Aggregate, S: EventStore>(
    store: &S,
    id: &str,
    as_of: AsOf,
) -> Result<Loaded<A>, LoadError> {
    let initial = Loaded { state: A::initial(), version: StreamVersion::NONE };
    fold_stream(store, &A::stream_id(id), initial, &|meta| as_of.includes(meta)).await
}

/// Events a fold could not decode or apply, with their positions and why: the dead letters of a
/// catch-up.
pub type DeadLetters = Vec<(Position, Skipped)>;

/// Why a fold passed over an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Skipped {
    #[error(transparent)]
    Undecodable(DecodeError),
    #[error("the read model cannot apply it: {0}")]
    Impossible(Impossible),
}

impl crate::aggregate::ErrorCode for Skipped {
    fn code(&self) -> &'static str {
        match self {
            Skipped::Undecodable(error) => error.code(),
            // The log says something no decision made: its data is corrupt.
            Skipped::Impossible(_) => "CorruptData",
        }
    }
}

/// Applies the log after the projection's checkpoint, up to `until`, page by page.
pub async fn catch_up<R: ReadModel, S: EventStore>(
    store: &S,
    projection: &mut Projection<R>,
    until: AsOf,
    page: usize,
) -> Result<DeadLetters, StoreError> {
    let mut dead = Vec::new();
    store
        .visit_all(projection.checkpoint, page, &mut |recorded| {
            if !until.includes(&recorded.meta) {
                return false;
            }
            match projection.apply_recorded(recorded) {
                Applied::Undecodable(error) => dead.push((recorded.meta.position, Skipped::Undecodable(error))),
                Applied::Impossible(why) => dead.push((recorded.meta.position, Skipped::Impossible(why))),
                Applied::Applied | Applied::AlreadySeen | Applied::Skipped => {}
            }
            true
        })
        .await?;
    Ok(dead)
}

/// Read model `R` as it was at `as_of`: a fold of the log's prefix from nothing.
pub async fn read_model_at<R: ReadModel, S: EventStore>(store: &S, as_of: AsOf) -> Result<Projection<R>, StoreError> {
    let mut projection = Projection::new();
    catch_up(store, &mut projection, as_of, 4096).await?;
    Ok(projection)
}
