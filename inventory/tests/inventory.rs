//! The inventory's rules, given/when/then, and the application run over the in-memory store:
//! commands, fulfilment, kits, read models, forgetting, imports.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use eventline_core::aggregate::ErrorCode;
use eventline_core::app::{Application, ApplicationError, Process, check_registry, forgotten_in};
use eventline_core::event::Event;
use eventline_core::handler::{CommandMeta, Executed};
use eventline_core::ids::{CommandId, Position, StreamId};
use eventline_core::memory::InMemoryStore;
use eventline_core::slot::Slot;
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::EventStore;
use eventline_core::temporal::AsOf;
use eventline_core::testing::{Scenario, TestEnv};
use eventline_inventory::app::{InventoryApp, InventoryError};
use eventline_inventory::item::{
    Item, ItemCommand, ItemError, ItemEvent, ItemRegistered, StockReceived, StockReserved,
};
use eventline_inventory::reservation::{Reservation, ReservationCommand, ReservationError, ReservationPlaced};
use eventline_inventory::{Id, InventoryEvent};

type App = InventoryApp<Rc<InMemoryStore>, Rc<TestEnv>>;

fn id(value: &str) -> Id {
    Id::parse(value).unwrap()
}

fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory operation waited"),
    }
}

fn app() -> App {
    App::new(Rc::new(InMemoryStore::new()), Rc::new(TestEnv::default()), SnapshotPolicy::Every(8))
}

