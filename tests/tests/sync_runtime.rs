//! The runtime syncing its log through a real nats-server: `scripts/test.sh` starts one, creates
//! log `demo` and passes its WebSocket address at build time (`EVENTLINE_SYNC_WS`). Each device
//! is a database of its own in this page, syncing as a user of the log would; every run writes
//! accounts of its own, so the three browsers' runs share the log without meeting.
//!
//! What a user of sync would check: a command on one device reaches the other's read models; a
//! command decided offline on a stream another device wrote meanwhile is decided again on what
//! the server holds, and one the domain now refuses is reported as rejected after sync, with the
//! domain's code, never lost silently; commands on different streams never conflict; and every
//! device ends with the same log, in the same order; a customer's personal data reaches the
//! other device readable while the server holds it sealed, and forgetting them erases their key
//! on the server and on every device.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use eventline_demo::web::DemoRuntime as Runtime;
use eventline_web::idb;
use eventline_web::runtime::{EventFilter, Notice, SyncOptions};
use eventline_web::sync::{LogClient, ServerKey};
use eventline_web::tabs::sleep;
use serde_json::{Value, json};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn options() -> SyncOptions {
    let url = option_env!("EVENTLINE_SYNC_WS").unwrap_or_else(|| {
        panic!("EVENTLINE_SYNC_WS (at build time): a sync server with log demo; scripts/test.sh starts one")
    });
    SyncOptions { url: url.into(), log: "demo".into(), user: "demo".into(), password: "demo-dev".into() }
}

/// A tag of this run, so that its accounts are its own on a log other runs share.
fn tag() -> String {
    (0..8).map(|_| char::from(b'a' + (js_sys::Math::random() * 26.0) as u8)).collect()
}

async fn device(name: &str) -> Runtime {
    idb::delete(name).await.expect("an old test database can be deleted");
    let rt = Runtime::open(name).await.expect("the runtime opens");
    rt.start_sync(options()).await.expect("sync starts");
    rt
}

async fn run(rt: &Runtime, command: Value) {
    rt.execute_text(&command.to_string()).await.unwrap_or_else(|e| panic!("{command}: {e}"));
}

/// Polls `check` until it holds, failing the test after `ms`.
async fn eventually(what: &str, ms: u32, mut check: impl AsyncFnMut() -> bool) {
    let start = js_sys::Date::now();
    while !check().await {
        assert!(js_sys::Date::now() - start < f64::from(ms), "timed out waiting for {what}");
        sleep(25).await;
    }
}

async fn balance(rt: &Runtime, account: &str) -> Option<u64> {
    rt.query("balances", &json!({ "account": account }).to_string()).await.ok()?.value()["balance"].as_u64()
}

async fn synced(rt: &Runtime) -> bool {
    rt.sync_status().state == "online" && rt.pending_commits().await.is_ok_and(|p| p.is_empty())
}

/// The ids of every event of `stream` on a device, in its log's order.
async fn stream_ids(rt: &Runtime, stream: &str) -> Vec<String> {
    let filter = EventFilter { stream: Some(stream.into()), limit: Some(10_000), ..EventFilter::default() };
    rt.events(&filter).await.unwrap().iter().map(|e| e.meta.event_id.to_string()).collect()
}

/// The ids of every event on a device, in its log's order.
async fn log_ids(rt: &Runtime) -> Vec<String> {
    let filter = EventFilter { limit: Some(10_000), ..EventFilter::default() };
    rt.events(&filter).await.unwrap().iter().map(|e| e.meta.event_id.to_string()).collect()
}

#[wasm_bindgen_test]
async fn a_command_on_one_device_reaches_the_other() {
    let t = tag();
    let (a, b) = (device(&format!("sync-a-{t}")).await, device(&format!("sync-b-{t}")).await);
    let account = format!("{t}-1");
    run(&a, json!({"type": "OpenAccount", "account": account})).await;
    run(&a, json!({"type": "Deposit", "account": account, "amount": 100})).await;
    eventually("the deposit on the other device", 60_000, async || balance(&b, &account).await == Some(100)).await;
    eventually("device a confirmed", 60_000, async || synced(&a).await).await;
    let stream = format!("account-{account}");
    assert_eq!(stream_ids(&a, &stream).await, stream_ids(&b, &stream).await, "the same events in the same order");
    assert_eq!(stream_ids(&a, &stream).await.len(), 2);
    assert_eq!(b.sync_status().redecided, 0);
    a.close();
    b.close();
}

