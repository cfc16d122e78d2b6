//! The transfer saga end to end on the in-memory store: the happy path, a failed debit, a refused
//! credit with its compensation, and a crash between steps.

mod common;

use common::{App, app, run, run_ready};
use eventline_core::event::Event;
use eventline_core::ids::Position;
use eventline_core::memory::InMemoryStore;
use eventline_core::saga::{Dispatch, ProcessManager, SagaProgress};
use eventline_core::store::EventStore;
use eventline_core::temporal::{AsOf, read_model_at};
use eventline_core::testing::TestEnv;
use eventline_demo::DemoEvent;
use eventline_demo::bank::TransferStatus;
use eventline_demo::read_models::{TransferBoard, TransferProgress};
use eventline_demo::saga::TransferSaga;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn balances(app: &App<'_>, accounts: &[&str]) -> Vec<(u64, usize)> {
    accounts
        .iter()
        .map(|a| {
            let state = run_ready(app.account(a)).unwrap().state;
            (state.balance, state.pending.len())
        })
        .collect()
}

fn event_types(store: &InMemoryStore) -> Vec<String> {
    run_ready(store.read_all(Position::ZERO, 1000)).unwrap().iter().map(|e| e.event_type.to_string()).collect()
}

fn open_two_accounts(app: &App<'_>) {
    run(app, "o-a", r#"{"type":"OpenAccount","account":"a"}"#);
    run(app, "o-b", r#"{"type":"OpenAccount","account":"b"}"#);
    run(app, "d-a", r#"{"type":"Deposit","account":"a","amount":100}"#);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_saga_transfer_debits_credits_settles_and_completes() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    open_two_accounts(&app);
    run(&app, "t-1", r#"{"type":"Transfer","from":"a","to":"b","amount":40,"mode":"saga"}"#);
    assert_eq!(balances(&app, &["a", "b"]), vec![(100, 0), (0, 0)], "only the request is recorded so far");

    let mut progress = SagaProgress::<TransferSaga>::default();
    let report = run_ready(app.run_saga(&mut progress)).unwrap();
    assert_eq!((report.dispatched, report.rejected), (4, 0));
    assert_eq!(balances(&app, &["a", "b"]), vec![(60, 0), (40, 0)]);
    assert_eq!(run_ready(app.transfer("t-1")).unwrap().state.status, TransferStatus::Completed);
    assert!(progress.state.in_flight.is_empty());
    assert_eq!(progress.checkpoint, run_ready(store.head()).unwrap());
    assert_eq!(
        &event_types(&store)[3..],
        ["TransferRequested", "TransferDebited", "TransferReceived", "TransferSettled", "TransferCompleted"]
    );

    // Every step belongs to the user's conversation and names what caused it.
    let log = run_ready(store.read_all(Position(4), 10)).unwrap();
    assert!(log.iter().all(|e| e.meta.correlation_id.as_str() == "t-1"));
    assert_eq!(log[0].meta.command_id.as_str(), "t-1:debit");
    assert_eq!(
        log[0].meta.causation_id.as_str(),
        run_ready(store.read_all(Position(3), 1)).unwrap()[0].meta.event_id.to_string()
    );

    // Running again finds nothing new to do.
    let again = run_ready(app.run_saga(&mut progress)).unwrap();
    assert_eq!((again.events_seen, again.dispatched), (0, 0));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_refused_debit_fails_the_transfer_and_moves_nothing() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    open_two_accounts(&app);
    run(&app, "t-1", r#"{"type":"Transfer","from":"a","to":"b","amount":500,"mode":"saga"}"#);
    run_ready(app.run_saga(&mut SagaProgress::default())).unwrap();
    assert_eq!(balances(&app, &["a", "b"]), vec![(100, 0), (0, 0)]);
    assert_eq!(run_ready(app.transfer("t-1")).unwrap().state.status, TransferStatus::Failed);
    let board: eventline_core::Projection<TransferBoard> = run_ready(read_model_at(&store, AsOf::Head)).unwrap();
    let view = board.read_model.get("t-1").unwrap();
    assert_eq!(view.status, TransferProgress::Failed);
    assert!(view.reason.as_deref().unwrap().contains("less than the 500 requested"), "{view:?}");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_refused_credit_is_compensated_by_a_refund() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    open_two_accounts(&app);
    run(&app, "c-b", r#"{"type":"CloseAccount","account":"b"}"#);
    run(&app, "t-1", r#"{"type":"Transfer","from":"a","to":"b","amount":40,"mode":"saga"}"#);

    let mut progress = SagaProgress::<TransferSaga>::default();
    let report = run_ready(app.run_saga(&mut progress)).unwrap();
    assert_eq!(report.rejected, 1);
    assert_eq!(balances(&app, &["a", "b"]), vec![(100, 0), (0, 0)], "the money came back");
    assert_eq!(run_ready(app.transfer("t-1")).unwrap().state.status, TransferStatus::Compensated);
    assert_eq!(
        &event_types(&store)[4..],
        ["TransferRequested", "TransferDebited", "TransferCreditRejected", "TransferRefunded", "TransferCompensated"]
    );
    let board: eventline_core::Projection<TransferBoard> = run_ready(read_model_at(&store, AsOf::Head)).unwrap();
    let steps: Vec<_> = board.read_model.get("t-1").unwrap().steps.iter().map(|s| s.step).collect();
    use TransferProgress::*;
    assert_eq!(steps, vec![Requested, Debited, CreditRejected, Refunded, Compensated]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_saga_interrupted_between_steps_completes_without_repeating_them() {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = app(&store, &env);
    open_two_accounts(&app);
    run(&app, "t-1", r#"{"type":"Transfer","from":"a","to":"b","amount":40,"mode":"saga"}"#);

    // The saga reacts to the request and debits the source, then the page dies before its
    // progress is saved: what storage holds is the progress from before.
    let saved = SagaProgress::<TransferSaga>::default();
    let mut lost = saved.clone();
    let request = run_ready(store.read_all(Position(3), 1)).unwrap().remove(0);
    let issued = lost.state.react(&DemoEvent::decode_recorded(&request).unwrap());
    assert_eq!(issued.len(), 1);
    run_ready(app.dispatch(&issued[0])).unwrap();
    assert_eq!(balances(&app, &["a"]), vec![(60, 1)]);
    drop(lost);

    // After reload the saga starts again from what was saved and re-issues the debit under the
    // same id: the handler answers with the first commit, so the money moves once.
    let mut resumed = saved;
    run_ready(app.run_saga(&mut resumed)).unwrap();
    assert_eq!(balances(&app, &["a", "b"]), vec![(60, 0), (40, 0)]);
    assert_eq!(event_types(&store).iter().filter(|t| *t == "TransferDebited").count(), 1);
    assert_eq!(run_ready(app.transfer("t-1")).unwrap().state.status, TransferStatus::Completed);
}
