//! The browser runtime on IndexedDB, in headless Chromium: read-your-writes, reopening, racing
//! writers, poison events, schema upgrade and refusal, two participants on one database,
//! projection controls, the saga after a reload, export and import.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use eventline_core::event::Event;
use eventline_core::handler::{CommandMeta, Executed};
use eventline_core::ids::{EventId, Position, StreamId, StreamVersion, Timestamp};
use eventline_core::saga::{Dispatch, ProcessManager, SagaProgress};
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::{AppendError, Commit, EventStore, StreamWrite};
use eventline_core::version::ExpectedVersion;
use eventline_core::{NewEvent, StoreError};
use eventline_demo::app::DemoApp;
use eventline_demo::command::parse_command;
use eventline_demo::saga::TransferSaga;
use eventline_demo::web::DemoRuntime as Runtime;
use eventline_web::env::BrowserEnv;
use eventline_web::runtime::{Control, Notice};
use eventline_web::tabs::sleep;
use eventline_web::{IdbStore, idb, persist};
use futures::future::join_all;
use serde_json::{Value, json};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

async fn fresh(name: &str) -> Runtime {
    idb::delete(name).await.expect("an old test database can be deleted");
    Runtime::open(name).await.expect("the runtime opens")
}

async fn run(rt: &Runtime, json: &str) -> Executed {
    rt.execute(parse_command(json).unwrap()).await.unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// Polls `check` until it holds, failing the test after `ms`.
async fn eventually(what: &str, ms: u32, mut check: impl AsyncFnMut() -> bool) {
    let start = js_sys::Date::now();
    while !check().await {
        assert!(js_sys::Date::now() - start < f64::from(ms), "timed out waiting for {what}");
        sleep(20).await;
    }
}

async fn balance(rt: &Runtime, account: &str) -> Value {
    rt.query("balances", &json!({ "account": account }).to_string()).await.unwrap().value()["balance"].clone()
}

#[wasm_bindgen_test]
async fn commands_reach_the_read_models_and_wait_for_reads_your_writes() {
    let rt = fresh("rt-basic").await;
    run(&rt, r#"{"type":"OpenAccount","account":"a"}"#).await;
    let executed = run(&rt, r#"{"type":"Deposit","account":"a","amount":250}"#).await;
    let position = executed.receipt.last_position().0;
    rt.wait_for(position, Some("balances"), 5_000).await.unwrap();
    let answer = rt.query("balances", &json!({ "account": "a" }).to_string()).await.unwrap();
    assert_eq!(answer.value()["balance"], 250);
    assert!(answer.position >= position);
    assert_eq!(answer.lag.events, 0);
    rt.wait_for(position, None, 5_000).await.unwrap();
    let audit = rt.query("auditLog", &json!({ "limit": 5 }).to_string()).await.unwrap();
    assert_eq!(audit.value()["total"], 2);
    let unknown = rt.query("nope", "").await.unwrap_err();
    assert_eq!(unknown.code, "UnknownReadModel");
    let bad = rt.query("topAccounts", &json!({ "limit": -1 }).to_string()).await.unwrap_err();
    assert_eq!(bad.code, "InvalidQuery");
    rt.close();
}

#[wasm_bindgen_test]
async fn a_reopened_database_has_everything() {
    let rt = fresh("rt-reopen").await;
    run(&rt, r#"{"type":"OpenAccount","account":"a"}"#).await;
    for i in 0..70 {
        run(&rt, &format!(r#"{{"type":"Deposit","account":"a","amount":{}}}"#, i + 1)).await;
    }
    let head = rt.head().await.unwrap();
    rt.wait_for(head.0, None, 5_000).await.unwrap();
    rt.close();

    let again = Runtime::open("rt-reopen").await.unwrap();
    assert_eq!(again.head().await.unwrap(), head);
    let account = again.app().account("a").await.unwrap();
    assert_eq!((account.state.balance, account.version), (70 * 71 / 2, StreamVersion(71)));
    // Read models come back from storage, at the checkpoint they were written with.
    let answer = again.query("balances", &json!({ "account": "a" }).to_string()).await.unwrap();
    assert_eq!((answer.value()["balance"].as_u64(), answer.position), (Some(70 * 71 / 2), head.0));
    let snapshot =
        eventline_core::snapshot::SnapshotStore::load_snapshot(&**again.store(), &StreamId::from("account-a"))
            .await
            .unwrap();
    assert_eq!(snapshot.map(|s| s.version), Some(StreamVersion(64)), "a snapshot every 64 events");
    again.close();
}

fn commit(id: &str, stream: &str, expected: ExpectedVersion) -> Commit {
    Commit {
        command_id: id.into(),
        correlation_id: id.into(),
        causation_id: id.into(),
        recorded_at: Timestamp(1),
        writes: vec![StreamWrite {
            stream: StreamId::from(stream),
            expected,
            events: vec![NewEvent {
                event_id: EventId::v7(Timestamp(1), [1; 10]),
                event_type: "Noted".into(),
                schema_version: 1,
                payload: "{}".into(),
            }],
        }],
        digest: None,
    }
}

#[wasm_bindgen_test]
async fn racing_appends_from_interleaved_tasks_never_both_win() {
    idb::delete("rt-race").await.unwrap();
    // Two connections, as two tabs would have.
    let (one, two) = (IdbStore::open("rt-race").await.unwrap(), IdbStore::open("rt-race").await.unwrap());
    let attempts = (0..24).map(|i| {
        let store = if i % 2 == 0 { &one } else { &two };
        store.append(commit(&format!("c{i}"), "contested", ExpectedVersion::NoStream))
    });
    let results = join_all(attempts).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "exactly one writer creates the stream");
    for result in &results {
        if let Err(error) = result {
            assert!(matches!(error, AppendError::WrongExpectedVersion(e) if e.actual == StreamVersion(1)), "{error:?}");
        }
    }
    // Racing on exact versions: each version is written once.
    for (round, written) in (1..=5).enumerate() {
        let attempts = (0..8).map(|i| {
            let store = if i % 2 == 0 { &one } else { &two };
            store.append(commit(&format!("r{round}-{i}"), "contested", ExpectedVersion::Exact(StreamVersion(written))))
        });
        let winners = join_all(attempts).await.into_iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1);
    }
    let events = one.read_all(Position::ZERO, 100).await.unwrap();
    let positions: Vec<u64> = events.iter().map(|e| e.meta.position.0).collect();
    let versions: Vec<u64> = events.iter().map(|e| e.meta.version.0).collect();
    assert_eq!(positions, (1..=6).collect::<Vec<_>>());
    assert_eq!(versions, (1..=6).collect::<Vec<_>>());
    one.close();
    two.close();
}

#[wasm_bindgen_test]
async fn racing_commands_from_two_tabs_commit_or_conflict_and_never_corrupt() {
    let one = fresh("rt-race-commands").await;
    let two = Runtime::open("rt-race-commands").await.unwrap();
    run(&one, r#"{"type":"OpenAccount","account":"a"}"#).await;
    let deposits = (0..30).map(|i| {
        let rt = if i % 2 == 0 { &one } else { &two };
        rt.execute(parse_command(&format!(r#"{{"type":"Deposit","account":"a","amount":{}}}"#, i + 1)).unwrap())
    });
    let results = join_all(deposits).await;
    let mut committed = 0;
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(_) => committed += i as u64 + 1,
            Err(failure) => assert_eq!(failure.code, "WrongExpectedVersion", "a loser is told why"),
        }
    }
    let wins = results.iter().filter(|r| r.is_ok()).count() as u64;
    assert!(wins >= 20, "commands of one tab queue, so most land: {wins} of 30");
    let account = two.app().account("a").await.unwrap();
    assert_eq!((account.state.balance, account.version), (committed, StreamVersion(wins + 1)));
    let log = one.events(&Default::default()).await.unwrap();
    let positions: Vec<u64> = log.iter().map(|e| e.meta.position.0).collect();
    assert_eq!(positions, (1..=wins + 1).collect::<Vec<_>>(), "positions have no gaps");
    one.close();
    two.close();
}

#[wasm_bindgen_test]
async fn poison_events_are_dead_lettered_and_projections_go_on() {
    let rt = fresh("rt-poison").await;
    run(&rt, r#"{"type":"OpenAccount","account":"a"}"#).await;
    let mut poison = commit("poison", "account-a", ExpectedVersion::Any);
    poison.writes[0].events[0].event_type = "AccountFrozen".into();
    rt.store().append(poison).await.unwrap();
    let mut garbled = commit("garbled", "account-a", ExpectedVersion::Any);
    garbled.writes[0].events[0].event_type = "MoneyDeposited".into();
    garbled.writes[0].events[0].payload = r#"{"amount":"lots"}"#.into();
    rt.store().append(garbled).await.unwrap();
    // The account's own history no longer decodes: its commands are refused, typed, and
    // nothing is appended; the rest of the system goes on.
    let refused =
        rt.execute(parse_command(r#"{"type":"Withdraw","account":"a","amount":1}"#).unwrap()).await.unwrap_err();
    assert_eq!(refused.code, "UnknownEventType");
    run(&rt, r#"{"type":"OpenAccount","account":"b"}"#).await;
    let last = run(&rt, r#"{"type":"Deposit","account":"b","amount":3}"#).await;
    rt.wait_for(last.receipt.last_position().0, Some("balances"), 5_000).await.unwrap();
    assert_eq!(balance(&rt, "b").await, 3);
    let letters = rt.dead_letters().await.unwrap();
    let reasons: Vec<(u64, &str)> = letters.iter().map(|l| (l.position, l.code.as_str())).collect();
    assert_eq!(reasons, vec![(2, "UnknownEventType"), (3, "InvalidEventPayload")]);
    assert!(letters[0].event.contains("AccountFrozen"));
    rt.wait_for(5, Some("auditLog"), 5_000).await.unwrap();
    let audit = rt.query("auditLog", &json!({}).to_string()).await.unwrap();
    assert_eq!(audit.value()["total"], 5);
    rt.close();
}

#[wasm_bindgen_test]
async fn an_older_schema_is_upgraded_and_a_newer_one_refused() {
    // An empty database as schema 1 made it (what it held is the upgrade suite's, from fixtures).
    idb::delete("rt-schema-old").await.unwrap();
    let old = IdbStore::open_at("rt-schema-old", 1).await.unwrap();
    assert!(!old.object_stores().iter().any(|s| s == idb::DEAD_LETTERS || s == idb::LOG));
    old.close();

    let upgraded = Runtime::open("rt-schema-old").await.unwrap();
    assert!(upgraded.store().object_stores().iter().any(|s| s == idb::DEAD_LETTERS));
    assert!(upgraded.store().object_stores().iter().any(|s| s == idb::LOG));
    run(&upgraded, r#"{"type":"OpenAccount","account":"a"}"#).await;
    run(&upgraded, r#"{"type":"Deposit","account":"a","amount":9}"#).await;
    assert_eq!(upgraded.head().await.unwrap(), Position(2));
    upgraded.wait_for(2, Some("balances"), 5_000).await.unwrap();
    assert_eq!(balance(&upgraded, "a").await, 9);
    upgraded.close();

    // A database from the future: refused, and left exactly as it was.
    idb::delete("rt-schema-new").await.unwrap();
    let future = indexed_db_futures::database::Database::open("rt-schema-new")
        .with_version(99u32)
        .with_on_upgrade_needed(|_, db: indexed_db_futures::database::Database| {
            use indexed_db_futures::prelude::*;
            db.create_object_store("from-the-future").build()?;
            Ok(())
        })
        .await
        .unwrap();
    future.close();
    let refused = IdbStore::open("rt-schema-new").await.err().expect("a newer schema is refused");
    assert_eq!(refused, StoreError::SchemaTooNew { found: 99, known: idb::SCHEMA_VERSION });
    let failure = Runtime::open("rt-schema-new").await.err().unwrap();
    assert_eq!(failure.code, "SchemaTooNew");
    let untouched = indexed_db_futures::database::Database::open("rt-schema-new").await.unwrap();
    assert_eq!(untouched.version(), 99.0);
    assert_eq!(untouched.object_store_names().collect::<Vec<String>>(), vec!["from-the-future".to_string()]);
    untouched.close();
}

#[wasm_bindgen_test]
async fn two_participants_share_news_and_one_of_them_leads() {
    let one = fresh("rt-tabs").await;
    let two = Runtime::open("rt-tabs").await.unwrap();
    eventually("a leader", 5_000, async || one.is_leader() || two.is_leader()).await;
    assert!(one.is_leader() != two.is_leader(), "exactly one participant runs the projections");
    let (leader, follower) = if one.is_leader() { (&one, &two) } else { (&two, &one) };

    let heard: Rc<RefCell<Vec<Notice>>> = Rc::default();
    let log = heard.clone();
    follower.subscribe(move |notice| log.borrow_mut().push(notice.clone()));
    run(leader, r#"{"type":"OpenAccount","account":"a"}"#).await;
    let executed = run(leader, r#"{"type":"Deposit","account":"a","amount":40}"#).await;
    let position = executed.receipt.last_position().0;
    eventually("the commit news", 5_000, async || {
        heard.borrow().contains(&Notice::Committed { position, local: false })
    })
    .await;

    // The follower reads what the leader persisted, after waiting for it.
    follower.wait_for(position, Some("balances"), 5_000).await.unwrap();
    assert_eq!(balance(follower, "a").await, 40);
    let statuses = follower.statuses().await.unwrap();
    assert!(statuses.iter().all(|s| !s.runs_here && s.checkpoint == position));

    // A command in the follower reaches the leader's projections too.
    let executed = run(follower, r#"{"type":"Deposit","account":"a","amount":2}"#).await;
    leader.wait_for(executed.receipt.last_position().0, Some("balances"), 5_000).await.unwrap();
    assert_eq!(balance(leader, "a").await, 42);

    // When the leader goes, the other takes over from the persisted checkpoints.
    let (leader, follower) = (leader.clone(), follower.clone());
    leader.close();
    eventually("the handover", 5_000, async || follower.is_leader()).await;
    let executed = run(&follower, r#"{"type":"Withdraw","account":"a","amount":2}"#).await;
    follower.wait_for(executed.receipt.last_position().0, None, 5_000).await.unwrap();
    assert_eq!(balance(&follower, "a").await, 40);
    follower.close();
}

#[wasm_bindgen_test]
async fn projections_can_be_paused_resumed_delayed_and_rebuilt() {
    let rt = fresh("rt-controls").await;
    eventually("leadership", 5_000, async || rt.is_leader()).await;
    run(&rt, r#"{"type":"OpenAccount","account":"a"}"#).await;
    rt.wait_for(1, None, 5_000).await.unwrap();

    rt.control("balances", Control::Pause).await.unwrap();
    let executed = run(&rt, r#"{"type":"Deposit","account":"a","amount":5}"#).await;
    let position = executed.receipt.last_position().0;
    rt.wait_for(position, Some("accountSummaries"), 5_000).await.unwrap();
    let status = |statuses: Vec<eventline_web::runtime::ProjectionStatus>| {
        statuses.into_iter().find(|s| s.name == "balances").unwrap()
    };
    let paused = status(rt.statuses().await.unwrap());
    assert_eq!((paused.status, paused.checkpoint, paused.lag.events), ("paused", 1, 1));
    let timeout = rt.wait_for(position, Some("balances"), 200).await.unwrap_err();
    assert_eq!(timeout.code, "WaitTimeout");
    rt.control("balances", Control::Resume).await.unwrap();
    rt.wait_for(position, Some("balances"), 5_000).await.unwrap();
    assert_eq!(balance(&rt, "a").await, 5);

    // With a delay, the read model falls behind, then catches up one event per delay.
    rt.control("balances", Control::Delay { ms: 60 }).await.unwrap();
    for _ in 0..5 {
        run(&rt, r#"{"type":"Deposit","account":"a","amount":1}"#).await;
    }
    let behind = status(rt.statuses().await.unwrap());
    assert!(behind.lag.events >= 3, "{behind:?}");
    let head = rt.head().await.unwrap().0;
    rt.wait_for(head, Some("balances"), 5_000).await.unwrap();
    assert_eq!(balance(&rt, "a").await, 10);
    rt.control("balances", Control::Delay { ms: 0 }).await.unwrap();

    // A rebuild starts from 0 and ends where the incremental one was.
    let before = rt.query("accountSummaries", "").await.unwrap();
    rt.control("accountSummaries", Control::Rebuild).await.unwrap();
    // Blue/green: the read model from before answers until its replacement has caught up.
    let during = rt.query("accountSummaries", "").await.unwrap();
    assert_eq!(during.value(), before.value());
    eventually("the rebuild", 5_000, async || {
        rt.statuses().await.unwrap().iter().any(|s| s.name == "accountSummaries" && s.last_rebuild.is_some())
    })
    .await;
    let after = rt.query("accountSummaries", "").await.unwrap();
    assert_eq!(after.value(), before.value());
    let rebuilt = status(rt.statuses().await.unwrap());
    assert_eq!(rebuilt.status, "live");
    let bad = rt.control("balances", Control::Delay { ms: 1_000_000 }).await.unwrap_err();
    assert_eq!(bad.code, "InvalidArgument");
    rt.close();
}

#[wasm_bindgen_test]
async fn the_saga_resumes_after_a_reload() {
    idb::delete("rt-saga").await.unwrap();
    let store = IdbStore::open("rt-saga").await.unwrap();
    let app = DemoApp::new(&store, BrowserEnv, SnapshotPolicy::Never);
    for (i, json) in [
        r#"{"type":"OpenAccount","account":"a"}"#,
        r#"{"type":"OpenAccount","account":"b"}"#,
        r#"{"type":"Deposit","account":"a","amount":100}"#,
        r#"{"type":"Transfer","from":"a","to":"b","amount":30,"mode":"saga","transferId":"t-1"}"#,
    ]
    .iter()
    .enumerate()
    {
        app.execute(CommandMeta::new(format!("c{i}")), &parse_command(json).unwrap().command).await.unwrap();
    }
    // The saga debits, then the page dies before its progress is saved.
    let mut lost = SagaProgress::<TransferSaga>::default();
    let request = store.read_all(Position(3), 1).await.unwrap().remove(0);
    let issued = lost.state.react(&eventline_demo::DemoEvent::decode_recorded(&request).unwrap());
    app.dispatch(&issued[0]).await.unwrap();
    store.close();

    let rt = Runtime::open("rt-saga").await.unwrap();
    eventually("the transfer to complete", 5_000, async || {
        let answer = rt.query("transfers", &json!({ "transferId": "t-1" }).to_string()).await;
        answer.is_ok_and(|a| a.value()["status"] == "completed")
    })
    .await;
    let (a, b) = (rt.app().account("a").await.unwrap().state, rt.app().account("b").await.unwrap().state);
    assert_eq!((a.balance, a.pending.len(), b.balance), (70, 0, 30));
    let debits = rt
        .events(&eventline_web::runtime::EventFilter {
            event_type: Some("TransferDebited".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(debits.len(), 1, "the debit was not repeated");
    let saved = persist::load_saga(rt.store(), <TransferSaga as ProcessManager>::NAME).await.unwrap().unwrap();
    assert!(saved.contains("\"inFlight\":{}"), "{saved}");
    rt.close();
}

/// `body` (event lines) with the end line an export would give it.
async fn signed(body: &str, events: u64) -> String {
    let digest = eventline_web::env::sha256_hex(body.as_bytes()).await.unwrap();
    format!("{body}{}\n", eventline_web::exchange::end_line(events, digest))
}

#[wasm_bindgen_test]
async fn an_export_imports_into_an_identical_log() {
    let source = fresh("rt-export").await;
    for json in [
        r#"{"type":"OpenAccount","account":"a"}"#,
        r#"{"type":"OpenAccount","account":"b"}"#,
        r#"{"type":"Deposit","account":"a","amount":100}"#,
        r#"{"type":"Transfer","from":"a","to":"b","amount":25}"#,
        r#"{"type":"CreateOrder","order":"o","customer":"c"}"#,
    ] {
        run(&source, json).await;
    }
    let progress: Rc<RefCell<Vec<(u64, u64)>>> = Rc::default();
    let seen = progress.clone();
    let ndjson = source.export(&move |done, total| seen.borrow_mut().push((done, total))).await.unwrap();
    assert_eq!(ndjson.lines().count(), 7, "six events and the end line");
    let body: String = ndjson.lines().take(6).map(|l| format!("{l}\n")).collect();
    assert_eq!(ndjson, signed(&body, 6).await, "the end line counts the events and carries their SHA-256");
    assert_eq!(progress.borrow().last(), Some(&(6, 6)));
    let original = source.events(&Default::default()).await.unwrap();
    source.close();

    let target = fresh("rt-import").await;
    // A log cut short is refused whole: its last commit may be torn (here, half a transfer).
    let cut: String = ndjson.lines().take(4).map(|l| format!("{l}\n")).collect();
    assert_eq!(target.import(&cut, &|_, _| {}).await.unwrap_err().code, "InvalidImport");
    let gap: String = ndjson.lines().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| format!("{l}\n")).collect();
    assert!(target.import(&gap, &|_, _| {}).await.unwrap_err().message.contains("events are missing"));
    assert_eq!(target.head().await.unwrap(), Position(0));
    // An earlier export of the first three commits, imported ...
    let earlier = signed(&ndjson.lines().take(3).map(|l| format!("{l}\n")).collect::<String>(), 3).await;
    let partial = target.import(&earlier, &|_, _| {}).await.unwrap();
    assert_eq!((partial.events, partial.commits, partial.head), (3, 3, 3));
    // ... then the whole log: the prefix already there is skipped, not doubled.
    let report = target.import(&ndjson, &|_, _| {}).await.unwrap();
    assert_eq!((report.skipped, report.events, report.commits, report.head), (3, 3, 2, 6));
    assert_eq!(target.events(&Default::default()).await.unwrap(), original);
    target.wait_for(6, None, 5_000).await.unwrap();
    assert_eq!(balance(&target, "b").await, 25);
    // And importing it once more appends nothing.
    let again = target.import(&ndjson, &|_, _| {}).await.unwrap();
    assert_eq!((again.skipped, again.events, again.head), (6, 0, 6));
    // A log whose command ids are taken by other events is refused, digest or not.
    let forged = body.replacen(&original[0].meta.event_id.to_string(), "0190a6d5-0000-7000-8000-000000000000", 1);
    let clash = target.import(&signed(&forged, 6).await, &|_, _| {}).await.unwrap_err();
    assert_eq!(clash.code, "InvalidImport", "{}", clash.message);
    assert!(clash.message.contains("other events"), "{}", clash.message);
    let tampered = ndjson.replacen(r#""amount":100"#, r#""amount":101"#, 1);
    let refused = target.import(&tampered, &|_, _| {}).await.unwrap_err();
    assert!(refused.message.contains("changed after it was exported"), "{}", refused.message);
    let broken = target.import("{\"not\":\"an event\"}\n", &|_, _| {}).await.unwrap_err();
    assert_eq!(broken.code, "InvalidImport");
    assert_eq!(target.head().await.unwrap(), Position(6));
    target.close();
}

#[wasm_bindgen_test]
async fn history_inspection_positions_and_generated_data() {
    use eventline_core::temporal::AsOf;
    use eventline_web::runtime::EventFilter;
    let rt = fresh("rt-history").await;
    for json in [
        r#"{"type":"OpenAccount","account":"a"}"#,
        r#"{"type":"Deposit","account":"a","amount":100}"#,
        r#"{"type":"Deposit","account":"a","amount":50}"#,
        r#"{"type":"Withdraw","account":"a","amount":30}"#,
    ] {
        run(&rt, json).await;
    }
    let past = rt.history_at(AsOf::Position(Position(3))).await.unwrap();
    assert_eq!(past.position, 3);
    let past_json =
        |name: &str, args: Value| serde_json::from_str::<Value>(&past.query(name, &args.to_string()).unwrap()).unwrap();
    assert_eq!(past_json("balances", json!({ "account": "a" }))["balance"], 150);
    assert_eq!(past_json("auditLog", json!({}))["total"], 3);

    let inspection = rt.inspect(4).await.unwrap();
    assert_eq!(&*inspection.event.event_type, "MoneyWithdrawn");
    let state = |json: &Option<String>| serde_json::from_str::<Value>(json.as_deref().unwrap()).unwrap();
    assert_eq!(state(&inspection.state_before)["balance"], 150);
    assert_eq!(state(&inspection.state_after)["balance"], 120);
    let balances: Vec<_> = inspection.changes.iter().filter(|c| c.read_model == "balances").collect();
    assert_eq!(balances.len(), 1);
    assert_eq!(balances[0].key, "a");
    let doc = |json: &Option<String>| serde_json::from_str::<Value>(json.as_deref().unwrap()).unwrap();
    assert_eq!(
        (doc(&balances[0].before)["balance"].clone(), doc(&balances[0].after)["balance"].clone()),
        (json!(150), json!(120))
    );
    let touched: std::collections::BTreeSet<&str> = inspection.changes.iter().map(|c| c.read_model.as_str()).collect();
    assert_eq!(touched, ["accountSummaries", "auditLog", "balances", "topAccounts"].into_iter().collect());
    assert_eq!(rt.inspect(0).await.unwrap_err().code, "InvalidArgument");
    assert_eq!(rt.inspect(5).await.unwrap_err().code, "InvalidArgument");

    let report = eventline_demo::web::generate(&rt, 400, 42, &|_, _| {}).await.unwrap();
    assert!(report.events >= 400, "{report:?}");
    rt.wait_for(report.head, None, 20_000).await.unwrap();
    assert!(rt.dead_letters().await.unwrap().is_empty());
    let withdrawals =
        rt.positions(&EventFilter { event_type: Some("MoneyWithdrawn".into()), ..Default::default() }).await.unwrap();
    assert!(withdrawals.len() > 5, "{withdrawals:?}");
    let events = rt.events_at(&withdrawals).await.unwrap();
    assert!(events.iter().all(|e| &*e.event_type == "MoneyWithdrawn"));
    assert_eq!(events.iter().map(|e| e.meta.position.0).collect::<Vec<_>>(), withdrawals);
    assert_eq!(eventline_demo::web::generate(&rt, 0, 1, &|_, _| {}).await.unwrap_err().code, "InvalidArgument");
    rt.close();
}
