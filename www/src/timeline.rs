//! The timeline: every event in order, virtualized (only the rows in view are read and drawn, so
//! 100k events scroll smoothly), filtered by stream, type or correlation id; the inspector of the
//! selected event; and the scrubber that moves the whole query side to a past position.

use std::time::Duration;

use eventline_demo::EVENT_TYPES;
use eventline_web::runtime::EventFilter;
use leptos::prelude::*;
use serde_json::Value;
use wasm_bindgen::JsCast;

use crate::format::{self, Changed, diff};
use crate::state::{Demo, loaded};

const ROW: f64 = 28.0;
const HEIGHT: f64 = 336.0;
const OVERSCAN: usize = 8;

#[derive(Clone, Debug, PartialEq)]
struct Row {
    index: usize,
    position: u64,
    time: String,
    stream: String,
    event_type: String,
    correlation: String,
    /// `personal` or `forgotten` when the payload carries personal data.
    privacy: Option<&'static str>,
}

/// Records the first row in view, when it changes.
fn on_scroll(list: &web_sys::Element, first_row: RwSignal<u64>) {
    let first = (list.scroll_top() as f64 / ROW) as u64;
    if first != first_row.get_untracked() {
        first_row.set(first);
    }
}

#[component]
pub fn Timeline() -> impl IntoView {
    let demo = expect_context::<Demo>();
    let stream = RwSignal::new(String::new());
    let event_type = RwSignal::new(String::new());
    let correlation = RwSignal::new(String::new());
    let filter = move || {
        let some = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_string());
        EventFilter {
            stream: some(stream.get()),
            event_type: some(event_type.get()),
            correlation_id: some(correlation.get()),
            ..Default::default()
        }
    };
    let filtered = move || {
        let f = filter();
        f.stream.is_some() || f.event_type.is_some() || f.correlation_id.is_some()
    };
    // The rows of a filtered timeline: the matching positions.
    let positions = loaded(move || {
        let filter = filter();
        demo.head.track();
        async move {
            if filter.stream.is_none() && filter.event_type.is_none() && filter.correlation_id.is_none() {
                return None;
            }
            demo.runtime()?.positions(&filter).await.ok()
        }
    });
    let count = move || if filtered() { positions.get().map_or(0, |p| p.len()) } else { demo.head.get() as usize };
    // The first row in view; set only when it changes, so scrolling within a row loads nothing.
    // A `u64` like the page's other number signals (a `usize` signal compiles its own code).
    let first_row = RwSignal::new(0u64);
    let window =
        move || (first_row.get().saturating_sub(OVERSCAN as u64) as usize, (HEIGHT / ROW) as usize + 2 * OVERSCAN);
    let rows = loaded(move || {
        let (start, n) = window();
        let list = if filtered() { positions.get() } else { None };
        let head = demo.head.get();
        async move {
            let runtime = demo.runtime()?;
            let events = match list {
                Some(list) => {
                    let slice = &list[start.min(list.len())..(start + n).min(list.len())];
                    runtime.events_at(slice).await.ok()?
                }
                None if head == 0 => Vec::new(),
                None => runtime
                    .events(&EventFilter { from: Some(start as u64 + 1), limit: Some(n), ..Default::default() })
                    .await
                    .ok()?,
            };
            Some(
                events
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| Row {
                        index: start + i,
                        position: e.meta.position.0,
                        time: format::time(e.meta.recorded_at.0),
                        stream: e.meta.stream.to_string(),
                        event_type: e.event_type.to_string(),
                        correlation: e.meta.correlation_id.to_string(),
                        privacy: format::privacy_of(&e.payload),
                    })
                    .collect::<Vec<_>>(),
            )
        }
    });
    // Arrow keys move the selection; the list scrolls to keep it in view.
    let step = move |delta: i64, viewport: Option<web_sys::Element>| {
        let list = if filtered() { positions.get_untracked() } else { None };
        let current = demo.selected.get_untracked();
        let (index, position) = match list {
            Some(list) if !list.is_empty() => {
                let at = current.and_then(|p| list.iter().position(|&x| x == p)).map_or(0, |i| i as i64 + delta);
                let i = at.clamp(0, list.len() as i64 - 1) as usize;
                (i, list[i])
            }
            Some(_) => return,
            None => {
                let head = demo.head.get_untracked() as i64;
                if head == 0 {
                    return;
                }
                let p = current.map_or(1, |p| p as i64 + delta).clamp(1, head);
                ((p - 1) as usize, p as u64)
            }
        };
        demo.selected.set(Some(position));
        if let Some(el) = viewport {
            let top = index as f64 * ROW;
            if top < el.scroll_top() as f64 || top + ROW > el.scroll_top() as f64 + HEIGHT {
                el.set_scroll_top((top - HEIGHT / 2.0).max(0.0) as i32);
            }
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let list = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                step(1, list)
            }
            "ArrowUp" => {
                ev.prevent_default();
                step(-1, list)
            }
            "Home" => {
                ev.prevent_default();
                demo.selected.set(None);
                step(0, list)
            }
            _ => {}
        }
    };
    view! {
        <section class="panel timeline-panel" aria-labelledby="timeline">
            <h2 id="timeline">"Timeline"</h2>
            <div class="filters">
                <label for="filter-stream">"Stream"</label>
                <input id="filter-stream" placeholder="account-acc-1" prop:value=move || stream.get() on:input=move |ev| stream.set(event_target_value(&ev)) />
                <label for="filter-type">"Event type"</label>
                <select id="filter-type" on:change=move |ev| event_type.set(event_target_value(&ev))>
                    <option value="">"any"</option>
                    {EVENT_TYPES.iter().map(|t| view! { <option value=*t>{*t}</option> }).collect_view()}
                </select>
                <label for="filter-correlation">"Correlation id"</label>
                <input id="filter-correlation" prop:value=move || correlation.get() on:input=move |ev| correlation.set(event_target_value(&ev)) />
                <span class="count">{move || format!("{} events", count())}</span>
            </div>
            <div class="timeline" role="listbox" tabindex="0" aria-label="Events, in log order"
                style:height=format!("{HEIGHT}px")
                on:scroll=move |ev| on_scroll(&event_target(&ev), first_row)
                on:keydown=on_key>
                <div class="spacer" style:height=move || format!("{}px", count() as f64 * ROW)>
                    // A few dozen rows at a time, drawn anew when the window moves: no keyed list
                    // (its diffing code is a few KB of the .wasm), and focus stays on the listbox.
                    {move || rows.get().unwrap_or_default().into_iter().map(|row| view! {
                    <div class="row" role="option" style:top=format!("{}px", row.index as f64 * ROW)
                        aria-selected=move || (demo.selected.get() == Some(row.position)).to_string()
                        class:selected=move || demo.selected.get() == Some(row.position)
                        class:pending=move || demo.is_local(row.position)
                        title=move || if demo.is_local(row.position) { "pending: not confirmed by the sync server yet" } else { "" }.to_string()
                        data-position=row.position
                        on:click=move |_| demo.selected.set(Some(row.position))>
                        <span class="pos">{format!("#{}", row.position)}</span>
                        <span class="time">{row.time.clone()}</span>
                        <span class="type">{row.event_type.clone()}</span>
                        <span class="stream">{row.stream.clone()}</span>
                        <span class="corr">{row.correlation.clone()}</span>
                        {row.privacy.map(|p| view! { <span class=format!("privacy {p}") data-privacy=p>{p}</span> })}
                    </div>
                    }).collect_view()}
                </div>
            </div>
            <Scrubber />
            <Inspector />
        </section>
    }
}

