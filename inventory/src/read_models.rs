//! The query side: stock levels per item, and the reservations still open.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use eventline_core::envelope::Envelope;
use eventline_core::projection::{DocChange, Documents, Impossible, Projection, ReadModel};
use eventline_core::query::{InvalidQuery, Query, to_json};
use eventline_core::slot::Slot;

use crate::item::ItemEvent;
use crate::reservation::{Contact, ReservationEvent, Status};
use crate::{Id, InventoryEvent};
use eventline_core::personal::Personal;

/// One item's stock, by location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StockLevel {
    pub sku: Id,
    pub name: String,
    pub on_hand: u64,
    pub reserved: u64,
    pub available: u64,
    /// Units received per location (what arrived where; shipments and kits are not located).
    pub received_at: Vec<(Id, u64)>,
}

/// Stock on hand, reserved and available, per item.
#[derive(Clone, Debug, Default)]
pub struct StockLevels {
    docs: Documents<StockLevel>,
}

impl StockLevels {
    fn change(&mut self, sku: &Id, on_hand: i64, reserved: i64) -> Result<(), Impossible> {
        let Some(level) = self.docs.get(sku.as_str()) else {
            return Err(Impossible(format!("stock of {sku}, which was never registered")));
        };
        let on_hand = Impossible::shift(level.on_hand, i128::from(on_hand), "units on hand")?;
        let reserved = Impossible::shift(level.reserved, i128::from(reserved), "units reserved")?;
        if reserved > on_hand {
            return Err(Impossible(format!("{sku} would hold more than it has")));
        }
        self.docs.update(sku.as_str(), |level| {
            level.on_hand = on_hand;
            level.reserved = reserved;
            level.available = on_hand - reserved;
        });
        Ok(())
    }
}

impl ReadModel for StockLevels {
    const NAME: &'static str = "stockLevels";
    const HANDLES: &'static [&'static str] = &[
        "ItemRegistered",
        "StockReceived",
        "StockReserved",
        "StockReleased",
        "StockShipped",
        "StockConsumed",
        "KitAssembled",
    ];
    type Event = InventoryEvent;
    type Doc = StockLevel;

    fn apply(&mut self, envelope: &Envelope<InventoryEvent>) -> Result<(), Impossible> {
        let InventoryEvent::Item(event) = &envelope.event else { return Ok(()) };
        let q = |quantity: u32| i64::from(quantity);
        match event {
            ItemEvent::Registered(e) => {
                let level = StockLevel {
                    sku: e.sku.clone(),
                    name: e.name.clone(),
                    on_hand: 0,
                    reserved: 0,
                    available: 0,
                    received_at: Vec::new(),
                };
                self.docs.put(e.sku.as_str(), level);
                Ok(())
            }
            ItemEvent::Received(e) => {
                self.change(&e.sku, q(e.quantity), 0)?;
                self.docs.update(e.sku.as_str(), |level| {
                    match level.received_at.iter_mut().find(|(at, _)| *at == e.location) {
                        Some((_, units)) => *units += u64::from(e.quantity),
                        None => level.received_at.push((e.location.clone(), u64::from(e.quantity))),
                    }
                });
                Ok(())
            }
            ItemEvent::Assembled(e) => self.change(&e.sku, q(e.quantity), 0),
            ItemEvent::Consumed(e) => self.change(&e.sku, -q(e.quantity), 0),
            ItemEvent::Reserved(e) => self.change(&e.sku, 0, q(e.quantity)),
            ItemEvent::Released(e) => self.change(&e.sku, 0, -q(e.quantity)),
            ItemEvent::Shipped(e) => self.change(&e.sku, -q(e.quantity), -q(e.quantity)),
        }
    }

    fn documents(&self) -> &Documents<StockLevel> {
        &self.docs
    }

    fn take_changes(&mut self) -> Vec<DocChange<StockLevel>> {
        self.docs.take_changes()
    }

    fn from_documents(docs: Documents<StockLevel>) -> Self {
        StockLevels { docs }
    }
}

