//! Read models, checkpoints, lag, dead letters, persistence by documents, and temporal queries.

mod common;

use std::collections::BTreeMap;

use common::{App, app, run, run_ready};
use eventline_core::envelope::RecordedEvent;
use eventline_core::event::Event;
use eventline_core::ids::{EventId, Position, StreamId, Timestamp};
use eventline_core::memory::InMemoryStore;
use eventline_core::projection::{Applied, Documents, Lag, Projection, ReadModel};
use eventline_core::query::Query;
use eventline_core::saga::SagaProgress;
use eventline_core::store::{Commit, EventStore, StreamWrite};
use eventline_core::temporal::{AsOf, aggregate_at, catch_up, read_model_at};
use eventline_core::testing::TestEnv;
use eventline_core::version::ExpectedVersion;
use eventline_core::{Environment, ErrorCode, NewEvent};
use eventline_demo::DemoEvent;
use eventline_demo::orders::OrderStatus;
use eventline_demo::read_models::*;
use eventline_demo::saga::TransferSaga;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// A small bank and shop: three accounts, an atomic and a saga transfer, two customers' orders.
fn scenario(app: &App<'_>, env: &TestEnv) {
    let commands = [
        r#"{"type":"OpenAccount","account":"a"}"#,
        r#"{"type":"OpenAccount","account":"b"}"#,
        r#"{"type":"OpenAccount","account":"c","currency":"USD"}"#,
        r#"{"type":"Deposit","account":"a","amount":1000}"#,
        r#"{"type":"Deposit","account":"c","amount":50}"#,
        r#"{"type":"Withdraw","account":"a","amount":100}"#,
        r#"{"type":"Transfer","from":"a","to":"b","amount":300}"#,
        r#"{"type":"Transfer","from":"b","to":"a","amount":100,"mode":"saga","transferId":"s-1"}"#,
        r#"{"type":"CreateOrder","order":"o-1","customer":"alice"}"#,
        r#"{"type":"AddItem","order":"o-1","sku":"pen","quantity":3,"unitPrice":200}"#,
        r#"{"type":"ConfirmOrder","order":"o-1"}"#,
        r#"{"type":"PayOrder","order":"o-1","amount":600}"#,
        r#"{"type":"CreateOrder","order":"o-2","customer":"alice"}"#,
        r#"{"type":"CreateOrder","order":"o-3","customer":"bob"}"#,
        r#"{"type":"CancelOrder","order":"o-3","reason":"duplicate"}"#,
    ];
    for (i, json) in commands.iter().enumerate() {
        env.advance(1_000);
        run(app, &format!("c-{i}"), json);
    }
    run_ready(app.run_saga(&mut SagaProgress::<TransferSaga>::default())).unwrap();
}

