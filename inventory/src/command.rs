//! The commands a caller may send, as JSON objects: `{"type": "ReceiveStock", "sku": "bolt",
//! "quantity": 10, "commandId": "..."}`. The envelope (`type`, `commandId`, `correlationId`,
//! `expectedVersion`) and the refusal of fields nobody reads are the core's.
//!
//! The fulfilment's own steps (reserving, confirming, releasing, shipping stock) are not here:
//! only the process manager issues them, so a caller cannot hold stock without a reservation.

use serde::Serialize;
use ts_rs::TS;

use eventline_core::command::{Fields, InvalidCommand};

use crate::Id;
use crate::reservation::Contact;

/// Every command type a caller may send.
pub const COMMAND_TYPES: [&str; 7] = [
    "RegisterItem",
    "ReceiveStock",
    "AssembleKit",
    "PlaceReservation",
    "ShipReservation",
    "CancelReservation",
    "ForgetCustomer",
];

/// Longest item name, customer name, cancellation reason.
const MAX_NAME: usize = 200;
const MAX_EMAIL: usize = 254;
const MAX_REASON: usize = 500;

/// A caller's command. Serialized as `{"type": ..., fields}`; parsed by [`parse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum InventoryCommand {
    RegisterItem {
        sku: Id,
        name: String,
    },
    /// At `main` unless a location is given.
    ReceiveStock {
        sku: Id,
        quantity: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        location: Option<Id>,
    },
    /// `quantity` kits of `kit`, each from one `component`: one commit over both items.
    AssembleKit {
        kit: Id,
        component: Id,
        quantity: u32,
    },
    PlaceReservation {
        reservation: Id,
        sku: Id,
        quantity: u32,
        customer: Id,
        name: String,
        email: String,
    },
    ShipReservation {
        reservation: Id,
    },
    CancelReservation {
        reservation: Id,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        reason: Option<String>,
    },
    /// Forget a customer: their contact becomes unreadable, everywhere.
    ForgetCustomer {
        customer: Id,
    },
}

/// The fields of one command, by type.
pub fn parse(f: &Fields<'_>) -> Result<InventoryCommand, InvalidCommand> {
    use InventoryCommand as C;
    Ok(match f.kind() {
        "RegisterItem" => C::RegisterItem { sku: f.required("sku")?, name: f.text("name", MAX_NAME)? },
        "ReceiveStock" => {
            C::ReceiveStock { sku: f.required("sku")?, quantity: quantity(f)?, location: f.optional("location")? }
        }
        "AssembleKit" => {
            C::AssembleKit { kit: f.required("kit")?, component: f.required("component")?, quantity: quantity(f)? }
        }
        "PlaceReservation" => {
            let email = f.text("email", MAX_EMAIL)?;
            let well_formed = email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
            if !well_formed || email.contains(char::is_whitespace) {
                return Err(InvalidCommand::new("`email` is an email address"));
            }
            C::PlaceReservation {
                reservation: f.required("reservation")?,
                sku: f.required("sku")?,
                quantity: quantity(f)?,
                customer: f.required("customer")?,
                name: f.text("name", MAX_NAME)?,
                email,
            }
        }
        "ShipReservation" => C::ShipReservation { reservation: f.required("reservation")? },
        "CancelReservation" => C::CancelReservation {
            reservation: f.required("reservation")?,
            reason: f.optional_text("reason", MAX_REASON)?,
        },
        _ => C::ForgetCustomer { customer: f.required("customer")? },
    })
}

/// A quantity: a whole number from 1 to 1,000,000.
fn quantity(f: &Fields<'_>) -> Result<u32, InvalidCommand> {
    let quantity: u32 = f.required("quantity")?;
    if quantity == 0 || quantity > 1_000_000 {
        return Err(InvalidCommand::new(format!("`quantity` is 1 to 1000000, not {quantity}")));
    }
    Ok(quantity)
}

impl InventoryCommand {
    /// The contact a reservation records.
    pub fn contact(name: &str, email: &str) -> Contact {
        Contact { name: name.to_string(), email: email.to_string() }
    }
}
