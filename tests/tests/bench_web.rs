//! The browser benchmark: Eventline on IndexedDB against raw-IndexedDB baselines in plain
//! JavaScript (`tests/bench/baseline.js`), in the same page, release build. Run by
//! `scripts/bench-web.sh`, once in headless Chromium and once in headless Firefox; ignored in test
//! runs.
//!
//! (a) bulk append of 100k events; (b) one command end to end, 3,000 times, against one raw
//! read-check-write transaction, with strict and with relaxed durability; (c) projection
//! catch-up of 100k events; (d) open and answer a first query with 100k events stored; then the
//! memory the page holds. (a) and (c) are compared with the byte floor too: the bytes of
//! Eventline's own log records, written and read back raw, and say where their time goes
//! (`eventline_web::timings`).
#![cfg(target_arch = "wasm32")]

use eventline_core::event::EventPayload;
use eventline_core::handler::CommandMeta;
use eventline_core::ids::{StreamId, StreamVersion};
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::{Commit, EventStore, StreamWrite};
use eventline_core::version::ExpectedVersion;
use eventline_core::{Environment, NewEvent};
use eventline_demo::app::DemoApp;
use eventline_demo::bank::{AccountOpened, MoneyDeposited};
use eventline_demo::command::parse_command;
use eventline_demo::money::Amount;
use eventline_demo::read_models;
use eventline_demo::web::DemoRuntime as Runtime;
use eventline_tests::timing::{median, now, percentile};
use eventline_web::env::BrowserEnv;
use eventline_web::persist::{self, Flush, ProjectionRecord};
use eventline_web::store::Durability;
use eventline_web::tabs::{Channel, sleep};
use eventline_web::{IdbStore, idb, timings};
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/bench/baseline.js")]
extern "C" {
    #[wasm_bindgen(js_name = bulkAppend)]
    async fn raw_bulk_append(name: &str, count: u32, per_record: u32) -> JsValue;
    #[wasm_bindgen(js_name = openReadCheckWrite)]
    async fn raw_open_read_check_write(name: &str) -> JsValue;
    #[wasm_bindgen(js_name = readCheckWriteOnce)]
    async fn raw_read_check_write_once(db: &JsValue, i: u32, durability: &str) -> JsValue;
    #[wasm_bindgen(js_name = readAndFold)]
    async fn raw_read_and_fold(name: &str, count: u32) -> JsValue;
    #[wasm_bindgen(js_name = prepareOpenAndGet)]
    async fn raw_prepare_open_and_get(name: &str);
    #[wasm_bindgen(js_name = openAndGet)]
    async fn raw_open_and_get(name: &str) -> JsValue;
    #[wasm_bindgen(js_name = byteFloor)]
    async fn raw_byte_floor(source: &str, name: &str) -> JsValue;
    #[wasm_bindgen(js_name = jsHeapBytes)]
    fn js_heap_bytes() -> JsValue;
}

/// The byte floor of the log in database `source`: records, bytes, write ms, read ms.
struct Floor {
    records: u32,
    bytes: f64,
    write: f64,
    read: f64,
}

async fn byte_floor(source: &str, rounds: usize) -> Floor {
    let field = |value: &JsValue, name: &str| js_sys::Reflect::get(value, &name.into()).unwrap().as_f64().unwrap();
    let (mut writes, mut reads) = (Vec::new(), Vec::new());
    let (mut records, mut bytes) = (0, 0.0);
    for round in 0..rounds {
        let floor = raw_byte_floor(source, &format!("bench-floor-{round}")).await;
        records = field(&floor, "records") as u32;
        bytes = field(&floor, "bytes");
        writes.push(field(&floor, "write"));
        reads.push(field(&floor, "read"));
    }
    Floor { records, bytes, write: median(writes), read: median(reads) }
}

/// How much the benchmark moves. `FULL` gives the README's figures, `LONG` the same at a million
/// events (costs that grow with the log show there), `SMOKE` only proves, in the test command,
/// that every figure still comes out. Figures are medians over `rounds`: seven at 100k, where
/// one round in the seven (IndexedDB settling earlier writes) may take twice as long.
struct Size {
    name: &'static str,
    events: u32,
    commands: u32,
    rounds: usize,
}

