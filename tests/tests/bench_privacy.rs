//! The privacy benchmark: what sealing personal values costs, in one headless Chromium page,
//! release build. Run by `scripts/bench-privacy.sh`; ignored in test runs.
//!
//! 1. The crypto choice: AES-256-GCM per personal value with the aes-gcm crate (in wasm) against
//!    WebCrypto (`tests/bench/webcrypto.js`), sealing then opening the same values.
//! 2. Bulk append and replay of 100k events of which a third carry a personal value (an order's
//!    shipping address, 10,000 customers), with sealing on against the same run with it off
//!    (`IdbStore::open_unsealed`); the target is >= 0.7x. The replay folds as a projection does,
//!    values kept sealed; a third figure reads with every value opened (timeline, export).
#![cfg(target_arch = "wasm32")]

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use eventline_core::event::EventPayload;
use eventline_core::ids::{Position, StreamId};
use eventline_core::personal::Personal;
use eventline_core::projection::Projection;
use eventline_core::store::{Commit, EventStore, StreamWrite};
use eventline_core::version::ExpectedVersion;
use eventline_core::{Environment, NewEvent};
use eventline_demo::money::{Amount, EntityId};
use eventline_demo::orders::{OrderCreated, OrderItemAdded};
use eventline_demo::read_models::OrderBoard;
use eventline_tests::timing::{median, now};
use eventline_web::env::{BrowserEnv, random_bytes};
use eventline_web::{IdbStore, idb};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/bench/webcrypto.js")]
extern "C" {
    #[wasm_bindgen(js_name = sealAndOpen)]
    async fn webcrypto_seal_and_open(count: u32, bytes: u32) -> JsValue;
    #[wasm_bindgen(js_name = sealAndOpenAllAtOnce)]
    async fn webcrypto_all_at_once(count: u32, bytes: u32) -> JsValue;
    #[wasm_bindgen(js_name = encryptInsideTransaction)]
    async fn webcrypto_inside_transaction() -> JsValue;
}

const EVENTS: u32 = 100_000;
const CUSTOMERS: u32 = 10_000;
const VALUES: u32 = 10_000;
/// About an address's or a holder's length.
const VALUE_BYTES: u32 = 48;

fn pair(value: JsValue) -> (f64, f64) {
    let array: js_sys::Array = value.unchecked_into();
    (array.get(0).as_f64().unwrap(), array.get(1).as_f64().unwrap())
}

/// The aes-gcm crate's seal then open of the values WebCrypto gets, nonces drawn in one call per
/// batch as the vault does. Returns (seal ms, open ms).
fn crate_seal_and_open(count: u32, bytes: u32) -> (f64, f64) {
    let mut key = [0u8; 32];
    random_bytes(&mut key);
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let plain: Vec<Vec<u8>> =
        (0..count).map(|i| format!("{i:x<width$}", width = bytes as usize).into_bytes()).collect();
    let start = now();
    let mut nonces = vec![0u8; 12 * count as usize];
    random_bytes(&mut nonces);
    let sealed: Vec<(&[u8], Vec<u8>)> = plain
        .iter()
        .zip(nonces.chunks(12))
        .map(|(value, nonce)| {
            let payload = Payload { msg: value, aad: b"customer-1" };
            (nonce, cipher.encrypt(Nonce::from_slice(nonce), payload).unwrap())
        })
        .collect();
    let seal = now() - start;
    let start = now();
    let opened: usize = sealed
        .iter()
        .map(|(nonce, c)| {
            cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: c, aad: b"customer-1" }).unwrap().len()
        })
        .sum();
    let open = now() - start;
    assert_eq!(opened, (count * bytes) as usize);
    (seal, open)
}

/// 100k events in orders of three (created with a shipping address, two items added), so a
/// third carry a personal value; 10,000 customers; commits of one order, appended in batches.
fn orders() -> Vec<Commit> {
    let new = |encoded: eventline_core::event::EncodedEvent| -> NewEvent {
        encoded.into_new_event(BrowserEnv.new_event_id(BrowserEnv.now()))
    };
    (0..EVENTS / 3 + 1)
        .map(|n| {
            let customer = format!("c{}", n % CUSTOMERS);
            let address = format!("{} Rue des Acacias, 69000 Lyon, France", n);
            let created = OrderCreated {
                customer: EntityId::parse(&customer).unwrap(),
                shipping_address: Some(Personal::new(customer.as_str(), address)),
            };
            let item = |sku: &str| OrderItemAdded {
                sku: EntityId::parse(sku).unwrap(),
                quantity: 2,
                unit_price: Amount::new(1250).unwrap(),
            };
            let id = format!("bench-{n}");
            Commit {
                command_id: id.as_str().into(),
                correlation_id: id.as_str().into(),
                causation_id: id.as_str().into(),
                recorded_at: BrowserEnv.now(),
                writes: vec![StreamWrite {
                    stream: StreamId::for_aggregate("order", &format!("o{n}")),
                    expected: ExpectedVersion::NoStream,
                    events: vec![new(created.encode()), new(item("book").encode()), new(item("pen").encode())],
                }],
                digest: None,
            }
        })
        .collect()
}

async fn fresh(name: &str, sealed: bool) -> IdbStore {
    idb::delete(name).await.unwrap();
    if sealed { IdbStore::open(name).await.unwrap() } else { IdbStore::open_unsealed(name).await.unwrap() }
}

