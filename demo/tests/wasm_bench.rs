//! The core benchmark in the browser: `scripts/bench-core.sh` runs it with `--include-ignored` in
//! a release build. Ignored in test runs, where debug builds would make its figures meaningless.
#![cfg(target_arch = "wasm32")]

#[path = "../benches/workloads.rs"]
mod workloads;

use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-core.sh"]
fn benchmark() {
    let start = web_time::Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    console_log!("eventline-core benchmark (wasm32 in headless Chromium, release), median of 7 rounds");
    for figure in workloads::run(&now, 7) {
        console_log!("{}", figure.line());
    }
}
