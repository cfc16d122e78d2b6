//! Personal data at rest, in Chromium: nothing personal is readable in the raw IndexedDB records
//! (log, snapshots, read models, dead letters), and forgetting a customer makes every copy
//! unreadable while the log keeps its shape and the rest of the system goes on, in every tab.

#![cfg(target_arch = "wasm32")]

use eventline_core::handler::Executed;
use eventline_core::ids::Position;
use eventline_core::temporal::AsOf;
use eventline_demo::command::parse_command;
use eventline_demo::read_models;
use eventline_demo::web::DemoRuntime as Runtime;
use eventline_tests::fixture;
use eventline_web::idb;
use eventline_web::runtime::Control;
use eventline_web::tabs::sleep;
use serde_json::{Value, json};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const SECRETS: [&str; 6] = [
    "Ada Lovelace",
    "ada@analytical.example",
    "12 Marylebone Street",
    "Charles Babbage",
    "charles@engine.example",
    "1 Dorset Street",
];

async fn fresh(name: &str) -> Runtime {
    idb::delete(name).await.unwrap();
    Runtime::open(name).await.unwrap()
}

async fn run(rt: &Runtime, json: &str) -> Executed {
    rt.execute(parse_command(json).unwrap()).await.unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// Waits until `name`'s rebuild has replaced it (a rebuild is built beside the read model that
/// answers meanwhile).
async fn rebuilt(rt: &Runtime, name: &str) {
    for _ in 0..500 {
        let statuses = rt.statuses().await.unwrap();
        if statuses.iter().any(|s| s.name == name && s.status != "rebuilding" && s.last_rebuild.is_some()) {
            return;
        }
        sleep(20).await;
    }
    panic!("{name} was not rebuilt within 10 s");
}

async fn query(rt: &Runtime, name: &str, args: Value) -> Value {
    rt.query(name, &args.to_string()).await.unwrap().value()
}

/// Ada and Charles open accounts with their details, order with their addresses, and trade.
async fn customers(rt: &Runtime) {
    for json in [
        r#"{"type":"OpenAccount","account":"ada","holder":{"customer":"c-ada","name":"Ada Lovelace","email":"ada@analytical.example"}}"#,
        r#"{"type":"OpenAccount","account":"charles","holder":{"customer":"c-charles","name":"Charles Babbage","email":"charles@engine.example"}}"#,
        r#"{"type":"Deposit","account":"ada","amount":500}"#,
        r#"{"type":"Transfer","from":"ada","to":"charles","amount":100}"#,
        r#"{"type":"CreateOrder","order":"o-ada","customer":"c-ada","shippingAddress":"12 Marylebone Street"}"#,
        r#"{"type":"AddItem","order":"o-ada","sku":"loom-card","quantity":2,"unitPrice":50}"#,
        r#"{"type":"CreateOrder","order":"o-charles","customer":"c-charles","shippingAddress":"1 Dorset Street"}"#,
    ] {
        run(rt, json).await;
    }
}

/// Every string and byte string stored in any object store of `database`, decoded.
async fn raw_text(database: &str) -> String {
    let dump: Value = serde_json::from_str(&fixture::dump(database).await.unwrap()).unwrap();
    let mut text = String::new();
    fn walk(value: &Value, out: &mut String) {
        match value {
            Value::String(s) => out.push_str(s),
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(map) => {
                if let Some(Value::String(b64)) = map.get("$u8").or_else(|| map.get("$buffer")) {
                    let bytes = base64_decode(b64);
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
                map.values().for_each(|v| walk(v, out));
            }
            _ => {}
        }
        out.push('\n');
    }
    walk(&dump, &mut text);
    text
}

fn base64_decode(text: &str) -> Vec<u8> {
    let window = web_sys::window().unwrap();
    let binary = window.atob(text).unwrap();
    binary.chars().map(|c| c as u8).collect()
}

fn found(text: &str) -> Vec<&'static str> {
    SECRETS.iter().copied().filter(|s| text.contains(s)).collect()
}

#[wasm_bindgen_test]
async fn no_personal_value_is_readable_in_the_raw_records() {
    let rt = fresh("privacy-raw").await;
    customers(&rt).await;
    // Enough deposits for a snapshot, and a poison event carrying personal data into the dead
    // letters.
    for _ in 0..70 {
        run(&rt, r#"{"type":"Deposit","account":"ada","amount":1}"#).await;
    }
    let head = rt.head().await.unwrap().0;
    for name in read_models::names() {
        rt.wait_for(head, Some(name), 10_000).await.unwrap();
    }
    rt.control("balances", Control::Rebuild).await.unwrap();
    rebuilt(&rt, "balances").await;
    sleep(600).await; // every projection flushed

    // What callers see is readable ...
    let summary = query(&rt, "accountSummaries", json!({"account": "ada"})).await;
    assert_eq!(summary["holder"]["value"]["name"], "Ada Lovelace");
    let card = query(&rt, "orderBoard", json!({"order": "o-ada"})).await;
    assert_eq!(card["shippingAddress"]["value"], "12 Marylebone Street");
    let export = rt.export(&|_, _| {}).await.unwrap();
    assert_eq!(found(&export).len(), SECRETS.len(), "an export is readable, like every read");

    // ... and nothing at rest is.
    rt.close();
    let raw = raw_text("privacy-raw").await;
    assert_eq!(found(&raw), Vec::<&str>::new(), "plaintext in IndexedDB");
    assert!(raw.contains(r#""sealed":""#), "the personal values are there, sealed");
    assert!(raw.contains("c-ada"), "subject ids are pseudonyms, kept in the clear");
}

#[wasm_bindgen_test]
async fn forgetting_makes_every_copy_unreadable_and_everything_goes_on() {
    let rt = fresh("privacy-forget").await;
    let other_tab = Runtime::open("privacy-forget").await.unwrap();
    customers(&rt).await;
    let before = rt.head().await.unwrap().0;
    for name in read_models::names() {
        rt.wait_for(before, Some(name), 10_000).await.unwrap();
    }
    // A paused read model keeps what it held in memory; forgetting does not wait for it.
    rt.control("accountSummaries", Control::Pause).await.unwrap();
    let history = query(&other_tab, "customerOrders", json!({"customer": "c-ada"})).await;
    assert_eq!(history["orders"][0]["order"], "o-ada", "the other tab read Ada's history");

    let forgot = run(&rt, r#"{"type":"ForgetSubject","subject":"c-ada"}"#).await;
    assert_eq!(&*forgot.receipt.events[0].event_type, "SubjectForgotten");
    let marker = json!({"$personal": "c-ada", "redacted": "forgotten"});

    // Read models, here and in the other tab, at once, paused or not.
    let summary = query(&rt, "accountSummaries", json!({"account": "ada"})).await;
    assert_eq!(summary["holder"], marker);
    let card = query(&rt, "orderBoard", json!({"order": "o-ada"})).await;
    assert_eq!(card["shippingAddress"], marker);
    assert_eq!(query(&rt, "customerOrders", json!({"customer": "c-ada"})).await, Value::Null);
    let head = rt.head().await.unwrap().0;
    other_tab.wait_for(head, Some("orderBoard"), 10_000).await.unwrap();
    assert_eq!(query(&other_tab, "orderBoard", json!({"order": "o-ada"})).await["shippingAddress"], marker);
    assert_eq!(query(&other_tab, "customerOrders", json!({"customer": "c-ada"})).await, Value::Null);
    // Charles is untouched.
    let charles = query(&rt, "accountSummaries", json!({"account": "charles"})).await;
    assert_eq!(charles["holder"]["value"]["name"], "Charles Babbage");

    // The log: same shape, Ada's fields redacted in events, the past and exports.
    let events = rt.events(&Default::default()).await.unwrap();
    assert_eq!(events.len() as u64, head, "nothing removed");
    let opened: Value = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(opened["holder"], marker);
    let past = rt.query_at("accountSummaries", r#"{"account":"ada"}"#, AsOf::Position(Position(before))).await;
    assert_eq!(past.unwrap().value()["holder"], marker, "the past does not bring her back");
    let history = rt.history_at(AsOf::Position(Position(1))).await.unwrap();
    assert!(history.query("accountSummaries", r#"{"account":"ada"}"#).unwrap().contains("forgotten"));
    let export = rt.export(&|_, _| {}).await.unwrap();
    assert_eq!(found(&export), vec!["Charles Babbage", "charles@engine.example", "1 Dorset Street"]);

    // Rebuilt from 0, a read model holds nothing of her either.
    rt.control("accountSummaries", Control::Resume).await.unwrap();
    rt.control("orderBoard", Control::Rebuild).await.unwrap();
    rebuilt(&rt, "orderBoard").await;
    assert_eq!(query(&rt, "orderBoard", json!({"order": "o-ada"})).await["shippingAddress"], marker);

    // Aggregates replay and decide; forgetting again is the same forgetting; no one is an error.
    run(&rt, r#"{"type":"Withdraw","account":"ada","amount":50}"#).await;
    run(&rt, r#"{"type":"ConfirmOrder","order":"o-ada"}"#).await;
    let again = run(&rt, r#"{"type":"ForgetSubject","subject":"c-ada"}"#).await;
    assert!(again.replayed);
    assert_eq!(again.receipt.events[0].meta.position, forgot.receipt.events[0].meta.position);
    let nobody = rt.execute(parse_command(r#"{"type":"ForgetSubject","subject":"c-nobody"}"#).unwrap()).await;
    assert_eq!(nobody.unwrap_err().code, "UnknownSubject");
    let back = r#"{"type":"CreateOrder","order":"o-new","customer":"c-ada","shippingAddress":"Somewhere"}"#;
    assert_eq!(rt.execute(parse_command(back).unwrap()).await.unwrap_err().code, "SubjectForgotten");
    let (state, _) = rt.state_at("subject-c-ada", AsOf::Head).await.unwrap();
    assert_eq!(state, r#"{"status":"forgotten"}"#);

    // At rest: her values are there, sealed, with no key to open them.
    let head = rt.head().await.unwrap().0;
    for name in read_models::names() {
        rt.wait_for(head, Some(name), 10_000).await.unwrap();
    }
    sleep(600).await;
    rt.close();
    other_tab.close();
    let raw = raw_text("privacy-forget").await;
    assert_eq!(found(&raw), Vec::<&str>::new());
    assert!(raw.contains("forgotten"), "a tombstone where her key was");
}

#[wasm_bindgen_test]
async fn a_forgotten_customer_cannot_come_back_through_an_old_export() {
    let rt = fresh("privacy-export").await;
    customers(&rt).await;
    let export = rt.export(&|_, _| {}).await.unwrap();
    run(&rt, r#"{"type":"ForgetSubject","subject":"c-ada"}"#).await;
    let head = rt.head().await.unwrap();

    // Elsewhere, the export taken before brings her back, sealed under that database's keys,
    // and more is recorded about her there.
    let copy = fresh("privacy-export-copy").await;
    let report = copy.import(&export, &|_, _| {}).await.unwrap();
    copy.wait_for(report.head, Some("accountSummaries"), 10_000).await.unwrap();
    let holder = query(&copy, "accountSummaries", json!({"account": "ada"})).await["holder"].clone();
    assert_eq!(holder["value"]["name"], "Ada Lovelace");
    run(
        &copy,
        r#"{"type":"CreateOrder","order":"o-more","customer":"c-ada","shippingAddress":"12 Marylebone Street"}"#,
    )
    .await;
    let longer = copy.export(&|_, _| {}).await.unwrap();
    copy.close();

    // Here, where she was forgotten, that log is refused (what was already here is skipped,
    // the new personal data about her is not written) and nothing is appended.
    let refused = rt.import(&longer, &|_, _| {}).await.unwrap_err();
    assert_eq!(refused.code, "SubjectForgotten", "{}", refused.message);
    assert_eq!(rt.head().await.unwrap(), head);
    rt.close();
}
