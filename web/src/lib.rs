//! # eventline-web
//!
//! Eventline in the browser: the core's event store, snapshots, projections and sagas on
//! IndexedDB, run in the page among the other tabs of the same origin.
//!
//! - [`store`]: `IdbStore`, the `EventStore` and `SnapshotStore` on IndexedDB; [`chunk`] is the
//!   byte layout of its log records, [`record`] a log record with what its
//!   indexes read, and [`idb`] the schema and its upgrade path.
//! - [`app_store`]: the command side's store: the browser's log, or a scratch log in memory.
//! - [`persist`]: read-model documents, checkpoints, dead letters and saga progress.
//! - [`runtime`]: `Runtime`, one database run in this tab: commands, the projection runner, the
//!   saga, queries, read-your-writes, export and import; [`tabs`] coordinates tabs (BroadcastChannel, Web Locks).
//! - [`js`]: the JavaScript surface that the npm package (`web/npm/`) wraps.
//! - [`exchange`]: the export format and reading it back.
//! - [`timings`]: where a bulk append's or a catch-up's time goes (feature `timings`, for the
//!   browser benchmark).
//! - [`sync`]: a client of a log on a sync server (NATS JetStream), over [`nats`], the protocol
//!   on the browser's WebSocket (feature `sync`; docs/SYNC.md).
//! - [`env`]: the browser's clock, randomness and digests; [`failure`]: the error shape callers see.

pub mod app_store;
pub mod chunk;
pub mod env;
pub mod exchange;
pub mod failure;
pub mod idb;
#[cfg(feature = "js-api")]
pub mod js;
#[cfg(feature = "sync")]
pub mod nats;
pub mod persist;
pub mod record;
pub mod runtime;
pub mod store;
#[cfg(feature = "sync")]
pub mod sync;
pub mod tabs;
pub mod timings;
pub mod vault;

pub use failure::Failure;
pub use runtime::Runtime;
pub use store::IdbStore;
