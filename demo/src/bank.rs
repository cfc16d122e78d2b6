//! The bank: accounts, and transfers between them in two ways.
//!
//! - **Atomic**: one commit writes `TransferSent` to the source and `TransferReceived` to the
//!   target ([`decide_atomic_transfer`]); both accounts accept or nothing is written. This relies
//!   on the store's multi-stream commits.
//! - **Saga**: a [`Transfer`] records the request; the transfer saga (`saga`) debits the
//!   source (`TransferDebited`, money held as pending), credits the target, then settles the
//!   source; if the target refuses the credit, it refunds the source (`TransferRefunded`). This is
//!   what a store without multi-stream atomicity needs, and the money is never created or lost:
//!   it is in exactly one of the source balance, the source's pending transfers, or the target.
//!
//! Rules: amounts are positive whole minor units; no overdraft; nothing happens on an account that
//! is closed or was never opened; an account opens once; an account closes only when empty and
//! with no transfer pending.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use eventline_core::aggregate::{Aggregate, ErrorCode};
use eventline_core::event::{Event, EventPayload};
use eventline_core::event_enum;
use eventline_core::personal::Personal;
use eventline_core::sorted_map::SortedMap;

use crate::money::{Amount, Currency, EntityId, MAX_MINOR_UNITS};

// ---------------------------------------------------------------------------------------------
// Account events

/// Who holds an account: personal data, kept readable only until the holder is forgotten.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Holder {
    pub name: String,
    pub email: String,
}

/// Schema v1 had no currency (every account was in euros); v2 records it; v3 adds the holder,
/// a personal value whose subject is the customer (none for accounts opened before).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountOpened {
    pub currency: Currency,
    pub holder: Option<Personal<Holder>>,
}

/// `AccountOpened` as version 1 wrote it: no currency (EUR) and no holder. Stored events of an
/// old version keep their shape; they are upcast when decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountOpenedV1 {}

/// `AccountOpened` as version 2 wrote it: a currency, no holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountOpenedV2 {
    pub currency: Currency,
}

impl AccountOpened {
    pub fn eur() -> AccountOpened {
        AccountOpened { currency: Currency::eur(), holder: None }
    }
}

impl EventPayload for AccountOpened {
    const TYPE: &'static str = "AccountOpened";
    const SCHEMA_VERSION: u16 = 3;

    fn upcast(from_version: u16, mut payload: Value) -> Result<Value, String> {
        let object =
            payload.as_object_mut().ok_or_else(|| format!("AccountOpened v{from_version} is not an object"))?;
        match from_version {
            1 => object.insert("currency".into(), "EUR".into()),
            2 => object.insert("holder".into(), Value::Null),
            other => return Err(format!("no upcaster for AccountOpened v{other}")),
        };
        Ok(payload)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MoneyDeposited {
    pub amount: Amount,
}
impl EventPayload for MoneyDeposited {
    const TYPE: &'static str = "MoneyDeposited";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MoneyWithdrawn {
    pub amount: Amount,
}
impl EventPayload for MoneyWithdrawn {
    const TYPE: &'static str = "MoneyWithdrawn";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountClosed {}
impl EventPayload for AccountClosed {
    const TYPE: &'static str = "AccountClosed";
}

/// Source side of an atomic transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferSent {
    pub transfer_id: EntityId,
    pub to: EntityId,
    pub amount: Amount,
}
impl EventPayload for TransferSent {
    const TYPE: &'static str = "TransferSent";
}

/// Target side of a transfer, atomic or saga.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferReceived {
    pub transfer_id: EntityId,
    pub from: EntityId,
    pub amount: Amount,
}
impl EventPayload for TransferReceived {
    const TYPE: &'static str = "TransferReceived";
}

/// Source side of a saga transfer: the money leaves the balance and is held until settled or
/// refunded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferDebited {
    pub transfer_id: EntityId,
    pub to: EntityId,
    pub amount: Amount,
    pub currency: Currency,
}
impl EventPayload for TransferDebited {
    const TYPE: &'static str = "TransferDebited";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferSettled {
    pub transfer_id: EntityId,
    pub amount: Amount,
}
impl EventPayload for TransferSettled {
    const TYPE: &'static str = "TransferSettled";
}

