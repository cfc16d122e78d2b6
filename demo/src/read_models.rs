//! The demo's read models: the query side. Each folds the whole log ([`DemoEvent`]s) into keyed
//! documents and answers its queries from them; none reads an aggregate or writes the log.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use eventline_core::envelope::{Envelope, EventMetadata, RecordedEvent};
use eventline_core::event::DecodeError;
use eventline_core::ids::{CausationId, CommandId, CorrelationId, EventId, Position, StreamId, Timestamp};
use eventline_core::personal::Personal;
use eventline_core::projection::{DocChange, Documents, Impossible, ReadModel};

use crate::bank::{AccountEvent, Holder, TransferEvent};
use crate::orders::{OrderEvent, OrderStatus};
use crate::{ACCOUNT_EVENTS, DemoEvent, EVENT_TYPES, ORDER_EVENTS, TRANSFER_BOARD_EVENTS};

/// Implements the document plumbing of a read model whose documents live in `self.docs` and
/// which has no derived index.
macro_rules! plain_documents {
    ($doc:ty) => {
        fn documents(&self) -> &Documents<$doc> {
            &self.docs
        }
        fn take_changes(&mut self) -> Vec<DocChange<$doc>> {
            self.docs.take_changes()
        }
        fn from_documents(docs: Documents<$doc>) -> Self {
            Self { docs }
        }
    };
}

fn aggregate_id(envelope: &Envelope<DemoEvent>) -> &str {
    envelope.meta.stream.aggregate_id()
}

// ---------------------------------------------------------------------------------------------

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AccountState {
    #[default]
    Open,
    Closed,
}
// Read by name through one shared decoder (`by_name`), not a derived one per enum.
eventline_core::deserialize_by_name!(AccountState { Open = "open", Closed = "closed" });

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountBalance {
    pub account: String,
    pub currency: String,
    /// Available money in minor units.
    pub balance: u64,
    /// Money held by saga transfers not yet settled or refunded.
    pub pending: u64,
    pub state: AccountState,
}

/// How an account event moves money: (change to balance, change to pending).
fn balance_effect(event: &AccountEvent) -> (i128, i128) {
    let minor = |a: &crate::money::Amount| i128::from(a.minor_units());
    match event {
        AccountEvent::Deposited(e) => (minor(&e.amount), 0),
        AccountEvent::Received(e) => (minor(&e.amount), 0),
        AccountEvent::Withdrawn(e) => (-minor(&e.amount), 0),
        AccountEvent::Sent(e) => (-minor(&e.amount), 0),
        AccountEvent::Debited(e) => (-minor(&e.amount), minor(&e.amount)),
        AccountEvent::Refunded(e) => (minor(&e.amount), -minor(&e.amount)),
        AccountEvent::Settled(e) => (0, -minor(&e.amount)),
        AccountEvent::Opened(_) | AccountEvent::Closed(_) => (0, 0),
    }
}

/// A count or sum one larger, or why not.
fn plus(value: u64, more: u64, what: &str) -> Result<u64, Impossible> {
    Impossible::shift(value, i128::from(more), what)
}

/// Balance of every account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountBalances {
    docs: Documents<AccountBalance>,
}

impl AccountBalances {
    pub fn get(&self, account: &str) -> Option<&AccountBalance> {
        self.docs.get(account)
    }

    pub fn all(&self) -> Vec<&AccountBalance> {
        self.docs.values().collect()
    }

    /// Money in all accounts, available and held.
    pub fn total(&self) -> u64 {
        self.docs.values().map(|b| b.balance + b.pending).sum()
    }
}

