//! The command side: a form for every command. Nothing is checked here: the command goes to the
//! domain as the user typed it, and the page shows what the domain answered.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Map, Value, json};
use wasm_bindgen::JsCast;

use crate::format;
use crate::state::{Demo, loaded};

#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// A whole number sent as a JSON number (when it is one).
    Number,
    Choice(&'static [&'static str]),
}

#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    initial: &'static str,
    /// Left out of the command when empty.
    optional: bool,
}

const fn text(name: &'static str, label: &'static str, initial: &'static str) -> Field {
    Field { name, label, kind: Kind::Text, initial, optional: false }
}

const fn number(name: &'static str, label: &'static str, initial: &'static str) -> Field {
    Field { name, label, kind: Kind::Number, initial, optional: false }
}

const fn choice(name: &'static str, label: &'static str, options: &'static [&'static str]) -> Field {
    Field { name, label, kind: Kind::Choice(options), initial: options[0], optional: false }
}

const fn optional(field: Field) -> Field {
    Field { optional: true, ..field }
}

const BANK: &[(&str, &str, &[Field])] = &[
    (
        "OpenAccount",
        "Open an account",
        &[
            text("account", "Account", "acc-1"),
            choice("currency", "Currency", &["EUR", "USD", "GBP"]),
            optional(text("holder.customer", "Holder (customer)", "alice")),
            optional(text("holder.name", "Holder's name", "Alice Martin")),
            optional(text("holder.email", "Holder's email", "alice@example.com")),
        ],
    ),
    ("Deposit", "Deposit", &[text("account", "Account", "acc-1"), number("amount", "Amount (cents)", "10000")]),
    ("Withdraw", "Withdraw", &[text("account", "Account", "acc-1"), number("amount", "Amount (cents)", "2500")]),
    ("CloseAccount", "Close an account", &[text("account", "Account", "acc-1")]),
    (
        "Transfer",
        "Transfer",
        &[
            text("from", "From", "acc-1"),
            text("to", "To", "acc-2"),
            number("amount", "Amount (cents)", "1000"),
            choice("mode", "Mode", &["atomic", "saga"]),
        ],
    ),
];

const ORDERS: &[(&str, &str, &[Field])] = &[
    (
        "CreateOrder",
        "Create an order",
        &[
            text("order", "Order", "o-1"),
            text("customer", "Customer", "alice"),
            optional(text("shippingAddress", "Shipping address", "12 rue des Lilas, Lyon")),
        ],
    ),
    (
        "AddItem",
        "Add an item",
        &[
            text("order", "Order", "o-1"),
            text("sku", "SKU", "book"),
            number("quantity", "Quantity", "2"),
            number("unitPrice", "Unit price (cents)", "1250"),
        ],
    ),
    ("ConfirmOrder", "Confirm", &[text("order", "Order", "o-1")]),
    ("PayOrder", "Pay", &[text("order", "Order", "o-1"), number("amount", "Amount (cents)", "2500")]),
    ("ShipOrder", "Ship", &[text("order", "Order", "o-1")]),
    ("DeliverOrder", "Deliver", &[text("order", "Order", "o-1")]),
    ("CancelOrder", "Cancel", &[text("order", "Order", "o-1"), optional(text("reason", "Reason", ""))]),
];

/// Personal data: forgetting a customer shreds their key, and with it every copy of their name,
/// email and addresses, while the log keeps its shape.
const PRIVACY: &[(&str, &str, &[Field])] =
    &[("ForgetSubject", "Forget customer", &[text("subject", "Customer", "alice")])];

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Idle,
    Pending,
    /// Committed; waiting for the read models (read-your-writes).
    Waiting(u64),
    Accepted {
        position: u64,
        events: Vec<String>,
        saga: Option<String>,
    },
    Rejected {
        code: String,
        message: String,
    },
}

/// The command as JSON, from the form's values as typed. A dotted name (`holder.email`) is a field
/// of a nested object, left out with the object when all its fields are empty.
fn command_json(command: &str, fields: &[Field], values: &[String]) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), command.into());
    for (field, value) in fields.iter().zip(values) {
        if field.optional && value.is_empty() {
            continue;
        }
        let json = match field.kind {
            // What is not a number is sent as typed, for the domain to refuse.
            Kind::Number => serde_json::from_str::<serde_json::Number>(value.trim())
                .map(Value::Number)
                .unwrap_or_else(|_| value.clone().into()),
            Kind::Text | Kind::Choice(_) => value.clone().into(),
        };
        match field.name.split_once('.') {
            Some((outer, inner)) => {
                let nested = object.entry(outer).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(nested) = nested {
                    nested.insert(inner.into(), json);
                }
            }
            None => {
                object.insert(field.name.into(), json);
            }
        }
    }
    Value::Object(object)
}