/// Sends a command as a runtime does: from JSON, its envelope into the metadata, a fresh command
/// id unless it names one.
fn send(app: &App, json: &str) -> Result<Executed, InventoryError> {
    static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let request = App::parse_command(json)?;
    let fresh = || CommandId::from(format!("c-{}", SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let command_id = request.command_id.clone().unwrap_or_else(fresh);
    let meta = CommandMeta::new(command_id).asking(request.digest).expecting(request.expected_version);
    run_ready(app.execute(meta, &request.command))
}

/// Lets fulfilment react to everything after its progress: how many commands it dispatched.
fn fulfil(app: &App, fulfilment: &mut [Box<dyn Process<App>>]) -> usize {
    run_ready(fulfilment[0].run_for(app, usize::MAX)).unwrap().dispatched
}

fn state(app: &App, stream: &str) -> serde_json::Value {
    let (json, _) = run_ready(app.state_at(&StreamId::from(stream), AsOf::Head)).unwrap();
    serde_json::from_str(&json).unwrap()
}

/// Every read model folded over the whole log.
fn read_models(app: &App) -> Vec<Box<dyn Slot<InventoryEvent>>> {
    let log = run_ready(app.store().read_all(Position::ZERO, usize::MAX)).unwrap();
    let mut slots = App::read_models();
    for recorded in &log {
        let decoded = InventoryEvent::decode_recorded(recorded);
        for slot in &mut slots {
            slot.apply(recorded, &decoded);
        }
    }
    slots
}

fn query(app: &App, name: &str, args: &str) -> serde_json::Value {
    let slots = read_models(app);
    let slot = slots.iter().find(|s| s.name() == name).unwrap();
    serde_json::from_str(&slot.query(args).unwrap()).unwrap()
}

fn stocked(app: &App) {
    send(app, r#"{"type":"RegisterItem","sku":"bolt","name":"Bolt M6","commandId":"r-bolt"}"#).unwrap();
    send(app, r#"{"type":"ReceiveStock","sku":"bolt","quantity":10,"location":"dock-2","commandId":"s-bolt"}"#)
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Given, when, then

#[test]
fn an_item_reserves_only_what_is_available() {
    let registered: ItemEvent = ItemRegistered { sku: id("bolt"), name: "Bolt".into() }.into();
    let received: ItemEvent = StockReceived { sku: id("bolt"), quantity: 5, location: id("main") }.into();
    let reserved: ItemEvent = StockReserved { sku: id("bolt"), reservation: id("r-1"), quantity: 4 }.into();
    Scenario::<Item>::given(vec![registered.clone(), received.clone()])
        .when(ItemCommand::Reserve { sku: id("bolt"), reservation: id("r-1"), quantity: 4 })
        .then_expect_events(vec![reserved.clone()]);
    Scenario::<Item>::given(vec![registered.clone(), received.clone(), reserved.clone()])
        .when(ItemCommand::Reserve { sku: id("bolt"), reservation: id("r-2"), quantity: 2 })
        .then_expect_error(ItemError::InsufficientStock { sku: id("bolt"), available: 1, requested: 2 });
    Scenario::<Item>::given(vec![registered, received])
        .when(ItemCommand::Ship { sku: id("bolt"), reservation: id("r-9") })
        .then_expect_error(ItemError::NotReserved { sku: id("bolt"), reservation: id("r-9") });
    Scenario::<Item>::given_no_previous_events()
        .when(ItemCommand::Receive { sku: id("nut"), quantity: 1, location: id("main") })
        .then_expect_error(ItemError::UnknownItem { sku: id("nut") });
}

#[test]
fn a_reservation_ships_only_once_confirmed() {
    let placed = ReservationPlaced {
        reservation: id("r-1"),
        sku: id("bolt"),
        quantity: 2,
        contact: eventline_core::personal::Personal::new(
            "ada",
            eventline_inventory::reservation::Contact { name: "Ada".into(), email: "ada@example.com".into() },
        ),
    };
    Scenario::<Reservation>::given(vec![placed.into()])
        .when(ReservationCommand::Ship { reservation: id("r-1") })
        .then_expect_error_code("InvalidReservationState");
    Scenario::<Reservation>::given_no_previous_events()
        .when(ReservationCommand::Confirm { reservation: id("r-1") })
        .then_expect_error(ReservationError::ReservationNotFound { reservation: id("r-1") });
}

#[test]
fn stock_received_before_locations_existed_is_upcast_to_main() {
    let v1 = ItemEvent::decode("StockReceived", 1, r#"{"sku":"bolt","quantity":3}"#).unwrap();
    assert_eq!(v1, StockReceived { sku: id("bolt"), quantity: 3, location: id("main") }.into());
    assert_eq!(v1.encode().schema_version, 2);
}

// ---------------------------------------------------------------------------------------------
// The application

#[test]
fn its_registry_is_consistent() {
    assert_eq!(check_registry::<App>(), Ok(()));
}

#[test]
fn a_reservation_is_reserved_confirmed_shipped_by_fulfilment() {
    let app = app();
    let mut fulfilment = App::process_managers();
    stocked(&app);
    let place = r#"{"type":"PlaceReservation","reservation":"r-1","sku":"bolt","quantity":3,
        "customer":"ada","name":"Ada Lovelace","email":"ada@example.com","commandId":"p-1"}"#;
    send(&app, place).unwrap();
    assert_eq!(fulfil(&app, &mut fulfilment), 2, "reserve the stock, then confirm the reservation");
    assert_eq!(state(&app, "reservation-r-1")["status"], "confirmed");
    assert_eq!(state(&app, "item-bolt")["onHand"], 10);
    send(&app, r#"{"type":"ShipReservation","reservation":"r-1","commandId":"ship-1"}"#).unwrap();
    assert_eq!(fulfil(&app, &mut fulfilment), 1, "ship the stock");
    // Reacting again from nothing (progress lost in a crash) commits nothing twice.
    let head = run_ready(app.store().head()).unwrap();
    assert_eq!(fulfil(&app, &mut App::process_managers()), 3);
    assert_eq!(run_ready(app.store().head()).unwrap(), head);
    let level = query(&app, "stockLevels", r#"{"sku":"bolt"}"#);
    assert_eq!(
        (level["onHand"].as_u64(), level["reserved"].as_u64(), level["available"].as_u64()),
        (Some(7), Some(0), Some(7))
    );
    assert_eq!(level["receivedAt"], serde_json::json!([["dock-2", 10]]));
    assert_eq!(query(&app, "openReservations", ""), serde_json::json!([]));
}

#[test]
fn a_reservation_beyond_the_stock_is_cancelled_with_the_reason() {
    let app = app();
    let mut fulfilment = App::process_managers();
    stocked(&app);
    let place = r#"{"type":"PlaceReservation","reservation":"r-2","sku":"bolt","quantity":30,
        "customer":"bob","name":"Bob","email":"bob@example.com"}"#;
    send(&app, place).unwrap();
    fulfil(&app, &mut fulfilment);
    assert_eq!(state(&app, "reservation-r-2")["status"], "cancelled");
    let log = run_ready(app.store().read_all(Position::ZERO, usize::MAX)).unwrap();
    let cancelled = log.iter().find(|e| &*e.event_type == "ReservationCancelled").unwrap();
    assert!(cancelled.payload.contains("has 10 available, not 30"), "{}", cancelled.payload);
    // A cancellation after the stock was held releases it.
    let place = r#"{"type":"PlaceReservation","reservation":"r-3","sku":"bolt","quantity":4,
        "customer":"bob","name":"Bob","email":"bob@example.com"}"#;
    send(&app, place).unwrap();
    fulfil(&app, &mut fulfilment);
    send(&app, r#"{"type":"CancelReservation","reservation":"r-3"}"#).unwrap();
    fulfil(&app, &mut fulfilment);
    assert_eq!(query(&app, "stockLevels", r#"{"sku":"bolt"}"#)["available"], 10);
}

#[test]
fn a_kit_is_assembled_in_one_commit_over_two_items_or_not_at_all() {
    let app = app();
    stocked(&app);
    send(&app, r#"{"type":"RegisterItem","sku":"kit","name":"Bolt kit"}"#).unwrap();
    let assembled = send(&app, r#"{"type":"AssembleKit","kit":"kit","component":"bolt","quantity":4}"#).unwrap();
    let streams: Vec<&str> = assembled.receipt.events.iter().map(|e| e.meta.stream.as_str()).collect();
    assert_eq!(streams, ["item-kit", "item-bolt"]);
    assert_eq!(query(&app, "stockLevels", r#"{"sku":"kit"}"#)["onHand"], 4);
    assert_eq!(query(&app, "stockLevels", r#"{"sku":"bolt"}"#)["onHand"], 6);
    let head = run_ready(app.store().head()).unwrap();
    let short = send(&app, r#"{"type":"AssembleKit","kit":"kit","component":"bolt","quantity":7}"#).unwrap_err();
    assert_eq!((short.code(), short.details().unwrap().contains(r#""available":6"#)), ("InsufficientStock", true));
    let same = send(&app, r#"{"type":"AssembleKit","kit":"bolt","component":"bolt","quantity":1}"#).unwrap_err();
    assert_eq!(same.code(), "SameItem");
    assert_eq!(run_ready(app.store().head()).unwrap(), head, "nothing was appended");
}

#[test]
fn bad_input_is_a_typed_error_that_says_why() {
    let app = app();
    for (json, why) in [
        (r#"{"type":"ReceiveStock","sku":"bolt","quantity":0}"#, "`quantity` is 1 to 1000000"),
        (r#"{"type":"ReceiveStock","sku":"bolt","quantity":1.5}"#, "`quantity`"),
        (r#"{"type":"ReceiveStock","sku":"bolt","quantity":1,"amount":1}"#, "ReceiveStock has no field `amount`"),
        (r#"{"type":"RegisterItem","sku":"a b","name":"x"}"#, "`sku`"),
        (
            r#"{"type":"PlaceReservation","reservation":"r","sku":"s","quantity":1,"customer":"c","name":"n","email":"x"}"#,
            "email address",
        ),
        (r#"{"type":"AssembleKit","kit":"a","component":"b","quantity":1,"expectedVersion":2}"#, "changes two"),
        (r#"{"type":"ReserveStock","sku":"bolt","reservation":"r","quantity":1}"#, "unknown command type"),
    ] {
        let error = send(&app, json).unwrap_err();
        assert!(error.code() == "InvalidCommand" && error.to_string().contains(why), "{json}: {error}");
    }
    let error = send(&app, r#"{"type":"ReceiveStock","sku":"ghost","quantity":1}"#).unwrap_err();
    assert_eq!(error.code(), "UnknownItem");
}

#[test]
fn forgetting_a_customer_leaves_their_reservations_without_their_contact() {
    let app = app();
    stocked(&app);
    let place = r#"{"type":"PlaceReservation","reservation":"r-1","sku":"bolt","quantity":1,
        "customer":"ada","name":"Ada Lovelace","email":"ada@example.com"}"#;
    send(&app, place).unwrap();
    let open = query(&app, "openReservations", r#"{"customer":"ada"}"#);
    assert_eq!(open[0]["contact"]["value"]["name"], "Ada Lovelace");
    let forgot = send(&app, r#"{"type":"ForgetCustomer","customer":"ada","commandId":"f-1"}"#).unwrap();
    assert_eq!(forgotten_in(&forgot.receipt.events).as_deref(), Some("ada"));
    assert!(send(&app, r#"{"type":"ForgetCustomer","customer":"ada","commandId":"f-2"}"#).unwrap().replayed);
    let open = query(&app, "openReservations", r#"{"customer":"ada"}"#);
    assert_eq!(open[0]["contact"]["redacted"], "forgotten");
    let nobody = send(&app, r#"{"type":"ForgetCustomer","customer":"zed"}"#).unwrap_err();
    assert_eq!(nobody.code(), "UnknownSubject");
}

#[test]
fn an_imported_log_passes_only_if_every_item_admits_it() {
    let app = app();
    let mut fulfilment = App::process_managers();
    stocked(&app);
    send(
        &app,
        r#"{"type":"PlaceReservation","reservation":"r-1","sku":"bolt","quantity":2,
        "customer":"ada","name":"Ada","email":"ada@example.com"}"#,
    )
    .unwrap();
    fulfil(&app, &mut fulfilment);
    let log = run_ready(app.store().read_all(Position::ZERO, usize::MAX)).unwrap();
    assert_eq!(App::check_log(&[], &log, &|_| 0), Ok(()));
    // Stock shipped that nobody reserved.
    let mut forged = log.clone();
    let reserved = forged.iter().position(|e| &*e.event_type == "StockReserved").unwrap();
    forged[reserved].payload = forged[reserved].payload.replace(r#""quantity":2"#, r#""quantity":20"#).into();
    let refused = App::check_log(&[], &forged, &|_| 0).unwrap_err();
    assert!(refused.message.contains("available"), "{}", refused.message);
    assert_eq!(refused.event, reserved + 1);
}
