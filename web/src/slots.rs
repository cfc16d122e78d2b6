//! Read models behind one interface, so the runner can hold all of them: apply an event decoded
//! once, hand over changed documents as JSON, restore from stored documents, answer queries.

use eventline_core::demo::DemoEvent;
use eventline_core::demo::queries::{InvalidQuery, Query};
use eventline_core::demo::read_models::*;
use eventline_core::event::DecodeError;
use eventline_core::ids::Position;
use eventline_core::projection::{Applied, Documents, Projection, ReadModel};
use eventline_core::store::StoreError;
use eventline_core::{Envelope, RecordedEvent};
use serde_json::Value;

pub type Decoded = Result<Envelope<DemoEvent>, DecodeError>;

pub trait Slot {
    fn name(&self) -> &'static str;
    fn checkpoint(&self) -> Position;
    /// Applies one event unless already seen; returns whether the read model moved.
    fn apply(&mut self, recorded: &RecordedEvent, decoded: &Decoded) -> bool;
    /// Documents changed since the last call: key and JSON, or `None` when deleted.
    fn take_changes(&mut self) -> Vec<(String, Option<String>)>;
    fn restore(&mut self, checkpoint: Position, docs: Vec<(String, String)>) -> Result<(), StoreError>;
    fn reset(&mut self);
    fn query(&self, args: &Value) -> Result<Value, InvalidQuery>;
    /// A new, empty slot of the same read model.
    fn empty(&self) -> Box<dyn Slot>;
}

impl<R> Slot for Projection<R>
where
    R: ReadModel<Event = DemoEvent> + Query + 'static,
{
    fn name(&self) -> &'static str {
        R::NAME
    }

    fn checkpoint(&self) -> Position {
        self.checkpoint
    }

    fn apply(&mut self, recorded: &RecordedEvent, decoded: &Decoded) -> bool {
        !matches!(self.apply_decoded(recorded, decoded), Applied::AlreadySeen)
    }

    fn take_changes(&mut self) -> Vec<(String, Option<String>)> {
        self.read_model
            .take_changes()
            .into_iter()
            .map(|change| {
                let json = change.doc.map(|doc| serde_json::to_string(&doc).expect("documents serialize to JSON"));
                (change.key, json)
            })
            .collect()
    }

    fn restore(&mut self, checkpoint: Position, docs: Vec<(String, String)>) -> Result<(), StoreError> {
        let mut parsed = Vec::with_capacity(docs.len());
        for (key, json) in docs {
            let doc = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt { message: format!("{} document {key}: {e}", R::NAME) })?;
            parsed.push((key, doc));
        }
        *self = Projection::restore(R::from_documents(parsed.into_iter().collect::<Documents<_>>()), checkpoint);
        Ok(())
    }

    fn reset(&mut self) {
        *self = Projection::new();
    }

    fn query(&self, args: &Value) -> Result<Value, InvalidQuery> {
        self.read_model.query(args)
    }

    fn empty(&self) -> Box<dyn Slot> {
        Box::new(Projection::<R>::new())
    }
}

/// Every read model of the demo, empty.
pub fn demo_slots() -> Vec<Box<dyn Slot>> {
    vec![
        Box::new(Projection::<AccountBalances>::new()),
        Box::new(Projection::<AccountSummaries>::new()),
        Box::new(Projection::<TopAccounts>::new()),
        Box::new(Projection::<OrderBoard>::new()),
        Box::new(Projection::<CustomerOrders>::new()),
        Box::new(Projection::<TransferBoard>::new()),
        Box::new(Projection::<AuditLog>::new()),
    ]
}

/// An empty slot for read model `name`, if there is one.
pub fn slot_named(name: &str) -> Option<Box<dyn Slot>> {
    demo_slots().into_iter().find(|s| s.name() == name)
}
