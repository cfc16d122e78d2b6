//! Personal data and forgetting, over the in-memory store: holders and shipping addresses are
//! recorded as personal values and decide nothing; `ForgetSubject` redacts them everywhere (log,
//! read models now and in the past) while aggregates go on deciding; forgetting is idempotent,
//! forgetting no one is a typed error, and a forgotten customer stays forgotten.

mod common;

use common::{app, id, run, run_ready};
use eventline_core::handler::CommandMeta;
use eventline_core::ids::Position;
use eventline_core::memory::InMemoryStore;
use eventline_core::personal::{Personal, Redaction};
use eventline_core::projection::Projection;
use eventline_core::store::EventStore;
use eventline_core::store::SubjectStatus;
use eventline_core::temporal::{AsOf, read_model_at};
use eventline_core::testing::{Scenario, TestEnv};
use eventline_core::{ErrorCode, StreamId};
use eventline_demo::bank::{Account, AccountCommand, AccountOpened, Holder};
use eventline_demo::command::parse_command;
use eventline_demo::money::Currency;
use eventline_demo::orders::{Order, OrderCommand, OrderCreated};
use eventline_demo::read_models::{AccountSummaries, CustomerOrders, OrderBoard};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn ada() -> Personal<Holder> {
    Personal::new("c-ada", Holder { name: "Ada Lovelace".into(), email: "ada@example.org".into() })
}

#[wasm_bindgen_test(unsupported = test)]
fn a_holder_is_recorded_as_personal_data_and_decides_nothing() {
    Scenario::<Account>::given_no_previous_events()
        .when(AccountCommand::Open { account: id("a"), currency: Currency::eur(), holder: Some(ada()) })
        .then_expect_events(vec![AccountOpened { currency: Currency::eur(), holder: Some(ada()) }.into()]);
    // The state an account decides on holds nothing personal, so forgetting cannot change a
    // decision.
    let state = serde_json::to_string(&Account::default()).unwrap();
    assert!(!state.contains("holder"), "{state}");
    let address = "1 Main Street".to_string();
    Scenario::<Order>::given_no_previous_events()
        .when(OrderCommand::Create { order: id("o"), customer: id("c-ada"), shipping_address: Some(address.clone()) })
        .then_expect_events(vec![
            OrderCreated { customer: id("c-ada"), shipping_address: Some(Personal::new("c-ada", address)) }.into(),
        ]);
}

