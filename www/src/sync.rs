//! The sync panel: connect this device's log to a sync server (docs/SYNC.md), and see what sync
//! is doing: connected or not, confirmed up to which server sequence, commits waiting in the
//! outbox, commands decided again, and commands rejected after sync with the domain's reason.

use eventline_web::runtime::SyncOptions;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::Demo;

/// What `scripts/sync-server.sh` serves: the log `demo`, its development password.
const URL: &str = "ws://127.0.0.1:4280";

/// The state's words on the page.
fn state_words(state: &str) -> &'static str {
    match state {
        "online" => "Connected",
        "connecting" => "Connecting…",
        "offline" => "Offline: the server cannot be reached (retrying)",
        "refused" => "Refused: check the user and password (retrying)",
        "standby" => "Another tab of this log syncs",
        _ => "Not syncing",
    }
}

fn field(label: &'static str, name: &'static str, value: RwSignal<String>, kind: &'static str) -> impl IntoView {
    view! {
        <label>{label}
            <input type=kind name=name prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
        </label>
    }
}

#[component]
pub fn SyncPanel() -> impl IntoView {
    let demo = expect_context::<Demo>();
    let url = RwSignal::new(URL.to_string());
    let log = RwSignal::new("demo".to_string());
    let user = RwSignal::new("demo".to_string());
    let password = RwSignal::new("demo-dev".to_string());
    let message = RwSignal::new(String::new());
    let on = move || !matches!(demo.sync.get().state, "off" | "");

    let start = move |_| {
        let Some(runtime) = demo.runtime() else { return };
        let options = SyncOptions {
            url: url.get_untracked(),
            log: log.get_untracked(),
            user: user.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match runtime.start_sync(options).await {
                Ok(()) => message.set(String::new()),
                Err(f) => message.set(format!("{}: {}", f.code, f.message)),
            }
            demo.sync.set(runtime.sync_status());
            demo.load_rejected();
        });
    };
    let stop = move |_| {
        if let Some(runtime) = demo.runtime() {
            runtime.stop_sync();
            demo.sync.set(runtime.sync_status());
        }
    };
    let status = move || demo.sync.get();

    view! {
        // Folded until opened: the page's columns keep their places for those who do not sync.
        <details class="panel sync-panel" data-sync-state=move || status().state.to_string()>
            <summary><h2 id="sync-title">"Sync"</h2>" "<span class="sync-summary">{move || state_words(status().state).to_string()}</span></summary>
            <p class="hint">"Sync this log with other devices through a NATS JetStream server (scripts/sync-server.sh)."</p>
            <div class="sync-form">
                {field("Server", "sync-url", url, "text")}
                {field("Log", "sync-log", log, "text")}
                {field("User", "sync-user", user, "text")}
                {field("Password", "sync-password", password, "password")}
                <button type="button" name="sync-start" on:click=start prop:disabled=on>"Connect"</button>
                <button type="button" name="sync-stop" on:click=stop prop:disabled=move || !on()>"Disconnect"</button>
            </div>
            <p class="sync-message" role="status">{move || message.get()}</p>
            <dl class="sync-status">
                <dt>"State"</dt><dd data-sync="state">{move || state_words(status().state).to_string()}</dd>
                <dt>"Confirmed"</dt><dd data-sync="confirmed">{move || format!("up to #{} (server sequence {})", status().confirmed, status().server_sequence)}</dd>
                <dt>"Waiting in the outbox"</dt><dd data-sync="pending">{move || status().pending.to_string()}</dd>
                <dt>"Decided again"</dt><dd data-sync="redecided">{move || status().redecided.to_string()}</dd>
                <dt>"Refused from the server"</dt><dd data-sync="dead">{move || status().dead_letters.to_string()}</dd>
                <dt>"Error"</dt><dd data-sync="error">{move || status().error.map(|e| format!("{}: {}", e.code, e.message)).unwrap_or_default()}</dd>
            </dl>
            <h3>"Rejected after sync"</h3>
            <ul class="sync-rejected" data-sync="rejected">
                {move || demo.rejected.get().into_iter().map(|r| view! {
                    <li data-command-id=r.command_id.clone()>
                        <code>{r.command_id.clone()}</code>" "<strong>{r.code.clone()}</strong>": "{r.message.clone()}
                    </li>
                }).collect_view()}
            </ul>
        </details>
    }
}
