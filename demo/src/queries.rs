//! The demo read models' questions (`eventline_core::query`): each answers `query(args)` from
//! its documents with the answer's JSON.

use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use eventline_core::query::to_json;
pub use eventline_core::query::{Args, InvalidQuery, Query};

use crate::money::EntityId;
use crate::orders::OrderStatus;
use crate::read_models::*;

/// `balances` without an account: every balance and their total.
#[derive(Serialize, TS)]
pub struct AllBalances<'a> {
    pub accounts: Vec<&'a AccountBalance>,
    pub total: u64,
}

/// `orderBoard` without arguments: how many orders are in each status, and every card.
#[derive(Serialize, TS)]
pub struct AllOrders<'a> {
    #[ts(type = "Partial<Record<OrderStatus, number>>")]
    pub counts: serde_json::Map<String, Value>,
    pub orders: Vec<&'a OrderCard>,
}

/// `auditLog`: the newest entries, and how many there are in all.
#[derive(Serialize, TS)]
pub struct AuditAnswer<'a> {
    pub total: usize,
    pub entries: Vec<&'a AuditEntry>,
}

/// The demo's own kinds of argument, on the core's [`Args`].
trait DemoArgs {
    fn id(&self, name: &str) -> Result<Option<EntityId>, InvalidQuery>;
    fn status(&self) -> Result<Option<OrderStatus>, InvalidQuery>;
}

impl DemoArgs for Args {
    fn id(&self, name: &str) -> Result<Option<EntityId>, InvalidQuery> {
        self.parsed(name, EntityId::parse)
    }

    fn status(&self) -> Result<Option<OrderStatus>, InvalidQuery> {
        let Some(status) = self.get("status") else { return Ok(None) };
        OrderStatus::ALL
            .into_iter()
            .find(|s| status.as_str() == Some(s.name()))
            .map(Some)
            .ok_or_else(|| InvalidQuery::new(format!("`status` is an order status such as \"paid\", not {status}")))
    }
}

impl Query for AccountBalances {
    /// `{account}` → that balance or null; `{}` → `{accounts, total}`.
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        Ok(match Args::parse(args, &["account"])?.id("account")? {
            Some(account) => to_json(self.get(&account)),
            None => to_json(AllBalances { accounts: self.all(), total: self.total() }),
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
                let counts = self.counts().into_iter().map(|(status, n)| (status.to_string(), n.into())).collect();
                to_json(AllOrders { counts, orders: self.all() })
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
    /// `{limit = 50}` → `{total, entries}`, newest first; at most [`AUDIT_KEPT`] entries, the
    /// newest the read model keeps (the log itself pages through all: `events()`).
    fn query(&self, args: &str) -> Result<String, InvalidQuery> {
        let limit = Args::parse(args, &["limit"])?.limit(50, AUDIT_KEPT)?;
        Ok(to_json(AuditAnswer { total: self.len(), entries: self.latest(limit) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventline_core::aggregate::ErrorCode;

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
