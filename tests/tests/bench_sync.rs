//! The browser's sync client, measured: run by `scripts/bench-sync.sh` (which starts a
//! nats-server and passes its address at build time, `EVENTLINE_SYNC_WS`), ignored otherwise.
//!
//! In one page, against one server on loopback: (p) pushing commits of 10 events one at a time,
//! each awaited as an outbox would, against the same client sending the same bodies as plain
//! JetStream publishes, each awaited (no batch headers, no expectations, nothing encoded or
//! checked); (f) pulling them back as commits (grouped, read and checked) against fetching the
//! same messages raw; (d) two devices: one pushes its log through its outbox, another pulls it
//! into its own log, each against the same messages moved raw; (l) the latency from a command on
//! one device to the other's read model. Ratios within one run: the machine is noisy, the ratio
//! much less.
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use eventline_core::envelope::{EventMetadata, RecordedEvent};
use eventline_core::ids::{EventId, Position, StreamId, StreamVersion, Timestamp};
use eventline_core::store::CommitReceipt;
use eventline_core::sync::{Answer, messages};
use eventline_demo::web::DemoRuntime as Runtime;
use eventline_web::runtime::SyncOptions;
use eventline_web::sync::LogClient;
use eventline_web::tabs::sleep;
use eventline_web::timings;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn server() -> &'static str {
    match option_env!("EVENTLINE_SYNC_WS") {
        Some(url) => url,
        None => panic!("EVENTLINE_SYNC_WS (at build time): scripts/bench-sync.sh starts a server and sets it"),
    }
}

fn now() -> f64 {
    web_sys::window().expect("a window").performance().expect("performance").now()
}

