//! Hostile input, fuzzed with proptest: arbitrary JSON, strings and bytes thrown at every decoder
//! a caller or a stored event can reach. Nothing may panic; every refusal is typed; a refused
//! command appends nothing.
//!
//! Cases: 3,000 per property natively (`EVENTLINE_LONG=1` for 30,000), 150 in the browser.

mod common;

use common::run_ready;
use eventline_core::NewEvent;
use eventline_core::event::Event;
use eventline_core::handler::CommandMeta;
use eventline_core::ids::{Position, StreamVersion};
use eventline_core::memory::InMemoryStore;
use eventline_core::projection::Projection;
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::{Commit, EventStore, StreamWrite};
use eventline_core::temporal::{AsOf, catch_up};
use eventline_core::testing::TestEnv;
use eventline_core::version::ExpectedVersion;
use eventline_core::{ErrorCode, RecordedEvent};
use eventline_demo::DemoEvent;
use eventline_demo::app::{DemoApp, ERROR_CODES};
use eventline_demo::bank::AccountEvent;
use eventline_demo::command::{COMMAND_TYPES, parse_command};
use eventline_demo::generate::Generator;
use eventline_demo::import::check_log;
use eventline_demo::queries::Query;
use eventline_demo::read_models::*;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn config() -> ProptestConfig {
    let long = option_env!("EVENTLINE_LONG").is_some();
    let cases = match (cfg!(target_arch = "wasm32"), long) {
        (true, _) => 150,
        (false, false) => 3_000,
        (false, true) => 30_000,
    };
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

const FIELDS: [&str; 23] = [
    "type",
    "account",
    "amount",
    "currency",
    "from",
    "to",
    "mode",
    "transferId",
    "order",
    "customer",
    "shippingAddress",
    "holder",
    "name",
    "email",
    "subject",
    "sku",
    "quantity",
    "unitPrice",
    "reason",
    "commandId",
    "correlationId",
    "expectedVersion",
    "limit",
];

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0u64..100_000).prop_map(Value::from),
        Just(Value::from(9_007_199_254_740_992u64)),
        Just(Value::from(-0.0)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._:@-]{0,70}",
        any::<String>(),
        prop::sample::select(&COMMAND_TYPES[..]).prop_map(str::to_string),
        prop::sample::select(&["", " ", "EUR", "eur", "saga", "atomic", "teleport", "\u{0}", "é", "𝄞", "null"][..])
            .prop_map(str::to_string),
    ]
}

/// Any JSON, biased towards objects with the field names commands and queries use.
fn json() -> impl Strategy<Value = Value> {
    let leaf =
        prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), number(), text().prop_map(Value::String)];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&FIELDS[..]).prop_map(str::to_string), inner.clone()), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
            prop::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A command-shaped object: a real type, then fields of any kind.
fn command_like() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&COMMAND_TYPES[..]),
        prop::collection::vec((prop::sample::select(&FIELDS[1..]), json()), 0..8),
    )
        .prop_map(|(kind, fields)| {
            let mut object: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            object.insert("type".into(), kind.into());
            Value::Object(object)
        })
}

