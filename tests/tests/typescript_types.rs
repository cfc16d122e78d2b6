//! Every error code a JS caller of the demo's package can see is declared: the demo's in its
//! generated `demo/npm/eventline.d.ts` (`DomainErrorCode`, from `ERROR_CODES`; commands, events
//! and read models are checked where it is generated, `demo/tests/typescript.rs`), the runtime's
//! in the shared `web/npm/eventline-api.d.ts` (`ApiErrorCode`). Native only: it reads the files.
#![cfg(not(target_arch = "wasm32"))]

use eventline_core::event::DecodeError;
use eventline_core::store::StoreError;
use eventline_demo::app::{AppError, ERROR_CODES};
use eventline_demo::bank::{AccountError, TransferError};
use eventline_demo::orders::OrderError;

fn declarations() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    read(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/npm/eventline.d.ts"))
        + &read(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/npm/eventline-api.d.ts"))
}

/// The string literals of a `type Name = | "a" | "b";` union.
fn union(declarations: &str, name: &str) -> Vec<String> {
    let start = declarations.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("no type {name}"));
    let body = &declarations[start..];
    let body = &body[..body.find(';').expect("a union ends with ;")];
    body.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

/// Every code a JS caller can see: the app's (`ERROR_CODES`) and the runtime's. The matches are
/// exhaustive: a new variant does not compile until it is looked at here, and its code listed.
fn all_codes() -> Vec<&'static str> {
    let account = |e: AccountError| match e {
        AccountError::AccountNotFound { .. }
        | AccountError::AccountAlreadyExists { .. }
        | AccountError::AccountClosed { .. }
        | AccountError::InsufficientFunds { .. }
        | AccountError::AccountNotEmpty { .. }
        | AccountError::TransferInProgress { .. }
        | AccountError::SameAccount { .. }
        | AccountError::CurrencyMismatch { .. }
        | AccountError::BalanceLimitExceeded { .. }
        | AccountError::UnknownTransfer { .. } => (),
    };
    let transfer = |e: TransferError| match e {
        TransferError::TransferAlreadyExists { .. }
        | TransferError::TransferNotFound { .. }
        | TransferError::SameAccount { .. }
        | TransferError::InvalidTransferState { .. } => (),
    };
    let order = |e: OrderError| match e {
        OrderError::OrderNotFound { .. }
        | OrderError::OrderAlreadyExists { .. }
        | OrderError::InvalidOrderState { .. }
        | OrderError::EmptyOrder { .. }
        | OrderError::PaymentMismatch { .. }
        | OrderError::InvalidQuantity { .. }
        | OrderError::OrderTotalTooLarge { .. } => (),
    };
    let decode = |e: DecodeError| match e {
        DecodeError::UnknownEventType { .. }
        | DecodeError::UnsupportedSchemaVersion { .. }
        | DecodeError::InvalidPayload { .. } => (),
    };
    let _ = (account, transfer, order, decode);
    let store = |e: &StoreError| match e {
        StoreError::QuotaExceeded { .. }
        | StoreError::SchemaTooNew { .. }
        | StoreError::Corrupt { .. }
        | StoreError::Closed
        | StoreError::Backend { .. } => (),
        _ => (),
    };
    let _ = store;
    let app = |e: AppError| match e {
        AppError::InvalidCommand(_)
        | AppError::Account(_)
        | AppError::Transfer(_)
        | AppError::Order(_)
        | AppError::Load(_)
        | AppError::UnknownStream(_)
        | AppError::UnknownSubject(_)
        | AppError::Forget(_)
        | AppError::Store(_) => (),
    };
    let _ = app;
    // What the browser runtime and the JS API add to the app's codes.
    let web = [
        "DuplicateCommand",
        "InvalidQuery",
        "InvalidArgument",
        "InvalidImport",
        "InvalidApplication",
        "UnknownReadModel",
        "WaitTimeout",
        "Unsupported",
        "Panicked",
        "InternalError",
        // Sync's (`startSync`, `syncStatus().error`, `rejectedCommands()`).
        "SyncLogMismatch",
        "NotDecidedAgain",
        "InvalidLog",
        "InvalidBatch",
        "CommitTooLarge",
        "Unreachable",
        "Unauthorized",
        "Forbidden",
        "Timeout",
        "NoResponders",
        "Protocol",
        "ServerRefused",
    ];
    ERROR_CODES.into_iter().chain(web).collect()
}

#[test]
fn every_error_code_is_declared() {
    let d = declarations();
    let declared: Vec<String> = [union(&d, "DomainErrorCode"), union(&d, "ApiErrorCode")].concat();
    for code in all_codes() {
        assert!(declared.iter().any(|c| c == code), "{code} is declared neither by the demo nor by the API");
    }
}
