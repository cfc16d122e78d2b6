//! Tabs of one origin working on one database: a BroadcastChannel for news, a Web Lock for
//! leadership.
//!
//! Exactly one tab at a time holds the lock `eventline:{database}:projections` and runs the
//! projections and the saga; the others read what it persists. When the leader closes (or the
//! browser kills it) the lock is released and the next tab in line takes over from the persisted
//! checkpoints. The log stays the only source of truth: messages only say "look again".

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

/// A BroadcastChannel that delivers text messages from other participants.
pub struct Channel {
    channel: BroadcastChannel,
    _listener: Closure<dyn FnMut(MessageEvent)>,
}

impl Channel {
    pub fn open(name: &str, mut on_message: impl FnMut(String) + 'static) -> Result<Channel, JsValue> {
        let channel = BroadcastChannel::new(name)?;
        let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                on_message(text);
            }
        });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        Ok(Channel { channel, _listener: listener })
    }

    /// Sends to every other participant (not to this one).
    pub fn post(&self, message: &str) {
        // A closed channel has nobody left to tell.
        let _ = self.channel.post_message(&JsValue::from_str(message));
    }

    pub fn close(&self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}

/// A place in line for an exclusive Web Lock, held from grant until [`Leadership::release`].
pub struct Leadership {
    /// Resolves the promise the lock is held on.
    release: Rc<RefCell<Option<Function>>>,
    abort: Option<web_sys::AbortController>,
}

impl Leadership {
    /// Asks for the lock; `on_granted` runs when this tab gets it, `on_lost` if another request
    /// takes it away (`steal`). Without Web Locks (an old browser, an insecure context) the tab
    /// leads at once. `steal` takes the lock at once from whoever holds it: only for a holder
    /// known to be dead (this tab's module instance that panicked).
    pub fn request(
        lock_name: &str,
        steal: bool,
        on_granted: impl FnOnce() + 'static,
        on_lost: impl FnOnce() + 'static,
    ) -> Leadership {
        let release = Rc::new(RefCell::new(None::<Function>));
        let Some((locks, request)) = lock_manager() else {
            on_granted();
            return Leadership { release, abort: None };
        };
        let slot = release.clone();
        let granted: JsValue =
            Closure::<dyn FnMut(JsValue) -> JsValue>::once_into_js(move |_lock: JsValue| -> JsValue {
                let held = Promise::new(&mut |resolve, _reject| {
                    *slot.borrow_mut() = Some(resolve);
                });
                on_granted();
                held.into()
            });
        let options = Object::new();
        // A stolen request cannot be aborted, and needs no abort: it is granted at once.
        let abort = if steal { None } else { web_sys::AbortController::new().ok() };
        if let Some(abort) = &abort {
            let _ = Reflect::set(&options, &"signal".into(), &abort.signal());
        }
        if steal {
            let _ = Reflect::set(&options, &"steal".into(), &JsValue::TRUE);
        }
        if let Ok(pending) = request.call3(&locks, &JsValue::from_str(lock_name), &options, &granted) {
            // The request's promise rejects when it is aborted while in line (expected) or when
            // another request steals the lock: then this tab no longer leads.
            if let Ok(pending) = pending.dyn_into::<Promise>() {
                let mut on_lost = Some(on_lost);
                let held = release.clone();
                let lost = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
                    if held.borrow_mut().take().is_some()
                        && let Some(on_lost) = on_lost.take()
                    {
                        on_lost();
                    }
                });
                let _ = pending.catch(&lost);
                // It may run after this tab gave up its place; a few bytes per request.
                lost.forget();
            }
        }
        Leadership { release, abort }
    }

    /// Gives the lock up, or leaves the line if it was not granted yet.
    pub fn release(&self) {
        if let Some(resolve) = self.release.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        } else if let Some(abort) = &self.abort {
            abort.abort();
        }
    }
}

fn lock_manager() -> Option<(JsValue, Function)> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok().filter(|l| !l.is_undefined())?;
    let request = Reflect::get(&locks, &"request".into()).ok()?.dyn_into::<Function>().ok()?;
    Some((locks, request))
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}