/// A question's arguments, declared once for the query and its TypeScript type: an object of
/// these fields only, `null` or nothing.
fn arguments<T: DeserializeOwned + Default>(args: &str) -> Result<T, InvalidQuery> {
    let args = args.trim();
    if args.is_empty() || args == "null" {
        return Ok(T::default());
    }
    serde_json::from_str(args).map_err(|e| InvalidQuery::new(eventline_core::command::reason(e)))
}

/// `stockLevels`: one item's level (or null), or every item's, by sku.
#[derive(Clone, Debug, Default, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct StockQuery {
    #[serde(default)]
    #[ts(optional)]
    pub sku: Option<Id>,
}

impl Query for StockLevels {
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        Ok(match arguments::<StockQuery>(args)?.sku {
            Some(sku) => to_json(self.docs.get(sku.as_str())),
            None => to_json(self.docs.values().collect::<Vec<_>>()),
        })
    }
}

/// A reservation not yet shipped or cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OpenReservation {
    pub reservation: Id,
    pub sku: Id,
    pub quantity: u32,
    pub status: Status,
    pub contact: Personal<Contact>,
}

/// Reservations placed or confirmed, with whom to contact.
#[derive(Clone, Debug, Default)]
pub struct OpenReservations {
    docs: Documents<OpenReservation>,
}

impl ReadModel for OpenReservations {
    const NAME: &'static str = "openReservations";
    const HANDLES: &'static [&'static str] =
        &["ReservationPlaced", "ReservationConfirmed", "ReservationShipped", "ReservationCancelled"];
    type Event = InventoryEvent;
    type Doc = OpenReservation;

    fn apply(&mut self, envelope: &Envelope<InventoryEvent>) -> Result<(), Impossible> {
        let InventoryEvent::Reservation(event) = &envelope.event else { return Ok(()) };
        match event {
            ReservationEvent::Placed(e) => {
                let open = OpenReservation {
                    reservation: e.reservation.clone(),
                    sku: e.sku.clone(),
                    quantity: e.quantity,
                    status: Status::Placed,
                    contact: e.contact.clone(),
                };
                self.docs.put(e.reservation.as_str(), open);
            }
            ReservationEvent::Confirmed(e) => {
                self.docs.update(e.reservation.as_str(), |open| open.status = Status::Confirmed);
            }
            ReservationEvent::Shipped(e) => {
                self.docs.remove(e.reservation.as_str());
            }
            ReservationEvent::Cancelled(e) => {
                self.docs.remove(e.reservation.as_str());
            }
        }
        Ok(())
    }

    fn forget(&mut self, subject: &str) {
        self.docs.update_where(|open| open.contact.subject() == subject, |open| open.contact.forget(subject));
    }

    fn documents(&self) -> &Documents<OpenReservation> {
        &self.docs
    }

    fn take_changes(&mut self) -> Vec<DocChange<OpenReservation>> {
        self.docs.take_changes()
    }

    fn from_documents(docs: Documents<OpenReservation>) -> Self {
        OpenReservations { docs }
    }
}

/// `openReservations`: one customer's open reservations, or all, by reservation id.
#[derive(Clone, Debug, Default, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ReservationQuery {
    #[serde(default)]
    #[ts(optional)]
    pub customer: Option<Id>,
}

impl Query for OpenReservations {
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        let customer = arguments::<ReservationQuery>(args)?.customer;
        let open: Vec<&OpenReservation> = self
            .docs
            .values()
            .filter(|o| customer.as_ref().is_none_or(|c| o.contact.subject() == c.as_str()))
            .collect();
        Ok(to_json(open))
    }
}

/// Every read model of the inventory, empty, as the list its application registers.
pub fn all() -> Vec<Box<dyn Slot<InventoryEvent>>> {
    vec![Box::new(Projection::<StockLevels>::new()), Box::new(Projection::<OpenReservations>::new())]
}
