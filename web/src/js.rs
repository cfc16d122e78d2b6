//! The JavaScript surface: what the npm package's `eventline.js` wraps.
//!
//! Every argument arrives as an arbitrary JS value. It is turned into JSON with `JSON.stringify`
//! (values JSON cannot hold, such as a BigInt or a cycle, are refused) and parsed by the core's
//! parsers, the same ones the native tests and fuzzing exercise; so a malformed command is a typed
//! `InvalidCommand`, never a panic. Every failure rejects with a plain object
//! `{ code, message, details? }`, which the wrapper turns into an `EventlineError`.
//!
//! A wasm-bindgen export cannot be generic: [`export_js!`](crate::export_js) declares, in a
//! domain's crate, the `EventlineHandle` class over that domain's application, each of its
//! methods one call to the generic functions here, and `schema()`, the application's registry
//! (read models, command and event types, error codes) for the wrapper and its types.
//!
//! Invariant: nothing here panics on input. Should Rust panic anyway, the panic hook records it
//! and tells the wrapper (`onPanic`), which rejects what was in flight and loads a fresh module.

use std::cell::RefCell;

use eventline_core::RecordedEvent;
use eventline_core::app::Application;
use eventline_core::command::InvalidCommand;
use eventline_core::handler::Executed;
use eventline_core::ids::{Position, Timestamp};
use eventline_core::temporal::AsOf;
use js_sys::{Function, JSON, Promise};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::app_store::AppStore;
use crate::env::BrowserEnv;
use crate::failure::Failure;
use crate::runtime::{Control, ControlWire, EventFilter, Notice, Runtime};

/// What the export macro's expansion names, so a domain's crate needs no more than
/// `wasm-bindgen` among its dependencies.
pub mod reexport {
    pub use js_sys::{Function, Promise};
    pub use wasm_bindgen::JsValue;
}

thread_local! {
    static PANIC_LISTENER: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Reports any Rust panic to the console and to the listener given to [`on_panic`].
#[wasm_bindgen(js_name = installPanicHook)]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&format!("eventline: Rust panicked: {message}").into());
        PANIC_LISTENER.with(|listener| {
            if let Some(listener) = listener.borrow().as_ref() {
                let _ = listener.call1(&JsValue::NULL, &JsValue::from_str(&message));
            }
        });
    }));
}

/// Registers the wrapper's panic listener.
#[wasm_bindgen(js_name = onPanic)]
pub fn on_panic(listener: Function) {
    PANIC_LISTENER.with(|slot| *slot.borrow_mut() = Some(listener));
}

/// Panics on purpose, so tests can check the wrapper recovers. Never called otherwise.
#[wasm_bindgen(js_name = __panicForTests)]
pub fn panic_for_tests() {
    panic!("a panic requested by a test");
}

/// Panics on purpose in a task of its own, as the projection runner would: no call is there to
/// hear it. For tests of the wrapper's recovery; never called otherwise.
#[wasm_bindgen(js_name = __panicLaterForTests)]
pub fn panic_later_for_tests() {
    wasm_bindgen_futures::spawn_local(async { panic!("a panic in the background requested by a test") });
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    match serde_json::to_string(value) {
        Ok(json) => JSON::parse(&json).unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    }
}

fn to_json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "null".into())
}

fn reject(failure: Failure) -> JsValue {
    to_js(&failure)
}

/// A JS value as JSON text: `undefined` and functions become `null`; what JSON cannot hold (a
/// BigInt, a cycle) is refused.
fn json_of(value: &JsValue, what: &str) -> Result<String, Failure> {
    if value.is_undefined() || value.is_function() {
        return Ok("null".into());
    }
    let text = JSON::stringify(value).map_err(|e| {
        let reason = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_default();
        Failure::new("InvalidArgument", format!("{what} cannot be written as JSON: {reason}"))
    })?;
    Ok(text.as_string().unwrap_or_else(|| "null".to_string()))
}

fn parse<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, Failure> {
    serde_json::from_str(&json_of(value, what)?)
        .map_err(|e| Failure::new("InvalidArgument", format!("{what}: {}", plain_reason(&e))))
}

