//! Orders and their lifecycle.
//!
//! ```text
//!   create ──▶ Draft ──confirm──▶ Confirmed ──pay──▶ Paid ──ship──▶ Shipped ──deliver──▶ Delivered
//!               │ add item           │                  │
//!               └──────cancel────────┴──────cancel──────┴──▶ Cancelled
//! ```
//!
//! Items are added only to a draft; confirming needs at least one item and fixes the total; the
//! payment must equal the total; once shipped an order can no longer be cancelled.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use eventline_core::aggregate::{Aggregate, ErrorCode};
use eventline_core::event::{Event, EventPayload};
use eventline_core::event_enum;
use eventline_core::personal::Personal;

use crate::money::{Amount, EntityId, MAX_MINOR_UNITS};

/// Most units of one item a line may hold.
pub const MAX_QUANTITY: u32 = 10_000;

/// v2 adds the shipping address, a personal value whose subject is the customer (none for orders
/// created before).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub customer: EntityId,
    pub shipping_address: Option<Personal<String>>,
}
/// `OrderCreated` as version 1 wrote it, before shipping addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderCreatedV1 {
    pub customer: EntityId,
}

impl EventPayload for OrderCreated {
    const TYPE: &'static str = "OrderCreated";
    const SCHEMA_VERSION: u16 = 2;