async fn submit(demo: Demo, json: Value, outcome: RwSignal<Outcome>) {
    let Some(runtime) = demo.runtime() else { return };
    let saga = json["mode"] == "saga";
    // As text: with sync on, the runtime keeps it to decide the command again after a conflict.
    match runtime.execute_text(&json.to_string()).await {
        Ok(executed) => {
            let position = executed.receipt.last_position().0;
            if demo.read_your_writes.get_untracked() {
                outcome.set(Outcome::Waiting(position));
                let _ = runtime.wait_for(position, None, 15_000).await;
            }
            let events =
                executed.receipt.events.iter().map(|e| format!("#{} {}", e.meta.position.0, e.event_type)).collect();
            let saga = saga.then(|| executed.receipt.command_id.to_string());
            outcome.set(Outcome::Accepted { position, events, saga });
            demo.refresh.update(|n| *n += 1);
        }
        Err(failure) => {
            let details: Value = failure.details.and_then(|d| serde_json::from_str(d.get()).ok()).unwrap_or_default();
            // Amounts as the tables show them, in the account's currency.
            let currency = match details["account"].as_str() {
                Some(account) => match runtime.query("balances", &json!({ "account": account }).to_string()).await {
                    Ok(answer) => format::text(&answer.value()["currency"]),
                    Err(_) => String::new(),
                },
                None => String::new(),
            };
            let message = in_money(&failure.code, &details, &currency).unwrap_or(failure.message);
            outcome.set(Outcome::Rejected { code: failure.code, message })
        }
    }
}

/// A refusal whose details carry amounts, told with the amounts as money (the domain's own
/// message counts minor units).
fn in_money(code: &str, details: &Value, currency: &str) -> Option<String> {
    let money = |field: &str| details[field].as_u64().map(|n| format::money(n, currency));
    let id = |field: &str| format::text(&details[field]);
    Some(match code {
        "InsufficientFunds" => format!(
            "account {} has {} available, less than the {} requested",
            id("account"),
            money("balance")?,
            money("requested")?
        ),
        "AccountNotEmpty" => {
            format!("account {} still holds {}; empty it before closing", id("account"), money("balance")?)
        }
        "PaymentMismatch" => {
            format!(
                "order {} costs {}; a payment of {} does not match",
                id("order"),
                money("expected")?,
                money("offered")?
            )
        }
        _ => return None,
    })
}

#[component]
fn CommandForm(
    command: &'static str,
    title: &'static str,
    fields: &'static [Field],
    chosen: RwSignal<String>,
) -> impl IntoView {
    let demo = expect_context::<Demo>();
    let values: Vec<RwSignal<String>> = fields.iter().map(|f| RwSignal::new(f.initial.to_string())).collect();
    let outcome = RwSignal::new(Outcome::Idle);
    let inputs = fields
        .iter()
        .zip(values.clone())
        .map(|(field, value)| {
            let id = format!("{command}-{}", field.name.replace('.', "-"));
            let input = match field.kind {
                Kind::Choice(options) => view! {
                    <select id=id.clone() name=field.name on:change=move |ev| value.set(event_target_value(&ev))>
                        {options.iter().map(|o| view! { <option value=*o selected=move || value.get() == *o>{*o}</option> }).collect_view()}
                    </select>
                }
                .into_any(),
                Kind::Number => view! {
                    <input id=id.clone() name=field.name inputmode="numeric" prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev)) />
                }
                .into_any(),
                Kind::Text => view! {
                    <input id=id.clone() name=field.name prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev)) />
                }
                .into_any(),
            };
            let label = if field.optional { format!("{} (optional)", field.label) } else { field.label.to_string() };
            view! { <label for=id>{label}</label>{input} }
        })
        .collect_view();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if outcome.get_untracked() == Outcome::Pending {
            return;
        }
        let typed: Vec<String> = values.iter().map(|v| v.get_untracked()).collect();
        let json = command_json(command, fields, &typed);
        outcome.set(Outcome::Pending);
        spawn_local(submit(demo, json, outcome));
    };
    view! {
        <form class="command" data-command=command on:submit=on_submit hidden=move || chosen.get() != command>
            <h3>{title}</h3>
            {(command == "OpenAccount").then(|| view! {
                <p class="hint">"A holder is optional: give their customer id, name and email, or none of them."</p>
            })}
            <div class="fields">{inputs}</div>
            <button type="submit" disabled=move || outcome.get() == Outcome::Pending>{title}</button>
            <OutcomeView outcome />
        </form>
    }
}