impl ReadModel for AccountBalances {
    const NAME: &'static str = "balances";
    const HANDLES: &'static [&'static str] = &ACCOUNT_EVENTS;
    type Event = DemoEvent;
    type Doc = AccountBalance;

    fn apply(&mut self, envelope: &Envelope<DemoEvent>) -> Result<(), Impossible> {
        let DemoEvent::Account(event) = &envelope.event else { return Ok(()) };
        let account = aggregate_id(envelope);
        match event {
            AccountEvent::Opened(opened) => self.docs.put(
                account,
                AccountBalance {
                    account: account.to_string(),
                    currency: opened.currency.to_string(),
                    ..Default::default()
                },
            ),
            AccountEvent::Closed(_) => {
                self.docs.update(account, |b| b.state = AccountState::Closed);
            }
            other => {
                let (balance, pending) = balance_effect(other);
                if balance != 0 || pending != 0 {
                    let moved = self.docs.try_update(account, |b| {
                        (b.balance, b.pending) = (
                            Impossible::shift(b.balance, balance, "a balance")?,
                            Impossible::shift(b.pending, pending, "money held")?,
                        );
                        Ok(())
                    });
                    return moved.unwrap_or_else(|| {
                        Err(Impossible(format!("money moved on account {account}, which was never opened")))
                    });
                }
            }
        }
        Ok(())
    }

    plain_documents!(AccountBalance);
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    pub account: String,
    pub opened_at: Timestamp,
    pub total_deposits: u64,
    pub total_withdrawals: u64,
    pub total_transferred_in: u64,
    pub total_transferred_out: u64,
    /// Deposits, withdrawals and transfer legs (a refund counts as one).
    pub transaction_count: u64,
    pub last_activity: Timestamp,
    pub state: AccountState,
    /// The holder on record, if any: personal data, redacted once they are forgotten. Absent
    /// rather than null when there is none, like in documents persisted before holders existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<Personal<Holder>>,
}

/// Totals and activity per account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountSummaries {
    docs: Documents<AccountSummary>,
}

impl AccountSummaries {
    pub fn get(&self, account: &str) -> Option<&AccountSummary> {
        self.docs.get(account)
    }

    pub fn all(&self) -> Vec<&AccountSummary> {
        self.docs.values().collect()
    }
}

impl ReadModel for AccountSummaries {
    const NAME: &'static str = "accountSummaries";
    const HANDLES: &'static [&'static str] = &ACCOUNT_EVENTS;
    type Event = DemoEvent;
    type Doc = AccountSummary;

    fn apply(&mut self, envelope: &Envelope<DemoEvent>) -> Result<(), Impossible> {
        let DemoEvent::Account(event) = &envelope.event else { return Ok(()) };
        let account = aggregate_id(envelope);
        let at = envelope.meta.recorded_at;
        if let AccountEvent::Opened(opened) = event {
            let summary = AccountSummary {
                account: account.to_string(),
                opened_at: at,
                last_activity: at,
                holder: opened.holder.clone(),
                ..Default::default()
            };
            self.docs.put(account, summary);
            return Ok(());
        }
        // Checked first (the new totals, as copies), then changed in place: one lookup.
        let changed = self.docs.try_update(account, |summary| {
            let (mut deposits, mut withdrawals) = (summary.total_deposits, summary.total_withdrawals);
            let (mut sent, mut received) = (summary.total_transferred_out, summary.total_transferred_in);
            let mut state = summary.state;
            let counted = match event {
                AccountEvent::Deposited(e) => {
                    deposits = plus(deposits, e.amount.minor_units(), "total deposits")?;
                    true
                }
                AccountEvent::Withdrawn(e) => {
                    withdrawals = plus(withdrawals, e.amount.minor_units(), "total withdrawals")?;
                    true
                }
                AccountEvent::Sent(e) => {
                    sent = plus(sent, e.amount.minor_units(), "money sent")?;
                    true
                }
                AccountEvent::Debited(e) => {
                    sent = plus(sent, e.amount.minor_units(), "money sent")?;
                    true
                }
                AccountEvent::Refunded(e) => {
                    sent = Impossible::shift(sent, -i128::from(e.amount.minor_units()), "money sent")?;
                    true
                }
                AccountEvent::Received(e) => {
                    received = plus(received, e.amount.minor_units(), "money received")?;
                    true
                }
                AccountEvent::Closed(_) => {
                    state = AccountState::Closed;
                    false
                }
                AccountEvent::Opened(_) | AccountEvent::Settled(_) => false,
            };
            let count = if counted {
                plus(summary.transaction_count, 1, "the transaction count")?
            } else {
                summary.transaction_count
            };
            (summary.total_deposits, summary.total_withdrawals) = (deposits, withdrawals);
            (summary.total_transferred_out, summary.total_transferred_in) = (sent, received);
            (summary.state, summary.transaction_count, summary.last_activity) = (state, count, at);
            Ok(())
        });
        changed.unwrap_or(Ok(()))
    }

    fn forget(&mut self, subject: &str) {
        let about = |s: &AccountSummary| s.holder.as_ref().is_some_and(|h| h.subject() == subject);
        self.docs.update_where(about, |s| s.holder.iter_mut().for_each(Personal::redact));
    }

    plain_documents!(AccountSummary);
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RankedAccount {
    pub account: String,
    pub currency: String,
    pub balance: u64,
}

