//! Projection lag made visible: per projection a gauge, a minute of lag as a sparkline, and the
//! controls (pause, resume, a per-event delay, rebuild with its progress).

use eventline_demo::read_models;
use eventline_web::runtime::{Control, ProjectionStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{Demo, LAG_SAMPLES, title};

const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 40.0;

fn control(demo: Demo, name: &'static str, control: Control) {
    spawn_local(async move {
        if let Some(runtime) = demo.runtime() {
            let _ = runtime.control(name, control).await;
        }
    });
}

/// A coordinate to one decimal. Whole tenths, formatted as integers: `{:.1}` on a float would
/// compile in the float-formatting code (a few KB of the .wasm) for a sparkline.
fn tenths(value: f64) -> String {
    let tenths = (value * 10.0).round().max(0.0) as u64;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// SVG points of the area under the lag samples, scaled to the largest one.
fn sparkline(samples: &[u64]) -> String {
    let max = samples.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = WIDTH / (LAG_SAMPLES - 1) as f64;
    let offset = LAG_SAMPLES.saturating_sub(samples.len());
    let points = samples
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let (x, y) = ((offset + i) as f64 * step, HEIGHT - 1.0 - v as f64 / max * (HEIGHT - 2.0));
            format!("{},{}", tenths(x), tenths(y))
        })
        .collect::<Vec<_>>();
    let (first, last, base) = (tenths(offset as f64 * step), tenths(WIDTH), tenths(HEIGHT));
    format!("{first},{base} {} {last},{base}", points.join(" "))
}

/// A projection's state in the page's words.
fn state_words(status: &ProjectionStatus) -> String {
    match status.status {
        "catchingUp" => "catching up".into(),
        "rebuilding" => format!("rebuilding {}%", (status.progress.unwrap_or(0.0) * 100.0) as u64),
        other => other.into(),
    }
}

#[component]
fn ProjectionRow(name: &'static str) -> impl IntoView {
    let demo = expect_context::<Demo>();
    // Derived on each read rather than memoized: seven rows, and no memo code in the .wasm.
    let status = move || demo.statuses.with(|all| all.iter().find(|s| s.name == name).cloned());
    let samples = move || {
        demo.lag_history.with(|h| {
            h.iter().find(|(n, _)| n == name).map(|(_, s)| s.iter().copied().collect::<Vec<_>>()).unwrap_or_default()
        })
    };
    let delay = RwSignal::new(0u64);
    Effect::new(move || {
        if let Some(s) = status() {
            delay.set(u64::from(s.delay_ms));
        }
    });
    let field = move |f: fn(&ProjectionStatus) -> String| move || status().map(|s| f(&s)).unwrap_or_default();
    let slider_id = format!("delay-{name}");
    let title = title(name);
    view! {
        <div class="projection" id=format!("projection-{name}") data-projection=name>
            <div class="head">
                <a href=format!("#rm-{name}") title="Its panel on the query side">{title}</a>
                <span class=move || format!("state {}", field(|s| s.status.to_string())())>{field(state_words)}</span>
            </div>
            <div class="lag">
                <meter min="0" max=move || status().map_or(1, |s| s.lag.events.max(20)).to_string()
                    value=move || status().map_or(0, |s| s.lag.events).to_string()
                    aria-label=format!("{title}: lag in events")></meter>
                <span class="figures">{field(|s| format!("at #{} of #{}, behind by {} events / {} ms", s.checkpoint, s.head, s.lag.events, s.lag.ms))}</span>
                <figure class="history">
                    <svg class="sparkline" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=format!("{title}: lag over the last minute")>
                        <polygon points=move || sparkline(&samples()) />
                    </svg>
                    <figcaption>{move || {
                        let samples = samples();
                        let peak = samples.iter().copied().max().unwrap_or(0);
                        format!("last minute: peak {peak}, now {} events behind", samples.last().copied().unwrap_or(0))
                    }}</figcaption>
                </figure>
            </div>
            <div class="controls">
                <button type="button" on:click=move |_| {
                    let paused = untrack(status).is_some_and(|s| s.paused);
                    control(demo, name, if paused { Control::Resume } else { Control::Pause });
                }>{move || if status().is_some_and(|s| s.paused) { "Resume" } else { "Pause" }}</button>
                <label for=slider_id.clone()>{move || format!("Delay {} ms per event", delay.get())}</label>
                <input id=slider_id type="range" min="0" max="2000" step="50" prop:value=move || delay.get().to_string()
                    on:input=move |ev| delay.set(event_target_value(&ev).parse().unwrap_or(0))
                    on:change=move |ev| control(demo, name, Control::Delay { ms: event_target_value(&ev).parse().unwrap_or(0) }) />
                <button type="button" on:click=move |_| control(demo, name, Control::Rebuild)>"Rebuild"</button>
                {move || status().and_then(|s| s.progress).map(|p| view! {
                    <progress max="1" value=p.to_string() aria-label=format!("{title}: rebuild progress")></progress>
                })}
                <span class="rebuilt">{move || status().and_then(|s| s.last_rebuild).map(|r| {
                    format!("rebuilt {} events in {} ms", r.events, r.ms)
                })}</span>
            </div>
        </div>
    }
}

#[component]
pub fn Projections() -> impl IntoView {
    let demo = expect_context::<Demo>();
    view! {
        <section class="panel projections" aria-labelledby="projections">
            <h2 id="projections">"Projections"</h2>
            <p class="runner" data-runner=move || if demo.leader.get() { "here" } else { "elsewhere" }.to_string()>
                {move || if demo.leader.get() { "This tab runs the projections." } else { "Another tab runs the projections; this one reads what it writes." }.to_string()}
            </p>
            // The projections are fixed: one row each, no keyed list to diff.
            {read_models::names().iter().map(|name| view! { <ProjectionRow name=*name /> }).collect_view()}
        </section>
    }
}
