//! # eventline-tests
//!
//! Suites that cross crates: the [`contract`] every `EventStore` must honour, run against the
//! in-memory store here and against the IndexedDB store in the browser, and (in `tests/`) the
//! browser integration suites; `fixture` dumps and restores whole databases for the upgrade suite;
//! `timing` serves the browser benchmarks.

pub mod contract;
#[cfg(target_arch = "wasm32")]
pub mod fixture;
#[cfg(target_arch = "wasm32")]
pub mod timing;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Runs a future that never waits (the in-memory store's), natively or in the browser.
pub fn run_ready<F: Future>(future: F) -> F::Output {
    match pin!(future).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory operation waited"),
    }
}