/// Compensation: the held money returns to the source's balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferRefunded {
    pub transfer_id: EntityId,
    pub amount: Amount,
}
impl EventPayload for TransferRefunded {
    const TYPE: &'static str = "TransferRefunded";
}

event_enum! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum AccountEvent {
        Opened(AccountOpened),
        Deposited(MoneyDeposited),
        Withdrawn(MoneyWithdrawn),
        Closed(AccountClosed),
        Sent(TransferSent),
        Received(TransferReceived),
        Debited(TransferDebited),
        Settled(TransferSettled),
        Refunded(TransferRefunded),
    }
}

// ---------------------------------------------------------------------------------------------
// Account aggregate

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AccountStatus {
    #[default]
    Unopened,
    Open,
    Closed,
}
// Read by name through one shared decoder (`by_name`), not a derived one per enum.
eventline_core::deserialize_by_name!(AccountStatus { Unopened = "unopened", Open = "open", Closed = "closed" });

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub status: AccountStatus,
    pub currency: Currency,
    /// Money available, in minor units.
    pub balance: u64,
    /// Saga transfers debited and not yet settled or refunded: transfer id -> amount.
    pub pending: SortedMap<EntityId, u64>,
}

/// Everything an account decides. Each command names its account, so a refusal can say which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountCommand {
    Open {
        account: EntityId,
        currency: Currency,
        /// Recorded for people to read; no rule looks at it.
        holder: Option<Personal<Holder>>,
    },
    Deposit {
        account: EntityId,
        amount: Amount,
    },
    Withdraw {
        account: EntityId,
        amount: Amount,
    },
    Close {
        account: EntityId,
    },
    /// Source leg of an atomic transfer.
    SendTransfer {
        account: EntityId,
        transfer_id: EntityId,
        to: EntityId,
        amount: Amount,
    },
    /// Target leg of a transfer; the target refuses a currency other than its own.
    ReceiveTransfer {
        account: EntityId,
        transfer_id: EntityId,
        from: EntityId,
        amount: Amount,
        currency: Currency,
    },
    /// Saga step 1: hold the money.
    DebitForTransfer {
        account: EntityId,
        transfer_id: EntityId,
        to: EntityId,
        amount: Amount,
    },
    /// Saga step 3: the target has it; release the hold.
    SettleTransfer {
        account: EntityId,
        transfer_id: EntityId,
    },
    /// Saga compensation: the target refused; give the money back.
    RefundTransfer {
        account: EntityId,
        transfer_id: EntityId,
    },
}

impl AccountCommand {
    pub fn account(&self) -> &EntityId {
        match self {
            AccountCommand::Open { account, .. }
            | AccountCommand::Deposit { account, .. }
            | AccountCommand::Withdraw { account, .. }
            | AccountCommand::Close { account }
            | AccountCommand::SendTransfer { account, .. }
            | AccountCommand::ReceiveTransfer { account, .. }
            | AccountCommand::DebitForTransfer { account, .. }
            | AccountCommand::SettleTransfer { account, .. }
            | AccountCommand::RefundTransfer { account, .. } => account,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, TS)]
#[serde(tag = "code", rename_all_fields = "camelCase")]
pub enum AccountError {
    #[error("account {account} does not exist")]
    AccountNotFound { account: EntityId },
    #[error("account {account} already exists")]
    AccountAlreadyExists { account: EntityId },
    #[error("account {account} is closed")]
    AccountClosed { account: EntityId },
    #[error("account {account} has {balance} available, less than the {requested} requested")]
    InsufficientFunds { account: EntityId, balance: u64, requested: u64 },
    #[error("account {account} still holds {balance}; empty it before closing")]
    AccountNotEmpty { account: EntityId, balance: u64 },
    #[error("account {account} has {count} transfer(s) in progress")]
    TransferInProgress { account: EntityId, count: usize },
    #[error("a transfer needs two different accounts; both are {account}")]
    SameAccount { account: EntityId },
    #[error("account {account} holds {expected}, not {found}")]
    CurrencyMismatch { account: EntityId, expected: Currency, found: Currency },
    #[error("account {account} would exceed the largest balance ({MAX_MINOR_UNITS})")]
    BalanceLimitExceeded { account: EntityId },
    #[error("account {account} has no pending transfer {transfer_id}")]
    UnknownTransfer { account: EntityId, transfer_id: EntityId },
}

impl ErrorCode for AccountError {
    fn code(&self) -> &'static str {
        match self {
            AccountError::AccountNotFound { .. } => "AccountNotFound",
            AccountError::AccountAlreadyExists { .. } => "AccountAlreadyExists",
            AccountError::AccountClosed { .. } => "AccountClosed",
            AccountError::InsufficientFunds { .. } => "InsufficientFunds",
            AccountError::AccountNotEmpty { .. } => "AccountNotEmpty",
            AccountError::TransferInProgress { .. } => "TransferInProgress",
            AccountError::SameAccount { .. } => "SameAccount",
            AccountError::CurrencyMismatch { .. } => "CurrencyMismatch",
            AccountError::BalanceLimitExceeded { .. } => "BalanceLimitExceeded",
            AccountError::UnknownTransfer { .. } => "UnknownTransfer",
        }
    }
}

