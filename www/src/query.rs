//! The query side: every read model in a panel, with how current it is. When the timeline's
//! scrubber is set, every panel shows the read model as it was then.

use std::rc::Rc;

use eventline_core::ids::Position;
use eventline_core::projection::Lag;
use eventline_core::temporal::AsOf;
use eventline_demo::DemoEvent;
use eventline_web::runtime;

/// Every read model of the demo at a point in history.
type History = runtime::History<DemoEvent>;
use leptos::prelude::*;
use serde_json::{Value, json};

use crate::format::{self, money_of, text};
use crate::state::{Demo, loaded, title};

/// Rows shown per table; the rest is counted.
const ROWS: usize = 12;

type Render = fn(&Value) -> AnyView;

/// The badge of a panel: its text and its class. The point in history when the page shows the
/// past; otherwise what the answer on screen says of itself (its position and lag, so the badge
/// and the table never disagree), or what the projection is doing (paused, rebuilding, failed).
fn badge(demo: Demo, name: &'static str, shown: Option<(u64, Lag)>) -> (String, &'static str) {
    if let Some(at) = demo.as_of.get() {
        return (format!("as of #{at}"), "history");
    }
    let Some((position, lag)) = shown else { return ("…".into(), "unknown") };
    let state = if lag.events == 0 {
        (format!("up to date at #{position}"), "current")
    } else {
        (format!("behind by {} events / {} ms", lag.events, lag.ms), "behind")
    };
    // With sync on: whether what the answer folded is all confirmed by the server, or includes
    // this device's commits still waiting for it.
    let state = match demo.sync.with(|s| (!matches!(s.state, "off" | "")).then_some(s.confirmed)) {
        Some(confirmed) if position > confirmed => (format!("{} · local", state.0), state.1),
        Some(_) => (format!("{} · confirmed", state.0), state.1),
        None => state,
    };
    let status = demo.statuses.with(|all| all.iter().find(|s| s.name == name).map(|s| (s.status, s.progress)));
    match status {
        Some(("paused", _)) => (format!("paused · {}", state.0), "behind"),
        Some(("rebuilding", progress)) => (
            format!("rebuilding {}% · showing the read model from before", (progress.unwrap_or(0.0) * 100.0) as u64),
            "behind",
        ),
        Some(("failed", _)) => ("failed".into(), "failed"),
        _ => state,
    }
}

/// A panel's badge, which leads to its projection's gauge.
fn badge_view(
    demo: Demo,
    name: &'static str,
    shown: impl Fn() -> Option<(u64, Lag)> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let current = move || badge(demo, name, shown());
    view! {
        <a class=move || format!("badge {}", current().1) data-badge=name aria-live="polite"
            href=format!("#projection-{name}") title="Its projection: lag, history and controls">{move || current().0}</a>
    }
}

#[component]
fn Panel(
    name: &'static str,
    title: &'static str,
    args: Value,
    render: Render,
    history: ReadSignal<Option<Rc<History>>, LocalStorage>,
) -> impl IntoView {
    let demo = expect_context::<Demo>();
    let live_args = args.clone();
    let live = loaded(move || {
        let args = live_args.clone();
        demo.refresh.track();
        async move {
            let answer = demo.runtime()?.query(name, &args.to_string()).await.ok()?;
            Some((answer.value(), answer.position, answer.lag))
        }
    });
    let data = move || match demo.as_of.get() {
        Some(_) => history
            .get()
            .and_then(|h| h.query(name, &args.to_string()).ok())
            .and_then(|j| serde_json::from_str(&j).ok()),
        None => live.get().map(|(data, _, _)| data),
    };
    let shown = move || live.with(|l| l.as_ref().map(|(_, position, lag)| (*position, *lag)));
    view! {
        <article class="read-model" data-read-model=name id=format!("rm-{name}") aria-labelledby=format!("rm-{name}-title")>
            <header>
                <h3 id=format!("rm-{name}-title")>{title}</h3>
                {badge_view(demo, name, shown)}
            </header>
            <div class="body">{move || data().map(|d| render(&d))}</div>
        </article>
    }
}

fn more(total: usize) -> Option<AnyView> {
    (total > ROWS).then(|| view! { <p class="more">{format!("and {} more", total - ROWS)}</p> }.into_any())
}

