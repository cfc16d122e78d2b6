//! Properties over random command sequences, some of them retries of earlier command ids:
//! replay is deterministic, snapshot plus tail equals full replay, a projection rebuilt from 0
//! equals one applied incrementally (and stored and restored between batches), money is never
//! created, lost or overdrawn, a retried command id appends nothing, and a forgotten customer
//! leaves no readable personal value anywhere: log, past or present read models.

mod common;

use std::collections::BTreeMap;

use common::{amount, id, run_ready};
use eventline_core::event::Event;
use eventline_core::handler::{CommandHandler, CommandMeta, Executed};
use eventline_core::ids::{Position, StreamId};
use eventline_core::memory::InMemoryStore;
use eventline_core::personal;
use eventline_core::projection::{Documents, Projection, ReadModel};
use eventline_core::saga::SagaProgress;
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::EventStore;
use eventline_core::temporal::{AsOf, aggregate_at, read_model_at};
use eventline_core::testing::TestEnv;
use eventline_core::{Aggregate, ErrorCode, RecordedEvent};
use eventline_demo::DemoEvent;
use eventline_demo::app::DemoApp;
use eventline_demo::bank::{Account, AccountEvent};
use eventline_demo::command::{DemoCommand, HolderDetails};
use eventline_demo::orders::Order;
use eventline_demo::read_models::*;
use eventline_demo::saga::TransferSaga;
use proptest::prelude::*;
use proptest::sample::Index;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const ACCOUNTS: [&str; 4] = ["a", "b", "c", "d"];
const ORDERS: [&str; 3] = ["o-1", "o-2", "o-3"];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(target_arch = "wasm32") { 40 } else { 192 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn account() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&ACCOUNTS[..])
}

fn order() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&ORDERS[..])
}

fn customer() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["alice", "bob"][..])
}

fn money() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 1..300u64, 1 => 300..2_000u64]
}

fn demo_command() -> impl Strategy<Value = DemoCommand> {
    use DemoCommand as D;
    prop_oneof![
        2 => (account(), prop::bool::weighted(0.8), prop::option::of(customer())).prop_map(|(a, eur, holder)| D::OpenAccount {
            account: id(a),
            currency: if eur { Default::default() } else { "USD".to_string().try_into().unwrap() },
            holder: holder.map(|c| HolderDetails { customer: id(c), name: format!("{c} Doe"), email: format!("{c}@example.org") }),
        }),
        4 => (account(), money()).prop_map(|(a, n)| D::Deposit { account: id(a), amount: amount(n) }),
        3 => (account(), money()).prop_map(|(a, n)| D::Withdraw { account: id(a), amount: amount(n) }),
        1 => account().prop_map(|a| D::CloseAccount { account: id(a) }),
        4 => (account(), account(), money(), prop::bool::ANY).prop_map(|(from, to, n, saga)| D::Transfer {
            from: id(from),
            to: id(to),
            amount: amount(n),
            mode: if saga { TransferMode::Saga } else { TransferMode::Atomic },
            transfer_id: None,
        }),
        1 => (order(), customer(), prop::bool::ANY).prop_map(|(o, c, address)| D::CreateOrder {
            order: id(o),
            customer: id(c),
            shipping_address: address.then(|| format!("{c}'s street 1")),
        }),
        1 => prop::sample::select(&["alice", "bob", "carol"][..]).prop_map(|c| D::ForgetSubject { subject: id(c) }),
        2 => (order(), 1..4u32, 1..500u64)
            .prop_map(|(o, q, p)| D::AddItem { order: id(o), sku: id("sku"), quantity: q, unit_price: amount(p) }),
        1 => order().prop_map(|o| D::ConfirmOrder { order: id(o) }),
        1 => (order(), 1..2_000u64).prop_map(|(o, n)| D::PayOrder { order: id(o), amount: amount(n) }),
        1 => order().prop_map(|o| D::ShipOrder { order: id(o) }),
        1 => order().prop_map(|o| D::CancelOrder { order: id(o), reason: String::new() }),
    ]
}