/// Open accounts ranked by available balance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopAccounts {
    docs: Documents<RankedAccount>,
}

impl TopAccounts {
    /// Highest balance first, then account id. Ranked when asked rather than kept in an index:
    /// an index in a `BTreeSet` of its own cost the demo's .wasm 3.7 KB gzipped.
    pub fn top(&self, n: usize) -> Vec<&RankedAccount> {
        // Documents come in account order, and the sort is stable.
        let mut ranked: Vec<&RankedAccount> = self.docs.values().collect();
        ranked.sort_by_key(|r| std::cmp::Reverse(r.balance));
        ranked.truncate(n);
        ranked
    }
}

impl ReadModel for TopAccounts {
    const NAME: &'static str = "topAccounts";
    const HANDLES: &'static [&'static str] = &ACCOUNT_EVENTS;
    type Event = DemoEvent;
    type Doc = RankedAccount;

    fn apply(&mut self, envelope: &Envelope<DemoEvent>) -> Result<(), Impossible> {
        let DemoEvent::Account(event) = &envelope.event else { return Ok(()) };
        let account = aggregate_id(envelope);
        match event {
            AccountEvent::Opened(opened) => {
                let ranked =
                    RankedAccount { account: account.to_string(), currency: opened.currency.to_string(), balance: 0 };
                self.docs.put(account, ranked);
            }
            AccountEvent::Closed(_) => {
                self.docs.remove(account);
            }
            other => {
                let (delta, _) = balance_effect(other);
                if delta != 0 {
                    let moved = self.docs.try_update(account, |r| {
                        r.balance = Impossible::shift(r.balance, delta, "a balance")?;
                        Ok(())
                    });
                    return moved.unwrap_or(Ok(()));
                }
            }
        }
        Ok(())
    }

    plain_documents!(RankedAccount);
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderCard {
    pub order: String,
    pub customer: String,
    pub status: OrderStatus,
    pub lines: u32,
    pub units: u64,
    pub total: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Personal data about the customer, redacted once they are forgotten; absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Personal<String>>,
}

/// Every order's status: the status board, and the warehouse's list of paid orders to ship.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderBoard {
    docs: Documents<OrderCard>,
}

impl OrderBoard {
    pub fn get(&self, order: &str) -> Option<&OrderCard> {
        self.docs.get(order)
    }

    /// How many orders are in each status that has any, in the order of `OrderStatus::ALL`.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts = [0usize; OrderStatus::ALL.len()];
        for card in self.docs.values() {
            counts[card.status as usize] += 1;
        }
        OrderStatus::ALL.iter().zip(counts).filter(|(_, n)| *n > 0).map(|(s, n)| (s.name(), n)).collect()
    }

    pub fn with_status(&self, status: OrderStatus) -> Vec<&OrderCard> {
        self.docs.values().filter(|c| c.status == status).collect()
    }

    /// Paid and not yet shipped, oldest payment first: what the warehouse packs next.
    pub fn pending_fulfilment(&self) -> Vec<&OrderCard> {
        let mut paid = self.with_status(OrderStatus::Paid);
        paid.sort_by_key(|c| (c.updated_at, c.order.clone()));
        paid
    }

    pub fn all(&self) -> Vec<&OrderCard> {
        self.docs.values().collect()
    }
}

/// What an order line adds to its order's total, or why it cannot.
fn line_total(item: &crate::orders::OrderItemAdded) -> Result<u64, Impossible> {
    u64::from(item.quantity)
        .checked_mul(item.unit_price.minor_units())
        .ok_or_else(|| Impossible(format!("{} x {} does not fit a total", item.quantity, item.unit_price)))
}

fn order_status_after(event: &OrderEvent) -> Option<OrderStatus> {
    match event {
        OrderEvent::Created(_) => Some(OrderStatus::Draft),
        OrderEvent::ItemAdded(_) => None,
        OrderEvent::Confirmed(_) => Some(OrderStatus::Confirmed),
        OrderEvent::Paid(_) => Some(OrderStatus::Paid),
        OrderEvent::Shipped(_) => Some(OrderStatus::Shipped),
        OrderEvent::Delivered(_) => Some(OrderStatus::Delivered),
        OrderEvent::Cancelled(_) => Some(OrderStatus::Cancelled),
    }
}

