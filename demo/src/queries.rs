//! The query side's questions, as JSON text: each read model answers `query(args)` from its
//! documents, with the answer's JSON.
//!
//! Arguments are validated like commands: unknown fields, wrong types and out-of-range limits are
//! an [`InvalidQuery`], never a panic. Text in and text out, not `serde_json::Value`: each answer
//! type then needs only its serializer to text, which keeps the WebAssembly module small.

use serde::Serialize;
use serde_json::Value;

use eventline_core::aggregate::ErrorCode;

use crate::money::EntityId;
use crate::orders::OrderStatus;
use crate::read_models::*;

/// The arguments do not fit the read model's questions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid query: {message}")]
pub struct InvalidQuery {
    pub message: String,
}

impl ErrorCode for InvalidQuery {
    fn code(&self) -> &'static str {
        "InvalidQuery"
    }
}

/// A read model that answers JSON questions: `args` is JSON text (an object, `null` or empty),
/// the answer is JSON text.
pub trait Query {
    fn query(&self, args: &str) -> Result<String, InvalidQuery>;
}

fn invalid(message: impl Into<String>) -> InvalidQuery {
    InvalidQuery { message: message.into() }
}

/// A query's arguments: a JSON object of known fields. Parsed as a `Value`, whose parser the
/// core has anyway, and then read field by field: one argument parser in the WebAssembly module
/// rather than a serde-derived one per read model.
struct Args(serde_json::Map<String, Value>);

impl Args {
    /// `args` is an object, `null` or empty, with no field outside `known`.
    fn parse(args: &str, known: &[&str]) -> Result<Args, InvalidQuery> {
        let args = args.trim();
        if args.is_empty() || args == "null" {
            return Ok(Args(serde_json::Map::new()));
        }
        let fields = match serde_json::from_str(args) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => return Err(invalid("query arguments are an object")),
            Err(e) => return Err(invalid(e.to_string())),
        };
        if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            return Err(invalid(format!("unknown field `{unknown}`, expected {}", expected.join(" or "))));
        }
        Ok(Args(fields))
    }

    /// A field that is absent or `null` is `None`.
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn id(&self, name: &str) -> Result<Option<EntityId>, InvalidQuery> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(id)) => EntityId::parse(id).map(Some).map_err(|e| invalid(format!("`{name}`: {e}"))),
            Some(other) => Err(invalid(format!("`{name}` is an id string, not {other}"))),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, InvalidQuery> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(other) => Err(invalid(format!("`{name}` is true or false, not {other}"))),
        }
    }

    /// `limit`, 1 to `max`; `default` when absent.
    fn limit(&self, default: usize, max: usize) -> Result<usize, InvalidQuery> {
        match self.get("limit") {
            None => Ok(default),
            Some(n) => match n.as_u64() {
                Some(n) if (1..=max as u64).contains(&n) => Ok(n as usize),
                _ => Err(invalid(format!("limit is 1 to {max}; got {n}"))),
            },
        }
    }

    fn status(&self) -> Result<Option<OrderStatus>, InvalidQuery> {
        let Some(status) = self.get("status") else { return Ok(None) };
        OrderStatus::ALL
            .into_iter()
            .find(|s| status.as_str() == Some(s.name()))
            .map(Some)
            .ok_or_else(|| invalid(format!("`status` is an order status such as \"paid\", not {status}")))
    }
}

fn to_json<T: Serialize>(value: T) -> String {
    serde_json::to_string(&value).unwrap_or_else(|_| "null".into())
}

impl Query for AccountBalances {
    /// `{account}` → that balance or null; `{}` → `{accounts, total}`.
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        Ok(match Args::parse(args, &["account"])?.id("account")? {
            Some(account) => to_json(self.get(&account)),
            None => {
                #[derive(Serialize)]
                struct All<'a> {
                    accounts: Vec<&'a AccountBalance>,
                    total: u64,
                }
                to_json(All { accounts: self.all(), total: self.total() })
            }
        })
    }
}

impl Query for AccountSummaries {
    /// `{account}` → that summary or null; `{}` → every summary.
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        Ok(match Args::parse(args, &["account"])?.id("account")? {
            Some(account) => to_json(self.get(&account)),
            None => to_json(self.all()),
        })
    }
}

impl Query for TopAccounts {
    /// `{limit = 10}` → the richest open accounts, richest first.
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        Ok(to_json(self.top(Args::parse(args, &["limit"])?.limit(10, 1000)?)))
    }
}

impl Query for OrderBoard {
    /// `{order}` → that card; `{status}` → cards in it; `{pendingFulfilment: true}` → paid orders
    /// to ship, oldest first; `{}` → `{counts, orders}`.
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        let a = Args::parse(args, &["order", "status", "pendingFulfilment"])?;
        Ok(match (a.id("order")?, a.status()?, a.flag("pendingFulfilment")?) {
            (Some(order), _, _) => to_json(self.get(&order)),
            (None, Some(status), _) => to_json(self.with_status(status)),
            (None, None, true) => to_json(self.pending_fulfilment()),
            (None, None, false) => {
                #[derive(Serialize)]
                struct All<'a> {
                    counts: serde_json::Map<String, Value>,
                    orders: Vec<&'a OrderCard>,
                }
                let counts = self.counts().into_iter().map(|(status, n)| (status.to_string(), n.into())).collect();
                to_json(All { counts, orders: self.all() })
            }
        })
    }
}

impl Query for CustomerOrders {
    /// `{customer}` → that customer's history or null; `{}` → the customers' ids.
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        Ok(match Args::parse(args, &["customer"])?.id("customer")? {
            Some(customer) => to_json(self.history(&customer)),
            None => to_json(self.customers()),
        })
    }
}

impl Query for TransferBoard {
    /// `{transferId}` → that transfer with its steps; `{inProgress: true}` → unfinished ones;
    /// `{}` → every transfer.
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        let a = Args::parse(args, &["transferId", "inProgress"])?;
        Ok(match (a.id("transferId")?, a.flag("inProgress")?) {
            (Some(id), _) => to_json(self.get(&id)),
            (None, true) => to_json(self.in_progress()),
            (None, false) => to_json(self.all()),
        })
    }
}

impl Query for AuditLog {
    /// `{limit = 50}` → `{total, entries}`, newest first.
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        let limit = Args::parse(args, &["limit"])?.limit(50, 10_000)?;
        #[derive(Serialize)]
        struct Page<'a> {
            total: usize,
            entries: Vec<&'a AuditEntry>,
        }
        Ok(to_json(Page { total: self.len(), entries: self.latest(limit) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_are_invalid_queries() {
        let balances = AccountBalances::default();
        assert_eq!(balances.query(r#"{"account":"nobody"}"#).unwrap(), "null");
        assert_eq!(balances.query("").unwrap(), r#"{"accounts":[],"total":0}"#);
        for bad in ["7", "\"a\"", r#"{"account":5}"#, r#"{"acount":"a"}"#, "{"] {
            assert_eq!(balances.query(bad).unwrap_err().code(), "InvalidQuery", "{bad}");
        }
        let top = TopAccounts::default();
        assert!(top.query(r#"{"limit":0}"#).is_err());
        assert!(top.query(r#"{"limit":1.5}"#).is_err());
        assert_eq!(top.query("null").unwrap(), "[]");
    }
}