/// A command under a new id, or a retry of an earlier step (same id, same command).
#[derive(Clone, Debug)]
enum Step {
    New(DemoCommand),
    Retry(Index),
    /// Let the transfer saga catch up.
    RunSaga,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        8 => demo_command().prop_map(Step::New),
        2 => any::<Index>().prop_map(Step::Retry),
        1 => Just(Step::RunSaga),
    ];
    prop::collection::vec(step, 1..70)
}

struct Outcome {
    command_id: String,
    result: Option<Executed>,
    log_len_before: usize,
    log_len_after: usize,
}

/// Runs the steps on a fresh store, checking conservation of money after each one.
fn simulate(steps: &[Step], snapshots: SnapshotPolicy) -> (InMemoryStore, Vec<Outcome>) {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut issued: Vec<(String, DemoCommand)> = Vec::new();
    {
        let app = DemoApp::new(&store, &env, snapshots);
        let mut saga = SagaProgress::<TransferSaga>::default();
        for step in steps {
            env.advance(7);
            let (command_id, command) = match step {
                Step::RunSaga => {
                    run_ready(app.run_saga(&mut saga)).expect("the saga runs");
                    assert_money_is_conserved(&store);
                    continue;
                }
                Step::New(command) => (format!("cmd-{}", issued.len()), command.clone()),
                Step::Retry(_) if issued.is_empty() => continue,
                Step::Retry(index) => issued[index.index(issued.len())].clone(),
            };
            issued.push((command_id.clone(), command.clone()));
            let log_len_before = store.len();
            let result = run_ready(app.execute(CommandMeta::new(command_id.as_str()), &command));
            if let Err(error) = &result {
                // Besides the domain: forgetting no one, or recording about someone forgotten.
                let forgetting = matches!(error.code(), "UnknownSubject" | "SubjectForgotten");
                assert!(error.is_rejection() || forgetting, "only the domain refuses here: {error}");
                assert_eq!(store.len(), log_len_before, "a refused command appends nothing");
            }
            outcomes.push(Outcome { command_id, result: result.ok(), log_len_before, log_len_after: store.len() });
            assert_money_is_conserved(&store);
        }
        run_ready(app.run_saga(&mut saga)).expect("the saga runs");
    }
    assert_money_is_conserved(&store);
    (store, outcomes)
}

fn log(store: &InMemoryStore) -> Vec<RecordedEvent> {
    run_ready(store.read_all(Position::ZERO, usize::MAX)).unwrap()
}

/// Money enters by deposits and leaves by withdrawals only: whatever the transfers did, the sum
/// of balances and held amounts equals deposits minus withdrawals. Balances are unsigned, so an
/// overdraft anywhere would also have panicked on subtraction.
fn assert_money_is_conserved(store: &InMemoryStore) {
    let (mut deposited, mut withdrawn) = (0u64, 0u64);
    for event in log(store) {
        match DemoEvent::decode_recorded(&event).unwrap().event {
            DemoEvent::Account(AccountEvent::Deposited(e)) => deposited += e.amount.minor_units(),
            DemoEvent::Account(AccountEvent::Withdrawn(e)) => withdrawn += e.amount.minor_units(),
            _ => {}
        }
    }
    let balances: Projection<AccountBalances> = run_ready(read_model_at(store, AsOf::Head)).unwrap();
    assert_eq!(balances.read_model.total(), deposited - withdrawn);
    for account in ACCOUNTS {
        let state = run_ready(aggregate_at::<Account, _>(store, account, AsOf::Head)).unwrap().state;
        let held: u64 = state.pending.values().sum();
        if let Some(view) = balances.read_model.get(account) {
            assert_eq!(
                (view.balance, view.pending),
                (state.balance, held),
                "read model and aggregate agree on {account}"
            );
        }
    }
}

fn streams(store: &InMemoryStore) -> Vec<StreamId> {
    let mut streams: Vec<StreamId> = log(store).into_iter().map(|e| e.meta.stream).collect();
    streams.sort();
    streams.dedup();
    streams
}