impl Account {
    fn require_open(&self, account: &EntityId) -> Result<(), AccountError> {
        match self.status {
            AccountStatus::Open => Ok(()),
            AccountStatus::Unopened => Err(AccountError::AccountNotFound { account: account.clone() }),
            AccountStatus::Closed => Err(AccountError::AccountClosed { account: account.clone() }),
        }
    }

    fn require_funds(&self, account: &EntityId, amount: Amount) -> Result<(), AccountError> {
        if self.balance < amount.minor_units() {
            return Err(AccountError::InsufficientFunds {
                account: account.clone(),
                balance: self.balance,
                requested: amount.minor_units(),
            });
        }
        Ok(())
    }

    fn require_room(&self, account: &EntityId, amount: Amount) -> Result<(), AccountError> {
        let held: u64 = self.pending.values().sum();
        match self.balance.checked_add(held).and_then(|b| b.checked_add(amount.minor_units())) {
            Some(total) if total <= MAX_MINOR_UNITS => Ok(()),
            _ => Err(AccountError::BalanceLimitExceeded { account: account.clone() }),
        }
    }

    fn pending_amount(&self, account: &EntityId, transfer_id: &EntityId) -> Result<Amount, AccountError> {
        self.pending
            .get(transfer_id)
            .and_then(|&amount| Amount::new(amount).ok())
            .ok_or_else(|| AccountError::UnknownTransfer { account: account.clone(), transfer_id: transfer_id.clone() })
    }
}

impl Aggregate for Account {
    const CATEGORY: &'static str = "account";
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;

    fn initial() -> Self {
        Account::default()
    }

    fn evolve(mut self, event: &AccountEvent) -> Self {
        // Saturating: `admits` has checked every event a fold meets, so these never saturate;
        // nothing here may wrap should a caller fold without it.
        match event {
            AccountEvent::Opened(e) => {
                self.status = AccountStatus::Open;
                self.currency = e.currency.clone();
            }
            AccountEvent::Deposited(MoneyDeposited { amount })
            | AccountEvent::Received(TransferReceived { amount, .. }) => {
                self.balance = self.balance.saturating_add(amount.minor_units())
            }
            AccountEvent::Withdrawn(MoneyWithdrawn { amount }) | AccountEvent::Sent(TransferSent { amount, .. }) => {
                self.balance = self.balance.saturating_sub(amount.minor_units())
            }
            AccountEvent::Closed(_) => self.status = AccountStatus::Closed,
            AccountEvent::Debited(e) => {
                self.balance = self.balance.saturating_sub(e.amount.minor_units());
                self.pending.insert(e.transfer_id.clone(), e.amount.minor_units());
            }
            AccountEvent::Settled(e) => {
                self.pending.remove(&e.transfer_id);
            }
            AccountEvent::Refunded(e) => {
                self.pending.remove(&e.transfer_id);
                self.balance = self.balance.saturating_add(e.amount.minor_units());
            }
        }
        self
    }