fn project<R: ReadModel<Event = DemoEvent>>(store: &InMemoryStore) -> Projection<R> {
    run_ready(read_model_at(store, AsOf::Head)).unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn read_models_answer_their_queries() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    scenario(&app(&store, &env), &env);
    let head = run_ready(store.head()).unwrap();

    let balances = project::<AccountBalances>(&store);
    assert_eq!(balances.checkpoint, head);
    let balance = |a: &str| balances.read_model.get(a).map(|b| (b.balance, b.pending, b.currency.as_str()));
    assert_eq!(balance("a"), Some((700, 0, "EUR")));
    assert_eq!(balance("b"), Some((200, 0, "EUR")));
    assert_eq!(balance("c"), Some((50, 0, "USD")));
    assert_eq!(balances.read_model.total(), 950);

    let summaries = project::<AccountSummaries>(&store);
    let a = summaries.read_model.get("a").unwrap();
    assert_eq!(
        (a.total_deposits, a.total_withdrawals, a.total_transferred_out, a.total_transferred_in),
        (1000, 100, 300, 100)
    );
    assert_eq!(a.transaction_count, 4);
    assert!(a.last_activity > a.opened_at);

    let top = project::<TopAccounts>(&store);
    let ranking: Vec<_> = top.read_model.top(2).iter().map(|r| (r.account.as_str(), r.balance)).collect();
    assert_eq!(ranking, vec![("a", 700), ("b", 200)]);

    let board = project::<OrderBoard>(&store);
    assert_eq!(board.read_model.counts(), vec![("draft", 1), ("paid", 1), ("cancelled", 1)]);
    let to_ship: Vec<_> = board.read_model.pending_fulfilment().iter().map(|c| (c.order.as_str(), c.total)).collect();
    assert_eq!(to_ship, vec![("o-1", 600)]);

    let customers = project::<CustomerOrders>(&store);
    let alice: Vec<_> =
        customers.read_model.history("alice").unwrap().orders.iter().map(|o| (o.order.as_str(), o.status)).collect();
    assert_eq!(alice, vec![("o-1", OrderStatus::Paid), ("o-2", OrderStatus::Draft)]);
    assert_eq!(customers.read_model.history("bob").unwrap().orders[0].status, OrderStatus::Cancelled);

    let transfers = project::<TransferBoard>(&store);
    let atomic = transfers.read_model.get("c-6").unwrap();
    assert_eq!(
        (atomic.mode, atomic.status, atomic.steps.len()),
        (TransferMode::Atomic, TransferProgress::Completed, 2)
    );
    let saga = transfers.read_model.get("s-1").unwrap();
    assert_eq!((saga.mode, saga.status), (TransferMode::Saga, TransferProgress::Completed));
    assert!(transfers.read_model.in_progress().is_empty());

    let audit = project::<AuditLog>(&store);
    assert_eq!(audit.read_model.len() as u64, head.0);
    let newest = audit.read_model.latest(1)[0];
    assert_eq!((newest.position, &*newest.event_type), (head, "TransferCompleted"));
}

#[wasm_bindgen_test(unsupported = test)]
fn an_event_at_or_below_the_checkpoint_changes_nothing() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    scenario(&app(&store, &env), &env);
    let log = run_ready(store.read_all(Position::ZERO, 1000)).unwrap();
    let mut once = Projection::<AccountSummaries>::new();
    for event in &log {
        // Account summaries read account events and skip the others (`ReadModel::HANDLES`).
        let expected = if event.meta.stream.category() == "account" { Applied::Applied } else { Applied::Skipped };
        assert_eq!(once.apply_recorded(event), expected, "{}", event.event_type);
    }
    let twice_before = once.clone();
    for event in &log {
        assert_eq!(once.apply_recorded(event), Applied::AlreadySeen);
    }
    assert_eq!(once, twice_before);
}

fn append_raw(store: &InMemoryStore, event_type: &str, schema_version: u16, payload: &str) {
    let commit = Commit {
        command_id: format!("raw-{}", store.len()).into(),
        correlation_id: "raw".into(),
        causation_id: "raw".into(),
        recorded_at: Timestamp(1),
        writes: vec![StreamWrite {
            stream: StreamId::from("account-a"),
            expected: ExpectedVersion::Any,
            events: vec![NewEvent {
                event_id: EventId::v7(Timestamp(1), [7; 10]),
                event_type: event_type.into(),
                schema_version,
                payload: payload.into(),
            }],
        }],
        digest: None,
    };
    run_ready(store.append(commit)).unwrap();
}