/// Applies the log in batches, storing the changed documents and restoring the read model from
/// storage after each batch, as the browser runtime does across reloads.
fn incremental<R: ReadModel<Event = DemoEvent>>(events: &[RecordedEvent], batch: usize) -> Projection<R> {
    let mut storage: BTreeMap<String, String> = BTreeMap::new();
    let mut projection = Projection::<R>::new();
    for chunk in events.chunks(batch.max(1)) {
        for event in chunk {
            projection.apply_recorded(event);
        }
        for change in projection.read_model.take_changes() {
            match change.doc {
                Some(doc) => storage.insert(change.key, serde_json::to_string(&doc).unwrap()),
                None => storage.remove(&change.key),
            };
        }
        let docs: Documents<R::Doc> =
            storage.iter().map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap())).collect();
        projection = Projection::restore(R::from_documents(docs), projection.checkpoint);
    }
    projection
}

fn assert_rebuild_equals_incremental<R: ReadModel<Event = DemoEvent>>(store: &InMemoryStore, batch: usize) {
    let rebuilt: Projection<R> = run_ready(read_model_at(store, AsOf::Head)).unwrap();
    let applied = incremental::<R>(&log(store), batch);
    assert_eq!(applied.checkpoint, rebuilt.checkpoint, "{}", R::NAME);
    assert_eq!(applied.read_model.documents(), rebuilt.read_model.documents(), "{}", R::NAME);
}

