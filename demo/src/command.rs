//! The commands a user may send, as JSON objects: `{"type": "Deposit", "account": "acc-1",
//! "amount": 100, "commandId": "..."}`.
//!
//! This is the trust boundary. Only these commands can be sent from outside: the steps of a saga
//! transfer (`DebitForTransfer`, `ReceiveTransfer`, ...) are issued by the saga alone, so a caller
//! cannot credit an account without debiting another. Parsing never panics and answers anything
//! that is not a well-formed command with an [`InvalidCommand`] naming the problem.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use eventline_core::aggregate::{Aggregate, ErrorCode};
use eventline_core::ids::{CommandId, CorrelationId, StreamId, StreamVersion};
use eventline_core::personal::{Personal, SUBJECT_CATEGORY};
use eventline_core::store::CommandDigest;
use eventline_core::version::ExpectedVersion;

use crate::DomainCommand;
use crate::bank::{Account, AccountCommand, Holder, Transfer, TransferCommand};
use crate::money::{Amount, Currency, EntityId};
use crate::orders::{Order, OrderCommand};
use crate::read_models::TransferMode;

/// A user's command. Serialized as `{"type": ..., fields}`; parsed by [`parse_command`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum DemoCommand {
    OpenAccount {
        account: EntityId,
        #[serde(default)]
        currency: Currency,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holder: Option<HolderDetails>,
    },
    Deposit {
        account: EntityId,
        amount: Amount,
    },
    Withdraw {
        account: EntityId,
        amount: Amount,
    },
    CloseAccount {
        account: EntityId,
    },
    Transfer {
        from: EntityId,
        to: EntityId,
        amount: Amount,
        #[serde(default)]
        mode: TransferMode,
        /// Defaults to the command id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer_id: Option<EntityId>,
    },
    CreateOrder {
        order: EntityId,
        customer: EntityId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shipping_address: Option<String>,
    },
    AddItem {
        order: EntityId,
        sku: EntityId,
        quantity: u32,
        unit_price: Amount,
    },
    ConfirmOrder {
        order: EntityId,
    },
    PayOrder {
        order: EntityId,
        amount: Amount,
    },
    ShipOrder {
        order: EntityId,
    },
    DeliverOrder {
        order: EntityId,
    },
    CancelOrder {
        order: EntityId,
        #[serde(default)]
        reason: String,
    },
    /// Forget a customer: every personal value about them becomes unreadable, everywhere.
    ForgetSubject {
        subject: EntityId,
    },
}

/// An account holder as a caller gives them: the customer they are (the data subject) and what
/// becomes personal data about them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderDetails {
    pub customer: EntityId,
    pub name: String,
    pub email: String,
}

/// Names of every command type a user may send.
pub const COMMAND_TYPES: [&str; 13] = [
    "OpenAccount",
    "Deposit",
    "Withdraw",
    "CloseAccount",
    "Transfer",
    "CreateOrder",
    "AddItem",
    "ConfirmOrder",
    "PayOrder",
    "ShipOrder",
    "DeliverOrder",
    "CancelOrder",
    "ForgetSubject",
];

/// Longest cancellation reason kept.
const MAX_REASON: usize = 500;
/// Longest holder name, email and shipping address.
const MAX_NAME: usize = 200;
const MAX_EMAIL: usize = 254;
const MAX_ADDRESS: usize = 500;

/// A parsed command with the ids the caller gave, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRequest {
    pub command: DemoCommand,
    pub command_id: Option<CommandId>,
    pub correlation_id: Option<CorrelationId>,
    /// The version the caller saw of the command's aggregate; `Any` unless given.
    pub expected_version: ExpectedVersion,
    /// What it asks, to tell a retry from a reused command id.
    pub digest: CommandDigest,
}

/// The input is not a command this application accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid command: {message}")]
pub struct InvalidCommand {
    pub message: String,
}

impl ErrorCode for InvalidCommand {
    fn code(&self) -> &'static str {
        "InvalidCommand"
    }
}

