//! # eventline-inventory
//!
//! A second application on Eventline, deliberately unlike the demo's bank: stock kept per item,
//! reservations placed by customers and fulfilled by a process manager, kits assembled from
//! components in one commit over two item streams. Built on the core's application contract
//! alone (`eventline_core::app::Application`), with no line of its own in the core or the browser
//! runtime: `docs/GUIDE.md` walks through it.
//!
//! - [`item`]: the `Item` aggregate (stock on hand, reservations held);
//! - [`reservation`]: the `Reservation` aggregate (a customer's, with their contact: personal
//!   data);
//! - [`fulfilment`]: the process manager that reserves, confirms, ships and releases stock;
//! - [`read_models`]: `stockLevels` and `openReservations`;
//! - [`command`]: the commands a caller may send, on the core's envelope;
//! - [`app`]: `InventoryApp`, the application: routing, errors, the registry.

pub mod app;
pub mod command;
pub mod fulfilment;
pub mod item;
pub mod read_models;
pub mod reservation;
#[cfg(feature = "web")]
pub mod web;

// Its npm package: the JavaScript API, exported in one line.
#[cfg(feature = "js")]
eventline_web::export_js!(crate::web::BrowserInventory);

use eventline_core::event::{DecodeError, EncodedEvent, Event, EventPayload};
use eventline_core::personal::SubjectForgotten;

pub use eventline_core::ids::EntityId as Id;

use item::ItemEvent;
use reservation::ReservationEvent;

/// Every event type of the inventory's log.
pub const EVENT_TYPES: [&str; 12] = [
    "ItemRegistered",
    "StockReceived",
    "StockReserved",
    "StockReleased",
    "StockShipped",
    "StockConsumed",
    "KitAssembled",
    "ReservationPlaced",
    "ReservationConfirmed",
    "ReservationShipped",
    "ReservationCancelled",
    "SubjectForgotten",
];

/// Every event of the inventory's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InventoryEvent {
    Item(ItemEvent),
    Reservation(ReservationEvent),
    /// A customer was forgotten.
    Forgotten(SubjectForgotten),
}

impl Event for InventoryEvent {
    fn event_type(&self) -> &'static str {
        match self {
            InventoryEvent::Item(e) => e.event_type(),
            InventoryEvent::Reservation(e) => e.event_type(),
            InventoryEvent::Forgotten(_) => SubjectForgotten::TYPE,
        }
    }

    fn encode(&self) -> EncodedEvent {
        match self {
            InventoryEvent::Item(e) => e.encode(),
            InventoryEvent::Reservation(e) => e.encode(),
            InventoryEvent::Forgotten(e) => e.encode(),
        }
    }

    fn decode(event_type: &str, schema_version: u16, payload: &str) -> Result<Self, DecodeError> {
        if event_type == SubjectForgotten::TYPE {
            return SubjectForgotten::decode(schema_version, payload).map(InventoryEvent::Forgotten);
        }
        match ItemEvent::decode(event_type, schema_version, payload) {
            Err(DecodeError::UnknownEventType { .. }) => {}
            other => return other.map(InventoryEvent::Item),
        }
        ReservationEvent::decode(event_type, schema_version, payload).map(InventoryEvent::Reservation)
    }

    fn forgets(&self) -> Option<&str> {
        match self {
            InventoryEvent::Forgotten(e) => Some(&e.subject),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_event_type_decodes_and_no_other_does() {
        for event_type in EVENT_TYPES {
            let error = InventoryEvent::decode(event_type, 1, "not json").unwrap_err();
            assert!(!matches!(error, DecodeError::UnknownEventType { .. }), "{event_type}");
        }
        assert!(matches!(InventoryEvent::decode("Nope", 1, "{}"), Err(DecodeError::UnknownEventType { .. })));
    }
}