#[wasm_bindgen_test(unsupported = test)]
fn commands_validate_personal_fields() {
    let holder =
        r#"{"type":"OpenAccount","account":"a","holder":{"customer":"c-1","name":"Ada","email":"ada@example.org"}}"#;
    assert!(parse_command(holder).is_ok());
    for (json, expected) in [
        (r#"{"type":"OpenAccount","account":"a","holder":"Ada"}"#, "`holder` is an object"),
        (r#"{"type":"OpenAccount","account":"a","holder":{"customer":"c","name":"","email":"a@b.c"}}"#, "holder.name"),
        (
            r#"{"type":"OpenAccount","account":"a","holder":{"customer":"c","name":"A","email":"nope"}}"#,
            "email address",
        ),
        (r#"{"type":"OpenAccount","account":"a","holder":{"name":"A","email":"a@b.c"}}"#, "holder.customer"),
        (
            r#"{"type":"OpenAccount","account":"a","holder":{"customer":"c","name":"A","email":"a@b.c","age":3}}"#,
            "unknown field",
        ),
        (r#"{"type":"CreateOrder","order":"o","customer":"c","shippingAddress":7}"#, "shippingAddress"),
        (r#"{"type":"ForgetSubject"}"#, "missing field `subject`"),
        (r#"{"type":"ForgetSubject","subject":"not an id"}"#, "subject"),
    ] {
        let error = parse_command(json).unwrap_err();
        assert!(error.message.contains(expected), "{json}: {}", error.message);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn forgetting_redacts_everywhere_and_the_log_goes_on() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    run(
        &app,
        "open-a",
        r#"{"type":"OpenAccount","account":"a","holder":{"customer":"c-ada","name":"Ada Lovelace","email":"ada@example.org"}}"#,
    );
    run(
        &app,
        "open-b",
        r#"{"type":"OpenAccount","account":"b","holder":{"customer":"c-bob","name":"Bob","email":"bob@example.org"}}"#,
    );
    run(&app, "dep", r#"{"type":"Deposit","account":"a","amount":100}"#);
    run(
        &app,
        "order",
        r#"{"type":"CreateOrder","order":"o-1","customer":"c-ada","shippingAddress":"12 Crescent Road"}"#,
    );
    let before_forget = run_ready(store.head()).unwrap();
    assert_eq!(run_ready(store.subject("c-ada")).unwrap(), SubjectStatus::Known);

    let forgot = run(&app, "forget", r#"{"type":"ForgetSubject","subject":"c-ada"}"#);
    assert_eq!(&*forgot.receipt.events[0].event_type, "SubjectForgotten");
    assert_eq!(forgot.receipt.events[0].meta.stream, StreamId::from("subject-c-ada"));
    assert_eq!(run_ready(store.subject("c-ada")).unwrap(), SubjectStatus::Forgotten);

    // The log keeps its shape; Ada's values read as redacted, Bob's as written.
    let log = run_ready(store.read_all(Position::ZERO, 100)).unwrap();
    assert_eq!(log.len(), 5);
    let text: String = log.iter().map(|e| e.payload.to_string()).collect();
    for secret in ["Ada Lovelace", "ada@example.org", "12 Crescent Road"] {
        assert!(!text.contains(secret), "{secret} is still in the log");
    }
    assert!(text.contains(r#"{"$personal":"c-ada","redacted":"forgotten"}"#));
    assert!(text.contains("bob@example.org"));

    // Read models now, rebuilt from 0, and as they were before the forgetting.
    for at in [AsOf::Head, AsOf::Position(before_forget)] {
        let summaries: Projection<AccountSummaries> = run_ready(read_model_at(&store, at)).unwrap();
        let holder = summaries.read_model.get("a").unwrap().holder.clone().unwrap();
        assert_eq!(holder, Personal::Redacted { subject: "c-ada".into(), reason: Redaction::Forgotten });
        assert!(summaries.read_model.get("b").unwrap().holder.as_ref().unwrap().value().is_some());
        let board: Projection<OrderBoard> = run_ready(read_model_at(&store, at)).unwrap();
        assert!(board.read_model.get("o-1").unwrap().shipping_address.as_ref().unwrap().value().is_none());
    }
    let histories: Projection<CustomerOrders> = run_ready(read_model_at(&store, AsOf::Head)).unwrap();
    assert!(histories.read_model.history("c-ada").is_none(), "a forgotten customer's history goes");

    // Aggregates still replay and decide.
    run(&app, "dep-2", r#"{"type":"Deposit","account":"a","amount":5}"#);
    assert_eq!(run_ready(app.account("a")).unwrap().state.balance, 105);
    run(&app, "ship", r#"{"type":"AddItem","order":"o-1","sku":"s","quantity":1,"unitPrice":5}"#);

    // Forgetting again returns the first forgetting; forgetting no one is a typed error.
    let again = run(&app, "forget-again", r#"{"type":"ForgetSubject","subject":"c-ada"}"#);
    assert!(again.replayed);
    assert_eq!(again.receipt, forgot.receipt);
    let unknown = run_ready(
        app.execute(CommandMeta::new("x"), &common::command(r#"{"type":"ForgetSubject","subject":"c-zed"}"#)),
    );
    assert_eq!(unknown.unwrap_err().code(), "UnknownSubject");

    // A forgotten customer stays forgotten: new personal data about them is refused.
    let head = run_ready(store.head()).unwrap();
    let refused = run_ready(app.execute(
        CommandMeta::new("reopen"),
        &common::command(r#"{"type":"OpenAccount","account":"z","holder":{"customer":"c-ada","name":"Ada","email":"ada@example.org"}}"#),
    ));
    assert_eq!(refused.unwrap_err().code(), "SubjectForgotten");
    assert_eq!(run_ready(store.head()).unwrap(), head);
    let (state, _) = run_ready(app.state_at(&StreamId::from("subject-c-ada"), AsOf::Head)).unwrap();
    assert_eq!(state, r#"{"status":"forgotten"}"#);
}