fn invalid(message: impl Into<String>) -> InvalidCommand {
    InvalidCommand { message: message.into() }
}

/// Every field a user command may have, as raw JSON: each command type parses the ones it uses,
/// and an error names its field. Any other field is refused, as is a field of another command
/// type ([`fields_of`]): a misspelt `commandId` must not quietly lose its idempotency.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fields<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    command_id: Option<&'a RawValue>,
    #[serde(borrow)]
    correlation_id: Option<&'a RawValue>,
    #[serde(borrow)]
    expected_version: Option<&'a RawValue>,
    #[serde(borrow)]
    account: Option<&'a RawValue>,
    #[serde(borrow)]
    currency: Option<&'a RawValue>,
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
    #[serde(borrow)]
    from: Option<&'a RawValue>,
    #[serde(borrow)]
    to: Option<&'a RawValue>,
    #[serde(borrow)]
    mode: Option<&'a RawValue>,
    #[serde(borrow)]
    transfer_id: Option<&'a RawValue>,
    #[serde(borrow)]
    order: Option<&'a RawValue>,
    #[serde(borrow)]
    customer: Option<&'a RawValue>,
    #[serde(borrow)]
    sku: Option<&'a RawValue>,
    #[serde(borrow)]
    quantity: Option<&'a RawValue>,
    #[serde(borrow)]
    unit_price: Option<&'a RawValue>,
    #[serde(borrow)]
    reason: Option<&'a RawValue>,
    #[serde(borrow)]
    holder: Option<&'a RawValue>,
    #[serde(borrow)]
    shipping_address: Option<&'a RawValue>,
    #[serde(borrow)]
    subject: Option<&'a RawValue>,
}

impl<'a> Fields<'a> {
    /// The type-specific fields given, by name, in one fixed order; `null` counts as absent.
    fn given(&self) -> impl Iterator<Item = (&'static str, &'a RawValue)> {
        [
            ("account", self.account),
            ("currency", self.currency),
            ("amount", self.amount),
            ("from", self.from),
            ("to", self.to),
            ("mode", self.mode),
            ("transferId", self.transfer_id),
            ("order", self.order),
            ("customer", self.customer),
            ("sku", self.sku),
            ("quantity", self.quantity),
            ("unitPrice", self.unit_price),
            ("reason", self.reason),
            ("holder", self.holder),
            ("shippingAddress", self.shipping_address),
            ("subject", self.subject),
        ]
        .into_iter()
        .filter_map(|(name, raw)| present(raw).map(|raw| (name, raw)))
    }

    /// What the command asks, however it was spelt: its type and the fields it was given, each
    /// as canonical JSON (keys sorted, no spaces), in one fixed order. Its ids and expected
    /// version are the envelope, not the request.
    fn digest(&self, kind: &str) -> CommandDigest {
        let mut text = String::from(kind);
        for (name, raw) in self.given() {
            text.push('\u{1f}');
            text.push_str(name);
            text.push('=');
            match serde_json::from_str::<serde_json::Value>(raw.get()) {
                Ok(value) => text.push_str(&value.to_string()),
                Err(_) => text.push_str(raw.get()),
            }
        }
        CommandDigest::of(&text)
    }
}

/// The fields a command type takes besides `type`, `commandId`, `correlationId` and
/// `expectedVersion`.
fn fields_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "OpenAccount" => &["account", "currency", "holder"],
        "Deposit" | "Withdraw" => &["account", "amount"],
        "CloseAccount" => &["account"],
        "Transfer" => &["from", "to", "amount", "mode", "transferId"],
        "CreateOrder" => &["order", "customer", "shippingAddress"],
        "AddItem" => &["order", "sku", "quantity", "unitPrice"],
        "PayOrder" => &["order", "amount"],
        "CancelOrder" => &["order", "reason"],
        "ConfirmOrder" | "ShipOrder" | "DeliverOrder" => &["order"],
        "ForgetSubject" => &["subject"],
        _ => &[],
    }
}