proptest! {
    #![proptest_config(config())]

    #[wasm_bindgen_test(unsupported = test)]
    fn replay_is_deterministic(steps in steps()) {
        let (store, _) = simulate(&steps, SnapshotPolicy::Never);
        for stream in streams(&store) {
            let id = stream.aggregate_id();
            match stream.category() {
                Account::CATEGORY => {
                    let once = run_ready(aggregate_at::<Account, _>(&store, id, AsOf::Head)).unwrap();
                    let twice = run_ready(aggregate_at::<Account, _>(&store, id, AsOf::Head)).unwrap();
                    prop_assert_eq!(once, twice);
                }
                Order::CATEGORY => {
                    let once = run_ready(aggregate_at::<Order, _>(&store, id, AsOf::Head)).unwrap();
                    let twice = run_ready(aggregate_at::<Order, _>(&store, id, AsOf::Head)).unwrap();
                    prop_assert_eq!(once, twice);
                }
                _ => {}
            }
        }
        let first: Projection<AuditLog> = run_ready(read_model_at(&store, AsOf::Head)).unwrap();
        let second: Projection<AuditLog> = run_ready(read_model_at(&store, AsOf::Head)).unwrap();
        prop_assert_eq!(first, second);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn snapshot_plus_tail_equals_full_replay(steps in steps(), every in 1..6u64) {
        let (store, _) = simulate(&steps, SnapshotPolicy::Every(every));
        let env = TestEnv::default();
        let accounts: CommandHandler<Account, _, _> = CommandHandler::new(&store, &env).with_snapshots(SnapshotPolicy::Every(every));
        let orders: CommandHandler<Order, _, _> = CommandHandler::new(&store, &env).with_snapshots(SnapshotPolicy::Every(every));
        for stream in streams(&store) {
            let id = stream.aggregate_id();
            match stream.category() {
                Account::CATEGORY => prop_assert_eq!(
                    run_ready(accounts.load_from_store(&stream)).unwrap(),
                    run_ready(aggregate_at::<Account, _>(&store, id, AsOf::Head)).unwrap()
                ),
                Order::CATEGORY => prop_assert_eq!(
                    run_ready(orders.load_from_store(&stream)).unwrap(),
                    run_ready(aggregate_at::<Order, _>(&store, id, AsOf::Head)).unwrap()
                ),
                _ => {}
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn projection_rebuild_equals_incremental(steps in steps(), batch in 1..12usize) {
        let (store, _) = simulate(&steps, SnapshotPolicy::Never);
        assert_rebuild_equals_incremental::<AccountBalances>(&store, batch);
        assert_rebuild_equals_incremental::<AccountSummaries>(&store, batch);
        assert_rebuild_equals_incremental::<TopAccounts>(&store, batch);
        assert_rebuild_equals_incremental::<OrderBoard>(&store, batch);
        assert_rebuild_equals_incremental::<CustomerOrders>(&store, batch);
        assert_rebuild_equals_incremental::<TransferBoard>(&store, batch);
        assert_rebuild_equals_incremental::<AuditLog>(&store, batch);
        // Derived indexes come back with their documents.
        let rebuilt: Projection<TopAccounts> = run_ready(read_model_at(&store, AsOf::Head)).unwrap();
        let applied = incremental::<TopAccounts>(&log(&store), batch);
        prop_assert_eq!(rebuilt.read_model.top(10), applied.read_model.top(10));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn no_balance_is_ever_negative_and_money_is_conserved(steps in steps()) {
        // `simulate` checks after every step; here the final state once more, through aggregates.
        let (store, _) = simulate(&steps, SnapshotPolicy::Every(3));
        for account in ACCOUNTS {
            let state = run_ready(aggregate_at::<Account, _>(&store, account, AsOf::Head)).unwrap().state;
            prop_assert!(state.balance <= eventline_demo::money::MAX_MINOR_UNITS);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_retried_command_id_appends_nothing(steps in steps()) {
        let (_, outcomes) = simulate(&steps, SnapshotPolicy::Never);
        let mut first: BTreeMap<&str, &Outcome> = BTreeMap::new();
        for outcome in &outcomes {
            match first.get(outcome.command_id.as_str()) {
                Some(earlier) => {
                    if let Some(committed) = &earlier.result {
                        let retried = outcome.result.as_ref().expect("a committed command's retry succeeds");
                        prop_assert!(retried.replayed);
                        // The same commit, as it reads now: a forgotten holder reads redacted.
                        let shape = |e: &RecordedEvent| (e.meta.clone(), e.event_type.clone());
                        prop_assert_eq!(
                            retried.receipt.events.iter().map(shape).collect::<Vec<_>>(),
                            committed.receipt.events.iter().map(shape).collect::<Vec<_>>()
                        );
                        prop_assert_eq!(outcome.log_len_after, outcome.log_len_before);
                    }
                }
                None => {
                    first.insert(outcome.command_id.as_str(), outcome);
                }
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_forgotten_customer_leaves_no_readable_personal_value(steps in steps()) {
        let (store, _) = simulate(&steps, SnapshotPolicy::Every(2));
        let events = log(&store);
        let forgotten: Vec<(Position, String)> = events
            .iter()
            .filter_map(|e| match DemoEvent::decode_recorded(e).unwrap().event {
                DemoEvent::Forgotten(f) => Some((e.meta.position, f.subject)),
                _ => None,
            })
            .collect();
        let readable = |json: &str| personal::subjects(json);
        let about_forgotten = |json: &str| readable(json).into_iter().find(|s| forgotten.iter().any(|(_, f)| f == s));
        for event in &events {
            prop_assert_eq!(about_forgotten(&event.payload), None, "{:?}", event);
        }
        // Every read model, now and at every point before: the past does not bring them back.
        let mut points: Vec<AsOf> = forgotten.iter().map(|(p, _)| AsOf::Position(Position(p.0 - 1))).collect();
        points.push(AsOf::Head);
        for at in points {
            let summaries: Projection<AccountSummaries> = run_ready(read_model_at(&store, at)).unwrap();
            let board: Projection<OrderBoard> = run_ready(read_model_at(&store, at)).unwrap();
            let histories: Projection<CustomerOrders> = run_ready(read_model_at(&store, at)).unwrap();
            for json in [
                serde_json::to_string(&summaries.read_model.all()).unwrap(),
                serde_json::to_string(&board.read_model.all()).unwrap(),
            ] {
                prop_assert_eq!(about_forgotten(&json), None, "{}", json);
            }
            if at == AsOf::Head {
                for (_, subject) in &forgotten {
                    let history = histories.read_model.history(subject);
                    // Orders placed after forgetting (without an address) start a new history.
                    prop_assert!(history.is_none_or(|h| h.orders.iter().all(|o| board.read_model.get(&o.order).is_some_and(|c| c.shipping_address.is_none()))));
                }
            }
        }
        // The store says so too, and forgetting again changes nothing.
        for (_, subject) in &forgotten {
            prop_assert_eq!(run_ready(store.subject(subject)).unwrap(), eventline_core::store::SubjectStatus::Forgotten);
        }
    }
}
