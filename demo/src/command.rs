//! The commands a user may send, as JSON objects: `{"type": "Deposit", "account": "acc-1",
//! "amount": 100, "commandId": "..."}`.
//!
//! This is the trust boundary. Only these commands can be sent from outside: the steps of a saga
//! transfer (`DebitForTransfer`, `ReceiveTransfer`, ...) are issued by the saga alone, so a caller
//! cannot credit an account without debiting another. Parsing never panics and answers anything
//! that is not a well-formed command with an [`InvalidCommand`] naming the problem.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use ts_rs::TS;

use eventline_core::aggregate::Aggregate;
pub use eventline_core::command::InvalidCommand;
use eventline_core::command::{Fields, describe, reason};
use eventline_core::ids::{CommandId, StreamId};
use eventline_core::personal::{Personal, SUBJECT_CATEGORY};
use eventline_core::version::ExpectedVersion;

use crate::DomainCommand;
use crate::bank::{Account, AccountCommand, Holder, Transfer, TransferCommand};
use crate::money::{Amount, Currency, EntityId};
use crate::orders::{Order, OrderCommand};
use crate::read_models::TransferMode;

/// A user's command. Serialized as `{"type": ..., fields}`; parsed by [`parse_command`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum DemoCommand {
    OpenAccount {
        account: EntityId,
        /// EUR unless given.
        #[serde(default)]
        #[ts(as = "Option<Currency>", optional)]
        currency: Currency,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
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
        /// Atomic unless given.
        #[serde(default)]
        #[ts(as = "Option<TransferMode>", optional)]
        mode: TransferMode,
        /// Defaults to the command id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        transfer_id: Option<EntityId>,
    },
    CreateOrder {
        order: EntityId,
        customer: EntityId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
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
        #[ts(as = "Option<String>", optional)]
        reason: String,
    },
    /// Forget a customer: every personal value about them becomes unreadable, everywhere.
    ForgetSubject {
        subject: EntityId,
    },
}

/// An account holder as a caller gives them: the customer they are (the data subject) and what
/// becomes personal data about them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
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

/// A demo command with its envelope.
pub type CommandRequest = eventline_core::command::CommandRequest<DemoCommand>;

fn invalid(message: impl Into<String>) -> InvalidCommand {
    InvalidCommand::new(message)
}

fn holder(f: &Fields<'_>) -> Result<Option<HolderDetails>, InvalidCommand> {
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
    let Some(raw) = f.raw("holder") else { return Ok(None) };
    if !raw.get().starts_with('{') {
        return Err(invalid(format!("`holder` is an object, not {}", describe(raw.get()))));
    }
    let f: Fields<'_> =
        eventline_core::json::from_str(raw.get()).map_err(|e| invalid(format!("`holder`: {}", reason(e))))?;
    let text = |raw: Option<&RawValue>, name: &str, max: usize| -> Result<String, InvalidCommand> {
        let raw = raw.filter(|r| r.get() != "null").ok_or_else(|| invalid(format!("missing field `{name}`")))?;
        let text: String = serde_json::from_str(raw.get()).map_err(|e| invalid(format!("`{name}`: {}", reason(e))))?;
        let text = text.trim().to_string();
        if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
            return Err(invalid(format!("`{name}` is 1 to {max} characters of text")));
        }
        Ok(text)
    };
    let email = text(f.email, "holder.email", MAX_EMAIL)?;
    let well_formed = email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !well_formed || email.contains(char::is_whitespace) {
        return Err(invalid("`holder.email` is an email address"));
    }
    let customer =
        f.customer.filter(|r| r.get() != "null").ok_or_else(|| invalid("missing field `holder.customer`"))?;
    Ok(Some(HolderDetails {
        customer: serde_json::from_str(customer.get())
            .map_err(|e| invalid(format!("`holder.customer`: {}", reason(e))))?,
        name: text(f.name, "holder.name", MAX_NAME)?,
        email,
    }))
}

/// Parses a command from JSON text: what a JS caller's object becomes with `JSON.stringify`.
/// The envelope and the refusal of unread fields are the core's (`eventline_core::command`).
pub fn parse_command(json: &str) -> Result<CommandRequest, InvalidCommand> {
    use DemoCommand as D;
    let request = eventline_core::command::parse(json, &COMMAND_TYPES, |f| {
        Ok(match f.kind() {
            "OpenAccount" => D::OpenAccount {
                account: f.required("account")?,
                currency: f.optional("currency")?.unwrap_or_default(),
                holder: holder(f)?,
            },
            "Deposit" => D::Deposit { account: f.required("account")?, amount: f.required("amount")? },
            "Withdraw" => D::Withdraw { account: f.required("account")?, amount: f.required("amount")? },
            "CloseAccount" => D::CloseAccount { account: f.required("account")? },
            "Transfer" => D::Transfer {
                from: f.required("from")?,
                to: f.required("to")?,
                amount: f.required("amount")?,
                mode: f.optional("mode")?.unwrap_or_default(),
                transfer_id: f.optional("transferId")?,
            },
            "CreateOrder" => D::CreateOrder {
                order: f.required("order")?,
                customer: f.required("customer")?,
                shipping_address: f.optional_text("shippingAddress", MAX_ADDRESS)?,
            },
            "AddItem" => D::AddItem {
                order: f.required("order")?,
                sku: f.required("sku")?,
                quantity: f.required("quantity")?,
                unit_price: f.required("unitPrice")?,
            },
            "ConfirmOrder" => D::ConfirmOrder { order: f.required("order")? },
            "PayOrder" => D::PayOrder { order: f.required("order")?, amount: f.required("amount")? },
            "ShipOrder" => D::ShipOrder { order: f.required("order")? },
            "DeliverOrder" => D::DeliverOrder { order: f.required("order")? },
            "CancelOrder" => {
                let order = f.required("order")?;
                let reason: String = f.optional("reason")?.unwrap_or_default();
                if reason.chars().count() > MAX_REASON {
                    return Err(invalid(format!("a cancellation reason is at most {MAX_REASON} characters")));
                }
                D::CancelOrder { order, reason }
            }
            _ => D::ForgetSubject { subject: f.required("subject")? },
        })
    })?;
    if request.expected_version != ExpectedVersion::Any
        && matches!(request.command, D::Transfer { mode: TransferMode::Atomic, .. })
    {
        return Err(invalid("`expectedVersion` applies to a command on one aggregate; an atomic transfer changes two"));
    }
    Ok(request)
}

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
    use eventline_core::aggregate::ErrorCode;
    use eventline_core::ids::{CommandId, StreamVersion};

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
            (r#"{"type":"Deposit","account":"a","amount":1,"comandId":"c-1"}"#, "Deposit has no field `comandId`"),
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
