//! The trust boundary in the core: a command id means one request; no fold makes a state no
//! decision made; a log from elsewhere passes the gate a command's commit passes, or none of it
//! is taken. Over the in-memory store, natively and in the browser.

mod common;

use common::{app, command, execute, run, run_ready};
use eventline_core::handler::CommandMeta;
use eventline_core::ids::{EventId, Position, StreamId, StreamVersion, Timestamp};
use eventline_core::import::LogChecker;
use eventline_core::memory::InMemoryStore;
use eventline_core::personal::check_spelling;
use eventline_core::projection::Projection;
use eventline_core::store::{Commit, EventStore, StreamWrite};
use eventline_core::temporal::{AsOf, Skipped, catch_up};
use eventline_core::testing::TestEnv;
use eventline_core::version::ExpectedVersion;
use eventline_core::{ErrorCode, NewEvent, RecordedEvent};
use eventline_demo::app::AppError;
use eventline_demo::import::{Checker, check_log};
use eventline_demo::read_models::AccountBalances;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn refused(result: Result<eventline_core::handler::Executed, AppError>) -> AppError {
    result.expect_err("the command was accepted")
}

// --- command ids ------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn a_command_id_reused_for_another_command_is_refused_naming_the_first_commit() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(&app, "open-a", r#"{"type":"OpenAccount","account":"a"}"#);
    run(&app, "open-b", r#"{"type":"OpenAccount","account":"b"}"#);
    let first = run(&app, "dep-1", r#"{"type":"Deposit","account":"a","amount":100}"#);
    let dep_1 = |json: &str| execute(&app, "dep-1", json);

    // The same request again, however it is spelt, is a retry: the first commit, replayed.
    let retry = dep_1(r#"{"amount":100,"account":"a","type":"Deposit"}"#).unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.receipt.events, first.receipt.events);

    // Anything else under that id is a mistake the caller must hear of.
    for other in [
        r#"{"type":"Deposit","account":"a","amount":250}"#,
        r#"{"type":"Deposit","account":"b","amount":100}"#,
        r#"{"type":"Withdraw","account":"a","amount":100}"#,
        // Refused by the domain today, yet the id was used: not a replay of the first either.
        r#"{"type":"Withdraw","account":"a","amount":99999}"#,
        r#"{"type":"Transfer","from":"a","to":"b","amount":10}"#,
    ] {
        let error = refused(dep_1(other));
        assert_eq!(error.code(), "DuplicateCommand", "{other}: {error}");
        let details: serde_json::Value = serde_json::from_str(&error.details().expect("details")).unwrap();
        assert_eq!(details, serde_json::json!({"commandId": "dep-1", "firstPosition": 3, "position": 3}), "{other}");
    }
    assert_eq!(run_ready(store.head()).unwrap(), Position(3), "nothing appended");
    let balance = run_ready(app.account("a")).unwrap().state.balance;
    assert_eq!(balance, 100);

    // What a command asks is its type and fields, whatever their order and spacing.
    run(&app, "t-1", r#"{"type":"Transfer","from":"a","to":"b","amount":10}"#);
    let again = execute(&app, "t-1", r#"{"type":"Transfer","from":"b","amount":10,"to":"a"}"#).unwrap_err();
    assert_eq!(again.code(), "DuplicateCommand", "another transfer under that id");
    let again = execute(&app, "t-1", r#"{ "to": "b", "type": "Transfer", "amount": 10, "from": "a" }"#).unwrap();
    assert!(again.replayed, "the same transfer, spelt otherwise");
    // Forgetting, too, remembers whom it was for.
    run(
        &app,
        "open-c",
        r#"{"type":"OpenAccount","account":"c","holder":{"customer":"c-1","name":"C","email":"c@d.e"}}"#,
    );
    run(&app, "forget", r#"{"type":"ForgetSubject","subject":"c-1"}"#);
    let error = refused(execute(&app, "forget", r#"{"type":"Deposit","account":"a","amount":1}"#));
    assert_eq!(error.code(), "DuplicateCommand");
}

// --- impossible states ------------------------------------------------------------------------

fn new_event(n: u64, event_type: &str, payload: &str) -> NewEvent {
    let mut random = [0u8; 10];
    random[2..].copy_from_slice(&n.to_be_bytes());
    NewEvent {
        event_id: EventId::v7(Timestamp(1_700_000_000_000), random),
        event_type: event_type.into(),
        schema_version: if event_type == "AccountOpened" { 3 } else { 1 },
        payload: payload.into(),
    }
}

/// Appends events as they are, past every rule: what a damaged database, or one that took a
/// forged import before imports were checked, may hold.
fn append_raw(store: &InMemoryStore, stream: &str, events: &[(&str, &str)]) {
    for (event_type, payload) in events {
        let n = run_ready(store.head()).unwrap().0;
        let commit = Commit {
            command_id: format!("raw-{n}").into(),
            correlation_id: "raw".into(),
            causation_id: "raw".into(),
            recorded_at: Timestamp(1_700_000_000_000),
            writes: vec![StreamWrite {
                stream: StreamId::from(stream),
                expected: ExpectedVersion::Any,
                events: vec![new_event(n, event_type, payload)],
            }],
            digest: None,
        };
        run_ready(store.append(commit)).unwrap();
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn an_overdrawn_log_is_a_corrupt_stream_never_a_wrapped_balance() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    append_raw(
        &store,
        "account-a",
        &[
            ("AccountOpened", r#"{"currency":"EUR","holder":null}"#),
            ("MoneyDeposited", r#"{"amount":100}"#),
            ("MoneyWithdrawn", r#"{"amount":300}"#),
        ],
    );
    let app = app(&store, &env);
    // The aggregate says it is corrupt, wherever it is folded: commands, state now, state then.
    let error = refused(run_ready(
        app.execute(CommandMeta::new("d"), &command(r#"{"type":"Deposit","account":"a","amount":1}"#)),
    ));
    assert_eq!(error.code(), "CorruptData", "{error}");
    assert!(error.to_string().contains("300 taken from a balance of 100"), "{error}");
    let now = run_ready(app.state_at(&StreamId::from("account-a"), AsOf::Head)).unwrap_err();
    assert_eq!(now.code(), "CorruptData");
    let then = run_ready(app.state_at(&StreamId::from("account-a"), AsOf::Position(Position(3)))).unwrap_err();
    assert_eq!(then.code(), "CorruptData");
    // Before the impossible event the stream reads as it was.
    let (before, _) = run_ready(app.state_at(&StreamId::from("account-a"), AsOf::Position(Position(2)))).unwrap();
    assert!(before.contains(r#""balance":100"#), "{before}");

    // The read model keeps 100, not 0 and not 2^64 - 200, and the event is a dead letter.
    let mut balances = Projection::<AccountBalances>::new();
    let dead = run_ready(catch_up(&store, &mut balances, AsOf::Head, 100)).unwrap();
    assert_eq!(balances.read_model.get("a").unwrap().balance, 100);
    assert_eq!(balances.checkpoint, Position(3), "the projection moves on");
    assert!(matches!(&dead[..], [(Position(3), Skipped::Impossible(_))]), "{dead:?}");
    assert_eq!(dead[0].1.code(), "CorruptData");
}

#[wasm_bindgen_test(unsupported = test)]
fn no_order_total_passes_its_maximum_in_a_fold() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let max_price = r#"{"sku":"s","quantity":10000,"unitPrice":9007199254740991}"#;
    append_raw(
        &store,
        "order-o",
        &[("OrderCreated", r#"{"customer":"c","shippingAddress":null}"#), ("OrderItemAdded", max_price)],
    );
    let app = app(&store, &env);
    let error = run_ready(app.order("o")).unwrap_err();
    assert_eq!(error.code(), "CorruptData", "{error}");
}

// --- logs from elsewhere ----------------------------------------------------------------------

/// A log made by real commands: accounts with holders, deposits, a withdrawal, an atomic and a
/// saga transfer, an order paid, a customer forgotten.
fn real_log() -> Vec<RecordedEvent> {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    let holder = |account: &str, customer: &str| {
        format!(
            r#"{{"type":"OpenAccount","account":"{account}","holder":{{"customer":"{customer}","name":"N {customer}","email":"{customer}@example.org"}}}}"#
        )
    };
    run(&app, "c1", &holder("a", "ada"));
    run(&app, "c2", &holder("b", "bob"));
    run(&app, "c3", r#"{"type":"Deposit","account":"a","amount":1000}"#);
    run(&app, "c4", r#"{"type":"Withdraw","account":"a","amount":100}"#);
    run(&app, "c5", r#"{"type":"Transfer","from":"a","to":"b","amount":200}"#);
    run(&app, "c6", r#"{"type":"Transfer","from":"a","to":"b","amount":50,"mode":"saga","transferId":"t-saga"}"#);
    let mut progress = Default::default();
    while run_ready(app.run_saga(&mut progress)).unwrap().events_seen > 0 {}
    run(&app, "c7", r#"{"type":"CreateOrder","order":"o","customer":"ada","shippingAddress":"1 Main St"}"#);
    run(&app, "c8", r#"{"type":"AddItem","order":"o","sku":"book","quantity":2,"unitPrice":250}"#);
    run(&app, "c9", r#"{"type":"ConfirmOrder","order":"o"}"#);
    run(&app, "c10", r#"{"type":"PayOrder","order":"o","amount":500}"#);
    run(&app, "c11", r#"{"type":"ForgetSubject","subject":"bob"}"#);
    run_ready(store.read_all(Position::ZERO, usize::MAX)).unwrap()
}

/// What an empty store makes of `log`: `Ok`, or the refusal's message.
fn check(log: &[RecordedEvent]) -> Result<(), String> {
    check_log(&[], log, |_| 0).map_err(|refused| refused.to_string())
}

/// `log` with the payload of the first event of `event_type` changed by `change`.
fn with_payload(log: &[RecordedEvent], event_type: &str, change: impl Fn(&str) -> String) -> Vec<RecordedEvent> {
    let mut log = log.to_vec();
    let event = log.iter_mut().find(|e| &*e.event_type == event_type).expect("the log has one");
    event.payload = change(&event.payload).into();
    log
}

fn refusal(log: &[RecordedEvent]) -> String {
    check(log).expect_err("the log was taken")
}

#[wasm_bindgen_test(unsupported = test)]
fn a_real_log_passes_whole() {
    let log = real_log();
    let types: Vec<&str> = log.iter().map(|e| &*e.event_type).collect();
    for settled in ["TransferSettled", "TransferCompleted", "OrderPaid", "SubjectForgotten"] {
        assert!(types.contains(&settled), "{types:?}");
    }
    assert_eq!(check(&log), Ok(()));
}

#[wasm_bindgen_test(unsupported = test)]
fn what_the_domain_forbids_is_refused() {
    let log = real_log();
    // A negative amount does not decode.
    let negative = with_payload(&log, "MoneyDeposited", |_| r#"{"amount":-1000}"#.into());
    assert!(refusal(&negative).contains("positive whole number"), "{}", refusal(&negative));
    // A smaller deposit makes the later withdrawal and transfers overdraw the account.
    let smaller = with_payload(&log, "MoneyDeposited", |_| r#"{"amount":10}"#.into());
    assert!(refusal(&smaller).contains("taken from a balance of 10"), "{}", refusal(&smaller));
    // A payment of another amount than the order's total.
    let underpaid = with_payload(&log, "OrderPaid", |_| r#"{"amount":499}"#.into());
    assert!(refusal(&underpaid).contains("paid 499 for a total of 500"), "{}", refusal(&underpaid));
    // A field this code does not write, and keys in another order: not as this code writes it.
    let extra = with_payload(&log, "MoneyWithdrawn", |_| r#"{"amount":100,"note":"x"}"#.into());
    assert!(refusal(&extra).contains("not as this code writes it"), "{}", refusal(&extra));
    // An event moved to a stream of another aggregate, or to another account.
    let mut moved = log.clone();
    let deposit = moved.iter_mut().find(|e| &*e.event_type == "MoneyDeposited").unwrap();
    deposit.meta.stream = StreamId::from("order-o");
    deposit.meta.version = StreamVersion(1);
    assert!(refusal(&moved).contains("does not belong on order-o"), "{}", refusal(&moved));
    let mut elsewhere = log.clone();
    let deposit = elsewhere.iter_mut().find(|e| &*e.event_type == "MoneyDeposited").unwrap();
    deposit.meta.stream = StreamId::from("account-z");
    assert!(refusal(&elsewhere).contains("version"), "{}", refusal(&elsewhere));
}

#[wasm_bindgen_test(unsupported = test)]
fn money_moves_only_as_decisions_move_it() {
    let log = real_log();
    // The target leg of a transfer without its source leg: money from nowhere.
    let mut alone = log.clone();
    let sent = alone.iter().position(|e| &*e.event_type == "TransferSent").unwrap();
    alone.remove(sent);
    let alone = renumber(alone);
    assert!(refusal(&alone).contains("received with no matching send"), "{}", refusal(&alone));
    // A saga's debit for a transfer nobody requested.
    let mut unrequested = log.clone();
    let request = unrequested.iter().position(|e| &*e.event_type == "TransferRequested").unwrap();
    unrequested[request].meta.stream = StreamId::from("transfer-other");
    assert!(refusal(&unrequested).contains("debited without being requested"), "{}", refusal(&unrequested));
}

/// Positions and versions made consecutive again after events were taken out.
fn renumber(mut log: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
    let mut versions = std::collections::HashMap::new();
    for (i, event) in log.iter_mut().enumerate() {
        event.meta.position = Position(i as u64 + 1);
        let version = versions.entry(event.meta.stream.clone()).or_insert(0);
        *version += 1;
        event.meta.version = StreamVersion(*version);
    }
    log
}

#[wasm_bindgen_test(unsupported = test)]
fn ids_and_names_follow_the_rules_commands_follow() {
    let log = real_log();
    let mut twice = log.clone();
    twice[3].meta.event_id = twice[2].meta.event_id;
    assert!(refusal(&twice).contains("appears twice"), "{}", refusal(&twice));
    for bad in ["account-Dana Example", "account-javascript:alert(1)()", "Account-a", "account", "nope-x"] {
        let mut renamed = log.clone();
        for event in renamed.iter_mut().filter(|e| e.meta.stream.as_str() == "account-a") {
            event.meta.stream = StreamId::from(bad);
        }
        assert!(check(&renamed).is_err(), "{bad}");
    }
    let mut command = log.clone();
    command[0].meta.command_id = "a command".into();
    assert!(refusal(&command).contains("commandId"), "{}", refusal(&command));
    let mut kind = log.clone();
    kind[0].event_type = "Account Opened".into();
    assert!(refusal(&kind).contains("event type"), "{}", refusal(&kind));
}

#[wasm_bindgen_test(unsupported = test)]
fn personal_values_enter_only_as_stores_spell_them() {
    let log = real_log();
    let spelt = |from: &str, to: &str| {
        let changed = with_payload(&log, "AccountOpened", |p| p.replace(from, to));
        assert_ne!(changed, log, "{to}");
        refusal(&changed)
    };
    // Keys reordered, a space after `{`, the key escaped, the key twice.
    let reordered = with_payload(&log, "AccountOpened", |_| {
        r#"{"currency":"EUR","holder":{"value":{"name":"N ada","email":"ada@example.org"},"$personal":"ada"}}"#.into()
    });
    assert!(check(&reordered).is_err());
    assert!(spelt(r#"{"$personal":"#, r#"{ "$personal":"#).contains("personal"));
    assert!(check(&with_payload(&log, "AccountOpened", |p| p.replace("$personal", "\\u0024personal"))).is_err());
    assert!(spelt(r#""$personal":"ada","#, r#""$personal":"ada","$personal":"ada","#).contains("twice"));
    // Spelt right, but about no valid subject: the vault's own record, or free text.
    assert!(spelt(r#""$personal":"ada""#, r##""$personal":"#generation""##).contains("subject"));
    assert!(spelt(r#""$personal":"ada""#, r#""$personal":"Dana Example""#).contains("subject"));

    assert!(check_spelling(r#"{"a":{"$personal":"x","value":1}}"#).is_ok());
    assert!(check_spelling(r#"{"a":{"value":1,"$personal":"x"}}"#).is_err());
    assert!(check_spelling(r#"{"a":{"$personal":"x","value":{"$personal":"y","value":1}}}"#).is_err());
    assert!(check_spelling(r#"{"a":1,"a":2}"#).is_err());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_forgetting_enters_only_as_the_record_of_the_logs_own() {
    let log = real_log();
    // Anything else on a subject stream: not a forgetting.
    let mut note = log.clone();
    let forgetting = note.iter().position(|e| &*e.event_type == "SubjectForgotten").unwrap();
    note[forgetting].event_type = "MoneyDeposited".into();
    note[forgetting].payload = r#"{"amount":1}"#.into();
    assert!(refusal(&note).contains("subject- stream"), "{}", refusal(&note));
    // Forgetting someone this log holds nothing about: not its own to forget.
    let stranger = with_payload(&log, "SubjectForgotten", |_| r#"{"subject":"stranger"}"#.into());
    let mut stranger = stranger;
    stranger[forgetting].meta.stream = StreamId::from("subject-stranger");
    assert!(refusal(&stranger).contains("no personal data"), "{}", refusal(&stranger));
    // A forgetting of the stream's own subject only.
    let mismatched = with_payload(&log, "SubjectForgotten", |_| r#"{"subject":"ada"}"#.into());
    assert!(refusal(&mismatched).contains("not its own subject"), "{}", refusal(&mismatched));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_log_continues_only_its_own_streams() {
    let log = real_log();
    // Resumed after its first half landed: the rest continues the half that is here.
    let (already, rest) = log.split_at(log.len() / 2);
    let mut held = std::collections::HashMap::new();
    for event in already {
        *held.entry(event.meta.stream.clone()).or_insert(0) += 1;
    }
    let stored = |s: &StreamId| held.get(s).copied().unwrap_or(0);
    assert_eq!(check_log(already, rest, stored), Ok(()));
    // Another log's events on one of its streams here: refused, not interleaved.
    let refused = check_log(&[], &log, |s| u64::from(s.as_str() == "account-b")).unwrap_err();
    assert!(refused.message.contains("account-b already holds 1 event(s) here"), "{refused}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_log_arriving_in_parts_is_checked_part_by_part_as_it_is_whole() {
    let log = real_log();
    let commits: Vec<&[RecordedEvent]> = log.chunk_by(|a, b| a.meta.command_id == b.meta.command_id).collect();
    // Cut at every commit: what is held is folded, the rest checked on it (a saga's credit held,
    // its settlement arriving, among them).
    let mut cut = 0;
    for commit in &commits {
        let (already, rest) = log.split_at(cut);
        assert_eq!(check_log(already, rest, |_| 0), Ok(()), "cut after {cut} events");
        cut += commit.len();
    }
    // One checker kept across the parts, as sync keeps it between pulls: each commit checked on
    // what the ones before left.
    let mut checker = Checker::default();
    for commit in &commits {
        assert_eq!(checker.check(commit, &|_| 0), Ok(()));
    }
    // And what would not pass whole does not pass in parts: the same settlement a second time,
    // in a commit of its own that continues its stream.
    let settled = log.iter().position(|e| &*e.event_type == "TransferSettled").unwrap();
    let stream = log[settled].meta.stream.clone();
    let mut again = log[settled].clone();
    again.meta.event_id = EventId::v7(Timestamp(1_800_000_000_000), [7; 10]);
    again.meta.command_id = "settled-again".into();
    again.meta.position = Position(log.len() as u64 + 1);
    again.meta.version = StreamVersion(log.iter().filter(|e| e.meta.stream == stream).count() as u64 + 1);
    let refused = checker.check(&[again], &|_| 0).unwrap_err();
    assert!(refused.message.contains("t-saga"), "{refused}");
}
