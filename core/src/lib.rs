//! # eventline-core
//!
//! The pure event-sourcing model of Eventline: everything that can be decided without IO.
//!
//! - [`app`]: the application contract: what a domain declares once for a runtime to run it,
//!   with [`command`] (the envelope every command carries), [`query`] and [`slot`] (read models
//!   behind one interface);
//! - [`aggregate`]: decide/evolve aggregates;
//! - [`envelope`] and [`event`]: events as stored and as decoded, their metadata, schema versions
//!   and upcasting;
//! - [`version`]: expected versions (optimistic concurrency);
//! - [`store`]: the [`EventStore`](store::EventStore) contract and the commit model, with an
//!   in-memory implementation in [`memory`];
//! - [`handler`]: the command handler (load, decide, append, retry, idempotency) and
//!   [`snapshot`]s;
//! - [`projection`]: read models with checkpoints and lag; [`temporal`]: state as of a past
//!   position or time; [`saga`]: process managers;
//! - [`personal`]: personal values about data subjects, redaction; [`forget`]: forgetting one;
//! - [`import`]: what a log from elsewhere must pass before any of it is appended;
//! - [`testing`]: a given/when/then harness and a deterministic environment.
//!
//! No IO, no browser APIs, no clock and no randomness: time and ids come in as arguments
//! ([`handler::Environment`]), so the same code runs natively and in WebAssembly.

#![forbid(unsafe_code)]

pub mod aggregate;
pub mod app;
pub mod by_name;
pub mod command;
pub mod envelope;
pub mod event;
pub mod forget;
pub mod handler;
pub mod ids;
pub mod import;
pub mod json;
pub mod memory;
pub mod personal;
pub mod projection;
pub mod query;
pub mod saga;
pub mod slot;
pub mod snapshot;
pub mod sorted_map;
pub mod store;
pub mod sync;
pub mod temporal;
pub mod testing;
#[cfg(feature = "ts")]
pub mod ts;
pub mod version;

pub use aggregate::{Aggregate, ErrorCode};
pub use envelope::{Envelope, EventMetadata, NewEvent, RecordedEvent};
pub use event::{DecodeError, Event, EventPayload};
pub use handler::{CommandHandler, CommandMeta, Environment, ExecuteError, Executed};
pub use ids::{CausationId, CommandId, CorrelationId, EventId, Position, StreamId, StreamVersion, Timestamp};
pub use memory::InMemoryStore;
pub use projection::{Lag, Projection, ReadModel};
pub use store::{AppendError, Commit, CommitReceipt, EventStore, StoreError, StreamWrite};
pub use version::{ExpectedVersion, WrongExpectedVersion};