/// Text that is sometimes JSON and sometimes not quite.
fn raw_text() -> impl Strategy<Value = String> {
    prop_oneof![
        json().prop_map(|v| v.to_string()),
        command_like().prop_map(|v| v.to_string()),
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        command_like().prop_flat_map(|v| {
            let s = v.to_string();
            let len = s.len();
            (Just(s), 0..=len).prop_map(|(s, cut)| s.get(..cut).unwrap_or("").to_string())
        }),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Any text a caller might send is a command or an `InvalidCommand` saying why.
    #[wasm_bindgen_test(unsupported = test)]
    fn command_parsing_never_panics(input in raw_text()) {
        if let Err(error) = parse_command(&input) {
            prop_assert_eq!(error.code(), "InvalidCommand");
            prop_assert!(!error.message.is_empty());
        }
    }

    /// Whatever parses is decided: accepted (and appended whole) or refused with a known code and
    /// nothing appended.
    #[wasm_bindgen_test(unsupported = test)]
    fn executing_hostile_commands_appends_only_what_is_accepted(commands in prop::collection::vec(command_like(), 1..12)) {
        let (store, env) = (InMemoryStore::new(), TestEnv::default());
        let app = DemoApp::new(&store, &env, SnapshotPolicy::Every(3));
        // Something for the commands to act on.
        for (i, json) in [r#"{"type":"OpenAccount","account":"a"}"#, r#"{"type":"Deposit","account":"a","amount":500}"#, r#"{"type":"CreateOrder","order":"o","customer":"c"}"#].iter().enumerate() {
            run_ready(app.execute(CommandMeta::new(format!("setup-{i}")), &parse_command(json).unwrap().command)).unwrap();
        }
        for (i, json) in commands.iter().enumerate() {
            let Ok(request) = parse_command(&json.to_string()) else { continue };
            let before = store.len();
            match run_ready(app.execute(CommandMeta::new(format!("c{i}")), &request.command)) {
                Ok(executed) => prop_assert_eq!(store.len(), before + executed.receipt.events.len()),
                Err(error) => {
                    prop_assert!(ERROR_CODES.contains(&error.code()), "unexpected code {}", error.code());
                    prop_assert_eq!(store.len(), before, "a refused command appended");
                }
            }
        }
    }

    /// A stored event of any type, version and payload decodes or is refused, typed.
    #[wasm_bindgen_test(unsupported = test)]
    fn event_decoding_never_panics(
        event_type in prop_oneof![prop::sample::select(&eventline_demo::EVENT_TYPES[..]).prop_map(str::to_string), any::<String>()],
        version in 0u16..5,
        payload in raw_text(),
    ) {
        if let Err(error) = DemoEvent::decode(&event_type, version, &payload) {
            prop_assert!(["UnknownEventType", "InvalidEventPayload", "UnsupportedSchemaVersion"].contains(&error.code()));
        }
    }

    /// An import line is an event or a `WireError`.
    #[wasm_bindgen_test(unsupported = test)]
    fn json_lines_never_panic(line in raw_text()) {
        if let Ok(event) = RecordedEvent::from_json_line(&line) {
            // What parses round-trips.
            prop_assert_eq!(RecordedEvent::from_json_line(&event.to_json_line().unwrap()).unwrap(), event);
        }
    }

    /// Query arguments of any shape are answered or refused with `InvalidQuery`.
    #[wasm_bindgen_test(unsupported = test)]
    fn queries_never_panic(args in raw_text()) {
        let answers = [
            AccountBalances::default().query(&args),
            AccountSummaries::default().query(&args),
            TopAccounts::default().query(&args),
            OrderBoard::default().query(&args),
            CustomerOrders::default().query(&args),
            TransferBoard::default().query(&args),
            AuditLog::default().query(&args),
        ];
        for answer in answers {
            match answer {
                Ok(json) => prop_assert!(serde_json::from_str::<Value>(&json).is_ok()),
                Err(error) => prop_assert_eq!(error.code(), "InvalidQuery"),
            }
        }
    }

    /// A log changed at random (numbers, types, streams, versions, ids, payloads, events dropped
    /// or repeated) is refused by the import check, or, if it passes, keeps every rule once
    /// appended: every stream folds, no read model passes over an event, and the money in the
    /// accounts is what was deposited minus what was withdrawn.
    #[wasm_bindgen_test(unsupported = test)]
    fn a_log_that_passes_the_import_check_keeps_every_rule(
        seed in 0u64..1_000,
        mutations in prop::collection::vec((any::<prop::sample::Index>(), 0u8..10, json(), any::<i64>()), 1..4),
    ) {
        let mut log = generated_log(seed);
        for (index, kind, value, number) in mutations {
            let at = index.index(log.len());
            mutate(&mut log, at, kind, value, number);
        }
        let (store, env) = (InMemoryStore::new(), TestEnv::default());
        let app = DemoApp::new(&store, &env, SnapshotPolicy::Never);
        match check_log(&[], &log, |_| 0) {
            Err(refused) => prop_assert!(!refused.message.is_empty()),
            Ok(()) => {
                for commit in log.chunk_by(|a, b| a.meta.command_id == b.meta.command_id) {
                    run_ready(store.append(as_commit(commit))).map_err(|e| TestCaseError::fail(format!("append: {e}")))?;
                }
                let mut held = 0u128;
                let streams: std::collections::BTreeSet<_> = log.iter().map(|e| e.meta.stream.clone()).collect();
                for stream in streams {
                    let state = run_ready(app.state_at(&stream, AsOf::Head));
                    prop_assert!(state.is_ok(), "{} does not fold: {:?}", stream, state.err());
                    if stream.category() == "account" {
                        let account = run_ready(app.account(stream.aggregate_id())).unwrap().state;
                        held += u128::from(account.balance) + account.pending.values().map(|&p| u128::from(p)).sum::<u128>();
                    }
                }
                let mut balances = Projection::<AccountBalances>::new();
                let dead = run_ready(catch_up(&store, &mut balances, AsOf::Head, 256)).unwrap();
                prop_assert!(dead.is_empty(), "{:?}", dead);
                let moved: i128 = log.iter().map(|e| match DemoEvent::decode(&e.event_type, e.schema_version, &e.payload) {
                    Ok(DemoEvent::Account(AccountEvent::Deposited(d))) => i128::from(d.amount.minor_units()),
                    Ok(DemoEvent::Account(AccountEvent::Withdrawn(w))) => -i128::from(w.amount.minor_units()),
                    _ => 0,
                }).sum();
                prop_assert_eq!(held as i128, moved, "money made or lost");
                prop_assert_eq!(u128::from(balances.read_model.total()), held);
            }
        }
    }
}

/// The log a seeded stream of valid commands makes, sagas run to the end.
fn generated_log(seed: u64) -> Vec<RecordedEvent> {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = DemoApp::new(&store, &env, SnapshotPolicy::Never);
    let mut generator = Generator::new(seed, "h-");
    for i in 0..40 {
        let command = generator.next_command();
        if run_ready(app.execute(CommandMeta::new(format!("g{i}")), &command)).is_ok() {
            generator.accepted(&command);
        }
    }
    let mut progress = Default::default();
    while run_ready(app.run_saga(&mut progress)).unwrap().events_seen > 0 {}
    run_ready(store.read_all(Position::ZERO, usize::MAX)).unwrap()
}

/// One random change to a log, of the kinds a careless edit or a forger would make.
fn mutate(log: &mut Vec<RecordedEvent>, at: usize, kind: u8, value: Value, number: i64) {
    let other = (at + 1 + number.unsigned_abs() as usize % log.len().max(1)) % log.len().max(1);
    match kind {
        // A number in the payload changed.
        0 => {
            let mut payload: Value = serde_json::from_str(&log[at].payload).unwrap_or(Value::Null);
            if let Some(field) = payload.as_object_mut().and_then(|o| o.values_mut().find(|v| v.is_number())) {
                *field = Value::from(number % 2_000);
            }
            log[at].payload = payload.to_string().into();
        }
        1 => log[at].event_type = eventline_demo::EVENT_TYPES[number.unsigned_abs() as usize % 22].into(),
        2 => log[at].meta.stream = log[other].meta.stream.clone(),
        3 => log[at].meta.version = StreamVersion(number.unsigned_abs() % 5),
        4 => log[at].meta.event_id = log[other].meta.event_id,
        5 => log[at].payload = value.to_string().into(),
        6 => {
            log.remove(at);
        }
        7 => {
            let copy = log[at].clone();
            log.insert(other, copy);
        }
        8 => log.swap(at, other),
        _ => log[at].meta.command_id = log[other].meta.command_id.clone(),
    }
}

/// Consecutive events of one command as the commit that wrote them, expecting nothing: the
/// import check has already held each stream's versions to the store's.
fn as_commit(events: &[RecordedEvent]) -> Commit {
    let mut writes: Vec<StreamWrite> = Vec::new();
    for event in events {
        let new = NewEvent {
            event_id: event.meta.event_id,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            payload: event.payload.clone(),
        };
        match writes.iter_mut().find(|w| w.stream == event.meta.stream) {
            Some(write) => write.events.push(new),
            None => writes.push(StreamWrite {
                stream: event.meta.stream.clone(),
                expected: ExpectedVersion::Any,
                events: vec![new],
            }),
        }
    }
    Commit {
        command_id: events[0].meta.command_id.clone(),
        correlation_id: events[0].meta.correlation_id.clone(),
        causation_id: events[0].meta.causation_id.clone(),
        recorded_at: events[0].meta.recorded_at,
        writes,
        digest: None,
    }
}

/// A message on a log's subjects from a sync server: a real part of a commit with one field
/// replaced by any JSON, or any text at all.
fn server_message() -> impl Strategy<Value = (String, Vec<u8>)> {
    use eventline_core::Environment;
    use eventline_core::envelope::EventMetadata;
    use eventline_core::sync::{messages, subject};
    let env = TestEnv::default();
    let events = (1..=2u64)
        .map(|version| RecordedEvent {
            meta: EventMetadata {
                event_id: env.new_event_id(env.now()),
                stream: "account-a".into(),
                version: StreamVersion(version),
                position: Position(version),
                recorded_at: env.now(),
                command_id: "c1".into(),
                correlation_id: "c1".into(),
                causation_id: "c1".into(),
            },
            event_type: "MoneyDeposited".into(),
            schema_version: 1,
            payload: format!(r#"{{"amount":{version}}}"#).into(),
        })
        .collect();
    let receipt = eventline_core::store::CommitReceipt { command_id: "c1".into(), events, digest: None };
    let valid = messages("demo", &receipt, &|_| 0, "b").unwrap().remove(0);
    let fields = ["command", "correlation", "causation", "at", "digest", "stream", "from", "part", "parts", "events"];
    let base: Value = serde_json::from_slice(&valid.body).unwrap();
    let subjects = prop::sample::select(vec![
        valid.subject.clone(),
        subject("demo", &"account-b".into()),
        subject("other", &"account-a".into()),
        "el.demo.s.account".to_string(),
    ]);
    let body = prop_oneof![
        (prop::sample::select(fields.to_vec()), json()).prop_map(move |(field, value)| {
            let mut part = base.clone();
            part[field] = value;
            part.to_string().into_bytes()
        }),
        raw_text().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..300),
    ];
    (subjects, body)
}

proptest! {
    #![proptest_config(config())]

    /// What a server delivers is gathered and read into commits or refusals with a code, whatever
    /// the messages and their batch headers say; never a panic, every message accounted for in
    /// the server's order.
    #[wasm_bindgen_test(unsupported = test)]
    fn server_messages_are_commits_or_refusals(
        delivered in prop::collection::vec((server_message(), prop::option::of(0..3u8), any::<bool>(), any::<bool>()), 1..8)
    ) {
        use eventline_core::sync::{Delivered, Reassembly, read_commit};
        let mut commits = Reassembly::default();
        for (seq, ((subject, body), batch, ends, begins)) in delivered.iter().enumerate() {
            if let Err(error) = read_commit("demo", &[(subject.as_str(), body.as_slice())]) {
                prop_assert!(["ForeignMessage", "IncompleteCommit"].contains(&error.code), "{error}");
            }
            let batch = batch.map(|b| format!("b{b}"));
            let (subject, body) = (subject.clone(), body.clone());
            let message = Delivered { subject, body, seq: seq as u64 + 1, batch: batch.as_deref(), commits: *ends, begins: *begins };
            commits.take("demo", message);
        }
        let pulled = commits.finish();
        prop_assert!(pulled.windows(2).all(|w| w[0].seq < w[1].seq));
        prop_assert!(pulled.iter().all(|p| p.seq >= 1 && p.seq <= delivered.len() as u64));
        for p in &pulled {
            if let Err(error) = &p.commit {
                prop_assert!(["ForeignMessage", "IncompleteCommit"].contains(&error.code), "{error}");
            }
        }
    }
}
