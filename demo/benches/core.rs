//! Native benchmark of the core: `cargo bench -p eventline-core`.
//!
//! Prints, per workload, Eventline's median time and throughput, a hand-written baseline's, and
//! the ratio baseline/Eventline (1.00 = no overhead). The browser run of the same workloads is
//! `core/tests/wasm_bench.rs`.

#[path = "workloads.rs"]
mod workloads;

use std::time::Instant;

fn main() {
    // `cargo test --benches` runs bench targets once with `--bench` absent: keep that quick.
    // `EVENTLINE_BENCH_SMOKE=1` (the test command's run of `scripts/bench-core.sh --smoke`): a tiny
    // workload, once, only to prove every figure still comes out.
    let quick = !std::env::args().any(|a| a == "--bench") || std::env::var_os("EVENTLINE_BENCH_SMOKE").is_some();
    let size = if quick { workloads::Size::SMOKE } else { workloads::Size::FULL };
    let start = Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!("eventline-core benchmark (native, {build}), median of {} rounds", if quick { 1 } else { 9 });
    for figure in workloads::run(&now, if quick { 1 } else { 9 }, size) {
        println!("{}", figure.line());
    }
}