/// Free text a person gave: not empty, not too long, no control characters.
fn text(raw: Option<&RawValue>, name: &str, max: usize) -> Result<String, InvalidCommand> {
    let text: String = required(raw, name)?;
    let text = text.trim().to_string();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(invalid(format!("`{name}` is 1 to {max} characters of text")));
    }
    Ok(text)
}

fn holder(raw: Option<&RawValue>) -> Result<Option<HolderDetails>, InvalidCommand> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fields<'a> {
        #[serde(borrow)]
        customer: Option<&'a RawValue>,
        #[serde(borrow)]
        name: Option<&'a RawValue>,
        #[serde(borrow)]
        email: Option<&'a RawValue>,
    }
    let Some(raw) = present(raw) else { return Ok(None) };
    if !raw.get().starts_with('{') {
        return Err(invalid(format!("`holder` is an object, not {}", describe(raw.get()))));
    }
    let f: Fields<'_> =
        eventline_core::json::from_str(raw.get()).map_err(|e| invalid(format!("`holder`: {}", reason(e))))?;
    let email = text(f.email, "holder.email", MAX_EMAIL)?;
    let well_formed = email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !well_formed || email.contains(char::is_whitespace) {
        return Err(invalid("`holder.email` is an email address"));
    }
    Ok(Some(HolderDetails {
        customer: required(f.customer, "holder.customer")?,
        name: text(f.name, "holder.name", MAX_NAME)?,
        email,
    }))
}

/// A JSON value's kind, from its first character.
fn describe(json: &str) -> &'static str {
    match json.trim_start().as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

/// A serde error without the position within the field's own text.
fn reason(error: serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(reason, _)| reason);
    // serde quotes the value it refused: a 50 MB string must not come back whole.
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    format!("{}...", text.chars().take(MAX).collect::<String>())
}

/// `null` counts as absent, like a missing field.
fn present(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|r| r.get() != "null")
}

fn required<T: DeserializeOwned>(raw: Option<&RawValue>, name: &str) -> Result<T, InvalidCommand> {
    let raw = present(raw).ok_or_else(|| invalid(format!("missing field `{name}`")))?;
    serde_json::from_str(raw.get()).map_err(|e| invalid(format!("`{name}`: {}", reason(e))))
}

fn optional<T: DeserializeOwned>(raw: Option<&RawValue>, name: &str) -> Result<Option<T>, InvalidCommand> {
    present(raw).map(|_| required(raw, name)).transpose()
}

fn optional_id(raw: Option<&RawValue>, name: &str) -> Result<Option<String>, InvalidCommand> {
    match present(raw) {
        None => Ok(None),
        Some(raw) if raw.get().starts_with('"') => {
            let text: String = required(Some(raw), name)?;
            EntityId::parse(&text).map(|id| Some(id.to_string())).map_err(|e| invalid(format!("`{name}`: {e}")))
        }
        Some(raw) => Err(invalid(format!("`{name}` is a string, not {}", describe(raw.get())))),
    }
}

