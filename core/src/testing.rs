//! Test support: a given/when/then harness for aggregates (in the manner of cqrs-es's
//! `TestFramework`) and a deterministic [`Environment`].
//!
//! ```
//! use eventline_core::aggregate::{Aggregate, ErrorCode};
//! use eventline_core::event::EventPayload;
//! use eventline_core::testing::Scenario;
//!
//! #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
//! pub struct Added { pub n: u32 }
//! impl EventPayload for Added { const TYPE: &'static str = "Added"; }
//! eventline_core::event_enum! {
//!     #[derive(Clone, Debug, PartialEq)]
//!     pub enum TallyEvent { Added(Added) }
//! }
//! #[derive(Clone, Debug, PartialEq, thiserror::Error)]
//! #[error("a tally holds at most 10")]
//! pub struct Full;
//! impl ErrorCode for Full { fn code(&self) -> &'static str { "Full" } }
//!
//! #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
//! pub struct Tally(u32);
//! impl Aggregate for Tally {
//!     const CATEGORY: &'static str = "tally";
//!     type Command = u32;
//!     type Event = TallyEvent;
//!     type Error = Full;
//!     fn initial() -> Self { Tally(0) }
//!     fn evolve(self, TallyEvent::Added(e): &TallyEvent) -> Self { Tally(self.0 + e.n) }
//!     fn decide(&self, n: &u32) -> Result<Vec<TallyEvent>, Full> {
//!         if self.0 + n > 10 { Err(Full) } else { Ok(vec![Added { n: *n }.into()]) }
//!     }
//! }
//!
//! Scenario::<Tally>::given(vec![Added { n: 7 }.into()]).when(3).then_expect_events(vec![Added { n: 3 }.into()]);
//! Scenario::<Tally>::given(vec![Added { n: 7 }.into()]).when(4).then_expect_error(Full);
//! ```

use std::cell::Cell;

use crate::aggregate::{Aggregate, ErrorCode, replay};
use crate::event::Event;
use crate::handler::Environment;
use crate::ids::{EventId, Timestamp};

/// Given events, when a command, then events or an error: a domain rule tested without a store.
pub struct Scenario<A: Aggregate> {
    state: A,
}

impl<A: Aggregate> Scenario<A> {
    pub fn given(events: Vec<A::Event>) -> Self {
        Scenario { state: replay(events.iter()) }
    }

    pub fn given_no_previous_events() -> Self {
        Scenario { state: A::initial() }
    }

    pub fn when(self, command: A::Command) -> Outcome<A> {
        let result = self.state.decide(&command);
        Outcome { result, command: format!("{command:?}") }
    }
}

/// The result of `when`, to assert on.
pub struct Outcome<A: Aggregate> {
    result: Result<Vec<A::Event>, A::Error>,
    command: String,
}

impl<A: Aggregate> Outcome<A>
where
    A::Event: PartialEq,
    A::Error: PartialEq,
{
    #[track_caller]
    pub fn then_expect_events(self, expected: Vec<A::Event>) {
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "events decided for {}", self.command);
                for event in &events {
                    let encoded = event.encode();
                    let decoded = A::Event::decode(encoded.event_type, encoded.schema_version, &encoded.payload)
                        .unwrap_or_else(|e| panic!("{event:?} does not survive storage: {e}"));
                    assert_eq!(&decoded, event, "{} changes when stored and read back", encoded.event_type);
                }
            }
            Err(error) => panic!("expected events for {}, got error {error:?}", self.command),
        }
    }

    #[track_caller]
    pub fn then_expect_error(self, expected: A::Error) {
        match self.result {
            Ok(events) => panic!("expected {expected:?} for {}, got events {events:?}", self.command),
            Err(error) => assert_eq!(error, expected, "error for {}", self.command),
        }
    }

    #[track_caller]
    pub fn then_expect_error_code(self, code: &str) {
        match self.result {
            Ok(events) => panic!("expected an error {code} for {}, got events {events:?}", self.command),
            Err(error) => assert_eq!(error.code(), code, "error code for {} ({error})", self.command),
        }
    }

    pub fn result(self) -> Result<Vec<A::Event>, A::Error> {
        self.result
    }
}

/// A clock that moves only when told to and event ids from a counter: runs are reproducible.
pub struct TestEnv {
    now: Cell<u64>,
    counter: Cell<u64>,
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv::starting_at(Timestamp(1_767_225_600_000))
    }
}

impl TestEnv {
    pub fn starting_at(at: Timestamp) -> Self {
        TestEnv { now: Cell::new(at.0), counter: Cell::new(0) }
    }

    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }

    pub fn set_now(&self, at: Timestamp) {
        self.now.set(at.0);
    }
}

impl Environment for TestEnv {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.get())
    }

    fn new_event_id(&self, at: Timestamp) -> EventId {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        let mut random = [0u8; 10];
        random[2..].copy_from_slice(&n.to_be_bytes());
        EventId::v7(at, random)
    }
}
