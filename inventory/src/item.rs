//! An item in stock: what is on hand, and how much of it reservations hold.
//!
//! Invariant: `reserved <= on_hand <= MAX_STOCK`, always; `decide` refuses and `admits` (every
//! fold, every import) refuses any event that would break it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use eventline_core::aggregate::{Aggregate, ErrorCode};
use eventline_core::event::EventPayload;
use eventline_core::event_enum;

use crate::Id;

/// The most units of one item on hand.
pub const MAX_STOCK: u64 = 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ItemRegistered {
    pub sku: Id,
    pub name: String,
}
impl EventPayload for ItemRegistered {
    const TYPE: &'static str = "ItemRegistered";
}

/// `StockReceived` as version 1 wrote it, before locations: everything arrived at `main`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockReceivedV1 {
    pub sku: Id,
    pub quantity: u32,
}

/// Stock arrived at a location. Version 1 had no location ([`StockReceivedV1`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockReceived {
    pub sku: Id,
    pub quantity: u32,
    pub location: Id,
}
impl EventPayload for StockReceived {
    const TYPE: &'static str = "StockReceived";
    const SCHEMA_VERSION: u16 = 2;

    fn upcast(from_version: u16, payload: Value) -> Result<Value, String> {
        match from_version {
            1 => {
                let v1: StockReceivedV1 = serde_json::from_value(payload).map_err(|e| e.to_string())?;
                let location = Id::parse("main").expect("a valid id");
                serde_json::to_value(StockReceived { sku: v1.sku, quantity: v1.quantity, location })
                    .map_err(|e| e.to_string())
            }
            other => Err(format!("no upcaster for StockReceived v{other}")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockReserved {
    pub sku: Id,
    pub reservation: Id,
    pub quantity: u32,
}
impl EventPayload for StockReserved {
    const TYPE: &'static str = "StockReserved";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockReleased {
    pub sku: Id,
    pub reservation: Id,
    pub quantity: u32,
}
impl EventPayload for StockReleased {
    const TYPE: &'static str = "StockReleased";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockShipped {
    pub sku: Id,
    pub reservation: Id,
    pub quantity: u32,
}
impl EventPayload for StockShipped {
    const TYPE: &'static str = "StockShipped";
}

/// Components used up by a kit's assembly, in the same commit as its `KitAssembled`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StockConsumed {
    pub sku: Id,
    pub kit: Id,
    pub quantity: u32,
}
impl EventPayload for StockConsumed {
    const TYPE: &'static str = "StockConsumed";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KitAssembled {
    pub sku: Id,
    pub component: Id,
    pub quantity: u32,
}
impl EventPayload for KitAssembled {
    const TYPE: &'static str = "KitAssembled";
}

event_enum! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ItemEvent {
        Registered(ItemRegistered),
        Received(StockReceived),
        Reserved(StockReserved),
        Released(StockReleased),
        Shipped(StockShipped),
        Consumed(StockConsumed),
        Assembled(KitAssembled),
    }
}

/// What one item can be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemCommand {
    Register { sku: Id, name: String },
    Receive { sku: Id, quantity: u32, location: Id },
    Reserve { sku: Id, reservation: Id, quantity: u32 },
    Release { sku: Id, reservation: Id },
    Ship { sku: Id, reservation: Id },
}

impl ItemCommand {
    pub fn sku(&self) -> &Id {
        match self {
            ItemCommand::Register { sku, .. }
            | ItemCommand::Receive { sku, .. }
            | ItemCommand::Reserve { sku, .. }
            | ItemCommand::Release { sku, .. }
            | ItemCommand::Ship { sku, .. } => sku,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, TS)]
#[serde(tag = "code", rename_all_fields = "camelCase")]
pub enum ItemError {
    #[error("there is no item {sku}")]
    UnknownItem { sku: Id },
    #[error("item {sku} is already registered")]
    ItemAlreadyRegistered { sku: Id },
    #[error("item {sku} has {available} available, not {requested}")]
    InsufficientStock { sku: Id, available: u64, requested: u64 },
    #[error("item {sku} would hold more than {MAX_STOCK}")]
    StockLimitExceeded { sku: Id },
    #[error("item {sku} holds nothing for reservation {reservation}")]
    NotReserved { sku: Id, reservation: Id },
    #[error("a kit is assembled from another item")]
    SameItem { sku: Id },
}

impl ErrorCode for ItemError {
    fn code(&self) -> &'static str {
        match self {
            ItemError::UnknownItem { .. } => "UnknownItem",
            ItemError::ItemAlreadyRegistered { .. } => "ItemAlreadyRegistered",
            ItemError::InsufficientStock { .. } => "InsufficientStock",
            ItemError::StockLimitExceeded { .. } => "StockLimitExceeded",
            ItemError::NotReserved { .. } => "NotReserved",
            ItemError::SameItem { .. } => "SameItem",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub registered: bool,
    pub name: String,
    pub on_hand: u64,
    /// What each reservation holds, in the order they were made.
    pub held: Vec<(Id, u32)>,
}

impl Item {
    pub fn reserved(&self) -> u64 {
        self.held.iter().map(|(_, q)| u64::from(*q)).sum()
    }

    pub fn available(&self) -> u64 {
        self.on_hand - self.reserved()
    }

    fn holding(&self, reservation: &Id) -> Option<u32> {
        self.held.iter().find(|(r, _)| r == reservation).map(|(_, q)| *q)
    }

    fn known(&self, sku: &Id) -> Result<(), ItemError> {
        if self.registered { Ok(()) } else { Err(ItemError::UnknownItem { sku: sku.clone() }) }
    }

