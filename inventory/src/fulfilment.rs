//! Fulfilment: the process manager between reservations and stock.
//!
//! - a reservation placed: reserve its units on the item;
//! - the units reserved: confirm the reservation;
//! - the reservation refused by the item (too little stock, no such item): cancel it, saying why;
//! - a confirmed reservation shipped: ship its units;
//! - a reservation cancelled after its units were reserved: release them.
//!
//! Its commands' ids derive from the event it reacted to, so reacting twice (after a crash before
//! its progress was saved) commits nothing twice.

use serde::{Deserialize, Serialize};

use eventline_core::envelope::Envelope;
use eventline_core::handler::CommandMeta;
use eventline_core::saga::{Issued, ProcessManager, Rejection};
use eventline_core::version::ExpectedVersion;

use crate::item::{ItemCommand, ItemEvent};
use crate::reservation::{ReservationCommand, ReservationEvent};
use crate::{Id, InventoryEvent};

/// A command to one aggregate: what fulfilment issues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Item(ItemCommand),
    Reservation(ReservationCommand),
}

/// A reservation fulfilment is following.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    pub reservation: Id,
    pub sku: Id,
    /// Whether the item holds its units.
    pub held: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fulfilment {
    pub open: Vec<Open>,
}

impl Fulfilment {
    fn find(&mut self, reservation: &Id) -> Option<&mut Open> {
        self.open.iter_mut().find(|o| o.reservation == *reservation)
    }

    fn close(&mut self, reservation: &Id) {
        self.open.retain(|o| o.reservation != *reservation);
    }
}

impl ProcessManager for Fulfilment {
    const NAME: &'static str = "fulfilment";
    type Event = InventoryEvent;
    type Command = Step;

    fn react(&mut self, envelope: &Envelope<InventoryEvent>) -> Vec<Issued<Step>> {
        let issue = |step: Step| {
            let meta = CommandMeta::caused_by(format!("fulfil-{}", envelope.meta.event_id), &envelope.meta);
            vec![Issued { meta, command: step }]
        };
        match &envelope.event {
            InventoryEvent::Reservation(ReservationEvent::Placed(placed)) => {
                self.open.push(Open { reservation: placed.reservation.clone(), sku: placed.sku.clone(), held: false });
                issue(Step::Item(ItemCommand::Reserve {
                    sku: placed.sku.clone(),
                    reservation: placed.reservation.clone(),
                    quantity: placed.quantity,
                }))
            }
            InventoryEvent::Item(ItemEvent::Reserved(reserved)) => match self.find(&reserved.reservation) {
                Some(open) => {
                    open.held = true;
                    issue(Step::Reservation(ReservationCommand::Confirm { reservation: reserved.reservation.clone() }))
                }
                None => Vec::new(),
            },
            InventoryEvent::Reservation(ReservationEvent::Shipped(shipped)) => {
                let Some(open) = self.find(&shipped.reservation) else { return Vec::new() };
                let sku = open.sku.clone();
                self.close(&shipped.reservation);
                issue(Step::Item(ItemCommand::Ship { sku, reservation: shipped.reservation.clone() }))
            }
            InventoryEvent::Reservation(ReservationEvent::Cancelled(cancelled)) => {
                let Some(open) = self.find(&cancelled.reservation) else { return Vec::new() };
                let (sku, held) = (open.sku.clone(), open.held);
                self.close(&cancelled.reservation);
                if held {
                    issue(Step::Item(ItemCommand::Release { sku, reservation: cancelled.reservation.clone() }))
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    fn on_rejected(&mut self, issued: &Issued<Step>, rejection: &Rejection) -> Vec<Issued<Step>> {
        let Step::Item(ItemCommand::Reserve { reservation, .. }) = &issued.command else { return Vec::new() };
        // Caused by the refused command, in its conversation; its id derives from it.
        let meta = CommandMeta {
            command_id: format!("{}:cancel", issued.meta.command_id).into(),
            correlation_id: issued.meta.correlation_id.clone(),
            causation_id: issued.meta.command_id.as_str().into(),
            expected_version: ExpectedVersion::Any,
            digest: None,
        };
        vec![Issued {
            meta,
            command: Step::Reservation(ReservationCommand::Cancel {
                reservation: reservation.clone(),
                reason: format!("not reserved: {}", rejection.message),
            }),
        }]
    }
}