/// Parses a command from JSON text: what a JS caller's object becomes with `JSON.stringify`.
pub fn parse_command(json: &str) -> Result<CommandRequest, InvalidCommand> {
    if !json.trim_start().starts_with('{') {
        serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|e| invalid(format!("not JSON: {e}")))?;
        return Err(invalid(format!("a command is an object with a `type`, not {}", describe(json))));
    }
    let f: Fields<'_> = eventline_core::json::from_str(json).map_err(|e| {
        if !e.is_data() {
            return invalid(format!("not JSON: {e}"));
        }
        // An unknown or repeated field: named without serde's list of every command's fields.
        let text = reason(e);
        invalid(text.split_once(", expected").map_or(text.as_str(), |(unknown, _)| unknown))
    })?;
    let kind: String = match present(f.kind) {
        None => return Err(invalid("a command needs a `type`")),
        Some(raw) if raw.get().starts_with('"') => required(Some(raw), "type")?,
        Some(raw) => return Err(invalid(format!("`type` is a string, not {}", describe(raw.get())))),
    };
    let command_id = optional_id(f.command_id, "commandId")?.map(CommandId::from);
    let correlation_id = optional_id(f.correlation_id, "correlationId")?.map(CorrelationId::from);
    use DemoCommand as D;
    let command = match kind.as_str() {
        "OpenAccount" => D::OpenAccount {
            account: required(f.account, "account")?,
            currency: optional(f.currency, "currency")?.unwrap_or_default(),
            holder: holder(f.holder)?,
        },
        "Deposit" => D::Deposit { account: required(f.account, "account")?, amount: required(f.amount, "amount")? },
        "Withdraw" => D::Withdraw { account: required(f.account, "account")?, amount: required(f.amount, "amount")? },
        "CloseAccount" => D::CloseAccount { account: required(f.account, "account")? },
        "Transfer" => D::Transfer {
            from: required(f.from, "from")?,
            to: required(f.to, "to")?,
            amount: required(f.amount, "amount")?,
            mode: optional(f.mode, "mode")?.unwrap_or_default(),
            transfer_id: optional(f.transfer_id, "transferId")?,
        },
        "CreateOrder" => D::CreateOrder {
            order: required(f.order, "order")?,
            customer: required(f.customer, "customer")?,
            shipping_address: present(f.shipping_address)
                .map(|_| text(f.shipping_address, "shippingAddress", MAX_ADDRESS))
                .transpose()?,
        },
        "AddItem" => D::AddItem {
            order: required(f.order, "order")?,
            sku: required(f.sku, "sku")?,
            quantity: required(f.quantity, "quantity")?,
            unit_price: required(f.unit_price, "unitPrice")?,
        },
        "ConfirmOrder" => D::ConfirmOrder { order: required(f.order, "order")? },
        "PayOrder" => D::PayOrder { order: required(f.order, "order")?, amount: required(f.amount, "amount")? },
        "ShipOrder" => D::ShipOrder { order: required(f.order, "order")? },
        "DeliverOrder" => D::DeliverOrder { order: required(f.order, "order")? },
        "CancelOrder" => {
            let reason: String = optional(f.reason, "reason")?.unwrap_or_default();
            if reason.chars().count() > MAX_REASON {
                return Err(invalid(format!("a cancellation reason is at most {MAX_REASON} characters")));
            }
            D::CancelOrder { order: required(f.order, "order")?, reason }
        }
        "ForgetSubject" => D::ForgetSubject { subject: required(f.subject, "subject")? },
        other => {
            return Err(invalid(format!(
                "unknown command type {:?}; expected one of {}",
                other.chars().take(64).collect::<String>(),
                COMMAND_TYPES.join(", ")
            )));
        }
    };
    let takes = fields_of(&kind);
    if let Some((extra, _)) = f.given().find(|(name, _)| !takes.contains(name)) {
        return Err(invalid(format!("{kind} has no field `{extra}`; it takes {}", takes.join(", "))));
    }
    let expected_version = expected_version(f.expected_version)?;
    if expected_version != ExpectedVersion::Any && matches!(command, D::Transfer { mode: TransferMode::Atomic, .. }) {
        return Err(invalid("`expectedVersion` applies to a command on one aggregate; an atomic transfer changes two"));
    }
    Ok(CommandRequest { digest: f.digest(&kind), command, command_id, correlation_id, expected_version })
}