#[component]
fn OutcomeView(outcome: RwSignal<Outcome>) -> impl IntoView {
    move || {
        match outcome.get() {
        Outcome::Idle => view! { <p class="outcome" role="status"></p> }.into_any(),
        Outcome::Pending => view! { <p class="outcome pending" role="status">"Pending…"</p> }.into_any(),
        Outcome::Waiting(position) => {
            view! { <p class="outcome pending" role="status">{format!("Committed at #{position}; waiting for the read models…")}</p> }
                .into_any()
        }
        Outcome::Accepted { position, events, saga } => view! {
            <div class="outcome accepted" role="status">
                <p>{format!("Accepted at #{position}")}</p>
                <ul class="events">{events.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                {saga.map(|transfer| view! { <SagaSteps transfer /> })}
            </div>
        }
        .into_any(),
        Outcome::Rejected { code, message } => view! {
            <p class="outcome rejected" role="alert"><strong>{code}</strong>": "{message}</p>
        }
        .into_any(),
    }
    }
}

/// A saga transfer's steps, as the transfers read model sees them, live.
#[component]
fn SagaSteps(transfer: String) -> impl IntoView {
    let demo = expect_context::<Demo>();
    let steps = loaded(move || {
        let transfer = transfer.clone();
        demo.refresh.track();
        async move {
            let runtime = demo.runtime()?;
            let answer = runtime.query("transfers", &json!({ "transferId": transfer }).to_string()).await.ok()?;
            Some(answer.value())
        }
    });
    move || {
        let view = steps.get().filter(|v| !v.is_null())?;
        let steps: Vec<String> = view["steps"]
            .as_array()?
            .iter()
            .map(|s| format!("#{} {}", format::text(&s["position"]), format::text(&s["step"])))
            .collect();
        Some(view! {
            <p class="saga">{format!("Saga: {}", format::text(&view["status"]))}</p>
            <ol class="saga-steps">{steps.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ol>
        })
    }
}

#[component]
pub fn CommandSide() -> impl IntoView {
    let demo = expect_context::<Demo>();
    // One form shows at a time; each keeps what was typed into it.
    // A `String`, the page's text signal type: a `&str` signal compiles its own code.
    let chosen = RwSignal::new("OpenAccount".to_string());
    let picker = |list: &'static [(&'static str, &'static str, &'static [Field])]| {
        list.iter()
            .map(|&(command, title, fields)| {
                // The chosen form's first field takes the focus: its fields come next, not the
                // rest of the command buttons.
                let first = format!("{command}-{}", fields[0].name.replace('.', "-"));
                let pick = move |_| {
                    chosen.set(command.to_string());
                    let first = first.clone();
                    // Once the form is shown, after the signal's effects have run.
                    set_timeout(
                        move || {
                            // Only if the focus is still where the click left it: never pull it
                            // from a field someone started typing in meanwhile.
                            let doc = document();
                            let untouched = doc
                                .active_element()
                                .is_none_or(|at| at.has_attribute("data-pick") || at.tag_name() == "BODY");
                            if let Some(field) = doc.get_element_by_id(&first).filter(|_| untouched) {
                                let _ = field.unchecked_into::<web_sys::HtmlElement>().focus();
                            }
                        },
                        std::time::Duration::ZERO,
                    );
                };
                view! {
                    <button type="button" data-pick=command aria-pressed=move || (chosen.get() == command).to_string()
                        on:click=pick>{title}</button>
                }
            })
            .collect_view()
    };
    let forms = move |list: &'static [(&'static str, &'static str, &'static [Field])]| {
        list.iter()
            .map(|&(command, title, fields)| view! { <CommandForm command title fields chosen /> })
            .collect_view()
    };
    view! {
        <section class="panel commands" aria-labelledby="command-side">
            <h2 id="command-side">"Command side"</h2>
            <label class="switch">
                <input type="checkbox" prop:checked=move || demo.read_your_writes.get()
                    on:change=move |ev| demo.read_your_writes.set(event_target_checked(&ev)) />
                "Read your writes: wait for the read models before showing a result"
            </label>
            <nav class="picker" aria-label="Commands">
                <h3 class="group">"Bank"</h3>
                <div>{picker(BANK)}</div>
                <h3 class="group">"Orders"</h3>
                <div>{picker(ORDERS)}</div>
                <h3 class="group">"Privacy"</h3>
                <div>{picker(PRIVACY)}</div>
            </nav>
            {forms(BANK)}
            {forms(ORDERS)}
            {forms(PRIVACY)}
        </section>
    }
}
