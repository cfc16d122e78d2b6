//! # eventline-web
//!
//! Eventline in the browser: the core's event store, snapshots, projections and sagas on
//! IndexedDB, run in the page.
//!
//! - [`store`]: `IdbStore`, the `EventStore` and `SnapshotStore` on IndexedDB; [`chunk`] is the
//!   byte layout of its log records and [`idb`] the schema and its upgrade path.

pub mod chunk;
pub mod idb;
pub mod store;

pub use store::IdbStore;