impl ReadModel for OrderBoard {
    const NAME: &'static str = "orderBoard";
    const HANDLES: &'static [&'static str] = &ORDER_EVENTS;
    type Event = DemoEvent;
    type Doc = OrderCard;

    fn apply(&mut self, envelope: &Envelope<DemoEvent>) -> Result<(), Impossible> {
        let DemoEvent::Order(event) = &envelope.event else { return Ok(()) };
        let order = aggregate_id(envelope);
        let at = envelope.meta.recorded_at;
        if let OrderEvent::Created(created) = event {
            let card = OrderCard {
                order: order.to_string(),
                customer: created.customer.to_string(),
                status: OrderStatus::Draft,
                created_at: at,
                updated_at: at,
                shipping_address: created.shipping_address.clone(),
                ..Default::default()
            };
            self.docs.put(order, card);
            return Ok(());
        }
        let Some(current) = self.docs.get(order) else { return Ok(()) };
        let mut card = current.clone();
        card.updated_at = at;
        if let OrderEvent::ItemAdded(item) = event {
            card.lines = card.lines.checked_add(1).ok_or_else(|| Impossible("too many order lines".into()))?;
            card.units = plus(card.units, u64::from(item.quantity), "units ordered")?;
            card.total = plus(card.total, line_total(item)?, "an order total")?;
        }
        if let Some(status) = order_status_after(event) {
            card.status = status;
        }
        self.docs.put(order, card);
        Ok(())
    }

    fn forget(&mut self, subject: &str) {
        let about = |c: &OrderCard| c.shipping_address.as_ref().is_some_and(|a| a.subject() == subject);
        self.docs.update_where(about, |c| c.shipping_address.iter_mut().for_each(Personal::redact));
    }

    plain_documents!(OrderCard);
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CustomerOrder {
    pub order: String,
    pub status: OrderStatus,
    pub total: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CustomerHistory {
    pub customer: String,
    /// In order of creation.
    pub orders: Vec<CustomerOrder>,
}

/// Each customer's orders.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerOrders {
    docs: Documents<CustomerHistory>,
    /// Derived from `docs`: which customer each order belongs to.
    customer_of: HashMap<String, String>,
}

impl CustomerOrders {
    pub fn history(&self, customer: &str) -> Option<&CustomerHistory> {
        self.docs.get(customer)
    }

    pub fn customers(&self) -> Vec<&str> {
        self.docs.iter().map(|(k, _)| k.as_str()).collect()
    }
}

