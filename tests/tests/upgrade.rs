//! Upgrades: databases written by earlier schema versions, checked in as dumps under
//! `tests/fixtures/`, open with today's code, migrated, with nothing lost.
//!
//! - `schema-v1.json`: written by the store-only code path of schema 1 (the command handler over
//!   `IdbStore::open_at(_, 1)`; no runtime existed): log, stream index, command ids, snapshots.
//! - `schema-v2.json`: written by the runtime of schema 2: all of that plus read models,
//!   checkpoints, a paused projection, saga progress and a dead letter.
//! - `schema-v3.json`: written by the runtime of schema 3: all of that plus personal data sealed
//!   under subjects' keys (the `keys` store), one subject forgotten.
//! - `schema-v4.json`: written by the runtime of schema 4: all of that, and each command id
//!   recorded with the digest of what it asked.
//! - `schema-v5.json`: written by the runtime of schema 5: the same, its log in `chunks` with the
//!   indexes `by_stream` and `by_command` (schema 4's log is moved there at the first open).
//!
//! Each dump carries what its writer saw (`expected`): the exported log, read-model answers,
//! projection statuses. A dump is made once, by `scripts/make-fixture.sh` (the ignored test
//! `write_fixture`), with the code of its schema version, and never regenerated afterwards: it
//! stands for what users' browsers hold.

#![cfg(target_arch = "wasm32")]

use eventline_core::ids::Position;
use eventline_core::store::{Commit, EventStore, StreamWrite};
use eventline_core::temporal::AsOf;
use eventline_core::version::ExpectedVersion;
use eventline_core::{Environment, NewEvent, RecordedEvent};
use eventline_demo::command::parse_command;
use eventline_demo::read_models;
use eventline_demo::web::DemoRuntime as Runtime;
use eventline_tests::fixture;
use eventline_web::env::BrowserEnv;
use eventline_web::idb;
use eventline_web::runtime::Control;
use eventline_web::tabs::sleep;
use serde_json::{Value, json};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const V1: &str = include_str!("../fixtures/schema-v1.json");
const V2: &str = include_str!("../fixtures/schema-v2.json");
const V3: &str = include_str!("../fixtures/schema-v3.json");
const V4: &str = include_str!("../fixtures/schema-v4.json");
const V5: &str = include_str!("../fixtures/schema-v5.json");

