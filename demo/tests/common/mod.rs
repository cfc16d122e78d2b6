//! Helpers shared by the core's integration suites (each suite is its own crate).
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use eventline_core::handler::{CommandMeta, Executed};
use eventline_core::memory::InMemoryStore;
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::testing::TestEnv;
use eventline_demo::app::{AppError, DemoApp};
use eventline_demo::command::{DemoCommand, parse_command};
use eventline_demo::money::{Amount, EntityId};

/// Runs a future that never waits, which is every future of the in-memory store. Polling once
/// with a waker that does nothing works the same natively and in the browser.
pub fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory operation waited"),
    }
}

pub fn id(value: &str) -> EntityId {
    EntityId::parse(value).expect("a valid test id")
}

pub fn amount(minor_units: u64) -> Amount {
    Amount::new(minor_units).expect("a valid test amount")
}

/// A command from its JSON form, as a JS caller would send it.
pub fn command(json: &str) -> DemoCommand {
    parse_command(json).unwrap_or_else(|e| panic!("{json}: {e}")).command
}

pub type App<'a> = DemoApp<&'a InMemoryStore, &'a TestEnv>;

pub fn app<'a>(store: &'a InMemoryStore, env: &'a TestEnv) -> App<'a> {
    DemoApp::new(store, env, SnapshotPolicy::Every(5))
}

/// Executes `json` under command id `command_id`, as the runtime does: with what it asks.
pub fn execute(app: &App<'_>, command_id: &str, json: &str) -> Result<Executed, AppError> {
    let request = parse_command(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    run_ready(app.execute(CommandMeta::new(command_id).asking(request.digest), &request.command))
}

/// Executes `json` under command id `command_id`, panicking on refusal.
pub fn run(app: &App<'_>, command_id: &str, json: &str) -> Executed {
    execute(app, command_id, json).unwrap_or_else(|e| panic!("{json} was refused: {e}"))
}