    fn upcast(from_version: u16, mut payload: Value) -> Result<Value, String> {
        let object = payload.as_object_mut().ok_or_else(|| format!("OrderCreated v{from_version} is not an object"))?;
        match from_version {
            1 => object.insert("shippingAddress".into(), Value::Null),
            other => return Err(format!("no upcaster for OrderCreated v{other}")),
        };
        Ok(payload)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderItemAdded {
    pub sku: EntityId,
    pub quantity: u32,
    pub unit_price: Amount,
}
impl EventPayload for OrderItemAdded {
    const TYPE: &'static str = "OrderItemAdded";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderConfirmed {
    pub total: u64,
}
impl EventPayload for OrderConfirmed {
    const TYPE: &'static str = "OrderConfirmed";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderPaid {
    pub amount: Amount,
}
impl EventPayload for OrderPaid {
    const TYPE: &'static str = "OrderPaid";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderShipped {}
impl EventPayload for OrderShipped {
    const TYPE: &'static str = "OrderShipped";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderDelivered {}
impl EventPayload for OrderDelivered {
    const TYPE: &'static str = "OrderDelivered";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrderCancelled {
    pub reason: String,
}
impl EventPayload for OrderCancelled {
    const TYPE: &'static str = "OrderCancelled";
}

event_enum! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum OrderEvent {
        Created(OrderCreated),
        ItemAdded(OrderItemAdded),
        Confirmed(OrderConfirmed),
        Paid(OrderPaid),
        Shipped(OrderShipped),
        Delivered(OrderDelivered),
        Cancelled(OrderCancelled),
    }
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum OrderStatus {
    #[default]
    None,
    Draft,
    Confirmed,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}
// Read by name through one shared decoder (`by_name`), not a derived one per enum.
eventline_core::deserialize_by_name!(OrderStatus {
    None = "none",
    Draft = "draft",
    Confirmed = "confirmed",
    Paid = "paid",
    Shipped = "shipped",
    Delivered = "delivered",
    Cancelled = "cancelled",
});

impl OrderStatus {
    /// Every status, in declaration order.
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::None,
        OrderStatus::Draft,
        OrderStatus::Confirmed,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::None => "none",
            OrderStatus::Draft => "draft",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub sku: EntityId,
    pub quantity: u32,
    pub unit_price: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub status: OrderStatus,
    pub customer: Option<EntityId>,
    pub lines: Vec<OrderLine>,
    pub total: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderCommand {
    /// The address is recorded for people to read; no rule looks at it.
    Create {
        order: EntityId,
        customer: EntityId,
        shipping_address: Option<String>,
    },
    AddItem {
        order: EntityId,
        sku: EntityId,
        quantity: u32,
        unit_price: Amount,
    },
    Confirm {
        order: EntityId,
    },
    Pay {
        order: EntityId,
        amount: Amount,
    },
    Ship {
        order: EntityId,
    },
    Deliver {
        order: EntityId,
    },
    Cancel {
        order: EntityId,
        reason: String,
    },
}

impl OrderCommand {
    pub fn order(&self) -> &EntityId {
        match self {
            OrderCommand::Create { order, .. }
            | OrderCommand::AddItem { order, .. }
            | OrderCommand::Confirm { order }
            | OrderCommand::Pay { order, .. }
            | OrderCommand::Ship { order }
            | OrderCommand::Deliver { order }
            | OrderCommand::Cancel { order, .. } => order,
        }
    }

    fn action(&self) -> &'static str {
        match self {
            OrderCommand::Create { .. } => "create",
            OrderCommand::AddItem { .. } => "add an item to",
            OrderCommand::Confirm { .. } => "confirm",
            OrderCommand::Pay { .. } => "pay",
            OrderCommand::Ship { .. } => "ship",
            OrderCommand::Deliver { .. } => "deliver",
            OrderCommand::Cancel { .. } => "cancel",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, TS)]
#[serde(tag = "code", rename_all_fields = "camelCase")]
pub enum OrderError {
    #[error("order {order} does not exist")]
    OrderNotFound { order: EntityId },
    #[error("order {order} already exists")]
    OrderAlreadyExists { order: EntityId },
    #[error("cannot {action} order {order}: it is {}", status.name())]
    InvalidOrderState { order: EntityId, status: OrderStatus, action: &'static str },
    #[error("order {order} has no items to confirm")]
    EmptyOrder { order: EntityId },
    #[error("order {order} costs {expected}; a payment of {offered} does not match")]
    PaymentMismatch { order: EntityId, expected: u64, offered: u64 },
    #[error("a quantity is 1 to {MAX_QUANTITY}; got {quantity}")]
    InvalidQuantity { order: EntityId, quantity: u32 },
    #[error("order {order} would exceed the largest total ({MAX_MINOR_UNITS})")]
    OrderTotalTooLarge { order: EntityId },
}

impl ErrorCode for OrderError {
    fn code(&self) -> &'static str {
        match self {
            OrderError::OrderNotFound { .. } => "OrderNotFound",
            OrderError::OrderAlreadyExists { .. } => "OrderAlreadyExists",
            OrderError::InvalidOrderState { .. } => "InvalidOrderState",
            OrderError::EmptyOrder { .. } => "EmptyOrder",
            OrderError::PaymentMismatch { .. } => "PaymentMismatch",
            OrderError::InvalidQuantity { .. } => "InvalidQuantity",
            OrderError::OrderTotalTooLarge { .. } => "OrderTotalTooLarge",
        }
    }
}

impl Order {
    fn require(&self, command: &OrderCommand, allowed: &[OrderStatus]) -> Result<(), OrderError> {
        let order = command.order().clone();
        if self.status == OrderStatus::None {
            return Err(OrderError::OrderNotFound { order });
        }
        if !allowed.contains(&self.status) {
            return Err(OrderError::InvalidOrderState { order, status: self.status, action: command.action() });
        }
        Ok(())
    }
}

impl Aggregate for Order {
    const CATEGORY: &'static str = "order";
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;

    fn initial() -> Self {
        Order::default()
    }

    fn evolve(mut self, event: &OrderEvent) -> Self {
        match event {
            OrderEvent::Created(e) => {
                self.status = OrderStatus::Draft;
                self.customer = Some(e.customer.clone());
            }
            OrderEvent::ItemAdded(e) => {
                // Saturating: `admits` keeps the total within its maximum in every fold.
                let line = u64::from(e.quantity).saturating_mul(e.unit_price.minor_units());
                self.total = self.total.saturating_add(line);
                self.lines.push(OrderLine {
                    sku: e.sku.clone(),
                    quantity: e.quantity,
                    unit_price: e.unit_price.minor_units(),
                });
            }
            OrderEvent::Confirmed(_) => self.status = OrderStatus::Confirmed,
            OrderEvent::Paid(_) => self.status = OrderStatus::Paid,
            OrderEvent::Shipped(_) => self.status = OrderStatus::Shipped,
            OrderEvent::Delivered(_) => self.status = OrderStatus::Delivered,
            OrderEvent::Cancelled(_) => self.status = OrderStatus::Cancelled,
        }
        self
    }

    fn admits(&self, event: &OrderEvent) -> Result<(), String> {
        use OrderStatus as S;
        let allowed: &[OrderStatus] = match event {
            OrderEvent::Created(_) => &[S::None],
            OrderEvent::ItemAdded(e) => {
                let line = u64::from(e.quantity).checked_mul(e.unit_price.minor_units());
                if e.quantity == 0 || e.quantity > MAX_QUANTITY {
                    return Err(format!("a quantity of {}", e.quantity));
                }
                if line.and_then(|l| l.checked_add(self.total)).is_none_or(|t| t > MAX_MINOR_UNITS) {
                    return Err(format!("a total past the largest ({MAX_MINOR_UNITS})"));
                }
                &[S::Draft]
            }
            OrderEvent::Confirmed(e) => {
                if e.total != self.total || self.lines.is_empty() {
                    return Err(format!(
                        "confirmed at {} when its {} line(s) total {}",
                        e.total,
                        self.lines.len(),
                        self.total
                    ));
                }
                &[S::Draft]
            }
            OrderEvent::Paid(e) => {
                if e.amount.minor_units() != self.total {
                    return Err(format!("paid {} for a total of {}", e.amount, self.total));
                }
                &[S::Confirmed]
            }
            OrderEvent::Shipped(_) => &[S::Paid],
            OrderEvent::Delivered(_) => &[S::Shipped],
            OrderEvent::Cancelled(_) => &[S::Draft, S::Confirmed, S::Paid],
        };
        match allowed.contains(&self.status) {
            true => Ok(()),
            false => Err(format!("{} on an order that is {:?}", event.event_type(), self.status)),
        }
    }

    fn decide(&self, command: &OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
        use OrderCommand as C;
        use OrderStatus as S;
        let order = command.order().clone();
        let event: OrderEvent = match command {
            C::Create { customer, shipping_address, .. } => {
                if self.status != S::None {
                    return Err(OrderError::OrderAlreadyExists { order });
                }
                let shipping_address = shipping_address.clone().map(|a| Personal::new(customer.as_str(), a));
                OrderCreated { customer: customer.clone(), shipping_address }.into()
            }
            C::AddItem { sku, quantity, unit_price, .. } => {
                self.require(command, &[S::Draft])?;
                if *quantity == 0 || *quantity > MAX_QUANTITY {
                    return Err(OrderError::InvalidQuantity { order, quantity: *quantity });
                }
                let line = u64::from(*quantity).checked_mul(unit_price.minor_units());
                match line.and_then(|l| l.checked_add(self.total)) {
                    Some(total) if total <= MAX_MINOR_UNITS => {}
                    _ => return Err(OrderError::OrderTotalTooLarge { order }),
                }
                OrderItemAdded { sku: sku.clone(), quantity: *quantity, unit_price: *unit_price }.into()
            }
            C::Confirm { .. } => {
                self.require(command, &[S::Draft])?;
                if self.lines.is_empty() {
                    return Err(OrderError::EmptyOrder { order });
                }
                OrderConfirmed { total: self.total }.into()
            }
            C::Pay { amount, .. } => {
                self.require(command, &[S::Confirmed])?;
                if amount.minor_units() != self.total {
                    return Err(OrderError::PaymentMismatch {
                        order,
                        expected: self.total,
                        offered: amount.minor_units(),
                    });
                }
                OrderPaid { amount: *amount }.into()
            }
            C::Ship { .. } => {
                self.require(command, &[S::Paid])?;
                OrderShipped {}.into()
            }
            C::Deliver { .. } => {
                self.require(command, &[S::Shipped])?;
                OrderDelivered {}.into()
            }
            C::Cancel { reason, .. } => {
                self.require(command, &[S::Draft, S::Confirmed, S::Paid])?;
                OrderCancelled { reason: reason.clone() }.into()
            }
        };
        Ok(vec![event])
    }
}
