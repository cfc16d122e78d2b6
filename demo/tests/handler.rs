//! The command handler over the in-memory store: commits and their metadata, idempotent retries,
//! conflicts and bounded retry, atomic multi-stream commits, snapshots, upcasting of stored events.

mod common;

use common::{App, app, command, run, run_ready};
use eventline_core::handler::{CommandHandler, CommandMeta, ExecuteError, Loaded};
use eventline_core::ids::{
    CausationId, CommandId, CorrelationId, EventId, Position, StreamId, StreamVersion, Timestamp,
};
use eventline_core::memory::InMemoryStore;
use eventline_core::snapshot::{Snapshot, SnapshotPolicy, SnapshotStore};
use eventline_core::store::{Commit, EventStore, StreamWrite};
use eventline_core::temporal::{AsOf, aggregate_at};
use eventline_core::testing::TestEnv;
use eventline_core::version::ExpectedVersion;
use eventline_core::{ErrorCode, NewEvent};
use eventline_demo::bank::{Account, AccountCommand, AccountStatus};
use eventline_demo::money::Currency;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn balance(app: &App<'_>, account: &str) -> u64 {
    run_ready(app.account(account)).unwrap().state.balance
}

#[wasm_bindgen_test(unsupported = test)]
fn a_command_commits_its_events_with_full_metadata() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(&app, "c-open", r#"{"type":"OpenAccount","account":"a"}"#);
    env.advance(1_000);
    let executed = run(&app, "c-dep", r#"{"type":"Deposit","account":"a","amount":100}"#);

    assert!(!executed.replayed);
    let [event] = executed.receipt.events.as_slice() else { panic!("one event") };
    assert_eq!(event.meta.position, Position(2));
    assert_eq!(event.meta.stream, StreamId::from("account-a"));
    assert_eq!(event.meta.version, StreamVersion(2));
    assert_eq!(&*event.event_type, "MoneyDeposited");
    assert_eq!(event.schema_version, 1);
    assert_eq!(&*event.payload, r#"{"amount":100}"#);
    assert_eq!(event.meta.command_id, CommandId::from("c-dep"));
    assert_eq!(event.meta.correlation_id, CorrelationId::from("c-dep"));
    assert_eq!(event.meta.causation_id, CausationId::from("c-dep"));
    assert_eq!(event.meta.recorded_at, env_now(&env));
    assert_eq!(event.meta.event_id.0.get_version_num(), 7);
    assert_eq!(run_ready(store.head()).unwrap(), Position(2));
}

fn env_now(env: &TestEnv) -> Timestamp {
    eventline_core::Environment::now(env)
}

#[wasm_bindgen_test(unsupported = test)]
fn a_retried_command_id_returns_the_first_commit_and_appends_nothing() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(&app, "open", r#"{"type":"OpenAccount","account":"a"}"#);
    run(&app, "dep", r#"{"type":"Deposit","account":"a","amount":100}"#);
    let first = run(&app, "w-1", r#"{"type":"Withdraw","account":"a","amount":100}"#);

    // Deciding the retry again would be refused (the balance is now 0), yet it did succeed once.
    let retry = run(&app, "w-1", r#"{"type":"Withdraw","account":"a","amount":100}"#);
    assert!(retry.replayed);
    assert_eq!(retry.receipt, first.receipt);
    assert_eq!(store.len(), 3);

    // A retry that would still be accepted is also answered from the log.
    let dep_again = run(&app, "dep", r#"{"type":"Deposit","account":"a","amount":100}"#);
    assert!(dep_again.replayed);
    assert_eq!((store.len(), balance(&app, "a")), (3, 0));

    // Another app on the same log (another tab) sees the same: the id is in the store, not a cache.
    let other = common::app(&store, &env);
    assert!(run(&other, "w-1", r#"{"type":"Withdraw","account":"a","amount":100}"#).replayed);
    assert_eq!(store.len(), 3);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_rejected_command_appends_nothing_and_says_why() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(&app, "open", r#"{"type":"OpenAccount","account":"a"}"#);
    let refused =
        run_ready(app.execute(CommandMeta::new("w"), &command(r#"{"type":"Withdraw","account":"a","amount":5}"#)));
    let error = refused.unwrap_err();
    assert_eq!(error.code(), "InsufficientFunds");
    assert_eq!(error.to_string(), "account a has 0 available, less than the 5 requested");
    let details: serde_json::Value = serde_json::from_str(&error.details().unwrap()).unwrap();
    assert_eq!(details["requested"], 5);
    assert_eq!(store.len(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_decision_on_stale_state_is_retried_on_fresh_state() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let tab_one = app(&store, &env);
    let tab_two = common::app(&store, &env);
    run(&tab_one, "open", r#"{"type":"OpenAccount","account":"a"}"#);
    run(&tab_one, "dep-1", r#"{"type":"Deposit","account":"a","amount":100}"#);
    assert_eq!(balance(&tab_two, "a"), 100); // tab two caches version 2

    run(&tab_one, "dep-2", r#"{"type":"Deposit","account":"a","amount":50}"#);
    // Tab two decides on version 2, the store refuses, it reloads version 3 and decides again.
    let executed = run(&tab_two, "w", r#"{"type":"Withdraw","account":"a","amount":150}"#);
    assert_eq!(executed.receipt.events[0].meta.version, StreamVersion(4));
    assert_eq!(balance(&tab_two, "a"), 0);
    assert_eq!(balance(&tab_one, "a"), 0, "tab one's cache is refreshed by its own conflict-free load");
}

#[wasm_bindgen_test(unsupported = test)]
fn retries_are_bounded_and_end_in_a_typed_conflict() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let handler: CommandHandler<Account, _, _> = CommandHandler::new(&store, &env).with_max_attempts(1);
    let open = AccountCommand::Open { account: common::id("a"), currency: Currency::eur(), holder: None };
    run_ready(handler.execute(CommandMeta::new("open"), "a", &open)).unwrap();
    let deposit = AccountCommand::Deposit { account: common::id("a"), amount: common::amount(1) };
    run_ready(handler.load("a")).unwrap(); // cached at version 1

    let other: CommandHandler<Account, _, _> = CommandHandler::new(&store, &env);
    run_ready(other.execute(CommandMeta::new("d-1"), "a", &deposit)).unwrap();
    let error = run_ready(handler.execute(CommandMeta::new("d-2"), "a", &deposit)).unwrap_err();
    let ExecuteError::Conflict { attempts, last } = &error else { panic!("{error:?}") };
    assert_eq!(
        (*attempts, last.expected, last.actual),
        (1, ExpectedVersion::Exact(StreamVersion(1)), StreamVersion(2))
    );
    assert_eq!(error.code(), "WrongExpectedVersion");
    assert_eq!(store.len(), 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_callers_expected_version_is_checked_against_the_log_and_not_retried() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let tab_one = app(&store, &env);
    let tab_two = common::app(&store, &env);
    let execute = |app: &App<'_>, id: &str, expected: ExpectedVersion, json: &str| {
        run_ready(app.execute(CommandMeta::new(id).expecting(expected), &command(json)))
    };
    let open = r#"{"type":"OpenAccount","account":"a"}"#;
    let deposit = r#"{"type":"Deposit","account":"a","amount":10}"#;

    assert!(execute(&tab_one, "o", ExpectedVersion::NoStream, open).is_ok());
    let refused = execute(&tab_one, "o-2", ExpectedVersion::NoStream, r#"{"type":"OpenAccount","account":"a"}"#);
    assert_eq!(refused.unwrap_err().code(), "WrongExpectedVersion", "the stream exists: refused before deciding");
    assert!(execute(&tab_two, "d-1", ExpectedVersion::Exact(StreamVersion(1)), deposit).is_ok());

    // Tab one's cache says version 1, the log says 2: the log wins, a caller who saw 2 succeeds.
    assert!(execute(&tab_one, "d-2", ExpectedVersion::Exact(StreamVersion(2)), deposit).is_ok());
    // Both tabs saw version 3; the first to append wins, the second is told, not retried.
    assert!(execute(&tab_two, "d-3", ExpectedVersion::Exact(StreamVersion(3)), deposit).is_ok());
    let error = execute(&tab_one, "d-4", ExpectedVersion::Exact(StreamVersion(3)), deposit).unwrap_err();
    assert_eq!(error.code(), "WrongExpectedVersion");
    assert!(!error.is_conflict(), "a caller's expectation is final, not a conflict worth retrying");
    let details: serde_json::Value = serde_json::from_str(&error.details().unwrap()).unwrap();
    assert_eq!(details["expected"], serde_json::json!({"kind": "exact", "version": 3}));
    assert_eq!((details["actual"].as_u64(), details["stream"].as_str()), (Some(4), Some("account-a")));
    assert_eq!(store.len(), 4);

    assert!(execute(&tab_one, "d-5", ExpectedVersion::StreamExists, deposit).is_ok());
    assert_eq!(balance(&tab_two, "a"), 40);
}

#[wasm_bindgen_test(unsupported = test)]
fn an_atomic_transfer_is_one_commit_to_two_streams_or_nothing() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(&app, "o-a", r#"{"type":"OpenAccount","account":"a"}"#);
    run(&app, "o-b", r#"{"type":"OpenAccount","account":"b"}"#);
    run(&app, "d", r#"{"type":"Deposit","account":"a","amount":100}"#);

    let t = run(&app, "t-1", r#"{"type":"Transfer","from":"a","to":"b","amount":30}"#);
    let streams: Vec<_> =
        t.receipt.events.iter().map(|e| (e.meta.stream.as_str(), e.meta.position.0, &*e.event_type)).collect();
    assert_eq!(streams, vec![("account-a", 4, "TransferSent"), ("account-b", 5, "TransferReceived")]);
    assert!(t.receipt.events.iter().all(|e| e.meta.command_id.as_str() == "t-1"));
    assert_eq!((balance(&app, "a"), balance(&app, "b")), (70, 30));

    // The target is closed: the source's leg alone would be fine, yet nothing is written.
    run(&app, "w", r#"{"type":"Withdraw","account":"b","amount":30}"#);
    run(&app, "c", r#"{"type":"CloseAccount","account":"b"}"#);
    let before = store.len();
    let refused = run_ready(
        app.execute(CommandMeta::new("t-2"), &command(r#"{"type":"Transfer","from":"a","to":"b","amount":10}"#)),
    );
    assert_eq!(refused.unwrap_err().code(), "AccountClosed");
    assert_eq!((store.len(), balance(&app, "a")), (before, 70));

    let same = run_ready(
        app.execute(CommandMeta::new("t-3"), &command(r#"{"type":"Transfer","from":"a","to":"a","amount":10}"#)),
    );
    assert_eq!(same.unwrap_err().code(), "SameAccount");
}

#[wasm_bindgen_test(unsupported = test)]
fn snapshot_and_tail_give_the_state_of_a_full_replay() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env); // a snapshot every 5 events
    run(&app, "open", r#"{"type":"OpenAccount","account":"a"}"#);
    for n in 1..=11 {
        run(&app, &format!("d-{n}"), &format!(r#"{{"type":"Deposit","account":"a","amount":{n}}}"#));
    }
    let snapshot = run_ready(store.load_snapshot(&StreamId::from("account-a"))).unwrap().expect("a snapshot");
    assert_eq!(snapshot.version, StreamVersion(10));

    let handler: CommandHandler<Account, _, _> =
        CommandHandler::new(&store, &env).with_snapshots(SnapshotPolicy::Every(5));
    let from_snapshot = run_ready(handler.load_from_store(&StreamId::from("account-a"))).unwrap();
    let full: Loaded<Account> = run_ready(aggregate_at(&store, "a", AsOf::Head)).unwrap();
    assert_eq!(from_snapshot, full);
    assert_eq!((full.state.balance, full.version), (66, StreamVersion(12)));

    // A snapshot of another state shape is ignored, not trusted.
    let stale = Snapshot { state_version: 99, state: r#"{"balance":1}"#.into(), ..snapshot };
    let mut newer = stale.clone();
    newer.version = StreamVersion(11);
    run_ready(store.save_snapshot(newer)).unwrap();
    let reloaded = run_ready(handler.load_from_store(&StreamId::from("account-a"))).unwrap();
    assert_eq!(reloaded, full);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_stored_v1_event_is_upcast_when_read() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    // Written by the code of schema v1, which stored no currency.
    let v1 = Commit {
        command_id: "legacy-open".into(),
        correlation_id: "legacy-open".into(),
        causation_id: "legacy-open".into(),
        recorded_at: Timestamp(1),
        writes: vec![StreamWrite {
            stream: StreamId::from("account-old"),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent {
                event_id: EventId::v7(Timestamp(1), [0; 10]),
                event_type: "AccountOpened".into(),
                schema_version: 1,
                payload: "{}".into(),
            }],
        }],
        digest: None,
    };
    run_ready(store.append(v1)).unwrap();
    let app = app(&store, &env);
    run(&app, "dep", r#"{"type":"Deposit","account":"old","amount":7}"#);
    let account = run_ready(app.account("old")).unwrap().state;
    assert_eq!((account.status, account.currency.as_str(), account.balance), (AccountStatus::Open, "EUR", 7));
    // The log itself is never rewritten.
    let stored = run_ready(store.read_all(Position::ZERO, 1)).unwrap();
    assert_eq!((stored[0].schema_version, &*stored[0].payload), (1, "{}"));
}

#[wasm_bindgen_test(unsupported = test)]
fn orders_run_through_their_lifecycle() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    for (i, json) in [
        r#"{"type":"CreateOrder","order":"o-1","customer":"alice"}"#,
        r#"{"type":"AddItem","order":"o-1","sku":"book","quantity":2,"unitPrice":1250}"#,
        r#"{"type":"ConfirmOrder","order":"o-1"}"#,
        r#"{"type":"PayOrder","order":"o-1","amount":2500}"#,
        r#"{"type":"ShipOrder","order":"o-1"}"#,
        r#"{"type":"DeliverOrder","order":"o-1"}"#,
    ]
    .iter()
    .enumerate()
    {
        run(&app, &format!("c-{i}"), json);
    }
    let order = run_ready(app.order("o-1")).unwrap();
    assert_eq!((order.state.status.name(), order.state.total, order.version), ("delivered", 2500, StreamVersion(6)));
    let late = run_ready(app.execute(CommandMeta::new("x"), &command(r#"{"type":"CancelOrder","order":"o-1"}"#)));
    assert_eq!(late.unwrap_err().to_string(), "cannot cancel order o-1: it is delivered");
}
