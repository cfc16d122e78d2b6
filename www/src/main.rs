//! # eventline-www
//!
//! The Eventline demo page: event sourcing and CQRS working live in the browser. The command side
//! ([`commands`]) sends commands to the domain; the query side ([`query`]) shows every read model
//! with how current it is; [`projections`] shows each projection's lag and controls; the
//! [`timeline`] lists every event, inspects one, and moves the query side through history;
//! [`data`] generates, exports, imports and resets; [`sync`] syncs the log with other devices. Components share signals ([`state`]) and the
//! browser runtime of `eventline-web`; no rule of the domain is repeated here.

mod commands;
mod data;
mod format;
mod projections;
mod query;
mod state;
mod sync;
mod timeline;

use leptos::prelude::*;

use state::Demo;

/// The demo's database: every tab of this origin shares it.
const DATABASE: &str = "eventline-demo";

#[component]
fn Header() -> impl IntoView {
    let demo = expect_context::<Demo>();
    // Reactive text and attributes are `String`s across the page: every other type (`u64`,
    // `&str`, `f64`) compiles its own rendering code (2.8 KB of the .wasm, gzipped, in all).
    view! {
        <header class="top">
            <h1>"Eventline"</h1>
            <p class="tagline">"Event sourcing and CQRS in your browser: commands on the left, read models in the middle, lag on the right, history below."</p>
            <div class="status">
                <span class="head" data-head=move || demo.head.get().to_string()>{move || format!("Log at #{}", demo.head.get())}</span>
                <span class=move || if demo.leader.get() { "tab leader" } else { "tab follower" }.to_string() data-tab-role=move || if demo.leader.get() { "leader" } else { "follower" }.to_string()>
                    {move || if demo.leader.get() { "This tab runs the projections" } else { "Another tab runs the projections" }.to_string()}
                </span>
            </div>
        </header>
    }
}

fn layout() -> impl IntoView {
    view! {
        <main class="layout" data-ready="true">
            <commands::CommandSide />
            <query::QuerySide />
            <div class="side">
                <data::DataTools />
                <projections::Projections />
                <sync::SyncPanel />
            </div>
            <timeline::Timeline />
        </main>
    }
}

#[component]
fn App() -> impl IntoView {
    let demo = Demo::new();
    provide_context(demo);
    demo.open(DATABASE);
    view! {
        <Header />
        {move || demo.failure.get().map(|f| view! { <p class="rejected" role="alert">{format!("The log cannot be opened: {f}")}</p> })}
        {move || if demo.ready.get() { layout().into_any() } else { view! { <p class="opening">"Opening the log…"</p> }.into_any() }}
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
