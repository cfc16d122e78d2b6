//! The npm package's TypeScript declarations (`demo/npm/eventline.d.ts`) name the same commands,
//! events, read models and error codes as the Rust code. Native only: it reads the file.
#![cfg(not(target_arch = "wasm32"))]

use eventline_core::event::DecodeError;
use eventline_core::store::StoreError;
use eventline_demo::EVENT_TYPES;
use eventline_demo::app::{AppError, ERROR_CODES};
use eventline_demo::bank::{AccountError, TransferError};
use eventline_demo::command::COMMAND_TYPES;
use eventline_demo::orders::OrderError;
use eventline_demo::read_models::READ_MODEL_NAMES;

fn declarations() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/npm/eventline.d.ts")).expect("eventline.d.ts")
}

/// The string literals of a `type Name = | "a" | "b";` union.
fn union(declarations: &str, name: &str) -> Vec<String> {
    let start = declarations.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("no type {name}"));
    let body = &declarations[start..];
    let body = &body[..body.find(';').expect("a union ends with ;")];
    body.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn commands_events_and_read_models_match_the_rust_code() {
    let d = declarations();
    for command in COMMAND_TYPES {
        assert!(d.contains(&format!("type: \"{command}\";")), "{command} has no interface in eventline.d.ts");
    }
    let declared_events: Vec<String> = d
        .lines()
        .filter_map(|l| l.trim().strip_prefix("| Ev<\""))
        .map(|l| l[..l.find('"').unwrap()].to_string())
        .collect();
    for event in EVENT_TYPES {
        assert!(declared_events.iter().any(|e| e == event), "{event} is not in RecordedEvent");
    }
    for declared in &declared_events {
        assert!(EVENT_TYPES.contains(&declared.as_str()), "{declared} is declared but not a demo event");
    }
    let read_models = union(&d, "ReadModelName");
    assert_eq!(read_models, READ_MODEL_NAMES.iter().map(|s| s.to_string()).collect::<Vec<_>>());
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
    ];
    ERROR_CODES.into_iter().chain(web).collect()
}

#[test]
fn every_error_code_is_declared() {
    let declared = union(&declarations(), "ErrorCode");
    for code in all_codes() {
        assert!(declared.iter().any(|c| c == code), "{code} is missing from ErrorCode in eventline.d.ts");
    }
}
