//! Where the time of a bulk append or a catch-up goes, for the browser benchmark's breakdown
//! (`tests/tests/bench_web.rs`): the synchronous work of each phase (checking commits, sealing,
//! encoding chunks, decoding, applying, writing documents) summed by name. What no phase claims
//! is the time spent in IndexedDB's requests and waiting for them.
//!
//! Work spans ([`now`], [`add`]) never cross an `await`, so they never overlap, even with the
//! runner's read-ahead running between them. A waiting span ([`mark`], [`add_waiting`]) does
//! cross one, and counts only what the work spans run meanwhile did not claim: the time spent
//! waiting for IndexedDB. Without feature `timings` every call compiles to nothing.

#[cfg(feature = "timings")]
mod on {
    use std::cell::RefCell;

    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = performance, js_name = now)]
        fn performance_now() -> f64;
    }

    thread_local! {
        static PHASES: RefCell<Vec<(&'static str, f64)>> = const { RefCell::new(Vec::new()) };
        /// Every span's milliseconds so far, for waiting spans to leave out.
        static CLAIMED: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
    }

    pub fn now() -> f64 {
        performance_now()
    }

    fn claim(phase: &'static str, ms: f64) {
        CLAIMED.set(CLAIMED.get() + ms);
        PHASES.with_borrow_mut(|phases| match phases.iter_mut().find(|(name, _)| *name == phase) {
            Some((_, total)) => *total += ms,
            None => phases.push((phase, ms)),
        });
    }

    pub fn add(phase: &'static str, since: f64) {
        claim(phase, performance_now() - since);
    }

    pub fn mark() -> (f64, f64) {
        (performance_now(), CLAIMED.get())
    }

    pub fn add_waiting(phase: &'static str, (since, claimed): (f64, f64)) {
        let ms = performance_now() - since - (CLAIMED.get() - claimed);
        claim(phase, ms.max(0.0));
    }

    pub fn take() -> Vec<(&'static str, f64)> {
        PHASES.with_borrow_mut(std::mem::take)
    }
}

#[cfg(feature = "timings")]
pub use on::{add, add_waiting, mark, now, take};

/// The start of a span (a `performance.now()`), or 0 without feature `timings`.
#[cfg(not(feature = "timings"))]
#[inline(always)]
pub fn now() -> f64 {
    0.0
}

/// Adds the time since `since` to `phase`.
#[cfg(not(feature = "timings"))]
#[inline(always)]
pub fn add(_phase: &'static str, _since: f64) {}

/// The start of a waiting span: the time, and what work spans had claimed by then.
#[cfg(not(feature = "timings"))]
#[inline(always)]
pub fn mark() -> (f64, f64) {
    (0.0, 0.0)
}

/// Adds the time since `mark` to `phase`, less what work spans claimed meanwhile.
#[cfg(not(feature = "timings"))]
#[inline(always)]
pub fn add_waiting(_phase: &'static str, _mark: (f64, f64)) {}

/// Each phase's milliseconds since the last call, in the order first seen.
#[cfg(not(feature = "timings"))]
pub fn take() -> Vec<(&'static str, f64)> {
    Vec::new()
}