/// A serde error as a caller can read it: no position within the JSON text the wrapper made,
/// and the Rust types named in words.
fn plain_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(reason, _)| reason);
    let mut text = text.to_string();
    for (rust, words) in [
        ("expected u64", "expected a whole number from 0"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected usize", "expected a whole number from 0"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected a string", "expected a string"),
    ] {
        text = text.replace(rust, words);
    }
    text
}

fn string(value: &JsValue, what: &str) -> Result<String, Failure> {
    value.as_string().ok_or_else(|| Failure::new("InvalidArgument", format!("{what} must be a string")))
}

fn event_json(event: &RecordedEvent) -> Result<String, Failure> {
    event.to_json_line().map_err(|e| Failure::new("CorruptData", e.to_string()))
}

fn events_to_js(events: &[RecordedEvent]) -> Result<JsValue, Failure> {
    let mut json = String::from("[");
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&event_json(event)?);
    }
    json.push(']');
    JSON::parse(&json).map_err(|_| Failure::new("CorruptData", "events are not JSON"))
}

fn commit_to_js(executed: &Executed) -> Result<JsValue, Failure> {
    let receipt = &executed.receipt;
    let result = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&result, &key.into(), value).map(|_| ());
    let fail = |_| Failure::new("CorruptData", "cannot build the commit object");
    set("position", &JsValue::from_f64(receipt.last_position().0 as f64)).map_err(fail)?;
    set("firstPosition", &JsValue::from_f64(receipt.first_position().0 as f64)).map_err(fail)?;
    set("commandId", &JsValue::from_str(receipt.command_id.as_str())).map_err(fail)?;
    set("replayed", &JsValue::from_bool(executed.replayed)).map_err(fail)?;
    set("events", &events_to_js(&receipt.events)?).map_err(fail)?;
    Ok(result.into())
}

/// `{ position }`, `{ time }` (ms since the epoch) or nothing (now).
fn as_of(value: &JsValue) -> Result<AsOf, Failure> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct At {
        position: Option<u64>,
        time: Option<u64>,
    }
    match parse::<Option<At>>(value, "the point in history")? {
        None => Ok(AsOf::Head),
        // `{}` or `{time: null}` names no point: answering with the present would pass for one.
        Some(At { position: None, time: None }) => Err(Failure::new(
            "InvalidArgument",
            "a point in history is { position } or { time }, with a number; leave it out for now",
        )),
        Some(At { position: Some(p), time: None }) => Ok(AsOf::Position(Position(p))),
        Some(At { position: None, time: Some(t) }) => Ok(AsOf::Time(Timestamp(t))),
        Some(_) => Err(Failure::new("InvalidArgument", "give a position or a time, not both")),
    }
}

fn progress_callback(options: &JsValue) -> Option<Function> {
    js_sys::Reflect::get(options, &"onProgress".into()).ok().and_then(|f| f.dyn_into::<Function>().ok())
}

/// Runs `work` as a promise that rejects with a `{code, message}` object. Boxed: one promise
/// adapter for every method, instead of one compiled per method.
fn promise(work: impl Future<Output = Result<JsValue, Failure>> + 'static) -> Promise {
    settle(Box::pin(work))
}

fn settle(work: std::pin::Pin<Box<dyn Future<Output = Result<JsValue, Failure>>>>) -> Promise {
    future_to_promise(async move { work.await.map_err(reject) })
}

/// The application's registry, for the wrapper: `{ readModels, commandTypes, eventTypes,
/// errorCodes }`.
pub fn schema<A: Application>() -> JsValue {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Schema {
        read_models: Vec<&'static str>,
        command_types: &'static [&'static str],
        event_types: &'static [&'static str],
        error_codes: &'static [&'static str],
    }
    to_js(&Schema {
        read_models: A::read_models().iter().map(|r| r.name()).collect(),
        command_types: A::COMMAND_TYPES,
        event_types: A::EVENT_TYPES,
        error_codes: A::ERROR_CODES,
    })
}

