//! The demo traffic generator proposes commands the domain mostly accepts, reproducibly.

mod common;

use common::run_ready;
use eventline_core::handler::CommandMeta;
use eventline_core::memory::InMemoryStore;
use eventline_core::saga::SagaProgress;
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::testing::TestEnv;
use eventline_demo::app::DemoApp;
use eventline_demo::generate::Generator;
use eventline_demo::saga::TransferSaga;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn generate(seed: u64, attempts: usize) -> (usize, InMemoryStore) {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = DemoApp::new(&store, &env, SnapshotPolicy::Never);
    let mut generator = Generator::new(seed, "g-");
    let mut accepted = 0;
    for i in 0..attempts {
        let command = generator.next_command();
        if run_ready(app.execute(CommandMeta::new(format!("c{i}")), &command)).is_ok() {
            generator.accepted(&command);
            accepted += 1;
        }
    }
    run_ready(app.run_saga(&mut SagaProgress::<TransferSaga>::default())).unwrap();
    (accepted, store)
}

#[wasm_bindgen_test(unsupported = test)]
fn generated_traffic_is_mostly_accepted_and_reproducible() {
    let (accepted, store) = generate(7, 2_000);
    assert!(accepted > 1_500, "only {accepted} of 2000 accepted");
    let (again, other) = generate(7, 2_000);
    assert_eq!((again, other.len()), (accepted, store.len()));
    let types: std::collections::BTreeSet<String> = {
        let mut types = std::collections::BTreeSet::new();
        store.for_each_after(eventline_core::Position::ZERO, |e| {
            types.insert(e.event_type.to_string());
        });
        types
    };
    for expected in [
        "AccountOpened",
        "MoneyDeposited",
        "MoneyWithdrawn",
        "TransferSent",
        "TransferDebited",
        "TransferCompleted",
        "OrderPaid",
        "OrderShipped",
    ] {
        assert!(types.contains(expected), "no {expected} in {types:?}");
    }
}