    fn admits(&self, event: &AccountEvent) -> Result<(), String> {
        let open = |what: &str| match self.status {
            AccountStatus::Open => Ok(()),
            AccountStatus::Unopened => Err(format!("{what} on an account that was never opened")),
            AccountStatus::Closed => Err(format!("{what} on a closed account")),
        };
        let held: u64 = self.pending.values().sum();
        let room =
            |amount: Amount| match self.balance.checked_add(held).and_then(|b| b.checked_add(amount.minor_units())) {
                Some(total) if total <= MAX_MINOR_UNITS => Ok(()),
                _ => Err(format!("{amount} more would pass the largest balance ({MAX_MINOR_UNITS})")),
            };
        let funds = |amount: Amount| match amount.minor_units() <= self.balance {
            true => Ok(()),
            false => Err(format!("{amount} taken from a balance of {}", self.balance)),
        };
        let pending = |transfer_id: &EntityId, amount: Amount| match self.pending.get(transfer_id) {
            Some(&held) if held == amount.minor_units() => Ok(()),
            Some(&held) => Err(format!("transfer {transfer_id} holds {held}, not {amount}")),
            None => Err(format!("no transfer {transfer_id} is pending")),
        };
        match event {
            AccountEvent::Opened(_) => match self.status {
                AccountStatus::Unopened => Ok(()),
                _ => Err("an account opened twice".into()),
            },
            AccountEvent::Deposited(e) => open("a deposit").and(room(e.amount)),
            AccountEvent::Received(e) => open("a transfer received").and(room(e.amount)),
            AccountEvent::Withdrawn(e) => open("a withdrawal").and(funds(e.amount)),
            AccountEvent::Sent(e) => open("a transfer sent").and(funds(e.amount)),
            AccountEvent::Debited(e) => {
                open("a transfer debited")?;
                funds(e.amount)?;
                if self.pending.contains_key(&e.transfer_id) {
                    return Err(format!("transfer {} debited twice", e.transfer_id));
                }
                if e.currency != self.currency {
                    return Err(format!("a debit in {} from an account in {}", e.currency, self.currency));
                }
                Ok(())
            }
            AccountEvent::Settled(e) => open("a transfer settled").and(pending(&e.transfer_id, e.amount)),
            AccountEvent::Refunded(e) => open("a transfer refunded").and(pending(&e.transfer_id, e.amount)),
            AccountEvent::Closed(_) => {
                open("a closing")?;
                match (self.balance, self.pending.len()) {
                    (0, 0) => Ok(()),
                    (balance, pending) => Err(format!("closed holding {balance} with {pending} transfer(s) pending")),
                }
            }
        }
    }

    fn decide(&self, command: &AccountCommand) -> Result<Vec<AccountEvent>, AccountError> {
        use AccountCommand as C;
        let account = command.account();
        let event: AccountEvent = match command {
            C::Open { currency, holder, .. } => {
                if self.status != AccountStatus::Unopened {
                    return Err(AccountError::AccountAlreadyExists { account: account.clone() });
                }
                AccountOpened { currency: currency.clone(), holder: holder.clone() }.into()
            }
            C::Deposit { amount, .. } => {
                self.require_open(account)?;
                self.require_room(account, *amount)?;
                MoneyDeposited { amount: *amount }.into()
            }
            C::Withdraw { amount, .. } => {
                self.require_open(account)?;
                self.require_funds(account, *amount)?;
                MoneyWithdrawn { amount: *amount }.into()
            }
            C::Close { .. } => {
                self.require_open(account)?;
                if !self.pending.is_empty() {
                    return Err(AccountError::TransferInProgress {
                        account: account.clone(),
                        count: self.pending.len(),
                    });
                }
                if self.balance > 0 {
                    return Err(AccountError::AccountNotEmpty { account: account.clone(), balance: self.balance });
                }
                AccountClosed {}.into()
            }
            C::SendTransfer { transfer_id, to, amount, .. } => {
                if to == account {
                    return Err(AccountError::SameAccount { account: account.clone() });
                }
                self.require_open(account)?;
                self.require_funds(account, *amount)?;
                TransferSent { transfer_id: transfer_id.clone(), to: to.clone(), amount: *amount }.into()
            }
            C::ReceiveTransfer { transfer_id, from, amount, currency, .. } => {
                if from == account {
                    return Err(AccountError::SameAccount { account: account.clone() });
                }
                self.require_open(account)?;
                if currency != &self.currency {
                    return Err(AccountError::CurrencyMismatch {
                        account: account.clone(),
                        expected: self.currency.clone(),
                        found: currency.clone(),
                    });
                }
                self.require_room(account, *amount)?;
                TransferReceived { transfer_id: transfer_id.clone(), from: from.clone(), amount: *amount }.into()
            }
            C::DebitForTransfer { transfer_id, to, amount, .. } => {
                if to == account {
                    return Err(AccountError::SameAccount { account: account.clone() });
                }
                self.require_open(account)?;
                self.require_funds(account, *amount)?;
                TransferDebited {
                    transfer_id: transfer_id.clone(),
                    to: to.clone(),
                    amount: *amount,
                    currency: self.currency.clone(),
                }
                .into()
            }
            C::SettleTransfer { transfer_id, .. } => {
                let amount = self.pending_amount(account, transfer_id)?;
                TransferSettled { transfer_id: transfer_id.clone(), amount }.into()
            }
            C::RefundTransfer { transfer_id, .. } => {
                let amount = self.pending_amount(account, transfer_id)?;
                TransferRefunded { transfer_id: transfer_id.clone(), amount }.into()
            }
        };
        Ok(vec![event])
    }
}