fn balances(data: &Value) -> AnyView {
    let accounts = data["accounts"].as_array().cloned().unwrap_or_default();
    let total = accounts.len();
    view! {
        <table>
            <thead><tr><th>"Account"</th><th class="n">"Balance"</th><th class="n">"Held"</th><th>"State"</th></tr></thead>
            <tbody>
                {accounts.into_iter().take(ROWS).map(|a| {
                    let currency = text(&a["currency"]);
                    view! {
                        <tr data-account=text(&a["account"])>
                            <td>{text(&a["account"])}</td>
                            <td class="n balance">{money_of(&a["balance"], &currency)}</td>
                            <td class="n">{money_of(&a["pending"], &currency)}</td>
                            <td>{text(&a["state"])}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {more(total)}
        <p class="total">{format!("Money in all accounts: {}", money_of(&data["total"], "EUR"))}</p>
    }
    .into_any()
}

fn summaries(data: &Value) -> AnyView {
    let rows = data.as_array().cloned().unwrap_or_default();
    let total = rows.len();
    view! {
        <table>
            <thead><tr><th>"Account"</th><th>"Holder"</th><th class="n">"Money in"</th><th class="n">"Money out"</th><th class="n">"Transactions"</th><th>"Last activity"</th></tr></thead>
            <tbody>
                {rows.into_iter().take(ROWS).map(|s| {
                    let deposits = s["totalDeposits"].as_u64().unwrap_or(0) + s["totalTransferredIn"].as_u64().unwrap_or(0);
                    let withdrawals = s["totalWithdrawals"].as_u64().unwrap_or(0) + s["totalTransferredOut"].as_u64().unwrap_or(0);
                    let (holder, redacted) = format::personal_or_dash(&s["holder"]);
                    view! {
                        <tr>
                            <td>{text(&s["account"])}</td>
                            <td class="wraps" class:redacted=redacted data-holder=text(&s["account"])>{holder}</td>
                            <td class="n">{format::money(deposits, "")}</td>
                            <td class="n">{format::money(withdrawals, "")}</td>
                            <td class="n">{text(&s["transactionCount"])}</td>
                            <td>{format::time(s["lastActivity"].as_u64().unwrap_or(0))}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {more(total)}
    }
    .into_any()
}

fn top(data: &Value) -> AnyView {
    let rows = data.as_array().cloned().unwrap_or_default();
    view! {
        <ol class="ranking">
            {rows.into_iter().map(|r| view! {
                <li><span>{text(&r["account"])}</span><span class="n">{money_of(&r["balance"], &text(&r["currency"]))}</span></li>
            }).collect_view()}
        </ol>
    }
    .into_any()
}

fn board(data: &Value) -> AnyView {
    let counts: Vec<(String, String)> =
        data["counts"].as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect()).unwrap_or_default();
    let orders = data["orders"].as_array().cloned().unwrap_or_default();
    let mut to_ship: Vec<Value> = orders.iter().filter(|o| o["status"] == "paid").cloned().collect();
    to_ship.sort_by_key(|o| o["updatedAt"].as_u64());
    let shown = to_ship.len();
    view! {
        <ul class="counts">{counts.into_iter().map(|(status, n)| view! { <li><span>{status}</span>" "<strong>{n}</strong></li> }).collect_view()}</ul>
        <h4>"Warehouse: paid, to ship"</h4>
        <table>
            <thead><tr><th>"Order"</th><th>"Customer"</th><th>"Ship to"</th><th class="n">"Units"</th><th class="n">"Total"</th></tr></thead>
            <tbody>
                {to_ship.into_iter().take(ROWS).map(|o| {
                    let (address, redacted) = format::personal_or_dash(&o["shippingAddress"]);
                    view! {
                        <tr>
                            <td>{text(&o["order"])}</td><td>{text(&o["customer"])}</td>
                            <td class="wraps" class:redacted=redacted data-ship-to=text(&o["order"])>{address}</td>
                            <td class="n">{text(&o["units"])}</td><td class="n">{money_of(&o["total"], "")}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {more(shown)}
    }
    .into_any()
}

fn transfers(data: &Value) -> AnyView {
    let mut rows = data.as_array().cloned().unwrap_or_default();
    rows.sort_by_key(|t| std::cmp::Reverse(t["steps"][0]["position"].as_u64()));
    let total = rows.len();
    view! {
        <ul class="transfers">
            {rows.into_iter().take(ROWS).map(|t| {
                let steps: Vec<String> = t["steps"].as_array().map(|s| s.iter().map(|s| text(&s["step"])).collect()).unwrap_or_default();
                view! {
                    <li data-status=text(&t["status"])>
                        <strong>{text(&t["transferId"])}</strong>
                        {format!(" {} → {} {} ({}): {}", text(&t["from"]), text(&t["to"]), money_of(&t["amount"], ""), text(&t["mode"]), text(&t["status"]))}
                        <small>{steps.join(" → ")}</small>
                        {t["reason"].as_str().map(|r| view! { <small class="reason">{r.to_string()}</small> })}
                    </li>
                }
            }).collect_view()}
        </ul>
        {more(total)}
    }
    .into_any()
}

fn audit(data: &Value) -> AnyView {
    let entries = data["entries"].as_array().cloned().unwrap_or_default();
    view! {
        <p class="total">{format!("{} events", text(&data["total"]))}</p>
        <table>
            <thead><tr><th class="n">"#"</th><th>"Time"</th><th>"Event"</th><th>"Stream"</th></tr></thead>
            <tbody>
                {entries.into_iter().map(|e| view! {
                    <tr class:undecodable=!e["undecodable"].is_null()>
                        <td class="n">{text(&e["position"])}</td>
                        <td>{format::time(e["recordedAt"].as_u64().unwrap_or(0))}</td>
                        <td>{text(&e["eventType"])}</td>
                        <td>{text(&e["stream"])}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Each customer's orders: pick a customer, see their history.
#[component]
fn CustomerPanel(history: ReadSignal<Option<Rc<History>>, LocalStorage>) -> impl IntoView {
    let demo = expect_context::<Demo>();
    let chosen = RwSignal::new(String::new());
    let read = move |args: Value| async move {
        match demo.as_of.get_untracked() {
            Some(_) => None,
            None => {
                let answer = demo.runtime()?.query("customerOrders", &args.to_string()).await.ok()?;
                Some((answer.value(), answer.position, answer.lag))
            }
        }
    };
    let customers = loaded(move || {
        demo.refresh.track();
        read(Value::Null)
    });
    let orders = loaded(move || {
        demo.refresh.track();
        let customer = chosen.get();
        read(json!({ "customer": customer }))
    });
    let list = move || match demo.as_of.get() {
        Some(_) => {
            history.get().and_then(|h| h.query("customerOrders", "").ok()).and_then(|j| serde_json::from_str(&j).ok())
        }
        None => customers.get().map(|(data, _, _)| data),
    };
    let shown = move || match demo.as_of.get() {
        Some(_) => history
            .get()
            .and_then(|h| h.query("customerOrders", &json!({ "customer": chosen.get() }).to_string()).ok())
            .and_then(|j| serde_json::from_str(&j).ok()),
        None => orders.get().map(|(data, _, _)| data),
    };
    Effect::new(move || {
        if chosen.get().is_empty()
            && let Some(first) = list().and_then(|l| l.get(0).and_then(Value::as_str).map(str::to_string))
        {
            chosen.set(first);
        }
    });
    let answered = move || customers.with(|c| c.as_ref().map(|(_, position, lag)| (*position, *lag)));
    view! {
        <article class="read-model" data-read-model="customerOrders" id="rm-customerOrders" aria-labelledby="rm-customerOrders-title">
            <header>
                <h3 id="rm-customerOrders-title">"Customer order history"</h3>
                {badge_view(demo, "customerOrders", answered)}
            </header>
            <div class="body">
                <label for="customer-pick">"Customer"</label>
                <select id="customer-pick" on:change=move |ev| chosen.set(event_target_value(&ev))>
                    {move || list().and_then(|l| l.as_array().cloned()).unwrap_or_default().into_iter().map(|c| {
                        let c = text(&c);
                        let selected = c == chosen.get();
                        view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                    }).collect_view()}
                </select>
                {move || shown().filter(|v| !v.is_null()).map(|h| view! {
                    <table>
                        <thead><tr><th>"Order"</th><th>"Status"</th><th class="n">"Total"</th></tr></thead>
                        <tbody>
                            {h["orders"].as_array().cloned().unwrap_or_default().into_iter().rev().take(ROWS).map(|o| view! {
                                <tr><td>{text(&o["order"])}</td><td>{text(&o["status"])}</td><td class="n">{money_of(&o["total"], "")}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                })}
            </div>
        </article>
    }
}

#[component]
pub fn QuerySide() -> impl IntoView {
    let demo = expect_context::<Demo>();
    // Every panel's past comes from one fold of the log, computed once per position.
    let history = loaded(move || {
        let at = demo.as_of.get();
        demo.forgotten.track();
        async move {
            let at = at?;
            let history = demo.runtime()?.history_at(AsOf::Position(Position(at))).await.ok()?;
            Some(Rc::new(history))
        }
    });
    view! {
        <section class="panel queries" aria-labelledby="query-side">
            <h2 id="query-side">"Query side"</h2>
            <div class="read-models">
                <Panel name="balances" title=title("balances") args=Value::Null render=balances history />
                <Panel name="accountSummaries" title=title("accountSummaries") args=Value::Null render=summaries history />
                <Panel name="topAccounts" title=title("topAccounts") args=json!({ "limit": 5 }) render=top history />
                <Panel name="orderBoard" title=title("orderBoard") args=Value::Null render=board history />
                <CustomerPanel history />
                <Panel name="transfers" title=title("transfers") args=Value::Null render=transfers history />
                <Panel name="auditLog" title=title("auditLog") args=json!({ "limit": 12 }) render=audit history />
            </div>
        </section>
    }
}
