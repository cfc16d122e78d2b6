//! The core benchmark in the browser: `scripts/bench-core.sh` runs it with `--include-ignored` in
//! a release build. Ignored in test runs, where debug builds would make its figures meaningless.
#![cfg(target_arch = "wasm32")]

#[path = "../benches/workloads.rs"]
mod workloads;

use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn run(rounds: usize, size: workloads::Size) {
    let start = web_time::Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    console_log!("eventline-core benchmark (wasm32 in headless Chromium, {build}), median of {rounds} rounds");
    for figure in workloads::run(&now, rounds, size) {
        console_log!("{}", figure.line());
    }
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-core.sh"]
fn benchmark_full() {
    run(7, workloads::Size::FULL);
}

/// The test command's run (`scripts/bench-core.sh --smoke`): a tiny workload in the debug build
/// already made for the suites, only to prove every figure still comes out.
#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-core.sh --smoke"]
fn benchmark_smoke() {
    run(1, workloads::Size::SMOKE);
}
