//! The package's TypeScript declarations (`npm/eventline.d.ts`) are generated from the Rust types
//! (`ts-rs`) and the application's registry, never written by hand: this test fails when the
//! checked-in file differs from what the code declares. To write it anew:
//!
//! ```sh
//! EVENTLINE_WRITE_TYPES=1 cargo test -p eventline-inventory --test typescript
//! ```

use eventline_core::aggregate::Aggregate;
use eventline_core::app::Application;
use eventline_core::event::EventPayload;
use eventline_core::projection::ReadModel;
use eventline_core::ts::{check_declarations, config, declare, quoted};
use eventline_inventory::app::{ERROR_CODES, InventoryApp};
use eventline_inventory::command::InventoryCommand;
use eventline_inventory::item::*;
use eventline_inventory::read_models::*;
use eventline_inventory::reservation::*;
use ts_rs::TS;

type App =
    InventoryApp<std::rc::Rc<eventline_core::memory::InMemoryStore>, std::rc::Rc<eventline_core::testing::TestEnv>>;

/// A recorded event of payload `P`, at its schema version, for the union of events.
fn recorded<P: EventPayload + TS>() -> String {
    format!("  | Recorded<\"{}\", {}, {}>\n", P::TYPE, P::name(&config()), P::SCHEMA_VERSION)
}

fn declarations() -> String {
    let mut out = String::from(
        "// Types of the `eventline-inventory` package, generated from its Rust types by\n\
         // inventory/tests/typescript.rs (ts-rs): do not edit. The API every package shares is in\n\
         // eventline-api.d.ts.\n\n\
         import type {\n  AnyEventlineErrorOf,\n  CommitOf,\n  DomainSchema,\n  EventlineClassOf,\n  EventlineErrorOf,\n  \
         EventlineOf,\n  Id,\n  Personal,\n  Recorded,\n  SchemaOf,\n  SubjectForgottenEvent,\n} from \"./eventline-api\";\n\
         export type * from \"./eventline-api\";\n\n// Commands\n\n",
    );
    declare::<InventoryCommand>(&mut out);
    out.push_str("// Events\n\n");
    declare::<ItemRegistered>(&mut out);
    declare::<StockReceivedV1>(&mut out);
    declare::<StockReceived>(&mut out);
    declare::<StockReserved>(&mut out);
    declare::<StockReleased>(&mut out);
    declare::<StockShipped>(&mut out);
    declare::<StockConsumed>(&mut out);
    declare::<KitAssembled>(&mut out);
    declare::<Contact>(&mut out);
    declare::<ReservationPlaced>(&mut out);
    declare::<ReservationConfirmed>(&mut out);
    declare::<ReservationShipped>(&mut out);
    declare::<ReservationCancelled>(&mut out);
    out.push_str("/** Events as stored: an event of an older schema version keeps its shape here. */\n");
    out.push_str("export type InventoryEvent =\n");
    for line in [
        recorded::<ItemRegistered>(),
        recorded::<StockReceived>(),
        format!("  | Recorded<\"{}\", StockReceivedV1, 1>\n", StockReceived::TYPE),
        recorded::<StockReserved>(),
        recorded::<StockReleased>(),
        recorded::<StockShipped>(),
        recorded::<StockConsumed>(),
        recorded::<KitAssembled>(),
        recorded::<ReservationPlaced>(),
        recorded::<ReservationConfirmed>(),
        recorded::<ReservationShipped>(),
        recorded::<ReservationCancelled>(),
    ] {
        out.push_str(&line);
    }
    out.push_str("  | SubjectForgottenEvent;\n\n// Read models\n\n");
    declare::<StockLevel>(&mut out);
    declare::<StockQuery>(&mut out);
    declare::<OpenReservation>(&mut out);
    declare::<ReservationQuery>(&mut out);
    out.push_str("// Aggregates, for `stateAt`\n\n");
    declare::<Item>(&mut out);
    declare::<Status>(&mut out);
    declare::<Reservation>(&mut out);
    out.push_str("// Errors\n\n");
    declare::<ItemError>(&mut out);
    declare::<ReservationError>(&mut out);
    out.push_str(&format!("export type ErrorCode = {};\n\n", quoted(&ERROR_CODES)));
    out.push_str(&format!(
        "// The schema\n\n\
         /** The inventory, as the API sees it. */\n\
         export interface InventorySchema extends DomainSchema {{\n  \
         command: InventoryCommand;\n  \
         event: InventoryEvent;\n  \
         readModels: {{\n    \
         {stock}:\n      | {{ args: {{ sku: Id }}; data: StockLevel | null }}\n      | {{ args: Record<string, never> | undefined; data: StockLevel[] }};\n    \
         {open}: {{ args: ReservationQuery | undefined; data: OpenReservation[] }};\n  \
         }};\n  \
         streams: {{ {item}: Item; {reservation}: Reservation }};\n  \
         errorDetails: ItemError | ReservationError;\n  \
         errorCode: ErrorCode;\n\
         }}\n\n",
        stock = StockLevels::NAME,
        open = OpenReservations::NAME,
        item = Item::CATEGORY,
        reservation = Reservation::CATEGORY,
    ));
    out.push_str(&format!(
        "export type ReadModelName = {};\nexport type CommandType = InventoryCommand[\"type\"];\n\
         export type EventType = InventoryEvent[\"type\"];\nexport type InventoryCommit = CommitOf<InventorySchema>;\n\n",
        quoted(&App::read_models().iter().map(|r| r.name()).collect::<Vec<_>>()),
    ));
    out.push_str(
        "// The package's exports\n\n\
         export type Eventline = EventlineOf<InventorySchema>;\n\
         export declare const Eventline: EventlineClassOf<InventorySchema>;\n\
         export type EventlineError<C extends InventorySchema[\"errorCode\"] = InventorySchema[\"errorCode\"]> = EventlineErrorOf<InventorySchema, C>;\n\
         export declare const EventlineError: new (code: string, message: string, details?: unknown) => EventlineErrorOf<InventorySchema>;\n\
         /** Whether `value` is an `EventlineError`, of this copy of the package or another. */\n\
         export declare function isEventlineError(value: unknown): value is AnyEventlineErrorOf<InventorySchema>;\n\
         export declare const readModels: readonly ReadModelName[];\n\
         export declare const schema: SchemaOf<InventorySchema>;\n\
         /** Panics inside the module on purpose, to test that the package recovers. Not for use. */\n\
         export declare function __panicForTests(): Promise<void>;\n\
         /** Panics in the module's background work on purpose, to test that the package recovers. Not for use. */\n\
         export declare function __panicLaterForTests(): Promise<void>;\n\n\
         // Named here so that they are used: `Id` and `Personal` appear in the generated types.\n\
         export type { Id, Personal };\n",
    );
    out
}

#[test]
fn the_declarations_are_generated_from_the_rust_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/npm/eventline.d.ts");
    check_declarations(path, &declarations(), "eventline-inventory");
}

#[test]
fn the_registry_and_the_declarations_agree() {
    let generated = declarations();
    for event_type in App::EVENT_TYPES {
        assert!(generated.contains(&format!("\"{event_type}\"")), "{event_type} is not declared");
    }
    for command_type in App::COMMAND_TYPES {
        assert!(generated.contains(&format!("\"type\": \"{command_type}\"")), "{command_type} is not declared");
    }
}