/// Personal data in fixtures from schema 3 on: one customer kept, one forgotten.
const PERSONAL: &[(&str, &str)] = &[
    (
        "open-kept",
        r#"{"type":"OpenAccount","account":"kept","holder":{"customer":"c-kept","name":"Kept Person","email":"kept@example.org"}}"#,
    ),
    ("o4-create", r#"{"type":"CreateOrder","order":"o-4","customer":"c-kept","shippingAddress":"1 Kept Street"}"#),
    (
        "open-gone",
        r#"{"type":"OpenAccount","account":"gone","holder":{"customer":"c-gone","name":"Gone Person","email":"gone@example.org"}}"#,
    ),
    ("o5-create", r#"{"type":"CreateOrder","order":"o-5","customer":"c-gone","shippingAddress":"2 Gone Street"}"#),
    ("forget-gone", r#"{"type":"ForgetSubject","subject":"c-gone"}"#),
];

/// The commands of the fixtures, with their ids: the same in both.
const COMMANDS: &[(&str, &str)] = &[
    ("open-a", r#"{"type":"OpenAccount","account":"a"}"#),
    ("open-b", r#"{"type":"OpenAccount","account":"b","currency":"EUR"}"#),
    ("open-closed", r#"{"type":"OpenAccount","account":"closed"}"#),
    ("close", r#"{"type":"CloseAccount","account":"closed"}"#),
    ("t-atomic", r#"{"type":"Transfer","from":"a","to":"b","amount":100}"#),
    ("t-saga", r#"{"type":"Transfer","from":"a","to":"b","amount":50,"mode":"saga"}"#),
    ("t-refund", r#"{"type":"Transfer","from":"a","to":"closed","amount":10,"mode":"saga"}"#),
    ("w-1", r#"{"type":"Withdraw","account":"b","amount":30}"#),
    ("o1-create", r#"{"type":"CreateOrder","order":"o-1","customer":"alice"}"#),
    ("o1-add", r#"{"type":"AddItem","order":"o-1","sku":"book","quantity":2,"unitPrice":250}"#),
    ("o1-confirm", r#"{"type":"ConfirmOrder","order":"o-1"}"#),
    ("o1-pay", r#"{"type":"PayOrder","order":"o-1","amount":500}"#),
    ("o1-ship", r#"{"type":"ShipOrder","order":"o-1"}"#),
    ("o1-deliver", r#"{"type":"DeliverOrder","order":"o-1"}"#),
    ("o2-create", r#"{"type":"CreateOrder","order":"o-2","customer":"alice"}"#),
    ("o2-cancel", r#"{"type":"CancelOrder","order":"o-2","reason":"changed my mind"}"#),
    ("o3-create", r#"{"type":"CreateOrder","order":"o-3","customer":"bob"}"#),
    ("o3-add", r#"{"type":"AddItem","order":"o-3","sku":"pen","quantity":10,"unitPrice":3}"#),
];

/// Deposits into account `a`, enough for snapshots (taken every 64 events by the runtime).
const DEPOSITS: u64 = 70;

fn deposit(i: u64) -> (String, String) {
    (format!("dep-{i}"), format!(r#"{{"type":"Deposit","account":"a","amount":{}}}"#, 10 + i))
}

/// Every command of the scenario: the accounts opened, the deposits that cover the transfers,
/// then the rest.
fn scenario() -> Vec<(String, String)> {
    let command = |(id, json): &(&str, &str)| (id.to_string(), json.to_string());
    let (opening, rest) = COMMANDS.split_at(2);
    opening.iter().map(command).chain((0..DEPOSITS).map(deposit)).chain(rest.iter().map(command)).collect()
}

async fn eventually(what: &str, ms: u32, mut check: impl AsyncFnMut() -> bool) {
    let start = js_sys::Date::now();
    while !check().await {
        assert!(js_sys::Date::now() - start < f64::from(ms), "timed out waiting for {what}");
        sleep(20).await;
    }
}

async fn query(rt: &Runtime, name: &str, args: Value) -> Value {
    rt.query(name, &args.to_string()).await.unwrap_or_else(|e| panic!("{name}: {e}")).value()
}

/// Restores a fixture under `name` and opens it with today's runtime.
async fn open_fixture(name: &str, fixture: &str) -> (Runtime, Value) {
    let fixture: Value = serde_json::from_str(fixture).expect("a fixture is JSON");
    fixture::restore(name, &fixture["database"].to_string()).await.expect("the fixture restores");
    let rt = Runtime::open(name).await.expect("today's runtime opens the old database");
    (rt, fixture["expected"].clone())
}

/// What holds after any upgrade: today's schema, the log byte for byte, idempotent command ids,
/// and a working command side.
async fn check_upgraded(rt: &Runtime, expected: &Value) {
    let database = indexed_db_futures::database::Database::open(rt.database()).await.unwrap();
    assert_eq!(database.version() as u32, idb::SCHEMA_VERSION, "migrated to today's schema");
    let mut stores: Vec<String> = database.object_store_names().collect();
    database.close();
    stores.sort();
    let mut current: Vec<String> = idb::ALL_STORES.iter().map(|s| s.to_string()).collect();
    current.sort();
    assert_eq!(stores, current);
    // Schema 4's log and its index stores: moved into `chunks` at the first open, left empty.
    let database = indexed_db_futures::database::Database::open(rt.database()).await.unwrap();
    for legacy in [idb::LEGACY_LOG, idb::LEGACY_STREAMS, idb::LEGACY_SEGMENTS, idb::LEGACY_COMMANDS] {
        let tx = indexed_db_futures::Build::build(database.transaction(legacy)).unwrap();
        let count =
            indexed_db_futures::query_source::QuerySource::count(&tx.object_store(legacy).unwrap()).await.unwrap();
        assert_eq!(count, 0, "{legacy} is left empty");
    }
    database.close();

    // Every event as it was written. (The saga may append more, for transfers left unfinished.)
    let head = expected["head"].as_u64().unwrap();
    assert!(rt.head().await.unwrap().0 >= head);
    let events = |ndjson: &str| -> Vec<RecordedEvent> {
        ndjson.lines().filter_map(|line| RecordedEvent::from_json_line(line).ok()).collect()
    };
    let written = events(expected["export"].as_str().unwrap());
    assert_eq!(written.len() as u64, head);
    let now = events(&rt.export(&|_, _| {}).await.unwrap());
    assert_eq!(&now[..written.len()], &written[..], "every event, exactly as it was written");

    // A retried command is recognised by the id it was first committed under.
    let retry =
        rt.execute(parse_command(&deposit(5).1.replace("\"type\"", "\"commandId\":\"dep-5\",\"type\"")).unwrap());
    let retry = retry.await.unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.receipt.last_position().0, expected["dep5Position"].as_u64().unwrap());

    // The aggregates load (from their snapshots where there are some) and decide as before.
    let overdraft = parse_command(r#"{"type":"Withdraw","account":"a","amount":1000000}"#).unwrap();
    assert_eq!(rt.execute(overdraft).await.unwrap_err().code, "InsufficientFunds");
    let withdraw = rt.execute(parse_command(r#"{"type":"Withdraw","account":"a","amount":1}"#).unwrap());
    assert!(withdraw.await.unwrap().receipt.last_position().0 > head);

    // Personal data (schema 3's keys store, made by the upgrade): sealed, read back, forgotten.
    let holder = r#"{"type":"OpenAccount","account":"held","holder":{"customer":"c-up","name":"Ada Upgrade","email":"ada@example.org"}}"#;
    let opened = rt.execute(parse_command(holder).unwrap()).await.unwrap();
    let at = opened.receipt.last_position().0;
    let summary = || async {
        rt.wait_for(rt.head().await.unwrap().0, Some("accountSummaries"), 10_000).await.unwrap();
        query(rt, "accountSummaries", json!({"account": "held"})).await["holder"].clone()
    };
    assert_eq!(summary().await["value"]["name"], "Ada Upgrade");
    rt.execute(parse_command(r#"{"type":"ForgetSubject","subject":"c-up"}"#).unwrap()).await.unwrap();
    assert_eq!(summary().await, json!({"$personal": "c-up", "redacted": "forgotten"}));
    let event = rt.store().read_all(Position(at - 1), 1).await.unwrap().remove(0);
    assert!(event.payload.contains(r#""redacted":"forgotten""#), "{}", event.payload);
}

#[wasm_bindgen_test]
async fn a_schema_1_database_opens_migrated_with_nothing_lost() {
    let (rt, expected) = open_fixture("upgrade-v1", V1).await;
    check_upgraded(&rt, &expected).await;
    // Schema 1 had no read models: they are built from the log, and say what the log says.
    let head = rt.head().await.unwrap().0;
    for name in read_models::names() {
        rt.wait_for(head, Some(name), 10_000).await.unwrap();
        let built = rt.query(name, "{}").await.unwrap();
        let folded = rt.query_at(name, "{}", AsOf::Position(Position(built.position))).await.unwrap();
        assert_eq!(built.value(), folded.value(), "{name} built after the upgrade");
    }
    let o1 = query(&rt, "orderBoard", json!({"order": "o-1"})).await;
    assert_eq!((o1["status"].as_str(), o1["total"].as_u64()), (Some("delivered"), Some(500)));
    // The saga transfers were only requested under schema 1; today's saga carries them out.
    eventually("the old saga transfers to finish", 10_000, async || {
        let saga = query(&rt, "transfers", json!({"transferId": "t-saga"})).await;
        let refund = query(&rt, "transfers", json!({"transferId": "t-refund"})).await;
        saga["status"] == "completed" && refund["status"] == "compensated"
    })
    .await;
    let head = rt.head().await.unwrap().0;
    rt.wait_for(head, Some("balances"), 10_000).await.unwrap();
    let deposits: u64 = (0..DEPOSITS).map(|i| 10 + i).sum();
    let a = query(&rt, "balances", json!({"account": "a"})).await;
    assert_eq!(a["balance"], deposits - 100 - 50 - 1, "deposits, both transfers, today's withdrawal");
    let b = query(&rt, "balances", json!({"account": "b"})).await;
    assert_eq!(b["balance"], 100 - 30 + 50);
    rt.close();
}

#[wasm_bindgen_test]
async fn a_schema_2_database_opens_with_its_read_models_checkpoints_and_dead_letters() {
    let (rt, expected) = open_fixture("upgrade-v2", V2).await;
    check_upgraded(&rt, &expected).await;
    let head = expected["head"].as_u64().unwrap();
    let statuses = rt.statuses().await.unwrap();
    for status in &statuses {
        let was = &expected["projections"][&status.name];
        assert_eq!(status.paused, was["paused"].as_bool().unwrap(), "{} keeps its controls", status.name);
        assert!(status.checkpoint >= was["checkpoint"].as_u64().unwrap(), "{} resumes, not rebuilds", status.name);
    }
    for name in read_models::names() {
        let answer = rt.query(name, "{}").await.unwrap();
        if expected["projections"][name]["paused"] == true {
            // Still paused where it was left: the answer is the one stored under schema 2.
            assert_eq!(answer.position, expected["projections"][name]["checkpoint"].as_u64().unwrap());
            assert_eq!(answer.value(), expected["answers"][name], "{name} as stored");
            rt.control(name, Control::Resume).await.unwrap();
        }
        // Today's withdrawal (head + 1) is the only event the old answers have not seen.
        rt.wait_for(head, Some(name), 10_000).await.unwrap();
    }
    for name in read_models::names() {
        let checkpoint = expected["projections"][name]["checkpoint"].as_u64().unwrap();
        let folded = rt.query_at(name, "{}", AsOf::Position(Position(checkpoint))).await.unwrap();
        assert_eq!(folded.value(), expected["answers"][name], "{name}: today's fold of the log agrees with schema 2");
    }
    let letters = rt.dead_letters().await.unwrap();
    let letters: Vec<(u64, &str)> = letters.iter().map(|l| (l.position, l.code.as_str())).collect();
    let was: Vec<(u64, &str)> = expected["deadLetters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l[0].as_u64().unwrap(), l[1].as_str().unwrap()))
        .collect();
    assert_eq!(letters, was, "dead letters are kept");
    rt.close();
}

#[wasm_bindgen_test]
async fn a_schema_3_database_opens_with_its_keys_its_sealed_values_and_its_forgotten() {
    // At rest in the fixture, nobody's details are readable.
    let fixture: Value = serde_json::from_str(V3).unwrap();
    let at_rest = fixture["database"].to_string();
    for secret in ["Kept Person", "kept@example.org", "1 Kept Street", "Gone Person", "2 Gone Street"] {
        assert!(!at_rest.contains(secret), "{secret} is sealed in the dump");
    }
    let (rt, expected) = open_fixture("upgrade-v3", V3).await;
    check_upgraded(&rt, &expected).await;
    let head = rt.head().await.unwrap().0;
    for name in ["accountSummaries", "orderBoard"] {
        rt.wait_for(head, Some(name), 10_000).await.unwrap();
    }
    // The kept customer's values open with the keys the dump carried; the forgotten one's do not.
    let kept = query(&rt, "accountSummaries", json!({"account": "kept"})).await;
    assert_eq!(
        kept["holder"],
        json!({"$personal": "c-kept", "value": {"name": "Kept Person", "email": "kept@example.org"}})
    );
    let card = query(&rt, "orderBoard", json!({"order": "o-4"})).await;
    assert_eq!(card["shippingAddress"], json!({"$personal": "c-kept", "value": "1 Kept Street"}));
    let gone = query(&rt, "accountSummaries", json!({"account": "gone"})).await;
    assert_eq!(gone["holder"], json!({"$personal": "c-gone", "redacted": "forgotten"}));
    let export = rt.export(&|_, _| {}).await.unwrap();
    assert!(export.contains("Kept Person") && !export.contains("Gone Person") && !export.contains("2 Gone Street"));
    // Forgetting stays forgotten, and the kept customer can still be forgotten.
    let again = rt.execute(parse_command(r#"{"type":"ForgetSubject","subject":"c-gone"}"#).unwrap()).await.unwrap();
    assert!(again.replayed);
    let forgotten = rt.execute(parse_command(r#"{"type":"ForgetSubject","subject":"c-kept"}"#).unwrap()).await.unwrap();
    rt.wait_for(forgotten.receipt.last_position().0, Some("orderBoard"), 10_000).await.unwrap();
    let card = query(&rt, "orderBoard", json!({"order": "o-4"})).await;
    assert_eq!(card["shippingAddress"], json!({"$personal": "c-kept", "redacted": "forgotten"}));
    rt.close();
}

/// Command ids written before schema 4 have no digest: a retry is recognised, whatever it asks.
/// From schema 4 on, a reused id is told from a retry.
#[wasm_bindgen_test]
async fn command_ids_know_what_they_asked_from_schema_4_on() {
    let fixtures = [("upgrade-ids-v3", V3, false), ("upgrade-ids-v4", V4, true), ("upgrade-ids-v5", V5, true)];
    for (name, fixture, digests) in fixtures {
        let (rt, expected) = open_fixture(name, fixture).await;
        check_upgraded(&rt, &expected).await;
        let (id, json) = deposit(0);
        let with_id = |json: &str| {
            let mut request = parse_command(json).unwrap();
            request.command_id = Some(id.as_str().into());
            request
        };
        let retry = rt.execute(with_id(&json)).await.unwrap();
        assert!(retry.replayed, "{name}: the same deposit again is a retry");
        let other = rt.execute(with_id(r#"{"type":"Deposit","account":"a","amount":999}"#)).await;
        match digests {
            true => assert_eq!(other.unwrap_err().code, "DuplicateCommand", "{name}"),
            false => assert!(other.unwrap().replayed, "{name}: no digest to tell them apart"),
        }
        rt.close();
    }
}

// ---------------------------------------------------------------------------------------------
// Writing fixtures: `scripts/make-fixture.sh [version]`.

/// Writes the fixture of schema `EVENTLINE_FIXTURE_SCHEMA` (today's by default) and prints it
/// between markers for the script to save.
#[wasm_bindgen_test]
#[ignore = "writes a fixture; run by scripts/make-fixture.sh"]
async fn write_fixture() {
    let version: u32 = option_env!("EVENTLINE_FIXTURE_SCHEMA").map_or(idb::SCHEMA_VERSION, |v| v.parse().unwrap());
    let name = format!("fixture-v{version}");
    idb::delete(&name).await.unwrap();
    let expected = match version {
        v if v == idb::SCHEMA_VERSION => write_with_runtime(&name).await,
        v => panic!("schema {v} can only be written by the code of its time"),
    };
    let dump: Value = serde_json::from_str(&fixture::dump(&name).await.unwrap()).unwrap();
    assert_eq!(dump["version"], version);
    let fixture = json!({
        "schemaVersion": version,
        "writtenBy": option_env!("EVENTLINE_COMMIT").unwrap_or("unknown"),
        "expected": expected,
        "database": dump,
    });
    web_sys::console::log_1(
        &format!("FIXTURE-BEGIN{}FIXTURE-END", serde_json::to_string_pretty(&fixture).unwrap()).into(),
    );
}

/// Today's runtime: everything the schema holds, with a projection left paused and behind, and
/// an event no projection can read.
async fn write_with_runtime(name: &str) -> Value {
    let rt = Runtime::open(name).await.unwrap();
    let mut dep5 = 0;
    let personal = PERSONAL.iter().map(|(id, json)| (id.to_string(), json.to_string()));
    for (id, json) in scenario().into_iter().chain(personal) {
        let request = parse_command(&json.replacen('{', &format!(r#"{{"commandId":"{id}","#), 1)).unwrap();
        let executed = rt.execute(request).await.unwrap_or_else(|e| panic!("{json}: {e}"));
        if id == "dep-5" {
            dep5 = executed.receipt.last_position().0;
        }
    }
    let now = BrowserEnv.now();
    let poison = Commit {
        command_id: "poison".into(),
        correlation_id: "poison".into(),
        causation_id: "poison".into(),
        recorded_at: now,
        writes: vec![StreamWrite {
            stream: "account-frozen".into(),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent {
                event_id: BrowserEnv.new_event_id(now),
                event_type: "AccountFrozen".into(),
                schema_version: 1,
                payload: "{}".into(),
            }],
        }],
        digest: None,
    };
    rt.store().append(poison).await.unwrap();
    eventually("the saga transfers to finish", 10_000, async || {
        query(&rt, "transfers", json!({"inProgress": true})).await.as_array().is_some_and(Vec::is_empty)
    })
    .await;
    let mut head = rt.head().await.unwrap().0;
    for name in read_models::names() {
        rt.wait_for(head, Some(name), 10_000).await.unwrap();
    }
    rt.control("topAccounts", Control::Pause).await.unwrap();
    let last =
        rt.execute(parse_command(r#"{"commandId":"dep-last","type":"Deposit","account":"b","amount":7}"#).unwrap());
    head = last.await.unwrap().receipt.last_position().0;
    for name in read_models::names().iter().filter(|n| **n != "topAccounts") {
        rt.wait_for(head, Some(name), 10_000).await.unwrap();
    }
    // Persisted: every change is flushed within a quarter second of being applied.
    sleep(600).await;
    let (mut answers, mut projections) = (serde_json::Map::new(), serde_json::Map::new());
    for status in rt.statuses().await.unwrap() {
        let live = rt.query(&status.name, "{}").await.unwrap();
        assert_eq!(live.position, status.checkpoint);
        answers.insert(status.name.clone(), live.value());
        projections.insert(status.name, json!({"checkpoint": status.checkpoint, "paused": status.paused}));
    }
    let letters: Vec<Value> = rt.dead_letters().await.unwrap().iter().map(|l| json!([l.position, l.code])).collect();
    let export = rt.export(&|_, _| {}).await.unwrap();
    rt.close();
    json!({
        "head": head,
        "dep5Position": dep5,
        "export": export,
        "answers": answers,
        "projections": projections,
        "deadLetters": letters,
    })
}
