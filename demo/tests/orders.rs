//! Every rule of the order lifecycle, as given/when/then over plain events.

mod common;

use common::{amount, id};
use eventline_core::testing::Scenario;
use eventline_demo::money::{EntityId, MAX_MINOR_UNITS};
use eventline_demo::orders::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn order() -> EntityId {
    id("o-1")
}

fn created() -> OrderEvent {
    OrderCreated { customer: id("alice"), shipping_address: None }.into()
}

fn item(quantity: u32, price: u64) -> OrderEvent {
    OrderItemAdded { sku: id("sku-1"), quantity, unit_price: amount(price) }.into()
}

fn add(quantity: u32, price: u64) -> OrderCommand {
    OrderCommand::AddItem { order: order(), sku: id("sku-1"), quantity, unit_price: amount(price) }
}

fn draft() -> Vec<OrderEvent> {
    vec![created(), item(2, 150)]
}

fn confirmed() -> Vec<OrderEvent> {
    [draft(), vec![OrderConfirmed { total: 300 }.into()]].concat()
}

fn paid() -> Vec<OrderEvent> {
    [confirmed(), vec![OrderPaid { amount: amount(300) }.into()]].concat()
}

fn shipped() -> Vec<OrderEvent> {
    [paid(), vec![OrderShipped {}.into()]].concat()
}

#[wasm_bindgen_test(unsupported = test)]
fn an_order_is_created_once() {
    let create = || OrderCommand::Create { order: order(), customer: id("alice"), shipping_address: None };
    Scenario::<Order>::given_no_previous_events().when(create()).then_expect_events(vec![created()]);
    Scenario::<Order>::given(vec![created()])
        .when(create())
        .then_expect_error(OrderError::OrderAlreadyExists { order: order() });
}

#[wasm_bindgen_test(unsupported = test)]
fn commands_on_a_missing_order_are_refused() {
    for command in [add(1, 1), OrderCommand::Confirm { order: order() }, OrderCommand::Ship { order: order() }] {
        Scenario::<Order>::given_no_previous_events()
            .when(command)
            .then_expect_error(OrderError::OrderNotFound { order: order() });
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn items_go_into_drafts_in_sane_quantities() {
    Scenario::<Order>::given(vec![created()]).when(add(3, 99)).then_expect_events(vec![item(3, 99)]);
    Scenario::<Order>::given(vec![created()])
        .when(add(0, 99))
        .then_expect_error(OrderError::InvalidQuantity { order: order(), quantity: 0 });
    Scenario::<Order>::given(vec![created()]).when(add(MAX_QUANTITY + 1, 1)).then_expect_error_code("InvalidQuantity");
    Scenario::<Order>::given(confirmed()).when(add(1, 1)).then_expect_error(OrderError::InvalidOrderState {
        order: order(),
        status: OrderStatus::Confirmed,
        action: "add an item to",
    });
    Scenario::<Order>::given(vec![created(), item(1, MAX_MINOR_UNITS - 5)])
        .when(add(1, 6))
        .then_expect_error_code("OrderTotalTooLarge");
}

#[wasm_bindgen_test(unsupported = test)]
fn confirming_fixes_the_total_and_needs_items() {
    let confirm = || OrderCommand::Confirm { order: order() };
    Scenario::<Order>::given(draft()).when(confirm()).then_expect_events(vec![OrderConfirmed { total: 300 }.into()]);
    Scenario::<Order>::given(vec![created()])
        .when(confirm())
        .then_expect_error(OrderError::EmptyOrder { order: order() });
    Scenario::<Order>::given(confirmed()).when(confirm()).then_expect_error_code("InvalidOrderState");
}

#[wasm_bindgen_test(unsupported = test)]
fn payment_matches_the_total_of_a_confirmed_order() {
    let pay = |n| OrderCommand::Pay { order: order(), amount: amount(n) };
    Scenario::<Order>::given(confirmed())
        .when(pay(300))
        .then_expect_events(vec![OrderPaid { amount: amount(300) }.into()]);
    Scenario::<Order>::given(confirmed()).when(pay(299)).then_expect_error(OrderError::PaymentMismatch {
        order: order(),
        expected: 300,
        offered: 299,
    });
    Scenario::<Order>::given(draft()).when(pay(300)).then_expect_error_code("InvalidOrderState");
    Scenario::<Order>::given(paid()).when(pay(300)).then_expect_error_code("InvalidOrderState");
}

#[wasm_bindgen_test(unsupported = test)]
fn shipping_follows_payment_and_delivery_follows_shipping() {
    let ship = || OrderCommand::Ship { order: order() };
    let deliver = || OrderCommand::Deliver { order: order() };
    Scenario::<Order>::given(confirmed()).when(ship()).then_expect_error_code("InvalidOrderState");
    Scenario::<Order>::given(paid()).when(ship()).then_expect_events(vec![OrderShipped {}.into()]);
    Scenario::<Order>::given(paid()).when(deliver()).then_expect_error_code("InvalidOrderState");
    Scenario::<Order>::given(shipped()).when(deliver()).then_expect_events(vec![OrderDelivered {}.into()]);
}

#[wasm_bindgen_test(unsupported = test)]
fn an_order_can_be_cancelled_until_it_ships() {
    let cancel = || OrderCommand::Cancel { order: order(), reason: "changed my mind".into() };
    let cancelled: OrderEvent = OrderCancelled { reason: "changed my mind".into() }.into();
    for history in [vec![created()], draft(), confirmed(), paid()] {
        Scenario::<Order>::given(history).when(cancel()).then_expect_events(vec![cancelled.clone()]);
    }
    Scenario::<Order>::given(shipped()).when(cancel()).then_expect_error(OrderError::InvalidOrderState {
        order: order(),
        status: OrderStatus::Shipped,
        action: "cancel",
    });
    let mut history = draft();
    history.push(cancelled.clone());
    Scenario::<Order>::given(history.clone()).when(cancel()).then_expect_error_code("InvalidOrderState");
    Scenario::<Order>::given(history).when(add(1, 1)).then_expect_error_code("InvalidOrderState");
}