/// Moves the whole query side to a past position, and back to live.
#[component]
fn Scrubber() -> impl IntoView {
    let demo = expect_context::<Demo>();
    let shown = RwSignal::new(None::<u64>);
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let set = move |value: u64| {
        shown.set(Some(value));
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        // Folding the log to a position takes a moment: fold once the thumb rests.
        let handle = set_timeout_with_handle(
            move || demo.as_of.set((value < demo.head.get_untracked()).then_some(value)),
            Duration::from_millis(200),
        );
        pending.set_value(handle.ok());
    };
    Effect::new(move || {
        if demo.as_of.get().is_none() {
            shown.set(None);
        }
    });
    view! {
        <div class="scrubber">
            <label for="scrubber">{move || match demo.as_of.get() {
                Some(at) => format!("Query side as of #{at} of #{}", demo.head.get()),
                None => format!("Query side live at #{}", demo.head.get()),
            }}</label>
            <input id="scrubber" type="range" min="0" max=move || demo.head.get().to_string() step="1"
                prop:value=move || shown.get().or(demo.as_of.get()).unwrap_or(demo.head.get()).to_string()
                on:input=move |ev| set(event_target_value(&ev).parse().unwrap_or(0)) />
            <button type="button" disabled=move || demo.as_of.get().is_none() on:click=move |_| demo.as_of.set(None)>"Back to live"</button>
        </div>
    }
}