#[wasm_bindgen_test]
async fn a_conflict_is_decided_again_and_a_refusal_is_reported() {
    let t = tag();
    let (a, b) = (device(&format!("sync-c-{t}")).await, device(&format!("sync-d-{t}")).await);
    let account = format!("{t}-2");
    run(&a, json!({"type": "OpenAccount", "account": account})).await;
    run(&a, json!({"type": "Deposit", "account": account, "amount": 100})).await;
    eventually("the deposit on device b", 60_000, async || balance(&b, &account).await == Some(100)).await;
    eventually("device b in step", 60_000, async || synced(&b).await).await;

    // Device b goes offline; device a withdraws 30 meanwhile.
    b.stop_sync();
    run(&a, json!({"type": "Withdraw", "account": account, "amount": 30})).await;
    eventually("device a confirmed", 60_000, async || synced(&a).await).await;
    // Offline, b withdraws 50 and then 40, both accepted on what it knows (100).
    let (fifty, forty) = (format!("{t}-w50"), format!("{t}-w40"));
    run(&b, json!({"type": "Withdraw", "account": account, "amount": 50, "commandId": fifty})).await;
    run(&b, json!({"type": "Withdraw", "account": account, "amount": 40, "commandId": forty})).await;
    assert_eq!(b.pending_commits().await.unwrap().len(), 2, "two commits wait in b's outbox");

    let heard: Rc<RefCell<Vec<Notice>>> = Rc::default();
    let listener = heard.clone();
    b.subscribe(move |notice| {
        if matches!(notice, Notice::Rejected { .. }) {
            listener.borrow_mut().push(notice.clone());
        }
    });
    b.start_sync(options()).await.unwrap();
    // On 70, the 50 is decided again and accepted; the 40 is then refused (20 left).
    eventually("device b in step again", 60_000, async || synced(&b).await).await;
    let rejected = b.rejected_commands().await.unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!((rejected[0].command_id.as_str(), rejected[0].code.as_str()), (forty.as_str(), "InsufficientFunds"));
    assert!(rejected[0].command.as_deref().is_some_and(|c| c.contains("\"amount\":40")), "the command is kept");
    assert_eq!(heard.borrow().len(), 1, "the rejection was told");
    assert!(b.sync_status().redecided >= 1);
    eventually("both devices at 20", 60_000, async || {
        balance(&a, &account).await == Some(20) && balance(&b, &account).await == Some(20)
    })
    .await;
    let stream = format!("account-{account}");
    assert_eq!(stream_ids(&a, &stream).await, stream_ids(&b, &stream).await);
    a.close();
    b.close();
}

#[wasm_bindgen_test]
async fn different_streams_never_conflict_and_every_device_holds_the_same_log() {
    let t = tag();
    let (a, b) = (device(&format!("sync-e-{t}")).await, device(&format!("sync-f-{t}")).await);
    let (mine, theirs) = (format!("{t}-3"), format!("{t}-4"));
    eventually("both devices online", 60_000, async || synced(&a).await && synced(&b).await).await;
    b.stop_sync();
    run(&b, json!({"type": "OpenAccount", "account": mine})).await;
    run(&b, json!({"type": "Deposit", "account": mine, "amount": 7})).await;
    run(&a, json!({"type": "OpenAccount", "account": theirs})).await;
    run(&a, json!({"type": "Deposit", "account": theirs, "amount": 9})).await;
    eventually("device a confirmed", 60_000, async || synced(&a).await).await;
    b.start_sync(options()).await.unwrap();
    eventually("both accounts on both devices", 60_000, async || {
        balance(&a, &mine).await == Some(7) && balance(&b, &theirs).await == Some(9) && synced(&b).await
    })
    .await;
    assert_eq!(b.sync_status().redecided, 0, "nothing was decided again");
    assert!(b.rejected_commands().await.unwrap().is_empty());
    eventually("the same log on both devices", 60_000, async || {
        synced(&a).await && synced(&b).await && log_ids(&a).await == log_ids(&b).await
    })
    .await;
    a.close();
    b.close();
}

/// The payloads of `stream`'s events on a device, opened as its reader sees them.
async fn payloads(rt: &Runtime, stream: &str) -> Vec<String> {
    let filter = EventFilter { stream: Some(stream.into()), limit: Some(10_000), ..EventFilter::default() };
    rt.events(&filter).await.unwrap().iter().map(|e| e.payload.to_string()).collect()
}

