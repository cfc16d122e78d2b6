//! The browser's sync client (`eventline_web::sync`, over the page's WebSocket) against a real
//! nats-server: `scripts/test.sh` starts one from `sync/nats/server.conf`, creates logs `alpha`
//! and `beta`, and passes its WebSocket address at build time (`EVENTLINE_SYNC_WS`). Every run
//! writes streams of its own, so the three browsers' runs share the server without meeting.
//!
//! What a user of sync would check: a commit pushed from the page is stored once however often it
//! is retried; a second device that did not see it conflicts on the same stream, then succeeds on
//! what it now knows; a two-stream commit with one stale expectation stores nothing; pulling reads
//! back exactly what was stored, in the server's order; wrong credentials, another log and a
//! server that is not there are typed failures, not hangs.
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use eventline_core::envelope::{EventMetadata, RecordedEvent};
use eventline_core::ids::{EventId, Position, StreamId, StreamVersion, Timestamp};
use eventline_core::store::CommitReceipt;
use eventline_core::sync::Answer;
use eventline_web::sync::LogClient;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn server() -> &'static str {
    match option_env!("EVENTLINE_SYNC_WS") {
        Some(url) => url,
        None => panic!(
            "EVENTLINE_SYNC_WS (at build time): the sync server's WebSocket address, with logs alpha and \
             beta; scripts/test.sh starts one"
        ),
    }
}

/// A commit of `command` writing `count` events to each stream after the version given.
fn commit(command: &str, writes: &[(&str, u64, usize)]) -> CommitReceipt {
    let mut events = Vec::new();
    for (stream, before, count) in writes {
        for i in 0..*count {
            let random: [u8; 10] = std::array::from_fn(|_| (js_sys::Math::random() * 256.0) as u8);
            events.push(RecordedEvent {
                meta: EventMetadata {
                    event_id: EventId::v7(Timestamp(js_sys::Date::now() as u64), random),
                    stream: StreamId::from(*stream),
                    version: StreamVersion(before + i as u64 + 1),
                    position: Position(0),
                    recorded_at: Timestamp(js_sys::Date::now() as u64),
                    command_id: command.into(),
                    correlation_id: command.into(),
                    causation_id: command.into(),
                },
                event_type: Arc::from("MoneyDeposited"),
                schema_version: 1,
                payload: Arc::from(format!(r#"{{"amount":{}}}"#, i + 1)),
            });
        }
    }
    CommitReceipt { command_id: command.into(), events, digest: None }
}

async fn device() -> LogClient {
    LogClient::connect(server(), "alpha", "alpha", "alpha-dev").await.expect("alpha's device connects")
}

#[wasm_bindgen_test]
async fn the_page_pushes_and_pulls_commits_once_and_in_the_servers_order() {
    let run = format!("{:x}", (js_sys::Math::random() * 1e12) as u64);
    let (a, b) = (device().await, device().await);
    let (one, two) = (format!("account-{run}a"), format!("account-{run}b"));
    let base = a.last_sequence().await.unwrap();
    let none = |_: &StreamId| 0;

    let first = commit(&format!("{run}-1"), &[(&one, 0, 2)]);
    let Answer::Stored { seq: s1 } = a.push(&first, &none, &format!("{run}-1.1")).await.unwrap() else {
        panic!("the first commit was not stored")
    };
    assert!(s1 > base);
    // Another device that has not seen it: a conflict on that stream, nothing stored.
    let second = commit(&format!("{run}-2"), &[(&one, 0, 1)]);
    assert_eq!(b.push(&second, &none, &format!("{run}-2.1")).await.unwrap(), Answer::Conflict);
    // Decided again on what it now knows.
    let second = commit(&format!("{run}-2"), &[(&one, 2, 1)]);
    let seen = |s: &StreamId| if *s == StreamId::from(one.as_str()) { s1 } else { 0 };
    let Answer::Stored { seq: s2 } = b.push(&second, &seen, &format!("{run}-2.2")).await.unwrap() else {
        panic!("the second commit, decided again, was not stored")
    };
    // The first retried (its answer lost): already stored, not stored twice.
    assert_eq!(a.push(&first, &none, &format!("{run}-1.2")).await.unwrap(), Answer::AlreadyStored);
    // Two streams at once, one expectation stale: nothing; both fresh: both.
    let transfer = commit(&format!("{run}-3"), &[(&one, 3, 1), (&two, 0, 1)]);
    let stale = |s: &StreamId| if *s == StreamId::from(one.as_str()) { s1 } else { 0 };
    assert_eq!(a.push(&transfer, &stale, &format!("{run}-3.1")).await.unwrap(), Answer::Conflict);
    let fresh = |s: &StreamId| if *s == StreamId::from(one.as_str()) { s2 } else { 0 };
    assert!(matches!(a.push(&transfer, &fresh, &format!("{run}-3.2")).await.unwrap(), Answer::Stored { .. }));

    // Read back from where this run began: this run's commits, each once, in order (other
    // browsers' runs may interleave: they write streams of their own).
    let pulled = b.pull(base).await.unwrap();
    let mine: Vec<(String, Vec<(String, usize)>)> = pulled
        .iter()
        .filter_map(|p| p.commit.as_ref().ok())
        .filter(|c| c.command_id.as_str().starts_with(&run))
        .map(|c| {
            let writes = c.writes.iter().map(|w| (w.stream.to_string(), w.events.len())).collect();
            (c.command_id.to_string(), writes)
        })
        .collect();
    assert_eq!(
        mine,
        vec![
            (format!("{run}-1"), vec![(one.clone(), 2)]),
            (format!("{run}-2"), vec![(one.clone(), 1)]),
            (format!("{run}-3"), vec![(one.clone(), 1), (two.clone(), 1)]),
        ]
    );
    let sequences: Vec<u64> = pulled.iter().map(|p| p.seq).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "not in the server's order: {sequences:?}");
}

#[wasm_bindgen_test]
async fn wrong_credentials_another_log_and_no_server_are_typed_failures() {
    let code = |r: Result<LogClient, eventline_web::Failure>| r.err().map(|e| e.code);
    assert_eq!(code(LogClient::connect(server(), "alpha", "alpha", "wrong").await).as_deref(), Some("Unauthorized"));
    // Alpha's user on log beta: refused by the server's permissions, at once.
    let intruder = LogClient::connect(server(), "beta", "alpha", "alpha-dev").await.unwrap();
    let started = js_sys::Date::now();
    assert_eq!(intruder.last_sequence().await.err().map(|e| e.code).as_deref(), Some("Forbidden"));
    assert!(js_sys::Date::now() - started < 4_000.0, "a refusal must not wait for a timeout");
    let pushed = intruder.push(&commit("intruder-1", &[("account-x", 0, 1)]), &|_| 0, "intruder-1.1").await;
    assert_eq!(pushed.err().map(|e| e.code).as_deref(), Some("Forbidden"));
    // Nothing is listening on port 9 (discard) on this machine: refused at once, or (WebKit) no
    // answer within the client's timeout; either way `Unreachable`.
    assert_eq!(
        code(LogClient::connect("ws://127.0.0.1:9", "alpha", "alpha", "alpha-dev").await).as_deref(),
        Some("Unreachable")
    );
}