fn changed_rows(changes: Vec<Changed>) -> AnyView {
    view! {
        <table class="diff">
            <thead><tr><th>"Field"</th><th>"Before"</th><th>"After"</th></tr></thead>
            <tbody>
                {changes.into_iter().map(|c| view! {
                    <tr>
                        <td>{if c.path.is_empty() { "(whole)".to_string() } else { c.path }}</td>
                        <td class="before">{c.before.as_ref().map_or("—".to_string(), format::shown)}</td>
                        <td class="after">{c.after.as_ref().map_or("—".to_string(), format::shown)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn parse(json: &Option<String>) -> Value {
    json.as_deref().and_then(|j| serde_json::from_str(j).ok()).unwrap_or(Value::Null)
}

/// The selected event: its envelope, its aggregate before and after it, and what it changed in
/// every read model.
#[component]
fn Inspector() -> impl IntoView {
    let demo = expect_context::<Demo>();
    let inspection = loaded(move || {
        let selected = demo.selected.get();
        demo.forgotten.track();
        async move { demo.runtime()?.inspect(selected?).await.ok() }
    });
    move || {
        let position = demo.selected.get()?;
        let Some(inspection) = inspection.get() else {
            return Some(view! { <div class="inspector"><p>{format!("Reading #{position}…")}</p></div> }.into_any());
        };
        let pretty = inspection.event.to_json_line().map(|line| format::pretty(&line)).unwrap_or_default();
        let aggregate = match (parse(&inspection.state_before), parse(&inspection.state_after)) {
            (Value::Null, _) | (_, Value::Null) => None,
            (before, after) => {
                Some((format::pretty(inspection.state_after.as_deref().unwrap_or("null")), diff(&before, &after)))
            }
        };
        let at = inspection.event.meta.position.0;
        Some(
            view! {
                <div class="inspector" aria-live="polite">
                    <h3>{format!("#{at} {} on {}", inspection.event.event_type, inspection.event.meta.stream)}</h3>
                    <button type="button" on:click=move |_| demo.as_of.set(Some(at))>"Show the query side as of this event"</button>
                    {inspection.decode_error.map(|e| view! { <p class="rejected">{format!("No read model can read it: {e}")}</p> })}
                    <div class="columns">
                        <div>
                            <h4>"Envelope"</h4>
                            <pre>{pretty}</pre>
                        </div>
                        <div>
                            <h4>"Its aggregate"</h4>
                            {aggregate.map(|(after, changes)| view! {
                                {changed_rows(changes)}
                                <details><summary>"State after the event"</summary><pre>{after}</pre></details>
                            })}
                            <h4>"What it changed in the read models"</h4>
                            <ul class="changes">
                                {inspection.changes.into_iter().map(|c| {
                                    let rows = diff(&parse(&c.before), &parse(&c.after));
                                    view! { <li><strong>{format!("{} / {}", c.read_model, c.key)}</strong>{changed_rows(rows)}</li> }
                                }).collect_view()}
                            </ul>
                        </div>
                    </div>
                </div>
            }
            .into_any(),
        )
    }
}
