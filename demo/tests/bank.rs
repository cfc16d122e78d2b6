//! Every rule of the bank, as given/when/then over plain events: no store involved.

mod common;

use common::{amount, id};
use eventline_core::ErrorCode;
use eventline_core::event::{DecodeError, Event};
use eventline_core::testing::Scenario;
use eventline_demo::bank::*;
use eventline_demo::money::{Currency, EntityId, MAX_MINOR_UNITS};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn acc() -> EntityId {
    id("acc-1")
}

fn opened() -> AccountEvent {
    AccountOpened::eur().into()
}

fn deposited(n: u64) -> AccountEvent {
    MoneyDeposited { amount: amount(n) }.into()
}

fn usd() -> Currency {
    Currency::try_from("USD".to_string()).unwrap()
}

fn deposit(n: u64) -> AccountCommand {
    AccountCommand::Deposit { account: acc(), amount: amount(n) }
}

fn withdraw(n: u64) -> AccountCommand {
    AccountCommand::Withdraw { account: acc(), amount: amount(n) }
}

fn debit(transfer: &str, n: u64) -> AccountCommand {
    AccountCommand::DebitForTransfer { account: acc(), transfer_id: id(transfer), to: id("acc-2"), amount: amount(n) }
}

fn debited(transfer: &str, n: u64) -> AccountEvent {
    TransferDebited { transfer_id: id(transfer), to: id("acc-2"), amount: amount(n), currency: Currency::eur() }.into()
}

// --- opening ---------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn an_account_opens_in_its_currency() {
    Scenario::<Account>::given_no_previous_events()
        .when(AccountCommand::Open { account: acc(), currency: usd(), holder: None })
        .then_expect_events(vec![AccountOpened { currency: usd(), holder: None }.into()]);
}

#[wasm_bindgen_test(unsupported = test)]
fn an_account_opens_once() {
    Scenario::<Account>::given(vec![opened()])
        .when(AccountCommand::Open { account: acc(), currency: Currency::eur(), holder: None })
        .then_expect_error(AccountError::AccountAlreadyExists { account: acc() });
    Scenario::<Account>::given(vec![opened(), AccountClosed {}.into()])
        .when(AccountCommand::Open { account: acc(), currency: Currency::eur(), holder: None })
        .then_expect_error_code("AccountAlreadyExists");
}

// --- deposits and withdrawals ----------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn deposits_go_to_open_accounts_only() {
    Scenario::<Account>::given(vec![opened()]).when(deposit(250)).then_expect_events(vec![deposited(250)]);
    Scenario::<Account>::given_no_previous_events()
        .when(deposit(250))
        .then_expect_error(AccountError::AccountNotFound { account: acc() });
    Scenario::<Account>::given(vec![opened(), AccountClosed {}.into()])
        .when(deposit(250))
        .then_expect_error(AccountError::AccountClosed { account: acc() });
}

