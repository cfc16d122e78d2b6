//! # eventline-www
//!
//! The Eventline demo page. For now a placeholder that runs the core in the page: it executes a
//! few commands of the bank domain on the in-memory store and shows the resulting balances.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use eventline_core::demo::app::DemoApp;
use eventline_core::demo::command::parse_command;
use eventline_core::demo::read_models::AccountBalances;
use eventline_core::handler::CommandMeta;
use eventline_core::memory::InMemoryStore;
use eventline_core::projection::Projection;
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::temporal::{AsOf, read_model_at};
use eventline_core::testing::TestEnv;
use leptos::prelude::*;

/// The in-memory store never waits, so its futures finish on the first poll.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("in-memory futures complete at once"),
    }
}

fn sample_balances() -> Vec<(String, u64)> {
    let (store, env) = (InMemoryStore::new(), TestEnv::default());
    let app = DemoApp::new(&store, &env, SnapshotPolicy::Never);
    let commands = [
        r#"{"type":"OpenAccount","account":"alice"}"#,
        r#"{"type":"OpenAccount","account":"bob"}"#,
        r#"{"type":"Deposit","account":"alice","amount":10000}"#,
        r#"{"type":"Transfer","from":"alice","to":"bob","amount":2500}"#,
    ];
    for (i, json) in commands.iter().enumerate() {
        let request = parse_command(json).expect("sample commands parse");
        let _ = ready(app.execute(CommandMeta::new(format!("sample-{i}")), &request.command));
    }
    let balances: Projection<AccountBalances> = ready(read_model_at(&store, AsOf::Head)).unwrap_or_default();
    balances.read_model.all().into_iter().map(|b| (b.account.clone(), b.balance)).collect()
}

#[component]
fn Placeholder() -> impl IntoView {
    let balances = sample_balances();
    view! {
        <main>
            <h1>"Eventline"</h1>
            <p>"Event sourcing and CQRS in your browser. The full demo is coming; this page runs the core:"</p>
            <ul id="sample-balances">
                {balances
                    .into_iter()
                    .map(|(account, balance)| view! { <li>{account}": "{balance}</li> })
                    .collect_view()}
            </ul>
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(Placeholder);
}
