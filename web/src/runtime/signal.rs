//! The tab's own coordination: a signal that wakes waiting tasks, turns on streams for
//! commands of this tab, and a batch read ahead while the previous one is applied.

use super::*;

/// A batch being read while the previous one is applied.
pub(super) struct ReadAhead {
    pub(super) after: Position,
    pub(super) result: Rc<RefCell<Option<Batch>>>,
    pub(super) done: Rc<Signal>,
}

impl ReadAhead {
    pub(super) fn start(store: Rc<IdbStore>, after: Position) -> ReadAhead {
        let (result, done) = (Rc::new(RefCell::new(None)), Rc::new(Signal::default()));
        let (slot, signal) = (result.clone(), done.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let read = store.read_all_sealed(after, BATCH).await;
            *slot.borrow_mut() = Some(read);
            signal.notify();
        });
        ReadAhead { after, result, done }
    }

    pub(super) async fn take(self) -> Result<Vec<RecordedEvent>, StoreError> {
        loop {
            if let Some(result) = self.result.borrow_mut().take() {
                return result;
            }
            self.done.wait().await;
        }
    }
}

/// Streams with a command of this tab in flight: a command waits until all of its are free.
#[derive(Default)]
pub(super) struct Turns {
    pub(super) busy: RefCell<std::collections::HashSet<StreamId>>,
    pub(super) freed: Signal,
}

/// Holds streams until dropped.
pub(super) struct Turn<'a> {
    pub(super) turns: &'a Turns,
    pub(super) streams: Vec<StreamId>,
}

impl Turns {
    pub(super) async fn take(&self, streams: &[StreamId]) -> Turn<'_> {
        loop {
            {
                let mut busy = self.busy.borrow_mut();
                if streams.iter().all(|s| !busy.contains(s)) {
                    busy.extend(streams.iter().cloned());
                    return Turn { turns: self, streams: streams.to_vec() };
                }
            }
            self.freed.wait().await;
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut busy = self.turns.busy.borrow_mut();
        for stream in &self.streams {
            busy.remove(stream);
        }
        drop(busy);
        self.turns.freed.notify();
    }
}

/// Wakes every task waiting on it.
#[derive(Default)]
pub struct Signal {
    pub(super) generation: Cell<u64>,
    pub(super) wakers: RefCell<Vec<Waker>>,
}

impl Signal {
    pub fn notify(&self) {
        self.generation.set(self.generation.get() + 1);
        for waker in self.wakers.take() {
            waker.wake();
        }
    }

    pub async fn wait(&self) {
        self.wait_since(self.generation.get()).await
    }

    /// Where notifications have got to: waiting since it, one that came meanwhile is not missed.
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// Waits for a notification after `start` (a [`Signal::generation`]): at once if one came.
    pub async fn wait_since(&self, start: u64) {
        poll_fn(|cx| {
            if self.generation.get() != start {
                return Poll::Ready(());
            }
            let mut wakers = self.wakers.borrow_mut();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Waits for a notification or `ms`, whichever comes first.
    pub async fn wait_at_most(&self, ms: u32) {
        self.wait_at_most_since(self.generation.get(), ms).await
    }

    /// Waits for a notification after `start`, or `ms`, whichever comes first.
    pub async fn wait_at_most_since(&self, start: u64, ms: u32) {
        futures::future::select(pin!(self.wait_since(start)), pin!(sleep(ms))).await;
    }
}
