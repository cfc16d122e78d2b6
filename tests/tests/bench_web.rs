//! The browser benchmark: Eventline on IndexedDB against a raw-IndexedDB baseline in plain
//! JavaScript (`tests/bench/baseline.js`), in the same page, release build. Run by
//! `scripts/bench-web.sh`, once in headless Chromium and once in headless Firefox; ignored in test
//! runs.
//!
//! (a) bulk append of 100k events; (b) one command end to end, 3,000 times, against one raw
//! read-check-write transaction, with strict and with relaxed durability; (c) projection catch-up of 100k events; (d) open and answer a
//! first query with 100k events stored.
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
use eventline_web::{IdbStore, idb};
use serde_json::json;
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
}

const EVENTS: u32 = 100_000;
const COMMANDS: u32 = 1_000;

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

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-web.sh"]
async fn benchmark() {
    console_log!("eventline-web benchmark: release build, baseline = raw IndexedDB in plain JS in the same page");

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
        for i in 0..COMMANDS * 3 {
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
            COMMANDS * 3,
            p50 / raw50,
            p99 / raw99
        );
    }

    // (a) Bulk append: 100k events in 1,000 commits of 100, against 100 events per raw record.
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let commits = demo_commits(EVENTS, 1_000, 100);
        let store = fresh_store(&format!("bench-a-{round}")).await;
        let start = now();
        store.append_batch(commits).await.unwrap();
        ours.push(now() - start);
        store.close();
        raw.push(raw_bulk_append(&format!("bench-a-raw-{round}"), EVENTS, 100).await.as_f64().unwrap());
    }
    let (ours, raw) = (median(ours), median(raw));
    console_log!(
        "(a) bulk append {EVENTS} events: eventline {ours:.0} ms ({:.0} events/s), raw batched {raw:.0} ms; ratio {:.2}x of raw throughput (target >= 0.8)",
        f64::from(EVENTS) / ours * 1000.0,
        raw / ours
    );

    // (c) Projection catch-up: 100k demo events stored, every read model from 0.
    let store = fresh_store("bench-c").await;
    let commits = demo_commits(EVENTS, 1_000, 10);
    let mut batch = Vec::new();
    let mut events = 0;
    for commit in commits {
        events += commit.event_count();
        batch.push(commit);
        if events >= 10_000 {
            store.append_batch(std::mem::take(&mut batch)).await.unwrap();
            events = 0;
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
    // Each from 0, three rounds each, after the setup's writes have settled; medians.
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
    for _ in 0..3 {
        one.push(catch_up(pause_all_but("balances"), Some("balances")).await);
        all.push(catch_up(resume_all(), None).await);
    }
    let (one, all) = (median(one), median(all));
    let raw = raw_read_and_fold("bench-c-raw", EVENTS).await.as_f64().unwrap();
    let rate = |ms: f64| head as f64 / ms * 1000.0;
    console_log!(
        "(c) catch-up of {head} events from 0, persisted: the balances projection {one:.0} ms = {:.0} events/s (target >= 500000); all 7 read models together {all:.0} ms = {:.0} events/s; raw getAll + JSON fold of balances {raw:.0} ms = {:.0} events/s",
        rate(one),
        rate(all),
        f64::from(EVENTS) / raw * 1000.0
    );

    // (d) Open and answer a first query with 100k events stored.
    let mut ours = Vec::new();
    for _ in 0..3 {
        let start = now();
        let runtime = Runtime::open("bench-c").await.unwrap();
        let answer = runtime.query("balances", &json!({ "account": "a7" }).to_string()).await.unwrap();
        ours.push(now() - start);
        assert!(answer.value()["balance"].as_u64().unwrap() > 0);
        runtime.close();
    }
    raw_prepare_open_and_get("bench-d-raw").await;
    let mut raw = Vec::new();
    for _ in 0..3 {
        raw.push(raw_open_and_get("bench-d-raw").await.as_f64().unwrap());
    }
    let (ours, raw) = (median(ours), median(raw));
    console_log!(
        "(d) open + first query with {head} events stored: eventline {ours:.1} ms (target < 200); raw open + get {raw:.1} ms"
    );
}