#[wasm_bindgen_test(unsupported = test)]
fn a_poison_event_is_dead_lettered_and_the_projection_goes_on() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(&app, "o", r#"{"type":"OpenAccount","account":"a"}"#);
    append_raw(&store, "AccountFrozen", 1, r#"{"why":"a newer app wrote this"}"#);
    append_raw(&store, "MoneyDeposited", 1, r#"{"amount":-5}"#);
    append_raw(&store, "MoneyDeposited", 9, r#"{"amount":5}"#);
    append_raw(&store, "MoneyDeposited", 1, r#"{"amount":5}"#);

    let mut balances = Projection::<AccountBalances>::new();
    let dead = run_ready(catch_up(&store, &mut balances, AsOf::Head, 2)).unwrap();
    let reasons: Vec<_> = dead.iter().map(|(p, e)| (p.0, e.code())).collect();
    assert_eq!(reasons, vec![(2, "UnknownEventType"), (3, "InvalidEventPayload"), (4, "UnsupportedSchemaVersion")]);
    assert_eq!(balances.checkpoint, Position(5));
    assert_eq!(balances.read_model.get("a").unwrap().balance, 5);

    let audit = project::<AuditLog>(&store);
    let frozen = audit.read_model.latest(5).into_iter().find(|e| e.position == Position(2)).unwrap();
    assert_eq!(frozen.event_type, "AccountFrozen");
    assert!(frozen.undecodable.as_deref().unwrap().contains("unknown event type"));
}

#[wasm_bindgen_test(unsupported = test)]
fn lag_is_events_behind_and_age_of_the_oldest_unseen() {
    assert_eq!(Lag::new(Position(10), Position(10), None, Timestamp(99)), Lag { events: 0, ms: 0 });
    assert_eq!(Lag::new(Position(7), Position(10), Some(Timestamp(40)), Timestamp(100)), Lag { events: 3, ms: 60 });
    assert!(!Lag::new(Position(0), Position(1), Some(Timestamp(5)), Timestamp(5)).is_up_to_date());
}

/// Writes a read model's changes into a map as a store would, as JSON, and reads them back.
fn persist<R: ReadModel>(read_model: &mut R, storage: &mut BTreeMap<String, String>) -> R {
    for change in read_model.take_changes() {
        match change.doc {
            Some(doc) => storage.insert(change.key, serde_json::to_string(&doc).unwrap()),
            None => storage.remove(&change.key),
        };
    }
    let docs: Documents<R::Doc> = storage.iter().map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap())).collect();
    R::from_documents(docs)
}

#[wasm_bindgen_test(unsupported = test)]
fn read_models_survive_being_stored_as_documents() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    scenario(&app, &env);
    run(&app, "close", r#"{"type":"Withdraw","account":"c","amount":50}"#);
    run(&app, "close-c", r#"{"type":"CloseAccount","account":"c"}"#);
    let log = run_ready(store.read_all(Position::ZERO, 1000)).unwrap();

    let mut top = TopAccounts::default();
    let mut storage = BTreeMap::new();
    let mut restored = TopAccounts::default();
    for chunk in log.chunks(4) {
        for event in chunk {
            top.apply(&DemoEvent::decode_recorded(event).unwrap()).unwrap();
        }
        restored = persist(&mut top, &mut storage);
        assert_eq!(restored.documents(), top.documents());
    }
    assert!(storage.keys().all(|k| k != "c"), "a closed account's document is deleted");
    // The ranking is derived from the documents, not stored, and comes back with them.
    let ranks = |t: &TopAccounts| t.top(10).iter().map(|r| (r.account.clone(), r.balance)).collect::<Vec<_>>();
    assert_eq!(ranks(&restored), ranks(&top));
    assert_eq!(ranks(&restored), vec![("a".to_string(), 700), ("b".to_string(), 200)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn state_as_of_a_past_position_or_time() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    let start = env.now();
    run(&app, "o", r#"{"type":"OpenAccount","account":"a"}"#); // #1 at start
    env.advance(10);
    run(&app, "d1", r#"{"type":"Deposit","account":"a","amount":100}"#); // #2 at start+10
    env.advance(10);
    run(&app, "d2", r#"{"type":"Deposit","account":"a","amount":50}"#); // #3 at start+20
    env.advance(10);
    run(&app, "w", r#"{"type":"Withdraw","account":"a","amount":30}"#); // #4 at start+30

    let at = |as_of| run_ready(aggregate_at::<eventline_demo::bank::Account, _>(&store, "a", as_of)).unwrap();
    assert_eq!(at(AsOf::Position(Position(2))).state.balance, 100);
    assert_eq!(at(AsOf::Position(Position(3))).state.balance, 150);
    assert_eq!(at(AsOf::Head).state.balance, 120);
    assert_eq!(at(AsOf::Time(Timestamp(start.0 + 15))).state.balance, 100);
    assert_eq!(at(AsOf::Time(Timestamp(start.0 + 20))).version.0, 3);
    assert_eq!(at(AsOf::Time(Timestamp(start.0 - 1))).version.0, 0);

    let balances: Projection<AccountBalances> = run_ready(read_model_at(&store, AsOf::Position(Position(3)))).unwrap();
    assert_eq!((balances.checkpoint, balances.read_model.get("a").unwrap().balance), (Position(3), 150));
    let by_time: Projection<AccountBalances> =
        run_ready(read_model_at(&store, AsOf::Time(Timestamp(start.0 + 5)))).unwrap();
    assert_eq!(by_time.read_model.get("a").unwrap().balance, 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn recorded_time_never_goes_backwards_along_the_log() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(&app, "o", r#"{"type":"OpenAccount","account":"a"}"#);
    env.set_now(Timestamp(env.now().0 - 60_000)); // another tab's clock is a minute behind
    run(&app, "d", r#"{"type":"Deposit","account":"a","amount":1}"#);
    let log: Vec<RecordedEvent> = run_ready(store.read_all(Position::ZERO, 10)).unwrap();
    assert_eq!(log[1].meta.recorded_at, log[0].meta.recorded_at);
}

/// The audit log keeps the newest pages, enough for the largest query (`AUDIT_KEPT` entries), and
/// the count of all; pages dropped before a flush are never written, and a flushed page that drops
/// out is deleted from storage.
#[wasm_bindgen_test(unsupported = test)]
fn the_audit_log_keeps_a_window_and_counts_everything() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(&app, "o", r#"{"type":"OpenAccount","account":"a"}"#);
    let mut storage = BTreeMap::new();
    let mut audit = Projection::<AuditLog>::new();
    let mut written = Vec::new();
    for events in [3_000, 2_000] {
        for i in 0..events {
            append_raw(&store, "MoneyDeposited", 1, &format!(r#"{{"amount":{}}}"#, i + 1));
        }
        run_ready(catch_up(&store, &mut audit, AsOf::Head, 4096)).unwrap();
        let changes = audit.read_model.take_changes();
        written.push(changes.len());
        for change in changes {
            match change.doc {
                Some(doc) => storage.insert(change.key, serde_json::to_string(&doc).unwrap()),
                None => storage.remove(&change.key),
            };
        }
    }
    let total = 5_001;
    let most = format!(r#"{{"limit":{AUDIT_KEPT}}}"#);
    let answer: serde_json::Value = serde_json::from_str(&audit.read_model.query(&most).unwrap()).unwrap();
    assert_eq!(answer["total"], total);
    let entries = answer["entries"].as_array().unwrap();
    assert_eq!(entries.len(), AUDIT_KEPT);
    assert_eq!(entries[0]["position"], total, "newest first");
    assert_eq!(entries[AUDIT_KEPT - 1]["position"], total - AUDIT_KEPT as u64 + 1);
    let beyond = format!(r#"{{"limit":{}}}"#, AUDIT_KEPT + 1);
    assert_eq!(audit.read_model.query(&beyond).unwrap_err().code(), "InvalidQuery");
    assert!(audit.read_model.documents().len() as u64 <= AUDIT_PAGES_KEPT);
    // The first flush wrote only the window: no write, not even a delete, for the pages it had
    // already dropped. The second deletes the flushed pages that dropped out since.
    assert_eq!(written[0] as u64, AUDIT_PAGES_KEPT, "{written:?}");
    // Storage holds what memory holds, and reads back to the same answers.
    assert_eq!(storage.len(), audit.read_model.documents().len());
    let docs: Documents<AuditPage> =
        storage.iter().map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap())).collect();
    let restored = AuditLog::from_documents(docs);
    assert_eq!(restored.query(&most).unwrap(), audit.read_model.query(&most).unwrap());
}