impl ReadModel for CustomerOrders {
    const NAME: &'static str = "customerOrders";
    const HANDLES: &'static [&'static str] = &ORDER_EVENTS;
    type Event = DemoEvent;
    type Doc = CustomerHistory;

    fn apply(&mut self, envelope: &Envelope<DemoEvent>) -> Result<(), Impossible> {
        let DemoEvent::Order(event) = &envelope.event else { return Ok(()) };
        let order = aggregate_id(envelope);
        let at = envelope.meta.recorded_at;
        if let OrderEvent::Created(created) = event {
            let customer = created.customer.to_string();
            self.customer_of.insert(order.to_string(), customer.clone());
            let entry = CustomerOrder {
                order: order.to_string(),
                status: OrderStatus::Draft,
                total: 0,
                created_at: at,
                updated_at: at,
            };
            self.docs.upsert(
                &customer,
                || CustomerHistory { customer: customer.clone(), orders: Vec::new() },
                |history| history.orders.push(entry),
            );
            return Ok(());
        }
        let Some(customer) = self.customer_of.get(order) else { return Ok(()) };
        let Some(history) = self.docs.get(customer) else { return Ok(()) };
        let Some(index) = history.orders.iter().position(|o| o.order == order) else { return Ok(()) };
        let total = match event {
            OrderEvent::ItemAdded(item) => plus(history.orders[index].total, line_total(item)?, "an order total")?,
            _ => history.orders[index].total,
        };
        self.docs.update(customer, |history| {
            let entry = &mut history.orders[index];
            entry.updated_at = at;
            entry.total = total;
            if let Some(status) = order_status_after(event) {
                entry.status = status;
            }
        });
        Ok(())
    }

    /// A forgotten customer's history goes: it is all about them.
    fn forget(&mut self, subject: &str) {
        if self.docs.remove(subject).is_some() {
            self.customer_of.retain(|_, customer| customer != subject);
        }
    }

    fn documents(&self) -> &Documents<CustomerHistory> {
        &self.docs
    }

    fn take_changes(&mut self) -> Vec<DocChange<CustomerHistory>> {
        self.docs.take_changes()
    }

    fn from_documents(docs: Documents<CustomerHistory>) -> Self {
        let customer_of =
            docs.values().flat_map(|h| h.orders.iter().map(|o| (o.order.clone(), h.customer.clone()))).collect();
        CustomerOrders { docs, customer_of }
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum TransferMode {
    #[default]
    Atomic,
    Saga,
}
// Read by name through one shared decoder (`by_name`), not a derived one per enum.
eventline_core::deserialize_by_name!(TransferMode { Atomic = "atomic", Saga = "saga" });

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum TransferProgress {
    #[default]
    Requested,
    Debited,
    Credited,
    Settled,
    Completed,
    Failed,
    CreditRejected,
    Refunded,
    Compensated,
}
// Read by name through one shared decoder (`by_name`), not a derived one per enum.
eventline_core::deserialize_by_name!(TransferProgress {
    Requested = "requested",
    Debited = "debited",
    Credited = "credited",
    Settled = "settled",
    Completed = "completed",
    Failed = "failed",
    CreditRejected = "creditRejected",
    Refunded = "refunded",
    Compensated = "compensated",
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferStep {
    pub step: TransferProgress,
    pub position: Position,
    pub at: Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    pub transfer_id: String,
    pub mode: TransferMode,
    pub from: String,
    pub to: String,
    pub amount: u64,
    pub status: TransferProgress,
    /// Every step the transfer went through, in log order.
    pub steps: Vec<TransferStep>,
    pub reason: Option<String>,
}

impl TransferView {
    /// Whether the transfer has reached an end (completed, failed or compensated).
    pub fn is_finished(&self) -> bool {
        matches!(self.status, TransferProgress::Completed | TransferProgress::Failed | TransferProgress::Compensated)
    }
}

/// Every transfer with its steps: how the saga is doing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransferBoard {
    docs: Documents<TransferView>,
}

impl TransferBoard {
    pub fn get(&self, transfer_id: &str) -> Option<&TransferView> {
        self.docs.get(transfer_id)
    }

    pub fn all(&self) -> Vec<&TransferView> {
        self.docs.values().collect()
    }

    pub fn in_progress(&self) -> Vec<&TransferView> {
        self.docs.values().filter(|t| !t.is_finished()).collect()
    }
}

impl ReadModel for TransferBoard {
    const NAME: &'static str = "transfers";
    const HANDLES: &'static [&'static str] = &TRANSFER_BOARD_EVENTS;
    type Event = DemoEvent;
    type Doc = TransferView;

    fn apply(&mut self, envelope: &Envelope<DemoEvent>) -> Result<(), Impossible> {
        use TransferProgress as P;
        let step = |step| TransferStep { step, position: envelope.meta.position, at: envelope.meta.recorded_at };
        let stream_id = aggregate_id(envelope);
        let (key, progress, reason) = match &envelope.event {
            DemoEvent::Transfer(TransferEvent::Requested(r)) => {
                let view = TransferView {
                    transfer_id: stream_id.to_string(),
                    mode: TransferMode::Saga,
                    from: r.from.to_string(),
                    to: r.to.to_string(),
                    amount: r.amount.minor_units(),
                    status: P::Requested,
                    steps: vec![step(P::Requested)],
                    reason: None,
                };
                self.docs.put(stream_id, view);
                return Ok(());
            }
            DemoEvent::Account(AccountEvent::Sent(sent)) => {
                let view = TransferView {
                    transfer_id: sent.transfer_id.to_string(),
                    mode: TransferMode::Atomic,
                    from: stream_id.to_string(),
                    to: sent.to.to_string(),
                    amount: sent.amount.minor_units(),
                    status: P::Debited,
                    steps: vec![step(P::Debited)],
                    reason: None,
                };
                self.docs.put(sent.transfer_id.as_str(), view);
                return Ok(());
            }
            DemoEvent::Account(AccountEvent::Debited(e)) => (e.transfer_id.as_str(), P::Debited, None),
            DemoEvent::Account(AccountEvent::Received(e)) => (e.transfer_id.as_str(), P::Credited, None),
            DemoEvent::Account(AccountEvent::Settled(e)) => (e.transfer_id.as_str(), P::Settled, None),
            DemoEvent::Account(AccountEvent::Refunded(e)) => (e.transfer_id.as_str(), P::Refunded, None),
            DemoEvent::Transfer(TransferEvent::Completed(_)) => (stream_id, P::Completed, None),
            DemoEvent::Transfer(TransferEvent::Failed(e)) => (stream_id, P::Failed, Some(e.reason.clone())),
            DemoEvent::Transfer(TransferEvent::CreditRejected(e)) => {
                (stream_id, P::CreditRejected, Some(e.reason.clone()))
            }
            DemoEvent::Transfer(TransferEvent::Compensated(_)) => (stream_id, P::Compensated, None),
            _ => return Ok(()),
        };
        self.docs.update(key, |view| {
            view.steps.push(step(progress));
            // An atomic transfer is complete as soon as its target is credited, in the same commit.
            view.status =
                if view.mode == TransferMode::Atomic && progress == P::Credited { P::Completed } else { progress };
            if reason.is_some() {
                view.reason = reason;
            }
        });
        Ok(())
    }

    plain_documents!(TransferView);
}

// ---------------------------------------------------------------------------------------------

/// Entries per audit page: one stored document each, so the log is written a page at a time.
pub const AUDIT_PAGE: u64 = 256;
/// The most entries an audit query answers with: the newest of the log, which is itself the whole
/// record (`events()` pages through it). The read model keeps these and the count of all, not a
/// second copy of the log, so a catch-up writes a few pages, not every one.
pub const AUDIT_KEPT: usize = 1_000;
/// Pages the audit log keeps: [`AUDIT_KEPT`] entries with the newest page only begun.
pub const AUDIT_PAGES_KEPT: u64 = (AUDIT_KEPT as u64).div_ceil(AUDIT_PAGE) + 1;

/// One line of the audit log. Its ids share the event's own (`Arc`s), so an entry costs no copy
/// of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub position: Position,
    pub recorded_at: Timestamp,
    #[ts(type = "string")]
    pub stream: StreamId,
    #[ts(type = "string")]
    pub event_type: Cow<'static, str>,
    #[ts(type = "string")]
    pub event_id: EventId,
    #[ts(type = "string")]
    pub command_id: CommandId,
    #[ts(type = "string")]
    pub correlation_id: CorrelationId,
    #[ts(type = "string")]
    pub causation_id: CausationId,
    /// Why the event could not be read, if it could not (it is in the dead letters too).
    pub undecodable: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Stored as arrays, not objects: the audit log holds a line per event, so its field names
    /// would be most of its size.
    #[serde(with = "compact_entries")]
    pub entries: Vec<AuditEntry>,
}