/// The decision of an atomic transfer: both legs, or the first refusal. The target is checked
/// against the source's currency, which only a decision that sees both accounts can do.
pub fn decide_atomic_transfer(
    from_state: &Account,
    to_state: &Account,
    transfer_id: &EntityId,
    from: &EntityId,
    to: &EntityId,
    amount: Amount,
) -> Result<Vec<Vec<AccountEvent>>, AccountError> {
    let sent = from_state.decide(&AccountCommand::SendTransfer {
        account: from.clone(),
        transfer_id: transfer_id.clone(),
        to: to.clone(),
        amount,
    })?;
    let received = to_state.decide(&AccountCommand::ReceiveTransfer {
        account: to.clone(),
        transfer_id: transfer_id.clone(),
        from: from.clone(),
        amount,
        currency: from_state.currency.clone(),
    })?;
    Ok(vec![sent, received])
}

// ---------------------------------------------------------------------------------------------
// Transfer: the saga's record of a transfer and its outcome

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TransferRequested {
    pub from: EntityId,
    pub to: EntityId,
    pub amount: Amount,
}
impl EventPayload for TransferRequested {
    const TYPE: &'static str = "TransferRequested";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TransferCompleted {}
impl EventPayload for TransferCompleted {
    const TYPE: &'static str = "TransferCompleted";
}

/// The source refused the debit: nothing moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TransferFailed {
    pub code: String,
    pub reason: String,
}
impl EventPayload for TransferFailed {
    const TYPE: &'static str = "TransferFailed";
}

/// The target refused the credit: the held money must go back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TransferCreditRejected {
    pub code: String,
    pub reason: String,
}
impl EventPayload for TransferCreditRejected {
    const TYPE: &'static str = "TransferCreditRejected";
}

/// The refund reached the source: the transfer is over and undone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TransferCompensated {}
impl EventPayload for TransferCompensated {
    const TYPE: &'static str = "TransferCompensated";
}

event_enum! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum TransferEvent {
        Requested(TransferRequested),
        Completed(TransferCompleted),
        Failed(TransferFailed),
        CreditRejected(TransferCreditRejected),
        Compensated(TransferCompensated),
    }
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum TransferStatus {
    #[default]
    None,
    Requested,
    Completed,
    Failed,
    CreditRejected,
    Compensated,
}
// Read by name through one shared decoder (`by_name`), not a derived one per enum.
eventline_core::deserialize_by_name!(TransferStatus {
    None = "none",
    Requested = "requested",
    Completed = "completed",
    Failed = "failed",
    CreditRejected = "creditRejected",
    Compensated = "compensated",
});

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    pub status: TransferStatus,
    pub request: Option<TransferRequested>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferCommand {
    Request { transfer_id: EntityId, from: EntityId, to: EntityId, amount: Amount },
    Complete { transfer_id: EntityId },
    Fail { transfer_id: EntityId, code: String, reason: String },
    RejectCredit { transfer_id: EntityId, code: String, reason: String },
    Compensate { transfer_id: EntityId },
}

impl TransferCommand {
    pub fn transfer_id(&self) -> &EntityId {
        match self {
            TransferCommand::Request { transfer_id, .. }
            | TransferCommand::Complete { transfer_id }
            | TransferCommand::Fail { transfer_id, .. }
            | TransferCommand::RejectCredit { transfer_id, .. }
            | TransferCommand::Compensate { transfer_id } => transfer_id,
        }
    }

