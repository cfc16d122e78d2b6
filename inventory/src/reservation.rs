//! A customer's reservation of some units of one item: placed, then confirmed once the stock is
//! held (or cancelled when it cannot be), then shipped. The customer's contact is personal data
//! about them: forgetting them leaves the reservation, without a name or an address.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use eventline_core::aggregate::{Aggregate, ErrorCode};
use eventline_core::event::EventPayload;
use eventline_core::event_enum;
use eventline_core::personal::Personal;

use crate::Id;

/// How to reach a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Contact {
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReservationPlaced {
    pub reservation: Id,
    pub sku: Id,
    pub quantity: u32,
    /// The customer is the data subject; their contact is theirs.
    pub contact: Personal<Contact>,
}
impl EventPayload for ReservationPlaced {
    const TYPE: &'static str = "ReservationPlaced";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReservationConfirmed {
    pub reservation: Id,
}
impl EventPayload for ReservationConfirmed {
    const TYPE: &'static str = "ReservationConfirmed";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReservationShipped {
    pub reservation: Id,
}
impl EventPayload for ReservationShipped {
    const TYPE: &'static str = "ReservationShipped";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReservationCancelled {
    pub reservation: Id,
    pub reason: String,
}
impl EventPayload for ReservationCancelled {
    const TYPE: &'static str = "ReservationCancelled";
}

event_enum! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ReservationEvent {
        Placed(ReservationPlaced),
        Confirmed(ReservationConfirmed),
        Shipped(ReservationShipped),
        Cancelled(ReservationCancelled),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReservationCommand {
    Place { reservation: Id, sku: Id, quantity: u32, customer: Id, contact: Contact },
    Confirm { reservation: Id },
    Ship { reservation: Id },
    Cancel { reservation: Id, reason: String },
}

impl ReservationCommand {
    pub fn reservation(&self) -> &Id {
        match self {
            ReservationCommand::Place { reservation, .. }
            | ReservationCommand::Confirm { reservation }
            | ReservationCommand::Ship { reservation }
            | ReservationCommand::Cancel { reservation, .. } => reservation,
        }
    }
}

/// Where a reservation stands.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    #[default]
    None,
    Placed,
    Confirmed,
    Shipped,
    Cancelled,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::None => "none",
            Status::Placed => "placed",
            Status::Confirmed => "confirmed",
            Status::Shipped => "shipped",
            Status::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, TS)]
#[serde(tag = "code", rename_all_fields = "camelCase")]
pub enum ReservationError {
    #[error("reservation {reservation} already exists")]
    ReservationAlreadyExists { reservation: Id },
    #[error("there is no reservation {reservation}")]
    ReservationNotFound { reservation: Id },
    #[error("reservation {reservation} is {status}; it cannot be {action}")]
    InvalidReservationState { reservation: Id, status: &'static str, action: &'static str },
    #[error("a reservation is of 1 to 1000000 units, not {quantity}")]
    InvalidQuantity { quantity: u32 },
}

impl ErrorCode for ReservationError {
    fn code(&self) -> &'static str {
        match self {
            ReservationError::ReservationAlreadyExists { .. } => "ReservationAlreadyExists",
            ReservationError::ReservationNotFound { .. } => "ReservationNotFound",
            ReservationError::InvalidReservationState { .. } => "InvalidReservationState",
            ReservationError::InvalidQuantity { .. } => "InvalidQuantity",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub status: Status,
    pub sku: Option<Id>,
    pub quantity: u32,
}

impl Reservation {
    /// Whether `action` may follow: the statuses it may follow from.
    fn allows(&self, reservation: &Id, action: &'static str, from: &[Status]) -> Result<(), ReservationError> {
        if self.status == Status::None {
            return Err(ReservationError::ReservationNotFound { reservation: reservation.clone() });
        }
        if !from.contains(&self.status) {
            return Err(ReservationError::InvalidReservationState {
                reservation: reservation.clone(),
                status: self.status.name(),
                action,
            });
        }
        Ok(())
    }
}

impl Aggregate for Reservation {
    const CATEGORY: &'static str = "reservation";
    type Command = ReservationCommand;
    type Event = ReservationEvent;
    type Error = ReservationError;

    fn initial() -> Self {
        Reservation::default()
    }

    fn evolve(mut self, event: &ReservationEvent) -> Self {
        match event {
            ReservationEvent::Placed(e) => {
                self.status = Status::Placed;
                self.sku = Some(e.sku.clone());
                self.quantity = e.quantity;
            }
            ReservationEvent::Confirmed(_) => self.status = Status::Confirmed,
            ReservationEvent::Shipped(_) => self.status = Status::Shipped,
            ReservationEvent::Cancelled(_) => self.status = Status::Cancelled,
        }
        self
    }

    fn decide(&self, command: &ReservationCommand) -> Result<Vec<ReservationEvent>, ReservationError> {
        let reservation = command.reservation().clone();
        Ok(match command {
            ReservationCommand::Place { sku, quantity, customer, contact, .. } => {
                if self.status != Status::None {
                    return Err(ReservationError::ReservationAlreadyExists { reservation });
                }
                if *quantity == 0 || *quantity > 1_000_000 {
                    return Err(ReservationError::InvalidQuantity { quantity: *quantity });
                }
                let contact = Personal::new(customer.as_str(), contact.clone());
                vec![ReservationPlaced { reservation, sku: sku.clone(), quantity: *quantity, contact }.into()]
            }
            ReservationCommand::Confirm { .. } => {
                self.allows(&reservation, "confirmed", &[Status::Placed])?;
                vec![ReservationConfirmed { reservation }.into()]
            }
            ReservationCommand::Ship { .. } => {
                self.allows(&reservation, "shipped", &[Status::Confirmed])?;
                vec![ReservationShipped { reservation }.into()]
            }
            ReservationCommand::Cancel { reason, .. } => {
                self.allows(&reservation, "cancelled", &[Status::Placed, Status::Confirmed])?;
                vec![ReservationCancelled { reservation, reason: reason.clone() }.into()]
            }
        })
    }

    fn admits(&self, event: &ReservationEvent) -> Result<(), String> {
        let from: &[Status] = match event {
            ReservationEvent::Placed(e) if e.quantity == 0 || e.quantity > 1_000_000 => {
                return Err(format!("a reservation of {} units", e.quantity));
            }
            ReservationEvent::Placed(_) => &[Status::None],
            ReservationEvent::Confirmed(_) => &[Status::Placed],
            ReservationEvent::Shipped(_) => &[Status::Confirmed],
            ReservationEvent::Cancelled(_) => &[Status::Placed, Status::Confirmed],
        };
        if from.contains(&self.status) {
            Ok(())
        } else {
            Err(format!("not after a reservation {}", self.status.name()))
        }
    }
}