/// Appends the orders in batches of about 10k events; ms.
async fn append(store: &IdbStore) -> f64 {
    let commits = orders();
    let start = now();
    for batch in commits.chunks(3_334) {
        store.append_batch(batch.to_vec()).await.unwrap();
    }
    now() - start
}

/// Replays the whole log in pages into the order board, as a projection does (`opened`: false,
/// personal values stay sealed in the read model), or as a reader of events does (the timeline,
/// an export: every value opened). Returns ms and the addresses that read back.
async fn replay(store: &IdbStore, opened: bool) -> (f64, usize) {
    let start = now();
    let mut board = Projection::<OrderBoard>::new();
    let mut at = Position(0);
    let mut texts = 0;
    loop {
        let page = if opened { store.read_all(at, 10_000).await } else { store.read_all_sealed(at, 10_000).await };
        let page = page.unwrap();
        let Some(last) = page.last() else { break };
        at = last.meta.position;
        for event in &page {
            texts += usize::from(event.payload.contains("$personal"));
            board.apply_recorded(event);
        }
    }
    let ms = now() - start;
    // What the projection holds answers with every address readable.
    let answer = store.open_text(serde_json::to_string(&board.read_model.all()).unwrap()).await.unwrap();
    let readable = answer.matches("Rue des Acacias").count();
    assert_eq!(texts, readable, "every address reads back");
    (ms, readable)
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run by scripts/bench-privacy.sh"]
async fn benchmark() {
    console_log!("eventline privacy benchmark: headless Chromium, release build");

    // 1. The crypto choice.
    let (mut ours, mut theirs, mut at_once) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        ours.push(crate_seal_and_open(VALUES, VALUE_BYTES));
        theirs.push(pair(webcrypto_seal_and_open(VALUES, VALUE_BYTES).await));
        at_once.push(pair(webcrypto_all_at_once(VALUES, VALUE_BYTES).await));
    }
    let us = |ms: f64| ms * 1000.0 / f64::from(VALUES);
    let seal = |v: &[(f64, f64)]| us(median(v.iter().map(|p| p.0).collect()));
    let open = |v: &[(f64, f64)]| us(median(v.iter().map(|p| p.1).collect()));
    console_log!(
        "(crypto) AES-256-GCM, {VALUES} values of {VALUE_BYTES} bytes: aes-gcm crate seal {:.2} µs, open {:.2} µs per value; WebCrypto one at a time seal {:.2} µs, open {:.2} µs ({:.0}x the crate's seal); WebCrypto all in flight at once seal {:.2} µs, open {:.2} µs ({:.0}x); WebCrypto awaited inside an IndexedDB transaction: {}",
        seal(&ours),
        open(&ours),
        seal(&theirs),
        open(&theirs),
        seal(&theirs) / seal(&ours),
        seal(&at_once),
        open(&at_once),
        seal(&at_once) / seal(&ours),
        webcrypto_inside_transaction().await.as_string().unwrap()
    );

    // 2. Bulk append and replay, sealed against unsealed, alternating, three rounds; medians.
    let (mut appends, mut replays, mut reads) =
        ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for round in 0..3 {
        for (i, sealed) in [false, true].into_iter().enumerate() {
            let name = format!("bench-privacy-{sealed}-{round}");
            let store = fresh(&name, sealed).await;
            appends[i].push(append(&store).await);
            store.close();
            // Each replay on a fresh connection, keys not yet read.
            for (opened, into) in [(false, &mut replays), (true, &mut reads)] {
                let store = if sealed { IdbStore::open(&name).await } else { IdbStore::open_unsealed(&name).await };
                let store = store.unwrap();
                let (ms, readable) = replay(&store, opened).await;
                assert_eq!(readable, (EVENTS / 3 + 1) as usize);
                into[i].push(ms);
                store.close();
            }
            idb::delete(&name).await.unwrap();
        }
    }
    let [plain_append, sealed_append] = appends.map(median);
    let [plain_replay, sealed_replay] = replays.map(median);
    let [plain_read, sealed_read] = reads.map(median);
    let events = f64::from((EVENTS / 3 + 1) * 3);
    let rate = |ms: f64| events / ms * 1000.0;
    console_log!(
        "(append) {events} events, a third with a personal value, {CUSTOMERS} subjects: sealed {sealed_append:.0} ms ({:.0} events/s), unsealed {plain_append:.0} ms ({:.0} events/s); ratio {:.2}x (target >= 0.7)",
        rate(sealed_append),
        rate(plain_append),
        plain_append / sealed_append
    );
    console_log!(
        "(replay) into the order board as a projection does, values kept sealed: sealed {sealed_replay:.0} ms ({:.0} events/s), unsealed {plain_replay:.0} ms ({:.0} events/s); ratio {:.2}x (target >= 0.7)",
        rate(sealed_replay),
        rate(plain_replay),
        plain_replay / sealed_replay
    );
    console_log!(
        "(read) the same with every value opened, as the timeline and an export read: sealed {sealed_read:.0} ms ({:.0} events/s), unsealed {plain_read:.0} ms ({:.0} events/s); ratio {:.2}x",
        rate(sealed_read),
        rate(plain_read),
        plain_read / sealed_read
    );
}
