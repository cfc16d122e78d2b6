//! Core benchmark workloads, shared by the native harness (`benches/core.rs`) and the browser run
//! (`tests/wasm_bench.rs`). Each workload runs Eventline and a hand-written baseline doing the
//! same work on the same data in the same process, alternately, and reports the median of each
//! and their ratio: absolute figures drift between machines, the ratio much less.

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use eventline_core::event::EventPayload;
use eventline_core::handler::CommandMeta;
use eventline_core::ids::{Position, StreamId};
use eventline_core::memory::InMemoryStore;
use eventline_core::projection::Projection;
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::{Commit, EventStore, StreamWrite};
use eventline_core::temporal::{AsOf, aggregate_at, catch_up};
use eventline_core::testing::TestEnv;
use eventline_core::version::ExpectedVersion;
use eventline_core::{Environment, NewEvent};
use eventline_demo::app::DemoApp;
use eventline_demo::bank::{Account, MoneyDeposited};
use eventline_demo::command::DemoCommand;
use eventline_demo::money::{Amount, EntityId};
use eventline_demo::read_models::AccountBalances;

/// How much each workload moves: [`Size::FULL`] for the figures, [`Size::SMOKE`] for the test
/// command's run, which only proves the benchmark still runs and prints every figure.
#[derive(Clone, Copy)]
pub struct Size {
    pub events: usize,
    pub commands: usize,
}

impl Size {
    pub const FULL: Size = Size { events: 100_000, commands: 20_000 };
    pub const SMOKE: Size = Size { events: 2_000, commands: 200 };
}

fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("in-memory futures complete at once"),
    }
}

/// One result line.
pub struct Figure {
    pub name: &'static str,
    pub items: usize,
    pub unit: &'static str,
    pub eventline_ms: f64,
    pub baseline_ms: f64,
    pub baseline: &'static str,
}

impl Figure {
    pub fn line(&self) -> String {
        let rate = |ms: f64| self.items as f64 / (ms / 1000.0);
        format!(
            "{:<34} {:>7} {:<8} eventline {:>8.2} ms = {:>10.0} {}/s | baseline ({}) {:>8.2} ms = {:>10.0} {}/s | ratio {:.2}",
            self.name,
            self.items,
            self.unit,
            self.eventline_ms,
            rate(self.eventline_ms),
            self.unit,
            self.baseline,
            self.baseline_ms,
            rate(self.baseline_ms),
            self.unit,
            self.baseline_ms / self.eventline_ms,
        )
    }
}

/// Runs both sides `rounds` times, alternating, and keeps each side's median.
fn compare(
    now: &dyn Fn() -> f64,
    rounds: usize,
    mut eventline: impl FnMut(),
    mut baseline: impl FnMut(),
) -> (f64, f64) {
    let (mut e, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = now();
        eventline();
        e.push(now() - t);
        let t = now();
        baseline();
        b.push(now() - t);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.total_cmp(y));
        v[v.len() / 2]
    };
    (median(&mut e), median(&mut b))
}

fn id(s: &str) -> EntityId {
    EntityId::parse(s).unwrap()
}

