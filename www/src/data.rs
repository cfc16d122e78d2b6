//! Data tools: generate demo traffic, export and import the log, reset.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::format;
use crate::state::Demo;

fn download(name: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/x-ndjson");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let link: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    web_sys::Url::revoke_object_url(&url)
}

/// A long task's progress in the page's words.
fn task_words(task: &str) -> &str {
    match task {
        "deciding" => "Deciding commands",
        "appending" => "Appending events",
        "import" => "Importing events",
        "export" => "Exporting events",
        other => other,
    }
}

#[component]
pub fn DataTools() -> impl IntoView {
    let demo = expect_context::<Demo>();
    let message = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let confirm_reset = RwSignal::new(false);
    let count = RwSignal::new(10_000u64);

    let run = move |work: std::pin::Pin<Box<dyn Future<Output = Result<String, String>>>>| {
        busy.set(true);
        spawn_local(async move {
            let outcome = work.await;
            message.set(outcome.unwrap_or_else(|e| format!("Failed: {e}")));
            busy.set(false);
            demo.progress.set(None);
            demo.refresh.update(|n| *n += 1);
        });
    };

    let generate = move |_| {
        let count = count.get_untracked();
        run(Box::pin(async move {
            let runtime = demo.runtime().ok_or("not open")?;
            let seed = js_sys::Date::now() as u64;
            let report =
                eventline_demo::web::generate(&runtime, count, seed, &|_, _| {}).await.map_err(|f| f.message)?;
            Ok(format!("Generated {count} commands: {} events, log at #{}", report.events, report.head))
        }));
    };
    let export = move |_| {
        run(Box::pin(async move {
            let runtime = demo.runtime().ok_or("not open")?;
            let log = runtime.export(&|_, _| {}).await.map_err(|f| f.message)?;
            // Every line but the end line is an event.
            let lines = log.lines().count().saturating_sub(1);
            download("eventline-log.ndjson", &log).map_err(|_| "the browser refused the download".to_string())?;
            Ok(format!("Exported {lines} events"))
        }));
    };
    let import = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        run(Box::pin(async move {
            let runtime = demo.runtime().ok_or("not open")?;
            let text = JsFuture::from(file.text()).await.map_err(|_| "the file cannot be read".to_string())?;
            let text = text.as_string().ok_or("the file is not text")?;
            let report = runtime.import(&text, &|_, _| {}).await.map_err(|f| format!("{}: {}", f.code, f.message))?;
            let skipped = match report.skipped {
                0 => String::new(),
                n => format!(" ({n} already there)"),
            };
            Ok(format!(
                "Imported {} events in {} commits{skipped}; log at #{}",
                report.events, report.commits, report.head
            ))
        }));
    };
    let reset = move |_| {
        confirm_reset.set(false);
        run(Box::pin(async move {
            demo.runtime().ok_or("not open")?.reset().await.map_err(|f| f.message)?;
            Ok("The log is empty".to_string())
        }));
    };

    view! {
        <section class="panel data" aria-labelledby="data-tools">
            <h2 id="data-tools">"Data"</h2>
            <div class="tools">
                <label for="generate-count">"Commands"</label>
                <input id="generate-count" inputmode="numeric" prop:value=move || count.get().to_string()
                    on:input=move |ev| count.set(event_target_value(&ev).parse().unwrap_or(10_000)) />
                <button type="button" disabled=move || busy.get() on:click=generate>"Generate demo data"</button>
                <button type="button" disabled=move || busy.get() on:click=export>"Export the log"</button>
                // The file input itself is out of sight (it would show "No file chosen", cut short):
                // its label is the button.
                <label class="file button" class:disabled=move || busy.get()>"Import a log…"
                    <input type="file" class="visually-hidden" accept=".ndjson,.jsonl,application/x-ndjson,text/plain"
                        disabled=move || busy.get() on:change=import />
                </label>
                {move || if confirm_reset.get() {
                    view! {
                        <span class="confirm">"Empty the log, in every tab?"
                            <button type="button" class="danger" on:click=reset>"Yes, reset"</button>
                            <button type="button" on:click=move |_| confirm_reset.set(false)>"No"</button>
                        </span>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" class="danger" disabled=move || busy.get() on:click=move |_| confirm_reset.set(true)>"Reset"</button>
                    }.into_any()
                }}
            </div>
            {move || demo.progress.get().map(|p| view! {
                <div class="progress">
                    <label for="task-progress">{format!("{}: {} of {}", task_words(&p.task), format::count(p.done), format::count(p.total))}</label>
                    <progress id="task-progress" max=p.total.to_string() value=p.done.to_string()></progress>
                </div>
            })}
            <p class="message" role="status">{move || message.get()}</p>
        </section>
    }
}