/// `expectedVersion`: a stream version (0 for "no stream yet") or `"any"`, `"noStream"`,
/// `"streamExists"`.
fn expected_version(raw: Option<&RawValue>) -> Result<ExpectedVersion, InvalidCommand> {
    let Some(raw) = present(raw) else { return Ok(ExpectedVersion::Any) };
    let text = raw.get();
    if text.starts_with('"') {
        let name: String = required(Some(raw), "expectedVersion")?;
        return match name.as_str() {
            "any" => Ok(ExpectedVersion::Any),
            "noStream" => Ok(ExpectedVersion::NoStream),
            "streamExists" => Ok(ExpectedVersion::StreamExists),
            _ => Err(invalid("`expectedVersion` is a version number, \"any\", \"noStream\" or \"streamExists\"")),
        };
    }
    match serde_json::from_str::<u64>(text) {
        Ok(0) => Ok(ExpectedVersion::NoStream),
        Ok(version) if version <= MAX_SAFE_INTEGER => Ok(ExpectedVersion::Exact(StreamVersion(version))),
        _ => Err(invalid(format!(
            "`expectedVersion` is a whole number from 0 to 2^53 - 1 or a name, not {}",
            if describe(text) == "a number" {
                text.chars().take(32).collect::<String>()
            } else {
                describe(text).into()
            }
        ))),
    }
}

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Parses a command from a JSON value (for callers that built one).
pub fn parse_command_value(value: serde_json::Value) -> Result<CommandRequest, InvalidCommand> {
    parse_command(&value.to_string())
}

/// What a command turns into for the command side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// One aggregate decides.
    Domain(DomainCommand),
    /// Two accounts decide together, one commit.
    AtomicTransfer { transfer_id: EntityId, from: EntityId, to: EntityId, amount: Amount },
    /// A subject forgotten: the store shreds their key as it records it.
    Forget { subject: EntityId },
}

impl DemoCommand {
    /// The streams the command may change: what a caller serializing commands per aggregate
    /// locks.
    pub fn streams(&self, command_id: &CommandId) -> Vec<StreamId> {
        match self.plan(command_id) {
            Plan::Domain(DomainCommand::Account(c)) => vec![Account::stream_id(c.account())],
            Plan::Domain(DomainCommand::Transfer(c)) => vec![Transfer::stream_id(c.transfer_id())],
            Plan::Domain(DomainCommand::Order(c)) => vec![Order::stream_id(c.order())],
            Plan::AtomicTransfer { from, to, .. } => vec![Account::stream_id(&from), Account::stream_id(&to)],
            Plan::Forget { subject } => vec![StreamId::new(format!("{SUBJECT_CATEGORY}-{subject}"))],
        }
    }