/// A promise of the runtime of database `name`, made into the handle by `handle`. `takeOver`
/// takes the projections over from this tab's previous instance, which died while running them.
pub fn open<A>(name: JsValue, take_over: JsValue, handle: fn(Runtime<A>) -> JsValue) -> Promise
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
    promise(async move {
        let name = string(&name, "the database name")?;
        if name.is_empty() || name.len() > 200 {
            return Err(Failure::new("InvalidArgument", "a database name is 1 to 200 characters"));
        }
        let runtime = Runtime::<A>::open_with(&name, take_over.is_truthy()).await?;
        Ok(handle(runtime))
    })
}

/// The runtime's methods as JavaScript sees them: arguments as arbitrary JS values, answers as
/// promises that reject with `{code, message, details?}`.
pub trait JsApi {
    fn execute(&self, command: JsValue) -> Promise;
    fn forget(&self, subject: JsValue) -> Promise;
    fn head(&self) -> Promise;
    fn query(&self, read_model: JsValue, args: JsValue) -> Promise;
    fn query_at(&self, read_model: JsValue, args: JsValue, at: JsValue) -> Promise;
    fn state_at(&self, stream: JsValue, at: JsValue) -> Promise;
    fn events(&self, filter: JsValue) -> Promise;
    fn wait_for(&self, position: JsValue, read_model: JsValue, timeout_ms: JsValue) -> Promise;
    fn projections(&self) -> Promise;
    fn control(&self, read_model: JsValue, control: JsValue) -> Promise;
    fn dead_letters(&self) -> Promise;
    fn export_log(&self, options: JsValue) -> Promise;
    fn import_log(&self, ndjson: JsValue, options: JsValue) -> Promise;
    fn reset(&self) -> Promise;
    fn subscribe(&self, listener: Function) -> f64;
    fn sync(&self, request: JsValue) -> Promise;
}

/// What `sync` is asked, as JSON: `{action: "start", url, log, user, password}`, or
/// `{action: "stop" | "status" | "pending" | "rejected" | "deadLetters"}`.
#[cfg(feature = "sync")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncRequest {
    action: String,
    url: Option<String>,
    log: Option<String>,
    user: Option<String>,
    password: Option<String>,
}

fn reporter(options: &JsValue) -> impl Fn(u64, u64) {
    let on_progress = progress_callback(options);
    move |done: u64, total: u64| {
        if let Some(f) = &on_progress {
            let _ = f.call2(&JsValue::NULL, &(done as f64).into(), &(total as f64).into());
        }
    }
}