const FULL: Size = Size { name: "full", events: 100_000, commands: 1_000, rounds: 7 };
const LONG: Size = Size { name: "long", events: 1_000_000, commands: 1_000, rounds: 3 };
const SMOKE: Size = Size { name: "smoke", events: 2_000, commands: 20, rounds: 1 };

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-web.sh"]
async fn benchmark_full() {
    run(FULL).await;
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-web.sh --long"]
async fn benchmark_long() {
    run(LONG).await;
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-web.sh --smoke (the test command)"]
async fn benchmark_smoke() {
    run(SMOKE).await;
}

/// `(ms, floor ms)` as a ratio of throughputs: 1.00 moves events as fast as the floor moves
/// their bytes.
fn of_floor(ours: f64, floor: f64) -> f64 {
    floor / ours
}

/// The target of items (a) and (c): a million events a second, or 0.8x of the floor's rate,
/// whichever is lower.
fn target(events: u32, floor_ms: f64) -> f64 {
    (f64::from(events) / floor_ms * 1000.0 * 0.8).min(1_000_000.0)
}

fn verdict(rate: f64, target: f64) -> &'static str {
    if rate >= target { "met" } else { "NOT met" }
}

/// Each phase's milliseconds over `rounds`, and what the phases leave of `total_ms`: the time in
/// IndexedDB's requests and waiting for them.
fn breakdown(phases: &[(&'static str, f64)], rounds: usize, total_ms: f64) -> String {
    let rounds = rounds as f64;
    let mut parts: Vec<String> = phases.iter().map(|(name, ms)| format!("{name} {:.1} ms", ms / rounds)).collect();
    let claimed: f64 = phases.iter().map(|(_, ms)| ms / rounds).sum();
    parts.push(format!(
        "the rest (IndexedDB requests, waiting, the event loop) {:.1} ms",
        (total_ms - claimed).max(0.0)
    ));
    format!("{} (of {total_ms:.1} ms)", parts.join(", "))
}

/// Adds `more` phase times into `into`.
fn accumulate(into: &mut Vec<(&'static str, f64)>, more: Vec<(&'static str, f64)>) {
    for (name, ms) in more {
        match into.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += ms,
            None => into.push((name, ms)),
        }
    }
}

fn deposit(amount: u64) -> NewEvent {
    let encoded = MoneyDeposited { amount: Amount::new(amount).unwrap() }.encode();
    encoded.into_new_event(BrowserEnv.new_event_id(BrowserEnv.now()))
}

/// `streams` accounts opened, then deposits `per_commit` to a commit until `total` events.
fn demo_commits(total: u32, streams: u32, per_commit: u32) -> Vec<Commit> {
    let mut commits = Vec::new();
    let mut versions = vec![0u64; streams as usize];
    let mut written = 0;
    let mut n = 0;
    while written < total {
        let account = n % streams;
        let opened = versions[account as usize] > 0;
        let events: Vec<NewEvent> = if opened {
            (0..per_commit.min(total - written)).map(|i| deposit(u64::from(1 + (n + i) % 500))).collect()
        } else {
            let encoded = AccountOpened::eur().encode();
            vec![encoded.into_new_event(BrowserEnv.new_event_id(BrowserEnv.now()))]
        };
        let id = format!("bench-{n}");
        written += events.len() as u32;
        let expected = ExpectedVersion::from_loaded(StreamVersion(versions[account as usize]));
        versions[account as usize] += events.len() as u64;
        commits.push(Commit {
            command_id: id.as_str().into(),
            correlation_id: id.as_str().into(),
            causation_id: id.as_str().into(),
            recorded_at: BrowserEnv.now(),
            writes: vec![StreamWrite {
                stream: StreamId::for_aggregate("account", &format!("a{account}")),
                expected,
                events,
            }],
            digest: None,
        });
        n += 1;
    }
    commits
}

async fn fresh_store(name: &str) -> IdbStore {
    idb::delete(name).await.unwrap();
    IdbStore::open(name).await.unwrap()
}

async fn run(size: Size) {
    let Size { events, commands, rounds, .. } = size;
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    console_log!(
        "eventline-web benchmark ({}: {events} events, {build} build): baselines are raw IndexedDB in plain JS in the same page",
        size.name
    );

    // (b) One command end to end: load (cached after the first), decide, append, notify; each
    // command followed by one raw read-check-write transaction, so both meet the same conditions.
    // Both ways a browser can commit: strict (on disk: what an accepted command is promised,
    // Eventline's default) and relaxed (handed to the operating system).
    for (label, durability) in [("strict", Durability::Strict), ("relaxed", Durability::Relaxed)] {
        let store = fresh_store(&format!("bench-b-{label}")).await;
        store.set_durability(durability);
        let app = DemoApp::new(&store, BrowserEnv, SnapshotPolicy::Every(64));
        let channel = Channel::open("eventline:bench-b", |_| {}).unwrap();
        let open = parse_command(r#"{"type":"OpenAccount","account":"a"}"#).unwrap().command;
        app.execute(CommandMeta::new("open"), &open).await.unwrap();
        let deposit_command = parse_command(r#"{"type":"Deposit","account":"a","amount":5}"#).unwrap().command;
        let raw_db = raw_open_read_check_write(&format!("bench-b-raw-{label}")).await;
        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        for i in 0..commands * 3 {
            let start = now();
            let executed = app.execute(CommandMeta::new(format!("d{i}")), &deposit_command).await.unwrap();
            channel.post(&format!(r#"{{"kind":"committed","position":{}}}"#, executed.receipt.last_position().0));
            ours.push(now() - start);
            raw.push(raw_read_check_write_once(&raw_db, i, label).await.as_f64().unwrap());
        }
        channel.close();
        store.close();
        let (p50, p99, raw50, raw99) =
            (percentile(&ours, 0.5), percentile(&ours, 0.99), percentile(&raw, 0.5), percentile(&raw, 0.99));
        console_log!(
            "(b) {} commands, {label} durability, each followed by a raw transaction of the same durability: eventline p50 {p50:.2} ms p99 {p99:.2} ms; raw read-check-write p50 {raw50:.2} ms p99 {raw99:.2} ms; ratio p50 {:.2}x (target <= 1.5), p99 {:.2}x (target <= 2)",
            commands * 3,
            p50 / raw50,
            p99 / raw99
        );
    }

    // (a) Bulk append: the events in 1,000 streams, commits of 100 (an import's shape), against
    // 100 events per raw record of JSON, and against the byte floor of the log it wrote.
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    let mut phases = Vec::new();
    for round in 0..rounds {
        let commits = demo_commits(events, 1_000, 100);
        let store = fresh_store(&format!("bench-a-{round}")).await;
        timings::take();
        let start = now();
        store.append_batch(commits).await.unwrap();
        ours.push(now() - start);
        accumulate(&mut phases, timings::take());
        store.close();
        raw.push(raw_bulk_append(&format!("bench-a-raw-{round}"), events, 100).await.as_f64().unwrap());
    }
    let floor = byte_floor("bench-a-0", rounds).await;
    let mean: f64 = ours.iter().sum::<f64>() / ours.len() as f64;
    let (ours, raw) = (median(ours), median(raw));
    let rate = f64::from(events) / ours * 1000.0;
    let goal = target(events, floor.write);
    console_log!(
        "(a) bulk append {events} events: eventline {ours:.0} ms = {rate:.0} events/s; raw JSON records {raw:.0} ms, ratio {:.2}x; byte floor (the log's {} records, {:.1} MB, written raw) {:.0} ms, ratio {:.2}x; target {goal:.0} events/s {}",
        raw / ours,
        floor.records,
        floor.bytes / 1e6,
        floor.write,
        of_floor(ours, floor.write),
        verdict(rate, goal)
    );
    console_log!("(a) where the time goes, per append: {}", breakdown(&phases, rounds, mean));

    // (c) Projection catch-up: 100k demo events stored, every read model from 0.
    let store = fresh_store("bench-c").await;
    let commits = demo_commits(events, 1_000, 10);
    let mut batch = Vec::new();
    let mut batched = 0;
    for commit in commits {
        batched += commit.event_count();
        batch.push(commit);
        if batched >= 10_000 {
            store.append_batch(std::mem::take(&mut batch)).await.unwrap();
            batched = 0;
        }
    }
    store.append_batch(batch).await.unwrap();
    let head = store.head().await.unwrap().0;
    store.close();
    // One projection alone (the others paused), then all seven, each from 0, persisted.
    let pause_all_but = |name: &str| {
        read_models::names()
            .iter()
            .map(|other| Flush {
                name: other.to_string(),
                record: ProjectionRecord { paused: *other != name, ..Default::default() },
                reset: true,
                ..Default::default()
            })
            .collect::<Vec<_>>()
    };
    // Each from 0, `rounds` times each, after the setup's writes have settled; medians.
    let catch_up = async |flushes: Vec<Flush>, name: Option<&str>| {
        let store = IdbStore::open("bench-c").await.unwrap();
        persist::flush(&store, &flushes, &[]).await.unwrap();
        store.close();
        sleep(500).await;
        let start = now();
        let runtime = Runtime::open("bench-c").await.unwrap();
        runtime.wait_for(head, name, 120_000).await.unwrap();
        let ms = now() - start;
        runtime.close();
        ms
    };
    let resume_all = || -> Vec<Flush> {
        read_models::names()
            .iter()
            .map(|name| Flush { name: name.to_string(), reset: true, ..Default::default() })
            .collect()
    };
    let (mut one, mut all) = (Vec::new(), Vec::new());
    let (mut phases, mut phases_one) = (Vec::new(), Vec::new());
    // In turns, each first every other round: the first catch-up of a round runs while
    // IndexedDB may still be settling the previous one's writes.
    for round in 0..rounds {
        for alone in [round % 2 == 0, round % 2 == 1] {
            timings::take();
            if alone {
                one.push(catch_up(pause_all_but("balances"), Some("balances")).await);
                accumulate(&mut phases_one, timings::take());
            } else {
                all.push(catch_up(resume_all(), None).await);
                accumulate(&mut phases, timings::take());
            }
        }
    }
    let mean: f64 = all.iter().sum::<f64>() / all.len() as f64;
    let mean_one: f64 = one.iter().sum::<f64>() / one.len() as f64;
    let (one, all) = (median(one), median(all));
    let raw = raw_read_and_fold("bench-c-raw", events).await.as_f64().unwrap();
    let floor = byte_floor("bench-c", rounds).await;
    let rate = |ms: f64| head as f64 / ms * 1000.0;
    let goal = target(events, floor.read);
    console_log!(
        "(c) catch-up of {head} events from 0, persisted: all 7 read models together {all:.0} ms = {:.0} events/s, ratio {:.2}x of the byte floor, target {goal:.0} events/s {}; the balances projection alone {one:.0} ms = {:.0} events/s, ratio {:.2}x, {}; byte floor (getAll of the log's {} records, {:.1} MB) {:.0} ms; raw getAll + JSON fold of balances {raw:.0} ms = {:.0} events/s",
        rate(all),
        of_floor(all, floor.read),
        verdict(rate(all), goal),
        rate(one),
        of_floor(one, floor.read),
        verdict(rate(one), goal),
        floor.records,
        floor.bytes / 1e6,
        floor.read,
        f64::from(events) / raw * 1000.0
    );
    console_log!("(c) where the time goes, all 7 read models from 0: {}", breakdown(&phases, rounds, mean));
    console_log!(
        "(c) where the time goes, the balances projection alone: {}",
        breakdown(&phases_one, rounds, mean_one)
    );

    // (d) Open and answer a first query with 100k events stored.
    let mut ours = Vec::new();
    for _ in 0..rounds {
        let start = now();
        let runtime = Runtime::open("bench-c").await.unwrap();
        let answer = runtime.query("balances", &json!({ "account": "a7" }).to_string()).await.unwrap();
        ours.push(now() - start);
        assert!(answer.value()["balance"].as_u64().unwrap() > 0);
        runtime.close();
    }
    raw_prepare_open_and_get("bench-d-raw").await;
    let mut raw = Vec::new();
    for _ in 0..rounds {
        raw.push(raw_open_and_get("bench-d-raw").await.as_f64().unwrap());
    }
    let (ours, raw) = (median(ours), median(raw));
    console_log!(
        "(d) open + first query with {head} events stored: eventline {ours:.1} ms (target < 200); raw open + get {raw:.1} ms"
    );

    // What the page holds at the end: the JS heap (Chromium only) and the module's memory, which
    // only ever grows, so this is its peak.
    let wasm_bytes = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer();
    let wasm_bytes = wasm_bytes.unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    let heap =
        js_heap_bytes().as_f64().map_or("not reported by this browser".to_string(), |b| format!("{:.1} MB", b / 1e6));
    console_log!(
        "(memory) at the end, {events} events: JS heap {heap}; WebAssembly memory (its peak) {:.1} MB",
        f64::from(wasm_bytes) / 1e6
    );
}
