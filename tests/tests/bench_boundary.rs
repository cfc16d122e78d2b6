//! The JS boundary, measured: `serde-wasm-bindgen` (values built and read field by field across
//! the boundary) against JSON text (`serde_json` in Rust, `JSON.parse`/`JSON.stringify` in the
//! browser), the way `web::js` crosses it today, for the three directions: commands in, query
//! answers out, events out. Release build in headless Chromium; ignored in test runs:
//!
//! ```sh
//! cargo test --release -p eventline-tests --target wasm32-unknown-unknown --test bench_boundary -- --include-ignored --nocapture
//! ```
#![cfg(target_arch = "wasm32")]

use eventline_core::event::EventPayload;
use eventline_core::ids::{CommandId, CorrelationId, EventId, Position, StreamId, StreamVersion, Timestamp};
use eventline_core::{EventMetadata, RecordedEvent};
use eventline_demo::bank::MoneyDeposited;
use eventline_demo::command::parse_command;
use eventline_demo::money::Amount;
use eventline_demo::read_models::AccountBalance;
use eventline_tests::timing::{median, now};
use js_sys::JSON;
use serde::Serialize;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const ROUNDS: usize = 31;
const ITEMS: usize = 1_000;

/// Median milliseconds of `work` over the rounds.
fn time(mut work: impl FnMut()) -> f64 {
    median(
        (0..ROUNDS)
            .map(|_| {
                let start = now();
                work();
                now() - start
            })
            .collect(),
    )
}

fn line(what: &str, json: f64, swb: f64) {
    console_log!(
        "{what:<52} JSON text {json:8.3} ms | serde-wasm-bindgen {swb:8.3} ms | ratio swb/JSON {:.2}",
        swb / json
    );
}

fn balances() -> Vec<AccountBalance> {
    let json: Vec<String> = (0..ITEMS)
        .map(|i| {
            format!(r#"{{"account":"acc-{i}","currency":"EUR","balance":{},"pending":0,"state":"open"}}"#, i * 100)
        })
        .collect();
    serde_json::from_str(&format!("[{}]", json.join(","))).unwrap()
}

fn events() -> Vec<RecordedEvent> {
    (0..ITEMS as u64)
        .map(|i| {
            let encoded = MoneyDeposited { amount: Amount::new(i + 1).unwrap() }.encode();
            RecordedEvent {
                meta: EventMetadata {
                    event_id: EventId::v7(Timestamp(1_700_000_000_000 + i), [7; 10]),
                    stream: StreamId::new(format!("account-acc-{}", i % 50)),
                    version: StreamVersion(i / 50 + 1),
                    position: Position(i + 1),
                    recorded_at: Timestamp(1_700_000_000_000 + i),
                    command_id: CommandId::from(format!("c-{i}")),
                    correlation_id: CorrelationId::from(format!("c-{i}")),
                    causation_id: format!("c-{i}").as_str().into(),
                },
                event_type: encoded.event_type.into(),
                schema_version: encoded.schema_version,
                payload: encoded.payload.into(),
            }
        })
        .collect()
}

/// An event as `serde-wasm-bindgen` can carry it: the payload parsed (it is stored as JSON text,
/// which only JSON text carries as it is).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventValue<'a> {
    position: u64,
    stream: &'a str,
    version: u64,
    event_id: String,
    r#type: &'a str,
    schema_version: u16,
    recorded_at: u64,
    command_id: &'a str,
    correlation_id: &'a str,
    causation_id: &'a str,
    data: serde_json::Value,
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run with --include-ignored"]
fn boundary() {
    let swb = serde_wasm_bindgen::Serializer::json_compatible();
    console_log!("eventline JS boundary: median of {ROUNDS} rounds, {ITEMS} items each, release build");

    // Commands in: a caller's object, read as the parser needs it (JSON text: the parser keeps
    // each field raw, so that every refusal can name its field).
    let command = JSON::parse(r#"{"type":"Deposit","account":"acc-1","amount":1250,"commandId":"dep-1"}"#).unwrap();
    let json = time(|| {
        for _ in 0..ITEMS {
            let text = JSON::stringify(&command).unwrap().as_string().unwrap();
            parse_command(&text).unwrap();
        }
    });
    let by_value = time(|| {
        for _ in 0..ITEMS {
            let value: serde_json::Value = serde_wasm_bindgen::from_value(command.clone()).unwrap();
            parse_command(&value.to_string()).unwrap();
        }
    });
    line("commands in (1,000 deposits, parsed and checked)", json, by_value);

    // Query answers out: 1,000 balances.
    let docs = balances();
    let json = time(|| {
        JSON::parse(&serde_json::to_string(&docs).unwrap()).unwrap();
    });
    let by_value = time(|| {
        docs.serialize(&swb).unwrap();
    });
    line("query answer out (1,000 balance documents)", json, by_value);

    // Events out: 1,000 recorded events, as `events()` and commits hand them over.
    let log = events();
    let json = time(|| {
        let lines: Vec<String> = log.iter().map(|e| e.to_json_line().unwrap()).collect();
        JSON::parse(&format!("[{}]", lines.join(","))).unwrap();
    });
    let by_value = time(|| {
        let values: Vec<EventValue<'_>> = log
            .iter()
            .map(|e| EventValue {
                position: e.meta.position.0,
                stream: e.meta.stream.as_str(),
                version: e.meta.version.0,
                event_id: e.meta.event_id.to_string(),
                r#type: &e.event_type,
                schema_version: e.schema_version,
                recorded_at: e.meta.recorded_at.0,
                command_id: e.meta.command_id.as_str(),
                correlation_id: e.meta.correlation_id.as_str(),
                causation_id: e.meta.causation_id.as_str(),
                data: serde_json::from_str(&e.payload).unwrap(),
            })
            .collect();
        let _: JsValue = values.serialize(&swb).unwrap();
    });
    line("events out (1,000 recorded events)", json, by_value);
}