#[wasm_bindgen_test(unsupported = test)]
fn a_balance_never_exceeds_what_javascript_holds_exactly() {
    Scenario::<Account>::given(vec![opened(), deposited(MAX_MINOR_UNITS - 10)])
        .when(deposit(11))
        .then_expect_error(AccountError::BalanceLimitExceeded { account: acc() });
    Scenario::<Account>::given(vec![opened(), deposited(MAX_MINOR_UNITS - 10)])
        .when(deposit(10))
        .then_expect_events(vec![deposited(10)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn withdrawals_never_overdraw() {
    Scenario::<Account>::given(vec![opened(), deposited(100)])
        .when(withdraw(100))
        .then_expect_events(vec![MoneyWithdrawn { amount: amount(100) }.into()]);
    Scenario::<Account>::given(vec![opened(), deposited(100)])
        .when(withdraw(101))
        .then_expect_error(AccountError::InsufficientFunds { account: acc(), balance: 100, requested: 101 });
    Scenario::<Account>::given(vec![opened(), deposited(100), MoneyWithdrawn { amount: amount(60) }.into()])
        .when(withdraw(41))
        .then_expect_error_code("InsufficientFunds");
}

#[wasm_bindgen_test(unsupported = test)]
fn nothing_happens_on_a_closed_or_unopened_account() {
    let closed = vec![opened(), AccountClosed {}.into()];
    Scenario::<Account>::given(closed.clone()).when(withdraw(1)).then_expect_error_code("AccountClosed");
    Scenario::<Account>::given(closed).when(debit("t", 1)).then_expect_error_code("AccountClosed");
    Scenario::<Account>::given_no_previous_events().when(withdraw(1)).then_expect_error_code("AccountNotFound");
    Scenario::<Account>::given_no_previous_events()
        .when(AccountCommand::Close { account: acc() })
        .then_expect_error_code("AccountNotFound");
}

// --- closing ---------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn an_account_closes_only_when_empty_and_idle() {
    let close = || AccountCommand::Close { account: acc() };
    Scenario::<Account>::given(vec![opened()]).when(close()).then_expect_events(vec![AccountClosed {}.into()]);
    Scenario::<Account>::given(vec![opened(), deposited(5)])
        .when(close())
        .then_expect_error(AccountError::AccountNotEmpty { account: acc(), balance: 5 });
    Scenario::<Account>::given(vec![opened(), deposited(5), debited("t-1", 5)])
        .when(close())
        .then_expect_error(AccountError::TransferInProgress { account: acc(), count: 1 });
    Scenario::<Account>::given(vec![opened(), AccountClosed {}.into()])
        .when(close())
        .then_expect_error_code("AccountClosed");
}

// --- atomic transfers ------------------------------------------------------------------------

fn account(events: Vec<AccountEvent>) -> Account {
    eventline_core::aggregate::replay::<Account>(events.iter())
}

#[wasm_bindgen_test(unsupported = test)]
fn an_atomic_transfer_writes_both_legs() {
    let (from, to) = (account(vec![opened(), deposited(100)]), account(vec![opened()]));
    let legs = decide_atomic_transfer(&from, &to, &id("t-1"), &id("a"), &id("b"), amount(40)).unwrap();
    assert_eq!(
        legs,
        vec![
            vec![TransferSent { transfer_id: id("t-1"), to: id("b"), amount: amount(40) }.into()],
            vec![TransferReceived { transfer_id: id("t-1"), from: id("a"), amount: amount(40) }.into()],
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn an_atomic_transfer_is_refused_by_either_side() {
    let rich = account(vec![opened(), deposited(100)]);
    let transfer =
        |from: &Account, to: &Account, n| decide_atomic_transfer(from, to, &id("t"), &id("a"), &id("b"), amount(n));
    let code = |r: Result<_, AccountError>| r.unwrap_err().code();
    assert_eq!(code(transfer(&rich, &account(vec![opened()]), 101)), "InsufficientFunds");
    assert_eq!(code(transfer(&rich, &account(vec![opened(), AccountClosed {}.into()]), 10)), "AccountClosed");
    assert_eq!(code(transfer(&rich, &account(vec![]), 10)), "AccountNotFound");
    assert_eq!(
        code(transfer(&rich, &account(vec![AccountOpened { currency: usd(), holder: None }.into()]), 10)),
        "CurrencyMismatch"
    );
    assert_eq!(code(transfer(&account(vec![opened(), AccountClosed {}.into()]), &rich, 10)), "AccountClosed");
    let same = decide_atomic_transfer(&rich, &rich, &id("t"), &id("a"), &id("a"), amount(1));
    assert_eq!(same.unwrap_err(), AccountError::SameAccount { account: id("a") });
}

// --- saga legs -------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn a_saga_debit_holds_the_money_until_settled_or_refunded() {
    Scenario::<Account>::given(vec![opened(), deposited(100)])
        .when(debit("t-1", 70))
        .then_expect_events(vec![debited("t-1", 70)]);
    let held = account(vec![opened(), deposited(100), debited("t-1", 70)]);
    assert_eq!((held.balance, held.pending.get(&id("t-1")).copied()), (30, Some(70)));

    Scenario::<Account>::given(vec![opened(), deposited(100), debited("t-1", 70)])
        .when(AccountCommand::RefundTransfer { account: acc(), transfer_id: id("t-1") })
        .then_expect_events(vec![TransferRefunded { transfer_id: id("t-1"), amount: amount(70) }.into()]);
    let refunded = account(vec![
        opened(),
        deposited(100),
        debited("t-1", 70),
        TransferRefunded { transfer_id: id("t-1"), amount: amount(70) }.into(),
    ]);
    assert_eq!((refunded.balance, refunded.pending.len()), (100, 0));

    Scenario::<Account>::given(vec![opened(), deposited(100), debited("t-1", 70)])
        .when(AccountCommand::SettleTransfer { account: acc(), transfer_id: id("t-1") })
        .then_expect_events(vec![TransferSettled { transfer_id: id("t-1"), amount: amount(70) }.into()]);
    Scenario::<Account>::given(vec![opened(), deposited(100)])
        .when(AccountCommand::SettleTransfer { account: acc(), transfer_id: id("t-9") })
        .then_expect_error(AccountError::UnknownTransfer { account: acc(), transfer_id: id("t-9") });
    Scenario::<Account>::given(vec![opened(), deposited(10)])
        .when(debit("t-2", 11))
        .then_expect_error_code("InsufficientFunds");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_credit_in_another_currency_is_refused() {
    Scenario::<Account>::given(vec![AccountOpened { currency: usd(), holder: None }.into()])
        .when(AccountCommand::ReceiveTransfer {
            account: acc(),
            transfer_id: id("t"),
            from: id("acc-0"),
            amount: amount(5),
            currency: Currency::eur(),
        })
        .then_expect_error(AccountError::CurrencyMismatch { account: acc(), expected: usd(), found: Currency::eur() });
}

// --- the transfer record ---------------------------------------------------------------------

fn requested() -> TransferEvent {
    TransferRequested { from: id("a"), to: id("b"), amount: amount(5) }.into()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_transfer_is_requested_once_between_two_accounts() {
    let request = |from: &str, to: &str| TransferCommand::Request {
        transfer_id: id("t"),
        from: id(from),
        to: id(to),
        amount: amount(5),
    };
    Scenario::<Transfer>::given_no_previous_events().when(request("a", "b")).then_expect_events(vec![requested()]);
    Scenario::<Transfer>::given(vec![requested()])
        .when(request("a", "b"))
        .then_expect_error(TransferError::TransferAlreadyExists { transfer_id: id("t") });
    Scenario::<Transfer>::given_no_previous_events().when(request("a", "a")).then_expect_error_code("SameAccount");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_transfer_ends_once_and_compensates_only_after_a_refused_credit() {
    let complete = || TransferCommand::Complete { transfer_id: id("t") };
    let compensate = || TransferCommand::Compensate { transfer_id: id("t") };
    let reject = || TransferCommand::RejectCredit {
        transfer_id: id("t"),
        code: "AccountClosed".into(),
        reason: "closed".into(),
    };
    Scenario::<Transfer>::given(vec![requested()])
        .when(complete())
        .then_expect_events(vec![TransferCompleted {}.into()]);
    Scenario::<Transfer>::given_no_previous_events().when(complete()).then_expect_error_code("TransferNotFound");
    Scenario::<Transfer>::given(vec![requested(), TransferCompleted {}.into()])
        .when(complete())
        .then_expect_error_code("InvalidTransferState");
    Scenario::<Transfer>::given(vec![requested()]).when(compensate()).then_expect_error_code("InvalidTransferState");
    Scenario::<Transfer>::given(vec![requested()]).when(reject()).then_expect_events(vec![
        TransferCreditRejected { code: "AccountClosed".into(), reason: "closed".into() }.into(),
    ]);
    Scenario::<Transfer>::given(vec![
        requested(),
        TransferCreditRejected { code: "x".into(), reason: "y".into() }.into(),
    ])
    .when(compensate())
    .then_expect_events(vec![TransferCompensated {}.into()]);
}

// --- schema change ---------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn account_opened_v1_without_a_currency_is_upcast_to_euros() {
    let v1 = AccountEvent::decode("AccountOpened", 1, "{}").unwrap();
    assert_eq!(v1, AccountOpened::eur().into());
    let current = AccountEvent::from(AccountOpened { currency: usd(), holder: None }).encode();
    assert_eq!(
        (current.event_type, current.schema_version, current.payload.as_str()),
        ("AccountOpened", 3, r#"{"currency":"USD","holder":null}"#)
    );
    // v2 had no holder: it loads with none.
    let v2 = AccountEvent::decode("AccountOpened", 2, r#"{"currency":"USD"}"#).unwrap();
    assert_eq!(v2, AccountOpened { currency: usd(), holder: None }.into());
    // Without the upcasters, a v1 payload would not decode: the currency is required.
    assert!(matches!(AccountEvent::decode("AccountOpened", 2, "{}"), Err(DecodeError::InvalidPayload { .. })));
    assert!(matches!(
        AccountEvent::decode("AccountOpened", 4, "{}"),
        Err(DecodeError::UnsupportedSchemaVersion { .. })
    ));
}