    /// Routes the command. `command_id` names a transfer that was given no id of its own.
    pub fn plan(&self, command_id: &CommandId) -> Plan {
        use DemoCommand as D;
        let account = |c: AccountCommand| Plan::Domain(DomainCommand::Account(c));
        let order = |c: OrderCommand| Plan::Domain(DomainCommand::Order(c));
        match self.clone() {
            D::OpenAccount { account: id, currency, holder } => account(AccountCommand::Open {
                account: id,
                currency,
                holder: holder.map(|h| Personal::new(h.customer.as_str(), Holder { name: h.name, email: h.email })),
            }),
            D::Deposit { account: id, amount } => account(AccountCommand::Deposit { account: id, amount }),
            D::Withdraw { account: id, amount } => account(AccountCommand::Withdraw { account: id, amount }),
            D::CloseAccount { account: id } => account(AccountCommand::Close { account: id }),
            D::Transfer { from, to, amount, mode, transfer_id } => {
                // Command ids that reach here passed the same validation as entity ids, or were
                // made by the runtime as UUIDs.
                let transfer_id = transfer_id
                    .or_else(|| EntityId::parse(command_id.as_str()).ok())
                    .unwrap_or_else(|| EntityId::parse("transfer").expect("a valid id"));
                match mode {
                    TransferMode::Atomic => Plan::AtomicTransfer { transfer_id, from, to, amount },
                    TransferMode::Saga => Plan::Domain(DomainCommand::Transfer(TransferCommand::Request {
                        transfer_id,
                        from,
                        to,
                        amount,
                    })),
                }
            }
            D::CreateOrder { order: id, customer, shipping_address } => {
                order(OrderCommand::Create { order: id, customer, shipping_address })
            }
            D::ForgetSubject { subject } => Plan::Forget { subject },
            D::AddItem { order: id, sku, quantity, unit_price } => {
                order(OrderCommand::AddItem { order: id, sku, quantity, unit_price })
            }
            D::ConfirmOrder { order: id } => order(OrderCommand::Confirm { order: id }),
            D::PayOrder { order: id, amount } => order(OrderCommand::Pay { order: id, amount }),
            D::ShipOrder { order: id } => order(OrderCommand::Ship { order: id }),
            D::DeliverOrder { order: id } => order(OrderCommand::Deliver { order: id }),
            D::CancelOrder { order: id, reason } => order(OrderCommand::Cancel { order: id, reason }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_deposit_with_its_ids() {
        let request = parse_command(r#"{"type":"Deposit","account":"acc-1","amount":100,"commandId":"c-1"}"#).unwrap();
        assert_eq!(request.command_id, Some(CommandId::from("c-1")));
        assert_eq!(
            request.command,
            DemoCommand::Deposit { account: EntityId::parse("acc-1").unwrap(), amount: Amount::new(100).unwrap() }
        );
    }

    #[test]
    fn defaults_fill_optional_fields() {
        let request = parse_command(r#"{"type":"Transfer","from":"a","to":"b","amount":5}"#).unwrap();
        let DemoCommand::Transfer { mode, transfer_id, .. } = request.command else { panic!() };
        assert_eq!((mode, transfer_id), (TransferMode::Atomic, None));
        let open = parse_command(r#"{"type":"OpenAccount","account":"a"}"#).unwrap();
        assert_eq!(
            open.command,
            DemoCommand::OpenAccount {
                account: EntityId::parse("a").unwrap(),
                currency: Currency::eur(),
                holder: None
            }
        );
    }

    #[test]
    fn every_malformed_input_is_an_invalid_command_that_says_why() {
        let cases = [
            ("null", "not null"),
            ("\"Deposit\"", "not a string"),
            ("[]", "not an array"),
            ("{}", "needs a `type`"),
            (r#"{"type":7}"#, "`type` is a string"),
            (r#"{"type":"Mint","account":"a"}"#, "unknown command type"),
            (r#"{"type":"Deposit","account":"a"}"#, "missing field `amount`"),
            (r#"{"type":"Deposit","account":"a","amount":-1}"#, "positive whole number"),
            (r#"{"type":"Deposit","account":"a","amount":0.5}"#, "positive whole number"),
            (r#"{"type":"Deposit","account":"a","amount":"100"}"#, "`amount`: invalid type"),
            (r#"{"type":"Deposit","account":"a","amount":1e400}"#, "`amount`"),
            ("{", "not JSON"),
            (r#"{"type":"Deposit","account":"a","amount":null}"#, "missing field `amount`"),
            (r#"{"type":"Deposit","account":"","amount":1}"#, "an id is"),
            (r#"{"type":"Deposit","account":7,"amount":1}"#, "invalid type"),
            (r#"{"type":"Deposit","account":"a","amount":1,"commandId":5}"#, "`commandId` is a string"),
            (r#"{"type":"AddItem","order":"o","sku":"s","quantity":1.5,"unitPrice":1}"#, "invalid type"),
            (r#"{"type":"Transfer","from":"a","to":"b","amount":1,"mode":"teleport"}"#, "unknown variant"),
            (r#"{"type":"DebitForTransfer","account":"a"}"#, "unknown command type"),
            (r#"{"type":"Deposit","account":"a","amount":1,"expectedVersion":-1}"#, "`expectedVersion` is a whole"),
            (r#"{"type":"Deposit","account":"a","amount":1,"expectedVersion":1.5}"#, "not 1.5"),
            (r#"{"type":"Deposit","account":"a","amount":1,"expectedVersion":[1]}"#, "not an array"),
            (r#"{"type":"Deposit","account":"a","amount":1,"expectedVersion":"exact"}"#, "\"noStream\""),
            (r#"{"type":"Transfer","from":"a","to":"b","amount":1,"expectedVersion":2}"#, "changes two"),
            (r#"{"type":"Deposit","account":"a","amount":1,"comandId":"c-1"}"#, "unknown field `comandId`"),
            (r#"{"type":"Deposit","account":"a","amount":1,"amount":2}"#, "duplicate field `amount`"),
            (
                r#"{"type":"CloseAccount","account":"a","amount":5}"#,
                "CloseAccount has no field `amount`; it takes account",
            ),
            (r#"{"type":"Deposit","account":"a","amount":1,"order":"o"}"#, "Deposit has no field `order`"),
        ];
        for (json, expected) in cases {
            let error = parse_command(json).unwrap_err();
            assert_eq!(error.code(), "InvalidCommand");
            assert!(error.message.contains(expected), "{json}: {}", error.message);
        }
    }

    #[test]
    fn a_field_given_as_null_is_absent_whatever_the_type() {
        let json = r#"{"type":"CloseAccount","account":"a","amount":null,"commandId":null}"#;
        assert_eq!(parse_command(json).unwrap().command_id, None);
    }

    #[test]
    fn an_expected_version_is_a_number_or_a_name() {
        let expected = |json: &str| parse_command(json).unwrap().expected_version;
        let deposit = |v: &str| format!(r#"{{"type":"Deposit","account":"a","amount":1,"expectedVersion":{v}}}"#);
        assert_eq!(expected(r#"{"type":"Deposit","account":"a","amount":1}"#), ExpectedVersion::Any);
        assert_eq!(expected(&deposit("null")), ExpectedVersion::Any);
        assert_eq!(expected(&deposit("0")), ExpectedVersion::NoStream);
        assert_eq!(expected(&deposit("7")), ExpectedVersion::Exact(StreamVersion(7)));
        assert_eq!(expected(&deposit(r#""streamExists""#)), ExpectedVersion::StreamExists);
        assert_eq!(expected(&deposit(r#""noStream""#)), ExpectedVersion::NoStream);
        let saga = r#"{"type":"Transfer","from":"a","to":"b","amount":1,"mode":"saga","expectedVersion":0}"#;
        assert_eq!(expected(saga), ExpectedVersion::NoStream, "a saga transfer starts one transfer stream");
    }

    #[test]
    fn every_command_a_user_can_send_parses_back_with_all_its_fields() {
        // `fields_of` must list every field the parser reads: a command made with all of them,
        // as the generator and the demo make them, is accepted as it was sent.
        let mut generator = crate::generate::Generator::new(3, "p-");
        let mut commands: Vec<DemoCommand> = (0..500)
            .map(|_| {
                let command = generator.next_command();
                generator.accepted(&command);
                command
            })
            .collect();
        let id = |s: &str| EntityId::parse(s).unwrap();
        commands.push(DemoCommand::Transfer {
            from: id("a"),
            to: id("b"),
            amount: Amount::new(5).unwrap(),
            mode: TransferMode::Saga,
            transfer_id: Some(id("t-1")),
        });
        commands.push(DemoCommand::ForgetSubject { subject: id("c-1") });
        commands.push(DemoCommand::CloseAccount { account: id("a") });
        commands.push(DemoCommand::CancelOrder { order: id("o"), reason: "too late".into() });
        let mut kinds = std::collections::BTreeSet::new();
        for command in commands {
            let json = serde_json::to_string(&command).unwrap();
            assert_eq!(parse_command(&json).map(|r| r.command), Ok(command), "{json}");
            kinds.insert(json.split('"').nth(3).unwrap().to_string());
        }
        assert_eq!(kinds.len(), COMMAND_TYPES.len(), "every command type was tried: {kinds:?}");
    }

    #[test]
    fn commands_serialize_to_what_parses() {
        let command = DemoCommand::AddItem {
            order: EntityId::parse("o-1").unwrap(),
            sku: EntityId::parse("sku-9").unwrap(),
            quantity: 3,
            unit_price: Amount::new(250).unwrap(),
        };
        let json = serde_json::to_string(&command).unwrap();
        assert!(json.contains(r#""unitPrice":250"#), "{json}");
        assert_eq!(parse_command(&json).unwrap().command, command);
    }
}