/// One account opened, then `events - 1` deposits, written through the command handler.
fn busy_account(env: &TestEnv, events: usize) -> InMemoryStore {
    let store = InMemoryStore::new();
    let commits = (0..events).map(|i| {
        let (event_type, schema, payload) = if i == 0 {
            ("AccountOpened", 2, r#"{"currency":"EUR"}"#.to_string())
        } else {
            let e = MoneyDeposited { amount: Amount::new(1 + (i as u64 % 500)).unwrap() }.encode();
            (e.event_type, e.schema_version, e.payload)
        };
        commit(env, &format!("c{i}"), "account-busy", event_type, schema, payload)
    });
    ready(store.append_batch(commits.collect())).unwrap();
    store
}

fn commit(env: &TestEnv, command: &str, stream: &str, event_type: &str, schema: u16, payload: String) -> Commit {
    Commit {
        command_id: command.into(),
        correlation_id: command.into(),
        causation_id: command.into(),
        recorded_at: env.now(),
        writes: vec![StreamWrite {
            stream: StreamId::from(stream),
            expected: ExpectedVersion::Any,
            events: vec![NewEvent {
                event_id: env.new_event_id(env.now()),
                event_type: event_type.into(),
                schema_version: schema,
                payload: payload.into(),
            }],
        }],
        digest: None,
    }
}

/// 1,000 accounts, then deposits spread over them: `events` events in all.
fn many_accounts(env: &TestEnv, events: usize) -> InMemoryStore {
    let store = InMemoryStore::new();
    let commits = (0..events).map(|i| {
        let account = format!("account-a{}", i % 1000);
        if i < 1000 {
            commit(env, &format!("c{i}"), &account, "AccountOpened", 2, r#"{"currency":"EUR"}"#.into())
        } else {
            let e = MoneyDeposited { amount: Amount::new(1 + (i as u64 % 97)).unwrap() }.encode();
            commit(env, &format!("c{i}"), &account, e.event_type, e.schema_version, e.payload)
        }
    });
    ready(store.append_batch(commits.collect())).unwrap();
    store
}

pub fn run(now: &dyn Fn() -> f64, rounds: usize, size: Size) -> Vec<Figure> {
    let env = TestEnv::default();
    let mut figures = Vec::new();

    // Replay: an aggregate's state from its 100k events, read from the store, decoded and folded.
    let store = busy_account(&env, size.events);
    let (e, b) = compare(
        now,
        rounds,
        || {
            black_box(ready(aggregate_at::<Account, _>(&store, "busy", AsOf::Head)).unwrap().state.balance);
        },
        || {
            // The least a fold of this log can do: parse each payload and add.
            let mut balance = 0u64;
            store.for_each_after(Position::ZERO, |e| {
                if &*e.event_type == MoneyDeposited::TYPE {
                    balance += serde_json::from_str::<MoneyDeposited>(&e.payload).unwrap().amount.minor_units();
                }
            });
            black_box(balance);
        },
    );
    figures.push(Figure {
        name: "replay one aggregate",
        items: size.events,
        unit: "events",
        eventline_ms: e,
        baseline_ms: b,
        baseline: "hand fold",
    });

    // Rebuild: a read model from 100k events across 1,000 accounts.
    let store = many_accounts(&env, size.events);
    let (e, b) = compare(
        now,
        rounds,
        || {
            let mut balances = Projection::<AccountBalances>::new();
            ready(catch_up(&store, &mut balances, AsOf::Head, 4096)).unwrap();
            black_box(balances.read_model.total());
        },
        || {
            let mut balances: HashMap<String, u64> = HashMap::new();
            store.for_each_after(Position::ZERO, |e| {
                let account = e.meta.stream.aggregate_id();
                if &*e.event_type == MoneyDeposited::TYPE {
                    let amount = serde_json::from_str::<MoneyDeposited>(&e.payload).unwrap().amount.minor_units();
                    if let Some(b) = balances.get_mut(account) {
                        *b += amount;
                    }
                } else {
                    balances.insert(account.to_string(), 0);
                }
            });
            black_box(balances.values().sum::<u64>());
        },
    );
    figures.push(Figure {
        name: "rebuild balances read model",
        items: size.events,
        unit: "events",
        eventline_ms: e,
        baseline_ms: b,
        baseline: "hand fold",
    });

    // Decide + append: deposit commands through the command handler (state cached), against
    // appending the same events as ready-made commits.
    let (mut e_times, mut b_times) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let store = InMemoryStore::new();
        let app = DemoApp::new(&store, &env, SnapshotPolicy::Never);
        let open = DemoCommand::OpenAccount { account: id("acc"), currency: Default::default(), holder: None };
        ready(app.execute(CommandMeta::new("open"), &open)).unwrap();
        let deposit = DemoCommand::Deposit { account: id("acc"), amount: Amount::new(5).unwrap() };
        let ids: Vec<String> = (0..size.commands).map(|i| format!("d{i}")).collect();
        let t = now();
        for command_id in &ids {
            ready(app.execute(CommandMeta::new(command_id.as_str()), &deposit)).unwrap();
        }
        e_times.push(now() - t);

        let raw = InMemoryStore::new();
        let payload = MoneyDeposited { amount: Amount::new(5).unwrap() }.encode().payload;
        let t = now();
        for command_id in &ids {
            let c = commit(&env, command_id, "account-acc", MoneyDeposited::TYPE, 1, payload.clone());
            ready(raw.append(c)).unwrap();
        }
        b_times.push(now() - t);
    }
    e_times.sort_by(|x, y| x.total_cmp(y));
    b_times.sort_by(|x, y| x.total_cmp(y));
    figures.push(Figure {
        name: "decide + append (in-memory store)",
        items: size.commands,
        unit: "commands",
        eventline_ms: e_times[rounds / 2],
        baseline_ms: b_times[rounds / 2],
        baseline: "bare append",
    });

    figures
}