    /// Takes `quantity` out of what is available (a shipment or a kit's components).
    fn take(&self, sku: &Id, quantity: u64) -> Result<(), ItemError> {
        if quantity > self.available() {
            return Err(ItemError::InsufficientStock {
                sku: sku.clone(),
                available: self.available(),
                requested: quantity,
            });
        }
        Ok(())
    }

    fn add(&self, sku: &Id, quantity: u64) -> Result<(), ItemError> {
        if self.on_hand + quantity > MAX_STOCK {
            return Err(ItemError::StockLimitExceeded { sku: sku.clone() });
        }
        Ok(())
    }

    /// A kit of `quantity` assembled from as many of `component`: the kit's events and the
    /// component's, decided together (one commit over both streams).
    pub fn assemble(
        kit: &Item,
        component: &Item,
        kit_sku: &Id,
        component_sku: &Id,
        quantity: u32,
    ) -> Result<Vec<Vec<ItemEvent>>, ItemError> {
        if kit_sku == component_sku {
            return Err(ItemError::SameItem { sku: kit_sku.clone() });
        }
        kit.known(kit_sku)?;
        component.known(component_sku)?;
        component.take(component_sku, u64::from(quantity))?;
        kit.add(kit_sku, u64::from(quantity))?;
        Ok(vec![
            vec![KitAssembled { sku: kit_sku.clone(), component: component_sku.clone(), quantity }.into()],
            vec![StockConsumed { sku: component_sku.clone(), kit: kit_sku.clone(), quantity }.into()],
        ])
    }
}

impl Aggregate for Item {
    const CATEGORY: &'static str = "item";
    type Command = ItemCommand;
    type Event = ItemEvent;
    type Error = ItemError;

    fn initial() -> Self {
        Item::default()
    }

    fn evolve(mut self, event: &ItemEvent) -> Self {
        match event {
            ItemEvent::Registered(e) => {
                self.registered = true;
                self.name = e.name.clone();
            }
            ItemEvent::Received(e) => self.on_hand += u64::from(e.quantity),
            ItemEvent::Assembled(e) => self.on_hand += u64::from(e.quantity),
            ItemEvent::Consumed(e) => self.on_hand -= u64::from(e.quantity),
            ItemEvent::Reserved(e) => self.held.push((e.reservation.clone(), e.quantity)),
            ItemEvent::Released(e) => self.held.retain(|(r, _)| *r != e.reservation),
            ItemEvent::Shipped(e) => {
                self.held.retain(|(r, _)| *r != e.reservation);
                self.on_hand -= u64::from(e.quantity);
            }
        }
        self
    }

    fn decide(&self, command: &ItemCommand) -> Result<Vec<ItemEvent>, ItemError> {
        let sku = command.sku();
        if !matches!(command, ItemCommand::Register { .. }) {
            self.known(sku)?;
        }
        Ok(match command {
            ItemCommand::Register { name, .. } => {
                if self.registered {
                    return Err(ItemError::ItemAlreadyRegistered { sku: sku.clone() });
                }
                vec![ItemRegistered { sku: sku.clone(), name: name.clone() }.into()]
            }
            ItemCommand::Receive { quantity, location, .. } => {
                self.add(sku, u64::from(*quantity))?;
                vec![StockReceived { sku: sku.clone(), quantity: *quantity, location: location.clone() }.into()]
            }
            ItemCommand::Reserve { reservation, quantity, .. } => {
                if self.holding(reservation).is_some() {
                    return Ok(Vec::new());
                }
                self.take(sku, u64::from(*quantity))?;
                vec![StockReserved { sku: sku.clone(), reservation: reservation.clone(), quantity: *quantity }.into()]
            }
            ItemCommand::Release { reservation, .. } => match self.holding(reservation) {
                Some(quantity) => {
                    vec![StockReleased { sku: sku.clone(), reservation: reservation.clone(), quantity }.into()]
                }
                None => return Err(ItemError::NotReserved { sku: sku.clone(), reservation: reservation.clone() }),
            },
            ItemCommand::Ship { reservation, .. } => match self.holding(reservation) {
                Some(quantity) => {
                    vec![StockShipped { sku: sku.clone(), reservation: reservation.clone(), quantity }.into()]
                }
                None => return Err(ItemError::NotReserved { sku: sku.clone(), reservation: reservation.clone() }),
            },
        })
    }

    fn admits(&self, event: &ItemEvent) -> Result<(), String> {
        let registered = |ok: bool| if ok { Ok(()) } else { Err("an item's first event registers it".to_string()) };
        match event {
            ItemEvent::Registered(_) => {
                if self.registered {
                    return Err("an item registered twice".into());
                }
                Ok(())
            }
            ItemEvent::Received(e) => {
                registered(self.registered)?;
                self.add(&e.sku, u64::from(e.quantity)).map_err(|e| e.to_string())
            }
            ItemEvent::Assembled(e) => {
                registered(self.registered)?;
                self.add(&e.sku, u64::from(e.quantity)).map_err(|e| e.to_string())
            }
            ItemEvent::Consumed(e) => {
                registered(self.registered)?;
                self.take(&e.sku, u64::from(e.quantity)).map_err(|e| e.to_string())
            }
            ItemEvent::Reserved(e) => {
                registered(self.registered)?;
                if self.holding(&e.reservation).is_some() {
                    return Err(format!("reservation {} reserved twice", e.reservation));
                }
                self.take(&e.sku, u64::from(e.quantity)).map_err(|e| e.to_string())
            }
            ItemEvent::Released(StockReleased { reservation, quantity, .. })
            | ItemEvent::Shipped(StockShipped { reservation, quantity, .. }) => match self.holding(reservation) {
                Some(held) if held == *quantity => Ok(()),
                _ => Err(format!("reservation {reservation} does not hold {quantity} here")),
            },
        }
    }
}
