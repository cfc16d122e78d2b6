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
    let quick = !std::env::args().any(|a| a == "--bench");
    let start = Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1000.0;
    println!("eventline-core benchmark (native, release), median of {} rounds", if quick { 1 } else { 9 });
    for figure in workloads::run(&now, if quick { 1 } else { 9 }) {
        println!("{}", figure.line());
    }
}