mod compact_entries {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::AuditEntry;
    use eventline_core::ids::{CausationId, CommandId, CorrelationId, EventId, Position, StreamId, Timestamp};

    /// position, time, stream, type, event id, command id, correlation id unless the command's,
    /// causation id unless the command's, why it did not decode.
    type Row = (
        Position,
        Timestamp,
        StreamId,
        String,
        String,
        CommandId,
        Option<CorrelationId>,
        Option<CausationId>,
        Option<String>,
    );

    pub fn serialize<S: Serializer>(entries: &[AuditEntry], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(entries.iter().map(|e| {
            (
                e.position,
                e.recorded_at,
                &e.stream,
                &e.event_type,
                &e.event_id,
                &e.command_id,
                (e.correlation_id.as_str() != e.command_id.as_str()).then_some(&e.correlation_id),
                (e.causation_id.as_str() != e.command_id.as_str()).then_some(&e.causation_id),
                &e.undecodable,
            )
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AuditEntry>, D::Error> {
        let rows = Vec::<Row>::deserialize(d)?;
        rows.into_iter()
            .map(
                |(
                    position,
                    recorded_at,
                    stream,
                    event_type,
                    event_id,
                    command_id,
                    correlation,
                    causation,
                    undecodable,
                )| {
                    // The id as text, parsed here: one parser for every event id the module reads.
                    let event_id = uuid::Uuid::try_parse(&event_id).map_err(serde::de::Error::custom)?;
                    Ok(AuditEntry {
                        position,
                        recorded_at,
                        stream,
                        event_type: event_type.into(),
                        event_id: EventId(event_id),
                        correlation_id: correlation.unwrap_or_else(|| CorrelationId::new(command_id.as_str())),
                        causation_id: causation.unwrap_or_else(|| CausationId::new(command_id.as_str())),
                        command_id,
                        undecodable,
                    })
                },
            )
            .collect()
    }
}

/// An append-only record of every event, readable or not, with who caused it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditLog {
    docs: Documents<AuditPage>,
}

impl AuditLog {
    /// The key of page `page`: its number in 12 digits, so that key order is page order. Made
    /// on the stack: the audit log looks a page up for every event of the log.
    fn page_key(page: u64, buffer: &mut [u8; 12]) -> &str {
        let mut rest = page;
        for digit in buffer.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        std::str::from_utf8(buffer).expect("ASCII digits")
    }

    fn record(&mut self, meta: &EventMetadata, event_type: Cow<'static, str>, undecodable: Option<String>) {
        let entry = AuditEntry {
            position: meta.position,
            recorded_at: meta.recorded_at,
            stream: meta.stream.clone(),
            event_type,
            event_id: meta.event_id,
            command_id: meta.command_id.clone(),
            correlation_id: meta.correlation_id.clone(),
            causation_id: meta.causation_id.clone(),
            undecodable,
        };
        let page = meta.position.0.saturating_sub(1) / AUDIT_PAGE;
        let new_page = || AuditPage { entries: Vec::with_capacity(AUDIT_PAGE as usize) };
        self.docs.upsert(Self::page_key(page, &mut [0; 12]), new_page, |page| page.entries.push(entry));
        // A new page: pages older than the window go (more than one only the first time after
        // an upgrade from a database that kept them all).
        if (meta.position.0.saturating_sub(1)).is_multiple_of(AUDIT_PAGE) {
            let mut buffer = [0; 12];
            let first_kept = Self::page_key(page.saturating_sub(AUDIT_PAGES_KEPT - 1), &mut buffer);
            // Listing sorts the keys: once, whatever number of pages go.
            let dropped: Vec<String> =
                self.docs.iter().map(|(key, _)| key).take_while(|key| key.as_str() < first_kept).cloned().collect();
            for key in dropped {
                self.docs.remove(&key);
            }
        }
    }

    /// The newest `n` entries, newest first.
    pub fn latest(&self, n: usize) -> Vec<&AuditEntry> {
        self.docs.values().rev().flat_map(|page| page.entries.iter().rev()).take(n).collect()
    }

    /// How many events it has seen: every event of the log gets an entry, from position 1 on,
    /// so the newest entry's position, whatever pages were dropped.
    pub fn len(&self) -> usize {
        self.docs.values().next_back().and_then(|page| page.entries.last()).map_or(0, |e| e.position.0 as usize)
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

impl ReadModel for AuditLog {
    const NAME: &'static str = "auditLog";
    const HANDLES: &'static [&'static str] = &EVENT_TYPES;
    /// Pages are large and only the newest changes: one record each.
    const DOCUMENT_BUCKETS: u32 = 0;
    type Event = DemoEvent;
    type Doc = AuditPage;

    fn apply(&mut self, envelope: &Envelope<DemoEvent>) -> Result<(), Impossible> {
        use eventline_core::event::Event;
        self.record(&envelope.meta, Cow::Borrowed(envelope.event.event_type()), None);
        Ok(())
    }

    fn apply_undecodable(&mut self, recorded: &RecordedEvent, error: &DecodeError) {
        self.record(&recorded.meta, Cow::Owned(recorded.event_type.to_string()), Some(error.to_string()));
    }

    plain_documents!(AuditPage);
}

/// Every read model of the demo, empty, as the list its application registers.
pub fn all() -> Vec<Box<dyn eventline_core::slot::Slot<DemoEvent>>> {
    use eventline_core::projection::Projection;
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

/// The names of every read model, in registry order: storage and the JS API know them by these.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|read_model| read_model.name()).collect()
}