impl<A> JsApi for Runtime<A>
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
    fn execute(&self, command: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let json =
                json_of(&command, "the command").map_err(|f| Failure::of(&InvalidCommand { message: f.message }))?;
            commit_to_js(&runtime.execute_text(&json).await?)
        })
    }

    fn forget(&self, subject: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let subject = string(&subject, "the subject")?;
            commit_to_js(&runtime.forget(&subject, None).await?)
        })
    }

    fn head(&self) -> Promise {
        let runtime = self.clone();
        promise(async move { Ok(JsValue::from_f64(runtime.head().await?.0 as f64)) })
    }

    fn query(&self, read_model: JsValue, args: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let name = string(&read_model, "the read model")?;
            let args = json_of(&args, "the query arguments")?;
            Ok(to_js(&runtime.query(&name, &args).await?))
        })
    }

    fn query_at(&self, read_model: JsValue, args: JsValue, at: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let name = string(&read_model, "the read model")?;
            let args = json_of(&args, "the query arguments")?;
            let at = as_of(&at)?;
            Ok(to_js(&runtime.query_at(&name, &args, at).await?))
        })
    }

    fn state_at(&self, stream: JsValue, at: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let stream = string(&stream, "the stream")?;
            let (state, version) = runtime.state_at(&stream, as_of(&at)?).await?;
            let json = format!(r#"{{"stream":{},"version":{version},"state":{state}}}"#, to_json_string(&stream));
            JSON::parse(&json).map_err(|_| Failure::new("InternalError", "a state is not JSON"))
        })
    }

    fn events(&self, filter: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let filter: Option<EventFilter> = parse(&filter, "the event filter")?;
            events_to_js(&runtime.events(&filter.unwrap_or_default()).await?)
        })
    }

    fn wait_for(&self, position: JsValue, read_model: JsValue, timeout_ms: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let position: u64 = parse(&position, "the position")?;
            let name: Option<String> = parse(&read_model, "the read model")?;
            let timeout: Option<u32> = parse(&timeout_ms, "the timeout")?;
            let reached = runtime.wait_for(position, name.as_deref(), timeout.unwrap_or(30_000)).await?;
            Ok(to_js(&reached))
        })
    }

    fn projections(&self) -> Promise {
        let runtime = self.clone();
        promise(async move { Ok(to_js(&runtime.statuses().await?)) })
    }

    /// `control` is `{ action: 'pause' | 'resume' | 'rebuild' } | { action: 'delay', ms }`.
    fn control(&self, read_model: JsValue, control: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let name = string(&read_model, "the read model")?;
            let wire: ControlWire = parse(&control, "the control")?;
            let control = Control::from_wire(&wire).ok_or_else(|| {
                Failure::new("InvalidArgument", "a control is pause, resume, rebuild, or delay with ms")
            })?;
            runtime.control(&name, control).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    fn dead_letters(&self) -> Promise {
        let runtime = self.clone();
        promise(async move { Ok(to_js(&runtime.dead_letters().await?)) })
    }

    fn export_log(&self, options: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move { Ok(JsValue::from_str(&runtime.export(&reporter(&options)).await?)) })
    }

    fn import_log(&self, ndjson: JsValue, options: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            let text = string(&ndjson, "the log to import")?;
            Ok(to_js(&runtime.import(&text, &reporter(&options)).await?))
        })
    }

    fn reset(&self) -> Promise {
        let runtime = self.clone();
        promise(async move {
            runtime.reset().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Sync with a sync server (docs/SYNC.md): one method for its few actions, so that a build
    /// without sync (feature `sync`) carries one small refusal, `Unsupported`.
    fn sync(&self, request: JsValue) -> Promise {
        let runtime = self.clone();
        promise(async move {
            #[cfg(feature = "sync")]
            {
                let request: SyncRequest = parse(&request, "the sync request")?;
                let options = match (request.url, request.log, request.user, request.password) {
                    (Some(url), Some(log), Some(user), Some(password)) => {
                        Some(crate::runtime::SyncOptions { url, log, user, password })
                    }
                    (None, None, None, None) => None,
                    _ => {
                        return Err(Failure::new("InvalidArgument", "starting sync takes url, log, user and password"));
                    }
                };
                match (request.action.as_str(), options) {
                    ("start", Some(options)) => {
                        runtime.start_sync(options).await?;
                        Ok(JsValue::UNDEFINED)
                    }
                    ("stop", None) => {
                        runtime.stop_sync();
                        Ok(JsValue::UNDEFINED)
                    }
                    ("status", None) => Ok(to_js(&runtime.sync_status())),
                    ("pending", None) => Ok(to_js(&runtime.pending_commits().await?)),
                    ("rejected", None) => Ok(to_js(&runtime.rejected_commands().await?)),
                    ("deadLetters", None) => Ok(to_js(&runtime.sync_dead_letters().await?)),
                    _ => Err(Failure::new(
                        "InvalidArgument",
                        "sync is {action: 'start', url, log, user, password} or {action: 'stop' | 'status' | \
                         'pending' | 'rejected' | 'deadLetters'}",
                    )),
                }
            }
            #[cfg(not(feature = "sync"))]
            {
                let _ = (runtime, request);
                Err(Failure::new("Unsupported", "this build of Eventline has no sync"))
            }
        })
    }

    /// Calls `listener` with every notice; returns the id to unsubscribe with.
    fn subscribe(&self, listener: Function) -> f64 {
        let id = Runtime::subscribe(self, move |notice: &Notice| {
            let _ = listener.call1(&JsValue::NULL, &to_js(notice));
        });
        id as f64
    }
}

/// Exports an application's JavaScript API from the domain's crate, which must depend on
/// `wasm-bindgen`: the class `EventlineHandle` (wrapped by the npm package's `eventline.js`) and
/// `schema()`. One line: `eventline_web::export_js!(MyApp<AppStore, BrowserEnv>);`.
#[macro_export]
macro_rules! export_js {
    ($app:ty) => {
        /// One database, opened from JavaScript. The wrapper in `eventline.js` is the public class.
        #[wasm_bindgen::prelude::wasm_bindgen]
        pub struct EventlineHandle {
            runtime: $crate::runtime::Runtime<$app>,
        }

        /// The application's registry: `{ readModels, commandTypes, eventTypes, errorCodes }`.
        #[wasm_bindgen::prelude::wasm_bindgen]
        pub fn schema() -> $crate::js::reexport::JsValue {
            $crate::js::schema::<$app>()
        }

        #[wasm_bindgen::prelude::wasm_bindgen]
        impl EventlineHandle {
            pub fn open(
                name: $crate::js::reexport::JsValue,
                take_over: $crate::js::reexport::JsValue,
            ) -> $crate::js::reexport::Promise {
                $crate::js::open::<$app>(name, take_over, |runtime| EventlineHandle { runtime }.into())
            }

            pub fn close(&self) {
                self.runtime.close();
            }

            #[wasm_bindgen(getter)]
            pub fn database(&self) -> String {
                self.runtime.database().to_string()
            }

            #[wasm_bindgen(getter, js_name = isLeader)]
            pub fn is_leader(&self) -> bool {
                self.runtime.is_leader()
            }

            pub fn execute(&self, command: $crate::js::reexport::JsValue) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::execute(&self.runtime, command)
            }

            pub fn forget(&self, subject: $crate::js::reexport::JsValue) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::forget(&self.runtime, subject)
            }

            pub fn head(&self) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::head(&self.runtime)
            }

            pub fn query(
                &self,
                read_model: $crate::js::reexport::JsValue,
                args: $crate::js::reexport::JsValue,
            ) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::query(&self.runtime, read_model, args)
            }

            #[wasm_bindgen(js_name = queryAt)]
            pub fn query_at(
                &self,
                read_model: $crate::js::reexport::JsValue,
                args: $crate::js::reexport::JsValue,
                at: $crate::js::reexport::JsValue,
            ) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::query_at(&self.runtime, read_model, args, at)
            }

            #[wasm_bindgen(js_name = stateAt)]
            pub fn state_at(
                &self,
                stream: $crate::js::reexport::JsValue,
                at: $crate::js::reexport::JsValue,
            ) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::state_at(&self.runtime, stream, at)
            }

            pub fn events(&self, filter: $crate::js::reexport::JsValue) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::events(&self.runtime, filter)
            }

            #[wasm_bindgen(js_name = waitFor)]
            pub fn wait_for(
                &self,
                position: $crate::js::reexport::JsValue,
                read_model: $crate::js::reexport::JsValue,
                timeout_ms: $crate::js::reexport::JsValue,
            ) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::wait_for(&self.runtime, position, read_model, timeout_ms)
            }

            pub fn projections(&self) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::projections(&self.runtime)
            }

            pub fn control(
                &self,
                read_model: $crate::js::reexport::JsValue,
                control: $crate::js::reexport::JsValue,
            ) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::control(&self.runtime, read_model, control)
            }

            #[wasm_bindgen(js_name = deadLetters)]
            pub fn dead_letters(&self) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::dead_letters(&self.runtime)
            }

            #[wasm_bindgen(js_name = exportLog)]
            pub fn export_log(&self, options: $crate::js::reexport::JsValue) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::export_log(&self.runtime, options)
            }

            #[wasm_bindgen(js_name = importLog)]
            pub fn import_log(
                &self,
                ndjson: $crate::js::reexport::JsValue,
                options: $crate::js::reexport::JsValue,
            ) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::import_log(&self.runtime, ndjson, options)
            }

            pub fn reset(&self) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::reset(&self.runtime)
            }

            pub fn subscribe(&self, listener: $crate::js::reexport::Function) -> f64 {
                $crate::js::JsApi::subscribe(&self.runtime, listener)
            }

            pub fn sync(&self, request: $crate::js::reexport::JsValue) -> $crate::js::reexport::Promise {
                $crate::js::JsApi::sync(&self.runtime, request)
            }

            pub fn unsubscribe(&self, id: f64) {
                self.runtime.unsubscribe(id as u64);
            }
        }
    };
}