    fn action(&self) -> &'static str {
        match self {
            TransferCommand::Request { .. } => "request",
            TransferCommand::Complete { .. } => "complete",
            TransferCommand::Fail { .. } => "fail",
            TransferCommand::RejectCredit { .. } => "reject the credit of",
            TransferCommand::Compensate { .. } => "compensate",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, TS)]
#[serde(tag = "code", rename_all_fields = "camelCase")]
pub enum TransferError {
    #[error("transfer {transfer_id} already exists")]
    TransferAlreadyExists { transfer_id: EntityId },
    #[error("transfer {transfer_id} does not exist")]
    TransferNotFound { transfer_id: EntityId },
    #[error("a transfer needs two different accounts; both are {account}")]
    SameAccount { account: EntityId },
    #[error("cannot {action} transfer {transfer_id}: it is {status:?}")]
    InvalidTransferState { transfer_id: EntityId, status: TransferStatus, action: &'static str },
}

impl ErrorCode for TransferError {
    fn code(&self) -> &'static str {
        match self {
            TransferError::TransferAlreadyExists { .. } => "TransferAlreadyExists",
            TransferError::TransferNotFound { .. } => "TransferNotFound",
            TransferError::SameAccount { .. } => "SameAccount",
            TransferError::InvalidTransferState { .. } => "InvalidTransferState",
        }
    }
}

impl Aggregate for Transfer {
    const CATEGORY: &'static str = "transfer";
    type Command = TransferCommand;
    type Event = TransferEvent;
    type Error = TransferError;

    fn initial() -> Self {
        Transfer::default()
    }

    fn evolve(mut self, event: &TransferEvent) -> Self {
        self.status = match event {
            TransferEvent::Requested(request) => {
                self.request = Some(request.clone());
                TransferStatus::Requested
            }
            TransferEvent::Completed(_) => TransferStatus::Completed,
            TransferEvent::Failed(_) => TransferStatus::Failed,
            TransferEvent::CreditRejected(_) => TransferStatus::CreditRejected,
            TransferEvent::Compensated(_) => TransferStatus::Compensated,
        };
        self
    }

    fn admits(&self, event: &TransferEvent) -> Result<(), String> {
        let expected = match event {
            TransferEvent::Requested(request) => {
                if request.from == request.to {
                    return Err(format!("a transfer from {} to itself", request.from));
                }
                TransferStatus::None
            }
            TransferEvent::Completed(_) | TransferEvent::Failed(_) | TransferEvent::CreditRejected(_) => {
                TransferStatus::Requested
            }
            TransferEvent::Compensated(_) => TransferStatus::CreditRejected,
        };
        match self.status == expected {
            true => Ok(()),
            false => Err(format!("{} on a transfer that is {:?}", event.event_type(), self.status)),
        }
    }

    fn decide(&self, command: &TransferCommand) -> Result<Vec<TransferEvent>, TransferError> {
        use TransferCommand as C;
        let transfer_id = command.transfer_id().clone();
        let (expected, event): (TransferStatus, TransferEvent) = match command {
            C::Request { from, to, amount, .. } => {
                if self.status != TransferStatus::None {
                    return Err(TransferError::TransferAlreadyExists { transfer_id });
                }
                if from == to {
                    return Err(TransferError::SameAccount { account: from.clone() });
                }
                let request = TransferRequested { from: from.clone(), to: to.clone(), amount: *amount };
                return Ok(vec![request.into()]);
            }
            C::Complete { .. } => (TransferStatus::Requested, TransferCompleted {}.into()),
            C::Fail { code, reason, .. } => {
                (TransferStatus::Requested, TransferFailed { code: code.clone(), reason: reason.clone() }.into())
            }
            C::RejectCredit { code, reason, .. } => (
                TransferStatus::Requested,
                TransferCreditRejected { code: code.clone(), reason: reason.clone() }.into(),
            ),
            C::Compensate { .. } => (TransferStatus::CreditRejected, TransferCompensated {}.into()),
        };
        if self.status == TransferStatus::None {
            return Err(TransferError::TransferNotFound { transfer_id });
        }
        if self.status != expected {
            return Err(TransferError::InvalidTransferState {
                transfer_id,
                status: self.status,
                action: command.action(),
            });
        }
        Ok(vec![event])
    }
}
