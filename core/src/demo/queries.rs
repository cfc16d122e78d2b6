//! The query side's questions, as JSON text: each read model answers `query(args)` from its
//! documents, with the answer's JSON.
//!
//! Arguments are validated like commands: unknown fields, wrong types and out-of-range limits are
//! an [`InvalidQuery`], never a panic. Text in and text out, not `serde_json::Value`: each answer
//! type then needs only its serializer to text, which keeps the WebAssembly module small.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::aggregate::ErrorCode;

use super::money::EntityId;
use super::orders::OrderStatus;
use super::read_models::*;

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

fn args<T: DeserializeOwned + Default>(args: &str) -> Result<T, InvalidQuery> {
    let args = args.trim();
    if args.is_empty() || args == "null" {
        return Ok(T::default());
    }
    if !args.starts_with('{') {
        return Err(InvalidQuery { message: "query arguments are an object".into() });
    }
    serde_json::from_str(args).map_err(|e| InvalidQuery { message: e.to_string() })
}

fn to_json<T: Serialize>(value: T) -> String {
    serde_json::to_string(&value).unwrap_or_else(|_| "null".into())
}

fn limit(requested: Option<usize>, default: usize, max: usize) -> Result<usize, InvalidQuery> {
    match requested {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(InvalidQuery { message: format!("limit is 1 to {max}; got {n}") }),
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountArgs {
    account: Option<EntityId>,
}

impl Query for AccountBalances {
    /// `{account}` → that balance or null; `{}` → `{accounts, total}`.
    fn query(&self, a: &str) -> Result<String, InvalidQuery> {
        let a: AccountArgs = args(a)?;
        Ok(match a.account {
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
    fn query(&self, a: &str) -> Result<String, InvalidQuery> {
        let a: AccountArgs = args(a)?;
        Ok(match a.account {
            Some(account) => to_json(self.get(&account)),
            None => to_json(self.all()),
        })
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopArgs {
    limit: Option<usize>,
}

impl Query for TopAccounts {
    /// `{limit = 10}` → the richest open accounts, richest first.
    fn query(&self, a: &str) -> Result<String, InvalidQuery> {
        let a: TopArgs = args(a)?;
        Ok(to_json(self.top(limit(a.limit, 10, 1000)?)))
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OrderArgs {
    order: Option<EntityId>,
    status: Option<OrderStatus>,
    #[serde(default)]
    pending_fulfilment: bool,
}

impl Query for OrderBoard {
    /// `{order}` → that card; `{status}` → cards in it; `{pendingFulfilment: true}` → paid orders
    /// to ship, oldest first; `{}` → `{counts, orders}`.
    fn query(&self, a: &str) -> Result<String, InvalidQuery> {
        let a: OrderArgs = args(a)?;
        Ok(match (a.order, a.status, a.pending_fulfilment) {
            (Some(order), _, _) => to_json(self.get(&order)),
            (None, Some(status), _) => to_json(self.with_status(status)),
            (None, None, true) => to_json(self.pending_fulfilment()),
            (None, None, false) => {
                #[derive(Serialize)]
                struct All<'a> {
                    counts: std::collections::BTreeMap<&'static str, usize>,
                    orders: Vec<&'a OrderCard>,
                }
                to_json(All { counts: self.counts(), orders: self.all() })
            }
        })
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerArgs {
    customer: Option<EntityId>,
}

impl Query for CustomerOrders {
    /// `{customer}` → that customer's history or null; `{}` → the customers' ids.
    fn query(&self, a: &str) -> Result<String, InvalidQuery> {
        let a: CustomerArgs = args(a)?;
        Ok(match a.customer {
            Some(customer) => to_json(self.history(&customer)),
            None => to_json(self.customers()),
        })
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TransferArgs {
    transfer_id: Option<EntityId>,
    #[serde(default)]
    in_progress: bool,
}

impl Query for TransferBoard {
    /// `{transferId}` → that transfer with its steps; `{inProgress: true}` → unfinished ones;
    /// `{}` → every transfer.
    fn query(&self, a: &str) -> Result<String, InvalidQuery> {
        let a: TransferArgs = args(a)?;
        Ok(match (a.transfer_id, a.in_progress) {
            (Some(id), _) => to_json(self.get(&id)),
            (None, true) => to_json(self.in_progress()),
            (None, false) => to_json(self.all()),
        })
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditArgs {
    limit: Option<usize>,
}

impl Query for AuditLog {
    /// `{limit = 50}` → `{total, entries}`, newest first.
    fn query(&self, a: &str) -> Result<String, InvalidQuery> {
        let a: AuditArgs = args(a)?;
        #[derive(Serialize)]
        struct Page<'a> {
            total: usize,
            entries: Vec<&'a AuditEntry>,
        }
        Ok(to_json(Page { total: self.len(), entries: self.latest(limit(a.limit, 50, 10_000)?) }))
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