async fn reads(rt: &Runtime, stream: &str, text: &str) -> bool {
    payloads(rt, stream).await.iter().any(|p| p.contains(text))
}

/// The server as its operator sees it: every message body of the log, and the key bucket.
async fn server() -> LogClient {
    let o = options();
    LogClient::connect(&o.url, &o.log, &o.user, &o.password).await.expect("the test connects")
}

async fn server_bodies() -> String {
    let pulled = server().await.pull(0).await.expect("the log can be read");
    let mut all = String::new();
    for commit in pulled.into_iter().filter_map(|p| p.commit.ok()) {
        for event in commit.writes.iter().flat_map(|w| &w.events) {
            all.push_str(&event.payload);
        }
    }
    all
}

#[wasm_bindgen_test]
async fn personal_data_reaches_the_other_device_and_forgetting_erases_its_key_everywhere() {
    let t = tag();
    let (a, b) = (device(&format!("sync-g-{t}")).await, device(&format!("sync-h-{t}")).await);
    let (account, customer, name) = (format!("{t}-5"), format!("c-{t}"), format!("Ada {t}"));
    let holder = json!({"customer": customer, "name": name, "email": format!("{t}@example.org")});
    run(&a, json!({"type": "OpenAccount", "account": account, "holder": holder})).await;
    let stream = format!("account-{account}");
    eventually("the holder's name readable on device b", 60_000, async || reads(&b, &stream, &name).await).await;
    eventually("device a confirmed", 60_000, async || synced(&a).await).await;
    let bodies = server_bodies().await;
    assert!(bodies.contains(&format!(r#"{{"$personal":"{customer}","sealed":"#)), "the server holds it sealed");
    assert!(!bodies.contains(&name), "the server never holds the name readable");
    assert!(matches!(server().await.key(&customer).await.unwrap(), ServerKey::Held { .. }));

    a.forget(&customer, None).await.expect("device a forgets the customer");
    eventually("the key erased on the server", 60_000, async || {
        server().await.key(&customer).await.unwrap() == ServerKey::Forgotten
    })
    .await;
    eventually("forgotten on device b", 60_000, async || {
        !reads(&b, &stream, &name).await && reads(&b, &stream, "forgotten").await
    })
    .await;
    assert!(!reads(&a, &stream, &name).await && reads(&a, &stream, "forgotten").await);
    a.close();
    b.close();
}

#[wasm_bindgen_test]
async fn two_devices_that_each_made_a_key_for_someone_both_read_them() {
    let t = tag();
    let (a, b) = (device(&format!("sync-i-{t}")).await, device(&format!("sync-j-{t}")).await);
    eventually("both devices online", 60_000, async || synced(&a).await && synced(&b).await).await;
    a.stop_sync();
    b.stop_sync();
    // Offline, each opens an account for the same customer: each device makes a key of its own.
    let customer = format!("c-{t}-both");
    let (on_a, on_b) = (format!("{t}-6"), format!("{t}-7"));
    let (name_a, name_b) = (format!("Grace {t}"), format!("Grace H. {t}"));
    let holder = |name: &str| json!({"customer": customer, "name": name, "email": format!("{t}@example.org")});
    run(&a, json!({"type": "OpenAccount", "account": on_a, "holder": holder(&name_a)})).await;
    run(&b, json!({"type": "OpenAccount", "account": on_b, "holder": holder(&name_b)})).await;
    a.start_sync(options()).await.unwrap();
    eventually("device a confirmed", 60_000, async || synced(&a).await).await;
    b.start_sync(options()).await.unwrap();
    let (stream_a, stream_b) = (format!("account-{on_a}"), format!("account-{on_b}"));
    eventually("both holders readable on both devices", 60_000, async || {
        reads(&a, &stream_b, &name_b).await
            && reads(&b, &stream_a, &name_a).await
            && reads(&a, &stream_a, &name_a).await
            && reads(&b, &stream_b, &name_b).await
    })
    .await;
    let ServerKey::Held { keys, .. } = server().await.key(&customer).await.unwrap() else {
        panic!("the server holds the customer's keys")
    };
    assert_eq!(keys.len(), 64, "both devices' keys, 32 bytes each");
    a.close();
    b.close();
}