/// Commit `n` of a run: 10 deposits to one of 100 accounts of the run, after `before` events.
fn commit(run: &str, n: u64, before: u64) -> CommitReceipt {
    let stream = StreamId::from(format!("account-{run}{}", n % 100).as_str());
    let command = format!("{run}-{n}");
    let events = (0..10u64)
        .map(|i| RecordedEvent {
            meta: EventMetadata {
                event_id: EventId::v7(Timestamp(1_700_000_000_000 + n), [(i as u8); 10]),
                stream: stream.clone(),
                version: StreamVersion(before + i + 1),
                position: Position(0),
                recorded_at: Timestamp(1_700_000_000_000 + n),
                command_id: command.as_str().into(),
                correlation_id: command.as_str().into(),
                causation_id: command.as_str().into(),
            },
            event_type: Arc::from("MoneyDeposited"),
            schema_version: 1,
            payload: Arc::from(format!(r#"{{"amount":{}}}"#, 1 + (n + i) % 500)),
        })
        .collect();
    CommitReceipt { command_id: command.as_str().into(), events, digest: None }
}

async fn run(commits: u64) {
    let run = format!("b{:x}", (js_sys::Math::random() * 1e12) as u64);
    let client = LogClient::connect(server(), "alpha", "alpha", "alpha-dev").await.unwrap();
    let receipts: Vec<CommitReceipt> = (0..commits).map(|n| commit(&run, n, (n / 100) * 10)).collect();
    let events = commits * 10;

    // (p) Eventline: each commit encoded with its headers and expectation, pushed, awaited.
    let base = client.last_sequence().await.unwrap();
    let mut seen = std::collections::HashMap::<StreamId, u64>::new();
    let started = now();
    for (n, receipt) in receipts.iter().enumerate() {
        let last = |s: &StreamId| *seen.get(s).unwrap_or(&0);
        match client.push(receipt, &last, &format!("{run}-{n}.1")).await.unwrap() {
            Answer::Stored { seq } => {
                seen.insert(receipt.events[0].meta.stream.clone(), seq);
            }
            other => panic!("commit {n}: {other:?}"),
        }
    }
    let pushed = now() - started;
    // (p) The outbox's way: the same kind of commits (a run of their own), 1,000 to a batch.
    let batched_run = format!("{run}x");
    let batched: Vec<CommitReceipt> = (0..commits).map(|n| commit(&batched_run, n, (n / 100) * 10)).collect();
    // Each batch expects what the one before left on its streams.
    let mut batched_seen = std::collections::HashMap::<StreamId, u64>::new();
    let started = now();
    for (i, chunk) in batched.chunks(1000).enumerate() {
        let last = |s: &StreamId| *batched_seen.get(s).unwrap_or(&0);
        let answer = client.push_all(chunk, &last, &format!("{batched_run}-{i}")).await.unwrap();
        let Answer::Stored { seq } = answer else { panic!("batch {i}: {answer:?}") };
        // Messages are one per commit here, consecutive, ending at `seq`.
        for (j, receipt) in chunk.iter().enumerate() {
            batched_seen.insert(receipt.events[0].meta.stream.clone(), seq - (chunk.len() - 1 - j) as u64);
        }
    }
    let pushed_batched = now() - started;
    // (f) Eventline: pulled as commits, grouped, read and checked.
    let started = now();
    let pulled = client.pull(base).await.unwrap();
    let fetched = now() - started;
    let mine = pulled.iter().filter(|p| p.commit.is_ok()).count();
    assert_eq!(mine as u64, 2 * commits, "every pushed commit pulled back, once");
    let pulled_messages = 2 * commits;

    // Raw: the same bodies, plain JetStream publishes on the same connection, each awaited,
    // then fetched and counted.
    let bodies: Vec<(String, Vec<u8>)> = receipts
        .iter()
        .map(|r| {
            let out = messages("alpha", r, &|_| 0, "raw").unwrap().remove(0);
            (out.subject, out.body)
        })
        .collect();
    let raw_base = client.last_sequence().await.unwrap();
    let stored = |reply: &eventline_web::nats::Msg| {
        let answer: serde_json::Value = serde_json::from_slice(&reply.data).expect("JetStream's answer");
        assert!(answer.get("error").is_none(), "{answer}");
        answer["seq"].as_u64().expect("a sequence")
    };
    // The last sequence on each subject, for the expectations below.
    let mut plain_seen = std::collections::HashMap::<String, u64>::new();
    let started = now();
    for (subject, body) in &bodies {
        let reply = client.connection().request(subject, &[], body).await.unwrap();
        plain_seen.insert(subject.clone(), stored(&reply));
    }
    let raw_pushed = now() - started;
    // The same bodies with the commit's id and its stream's expectation, but not as a batch: what
    // an atomic batch of one costs over a plain publish.
    let started = now();
    for (n, (subject, body)) in bodies.iter().enumerate() {
        let expect = plain_seen.get(subject).copied().unwrap_or(0);
        let headers = [
            (eventline_core::sync::MSG_ID, format!("{run}-plain-{n}")),
            (eventline_core::sync::EXPECTED_LAST_SUBJECT_SEQUENCE, expect.to_string()),
        ];
        let reply = client.connection().request(subject, &headers, body).await.unwrap();
        plain_seen.insert(subject.clone(), stored(&reply));
    }
    let plain_pushed = now() - started;
    let started = now();
    let raw = client.count_raw(raw_base).await.unwrap();
    let raw_fetched = now() - started;
    let last = client.last_sequence().await.unwrap();
    assert_eq!((raw, last), (2 * commits, raw_base + 2 * commits), "the raw fetch read {raw} messages");

    let rate = |count: u64, ms: f64| count as f64 / ms * 1000.0;
    console_log!(
        "(p) push {commits} commits of 10 events, one at a time, each awaited: eventline {pushed:.0} ms = {:.0} commits/s = {:.0} events/s; raw JetStream publishes of the same bodies {raw_pushed:.0} ms = {:.0}/s; ratio {:.2}x; the same with the commit's id and expectation but no batch {plain_pushed:.0} ms = {:.0}/s; eventline pushing them 1,000 to a batch (an outbox's way) {pushed_batched:.0} ms = {:.0} commits/s = {:.0} events/s, {:.2}x of the raw publishes",
        rate(commits, pushed),
        rate(events, pushed),
        rate(commits, raw_pushed),
        raw_pushed / pushed,
        rate(commits, plain_pushed),
        rate(commits, pushed_batched),
        rate(events, pushed_batched),
        raw_pushed / pushed_batched
    );
    console_log!(
        "(f) pull {} events ({pulled_messages} messages) as checked commits: eventline {fetched:.0} ms = {:.0} events/s; raw fetch of the same bodies ({raw} messages) {raw_fetched:.0} ms = {:.0} messages/s; ratio {:.2}x",
        10 * pulled_messages,
        rate(10 * pulled_messages, fetched),
        rate(raw, raw_fetched),
        (raw_fetched / raw as f64) / (fetched / pulled_messages as f64)
    );
}

fn options() -> SyncOptions {
    SyncOptions { url: server().into(), log: "demo".into(), user: "demo".into(), password: "demo-dev".into() }
}

/// Polls `done` every few milliseconds until it holds (at most `ms`).
async fn until(what: &str, ms: f64, mut done: impl AsyncFnMut() -> bool) {
    let start = now();
    while !done().await {
        assert!(now() - start < ms, "timed out waiting for {what}");
        sleep(2).await;
    }
}

/// Each phase's milliseconds (the sync round's spans and the store's and the runner's inside
/// them, `eventline_web::timings`), and what they leave of `total_ms`.
fn breakdown(phases: &[(&'static str, f64)], total_ms: f64) -> String {
    let mut parts: Vec<String> = phases.iter().map(|(name, ms)| format!("{name} {ms:.0} ms")).collect();
    let claimed: f64 = phases.iter().map(|(_, ms)| ms).sum();
    parts.push(format!("the rest (waits between rounds, the event loop) {:.0} ms", (total_ms - claimed).max(0.0)));
    format!("{} (of {total_ms:.0} ms)", parts.join(", "))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// (d) Two devices: device A's log of `commands` generated commands goes to the server, and from
/// there into device B's log, each against the same messages moved raw from the same page (on
/// log `alpha`, so that neither device sees them); (l) the latency from a deposit on A to B's
/// balances read model.
async fn devices(commands: u64, samples: usize) {
    let run = format!("d{:x}", (js_sys::Math::random() * 1e12) as u64);
    let a = Runtime::open(&format!("bench-sync-a-{run}")).await.unwrap();
    eventline_demo::web::generate(&a, commands, 7, &|_, _| {}).await.unwrap();
    let events = a.head().await.unwrap().0;
    let watcher = LogClient::connect(server(), "demo", "demo", "demo-dev").await.unwrap();
    let base = watcher.last_sequence().await.unwrap();

    // (d) push: from starting sync until nothing waits.
    timings::take();
    let started = now();
    a.start_sync(options()).await.unwrap();
    until("device A's push", 600_000.0, async || {
        let s = a.sync_status();
        s.state == "online" && s.pending == 0
    })
    .await;
    let pushed = now() - started;
    let push_phases = timings::take();
    let stored = watcher.last_sequence().await.unwrap() - base;

    // Raw: the same messages (as the outbox makes them, 1,000 to a batch), published plainly,
    // the last of each thousand awaited, on log `alpha`.
    let raw_client = LogClient::connect(server(), "alpha", "alpha", "alpha-dev").await.unwrap();
    let mut log = Vec::new();
    let mut after = Position::ZERO;
    loop {
        let page = a.store().read_all_sealed(after, 32_768).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.meta.position;
        log.extend(page);
    }
    let receipts: Vec<CommitReceipt> = log
        .chunk_by(|x, y| x.meta.command_id == y.meta.command_id)
        .map(|c| CommitReceipt { command_id: c[0].meta.command_id.clone(), events: c.to_vec(), digest: None })
        .collect();
    let mut outgoing = Vec::new();
    for chunk in receipts.chunks(500) {
        outgoing.extend(eventline_core::sync::batch_of("alpha", chunk, &|_| 0, "raw").unwrap());
    }
    let raw_base = raw_client.last_sequence().await.unwrap();
    let started = now();
    for chunk in outgoing.chunks(1000) {
        let (last, rest) = chunk.split_last().unwrap();
        for message in rest {
            raw_client.connection().publish(&message.subject, &[], &message.body).unwrap();
        }
        raw_client.connection().request(&last.subject, &[], &last.body).await.unwrap();
    }
    let raw_pushed = now() - started;

    // (d) pull: device B, new, from starting sync until it holds what the server holds.
    let b = Runtime::open(&format!("bench-sync-b-{run}")).await.unwrap();
    let server_last = watcher.last_sequence().await.unwrap();
    timings::take();
    let started = now();
    b.start_sync(options()).await.unwrap();
    until("device B's pull", 600_000.0, async || {
        let s = b.sync_status();
        s.server_sequence >= server_last && s.pending == 0
    })
    .await;
    let pulled = now() - started;
    let pull_phases = timings::take();
    let held = b.head().await.unwrap().0;
    let started = now();
    let raw = raw_client.count_raw(raw_base).await.unwrap();
    let raw_fetched = now() - started;
    assert_eq!(raw, outgoing.len() as u64, "the raw fetch read every message");

    // (l) latency: a deposit on A, until B's balances read model shows it.
    let account = format!("{run}-l");
    a.execute_text(&serde_json::json!({"type": "OpenAccount", "account": account}).to_string()).await.unwrap();
    let balance = async |rt: &Runtime| -> u64 {
        let args = serde_json::json!({ "account": account }).to_string();
        rt.query("balances", &args).await.ok().and_then(|q| q.value()["balance"].as_u64()).unwrap_or(0)
    };
    let mut latencies = Vec::new();
    timings::take();
    for i in 0..samples as u64 {
        let deposit = serde_json::json!({"type": "Deposit", "account": account, "amount": 1});
        let started = now();
        a.execute_text(&deposit.to_string()).await.unwrap();
        until("the deposit on device B", 30_000.0, async || balance(&b).await == i + 1).await;
        latencies.push(now() - started);
    }
    let latency_phases = timings::take();
    latencies.sort_by(f64::total_cmp);
    a.close();
    b.close();

    let rate = |count: u64, ms: f64| count as f64 / ms * 1000.0;
    console_log!(
        "(d) devices: device A pushes its log of {commands} commands ({events} events, {stored} messages) in {pushed:.0} ms = {:.0} events/s; the same messages published raw {raw_pushed:.0} ms = {:.0} events/s; ratio {:.2}x. Device B pulls the server's log into its own ({held} events) in {pulled:.0} ms = {:.0} events/s; fetching the same messages raw {raw_fetched:.0} ms = {:.0} events/s; ratio {:.2}x",
        rate(events, pushed),
        rate(events, raw_pushed),
        raw_pushed / pushed,
        rate(held, pulled),
        rate(events, raw_fetched),
        (raw_fetched / events as f64) / (pulled / held as f64)
    );
    console_log!("(d) where device A's push goes: {}", breakdown(&push_phases, pushed));
    console_log!("(d) where device B's pull goes: {}", breakdown(&pull_phases, pulled));
    console_log!(
        "(l) latency from a deposit on device A to device B's balances read model, {samples} deposits: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    let total: f64 = latencies.iter().sum();
    console_log!("(l) where the deposits' time goes, both devices: {}", breakdown(&latency_phases, total));
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-sync.sh"]
async fn benchmark_sync() {
    run(2_000).await;
    devices(80_000, 100).await;
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-sync.sh --smoke (the test command)"]
async fn benchmark_sync_smoke() {
    run(20).await;
    devices(100, 5).await;
}
