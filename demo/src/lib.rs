//! # eventline-demo
//!
//! The demo domains: a bank (accounts, atomic and saga transfers) and an order lifecycle, their
//! read models, the commands a user may send, and the application service that runs them.
//!
//! Everything here is plain domain code on the core's traits; the browser runtime (`web`) and the
//! demo page (`www`) add storage and UI around it, never rules.

pub mod app;
pub mod bank;
pub mod command;
pub mod generate;
pub mod import;
pub mod money;
pub mod orders;
pub mod queries;
pub mod read_models;
pub mod saga;
#[cfg(feature = "web")]
pub mod web;

// The demo's npm package: its JavaScript API, exported in one line.
#[cfg(feature = "js")]
eventline_web::export_js!(crate::web::BrowserDemo);

use eventline_core::event::{DecodeError, EncodedEvent, Event, EventPayload};
use eventline_core::personal::SubjectForgotten;

use bank::{AccountCommand, AccountEvent, TransferCommand, TransferEvent};
use orders::{OrderCommand, OrderEvent};

/// The type name of every demo event.
pub const EVENT_TYPES: [&str; 22] = [
    "AccountOpened",
    "MoneyDeposited",
    "MoneyWithdrawn",
    "AccountClosed",
    "TransferSent",
    "TransferReceived",
    "TransferDebited",
    "TransferSettled",
    "TransferRefunded",
    "TransferRequested",
    "TransferCompleted",
    "TransferFailed",
    "TransferCreditRejected",
    "TransferCompensated",
    "OrderCreated",
    "OrderItemAdded",
    "OrderConfirmed",
    "OrderPaid",
    "OrderShipped",
    "OrderDelivered",
    "OrderCancelled",
    "SubjectForgotten",
];

/// The account aggregate's event types, the first nine of [`EVENT_TYPES`].
pub const ACCOUNT_EVENTS: [&str; 9] = [
    "AccountOpened",
    "MoneyDeposited",
    "MoneyWithdrawn",
    "AccountClosed",
    "TransferSent",
    "TransferReceived",
    "TransferDebited",
    "TransferSettled",
    "TransferRefunded",
];

/// The order aggregate's event types.
pub const ORDER_EVENTS: [&str; 7] = [
    "OrderCreated",
    "OrderItemAdded",
    "OrderConfirmed",
    "OrderPaid",
    "OrderShipped",
    "OrderDelivered",
    "OrderCancelled",
];

/// What the transfer board follows: a transfer's request, its legs on the accounts and its end.
pub const TRANSFER_BOARD_EVENTS: [&str; 10] = [
    "TransferRequested",
    "TransferSent",
    "TransferDebited",
    "TransferReceived",
    "TransferSettled",
    "TransferRefunded",
    "TransferCompleted",
    "TransferFailed",
    "TransferCreditRejected",
    "TransferCompensated",
];

/// Every event of the demo's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DemoEvent {
    Account(AccountEvent),
    Transfer(TransferEvent),
    Order(OrderEvent),
    /// A customer was forgotten: their personal values read as redacted from now on.
    Forgotten(SubjectForgotten),
}

impl Event for DemoEvent {
    fn event_type(&self) -> &'static str {
        match self {
            DemoEvent::Account(e) => e.event_type(),
            DemoEvent::Transfer(e) => e.event_type(),
            DemoEvent::Order(e) => e.event_type(),
            DemoEvent::Forgotten(_) => SubjectForgotten::TYPE,
        }
    }

    fn encode(&self) -> EncodedEvent {
        match self {
            DemoEvent::Account(e) => e.encode(),
            DemoEvent::Transfer(e) => e.encode(),
            DemoEvent::Order(e) => e.encode(),
            DemoEvent::Forgotten(e) => e.encode(),
        }
    }

    fn decode(event_type: &str, schema_version: u16, payload: &str) -> Result<Self, DecodeError> {
        let unknown = |e: &DecodeError| matches!(e, DecodeError::UnknownEventType { .. });
        match AccountEvent::decode(event_type, schema_version, payload) {
            Err(e) if unknown(&e) => {}
            other => return other.map(DemoEvent::Account),
        }
        match TransferEvent::decode(event_type, schema_version, payload) {
            Err(e) if unknown(&e) => {}
            other => return other.map(DemoEvent::Transfer),
        }
        if event_type == SubjectForgotten::TYPE {
            return SubjectForgotten::decode(schema_version, payload).map(DemoEvent::Forgotten);
        }
        OrderEvent::decode(event_type, schema_version, payload).map(DemoEvent::Order)
    }

    fn forgets(&self) -> Option<&str> {
        match self {
            DemoEvent::Forgotten(e) => Some(&e.subject),
            _ => None,
        }
    }
}

/// A command addressed to one aggregate: what the transfer saga issues and the app decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainCommand {
    Account(AccountCommand),
    Transfer(TransferCommand),
    Order(OrderCommand),
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::*;
    use crate::bank::{AccountStatus, TransferStatus};
    use crate::orders::OrderStatus;
    use crate::read_models::{AccountState, TransferMode, TransferProgress};
    use crate::saga::SagaStep;

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(all: &[T], count: usize) {
        assert_eq!(all.len(), count, "every variant is listed once");
        for value in all {
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
        }
    }

    /// Enums read by name through the core's shared decoder (`deserialize_by_name!`).
    #[test]
    fn enums_read_what_they_write() {
        round_trip(AccountState::BY_NAME, 2);
        round_trip(TransferMode::BY_NAME, 2);
        round_trip(TransferProgress::BY_NAME, 9);
        round_trip(OrderStatus::BY_NAME, 7);
        round_trip(AccountStatus::BY_NAME, 3);
        round_trip(TransferStatus::BY_NAME, 6);
        round_trip(SagaStep::BY_NAME, 8);
    }

    #[test]
    fn every_listed_event_type_decodes_and_no_other_does() {
        for event_type in EVENT_TYPES {
            let error = DemoEvent::decode(event_type, 1, "not json").unwrap_err();
            assert!(!matches!(error, DecodeError::UnknownEventType { .. }), "{event_type} is not a demo event");
        }
        assert!(matches!(DemoEvent::decode("Nope", 1, "{}"), Err(DecodeError::UnknownEventType { .. })));
    }
}
