//! The demo package's TypeScript declarations (`npm/eventline.d.ts`) are generated from the
//! Rust types (`ts-rs`) and the application's registry, never written by hand: this test fails
//! when the checked-in file differs from what the code declares. To write it anew:
//!
//! ```sh
//! EVENTLINE_WRITE_TYPES=1 cargo test -p eventline-demo --test typescript
//! ```
//!
//! Each read model's questions (which arguments give which answer) are listed here, beside the
//! types they name; the read models parse their arguments with the core's `Args`, which keeps
//! one argument parser in the WebAssembly module.
#![cfg(not(target_arch = "wasm32"))]

use eventline_core::aggregate::Aggregate;
use eventline_core::app::Application;
use eventline_core::event::EventPayload;
use eventline_core::projection::ReadModel;
use eventline_core::ts::{check_declarations, config, declare, quoted};
use eventline_demo::app::{DemoApp, ERROR_CODES};
use eventline_demo::bank::*;
use eventline_demo::command::{DemoCommand, HolderDetails};
use eventline_demo::money::{Amount, Currency};
use eventline_demo::orders::*;
use eventline_demo::queries::{AllBalances, AllOrders, AuditAnswer};
use eventline_demo::read_models::*;
use ts_rs::TS;

type App = DemoApp<std::rc::Rc<eventline_core::memory::InMemoryStore>, std::rc::Rc<eventline_core::testing::TestEnv>>;

/// A recorded event of payload `P` at schema version `version` (older versions keep their shape).
fn recorded<P: EventPayload, Shape: TS>(version: u16) -> String {
    format!("  | Recorded<\"{}\", {}, {version}>\n", P::TYPE, Shape::name(&config()))
}

fn current<P: EventPayload + TS>() -> String {
    recorded::<P, P>(P::SCHEMA_VERSION)
}

fn declarations() -> String {
    let mut out = String::from(
        "// Types of the `eventline` package (the demo's bank and orders), generated from its Rust types\n\
         // by demo/tests/typescript.rs (ts-rs): do not edit. The API every package shares is in\n\
         // eventline-api.d.ts.\n\n\
         import type {\n  AnyEventlineErrorOf,\n  ApiErrorCode,\n  CommitOf,\n  DomainSchema,\n  EventlineClassOf,\n  \
         EventlineErrorOf,\n  EventlineOf,\n  Id,\n  Personal,\n  ProjectionStatus as ProjectionStatusOf,\n  Recorded,\n  \
         SchemaOf,\n  SubjectForgottenEvent,\n} from \"./eventline-api\";\n\
         export type * from \"./eventline-api\";\n\n// Commands\n\n",
    );
    declare::<Amount>(&mut out);
    declare::<Currency>(&mut out);
    declare::<HolderDetails>(&mut out);
    declare::<TransferMode>(&mut out);
    declare::<DemoCommand>(&mut out);
    out.push_str("export type Command = DemoCommand;\n\n// Events\n\n");
    declare::<Holder>(&mut out);
    declare::<AccountOpenedV1>(&mut out);
    declare::<AccountOpenedV2>(&mut out);
    declare::<AccountOpened>(&mut out);
    declare::<MoneyDeposited>(&mut out);
    declare::<MoneyWithdrawn>(&mut out);
    declare::<AccountClosed>(&mut out);
    declare::<TransferSent>(&mut out);
    declare::<TransferReceived>(&mut out);
    declare::<TransferDebited>(&mut out);
    declare::<TransferSettled>(&mut out);
    declare::<TransferRefunded>(&mut out);
    declare::<TransferRequested>(&mut out);
    declare::<TransferCompleted>(&mut out);
    declare::<TransferFailed>(&mut out);
    declare::<TransferCreditRejected>(&mut out);
    declare::<TransferCompensated>(&mut out);
    declare::<OrderCreatedV1>(&mut out);
    declare::<OrderCreated>(&mut out);
    declare::<OrderItemAdded>(&mut out);
    declare::<OrderConfirmed>(&mut out);
    declare::<OrderPaid>(&mut out);
    declare::<OrderShipped>(&mut out);
    declare::<OrderDelivered>(&mut out);
    declare::<OrderCancelled>(&mut out);
    out.push_str("/** Events as stored: an event of an older schema version keeps its shape here. */\n");
    out.push_str("export type RecordedEvent =\n");
    for line in [
        current::<AccountOpened>(),
        recorded::<AccountOpened, AccountOpenedV2>(2),
        recorded::<AccountOpened, AccountOpenedV1>(1),
        current::<MoneyDeposited>(),
        current::<MoneyWithdrawn>(),
        current::<AccountClosed>(),
        current::<TransferSent>(),
        current::<TransferReceived>(),
        current::<TransferDebited>(),
        current::<TransferSettled>(),
        current::<TransferRefunded>(),
        current::<TransferRequested>(),
        current::<TransferCompleted>(),
        current::<TransferFailed>(),
        current::<TransferCreditRejected>(),
        current::<TransferCompensated>(),
        current::<OrderCreated>(),
        recorded::<OrderCreated, OrderCreatedV1>(1),
        current::<OrderItemAdded>(),
        current::<OrderConfirmed>(),
        current::<OrderPaid>(),
        current::<OrderShipped>(),
        current::<OrderDelivered>(),
        current::<OrderCancelled>(),
    ] {
        out.push_str(&line);
    }
    out.push_str("  | SubjectForgottenEvent;\n\n// Read models\n\n");
    declare::<AccountState>(&mut out);
    declare::<AccountBalance>(&mut out);
    declare::<AllBalances>(&mut out);
    declare::<AccountSummary>(&mut out);
    declare::<RankedAccount>(&mut out);
    declare::<OrderStatus>(&mut out);
    declare::<OrderCard>(&mut out);
    declare::<AllOrders>(&mut out);
    declare::<CustomerOrder>(&mut out);
    declare::<CustomerHistory>(&mut out);
    declare::<TransferProgress>(&mut out);
    declare::<TransferStep>(&mut out);
    declare::<TransferView>(&mut out);
    declare::<AuditEntry>(&mut out);
    declare::<AuditAnswer>(&mut out);
    out.push_str("// Aggregates, for `stateAt`\n\n");
    declare::<AccountStatus>(&mut out);
    declare::<Account>(&mut out);
    declare::<OrderLine>(&mut out);
    declare::<Order>(&mut out);
    declare::<TransferStatus>(&mut out);
    declare::<Transfer>(&mut out);
    out.push_str("// Errors\n\n");
    declare::<AccountError>(&mut out);
    declare::<TransferError>(&mut out);
    declare::<OrderError>(&mut out);
    out.push_str(&format!(
        "/** Every code the demo's errors carry. */\nexport type DomainErrorCode = {};\n\
         /** Every code a caller can see: the demo's and the API's. */\n\
         export type ErrorCode = DomainErrorCode | ApiErrorCode;\n\n",
        quoted(&ERROR_CODES)
    ));
    // No arguments: nothing, `null` or `{}`.
    let none = "Record<string, never> | undefined";
    out.push_str(&format!(
        "// The schema\n\n\
         /** The demo, as the API sees it: each read model's questions, arguments to answer. */\n\
         export interface DemoSchema extends DomainSchema {{\n  \
         command: DemoCommand;\n  \
         event: RecordedEvent;\n  \
         readModels: {{\n    \
         {balances}:\n      | {{ args: {{ account: Id }}; data: AccountBalance | null }}\n      | {{ args: {none}; data: AllBalances }};\n    \
         {summaries}:\n      | {{ args: {{ account: Id }}; data: AccountSummary | null }}\n      | {{ args: {none}; data: AccountSummary[] }};\n    \
         {top}: {{ args: {{ limit?: number }} | undefined; data: RankedAccount[] }};\n    \
         {board}:\n      | {{ args: {{ order: Id }}; data: OrderCard | null }}\n      | {{ args: {{ status: OrderStatus }}; data: OrderCard[] }}\n      \
         | {{ args: {{ pendingFulfilment: true }}; data: OrderCard[] }}\n      | {{ args: {none}; data: AllOrders }};\n    \
         {customers}:\n      | {{ args: {{ customer: Id }}; data: CustomerHistory | null }}\n      | {{ args: {none}; data: Id[] }};\n    \
         {transfers}:\n      | {{ args: {{ transferId: Id }}; data: TransferView | null }}\n      \
         | {{ args: {{ inProgress?: boolean; transferId?: undefined }} | undefined; data: TransferView[] }};\n    \
         {audit}: {{ args: {{ limit?: number }} | undefined; data: AuditAnswer }};\n  \
         }};\n  \
         streams: {{ {account}: Account; {order}: Order; {transfer}: Transfer }};\n  \
         errorDetails: AccountError | TransferError | OrderError;\n  \
         errorCode: DomainErrorCode;\n\
         }}\n\n",
        balances = AccountBalances::NAME,
        summaries = AccountSummaries::NAME,
        top = TopAccounts::NAME,
        board = OrderBoard::NAME,
        customers = CustomerOrders::NAME,
        transfers = TransferBoard::NAME,
        audit = AuditLog::NAME,
        account = Account::CATEGORY,
        order = Order::CATEGORY,
        transfer = Transfer::CATEGORY,
    ));
    out.push_str(&format!(
        "export type ReadModelName = {};\nexport type CommandType = DemoCommand[\"type\"];\n\
         export type EventType = RecordedEvent[\"type\"];\nexport type Commit = CommitOf<DemoSchema>;\n\
         export type ProjectionStatus = ProjectionStatusOf<ReadModelName>;\n\n",
        quoted(&App::read_models().iter().map(|r| r.name()).collect::<Vec<_>>()),
    ));
    out.push_str(
        "// The package's exports\n\n\
         export type Eventline = EventlineOf<DemoSchema>;\n\
         export declare const Eventline: EventlineClassOf<DemoSchema>;\n\
         export type EventlineError<C extends ErrorCode = ErrorCode> = EventlineErrorOf<DemoSchema, C>;\n\
         export declare const EventlineError: new (code: string, message: string, details?: unknown) => EventlineErrorOf<DemoSchema>;\n\
         export type AnyEventlineError = AnyEventlineErrorOf<DemoSchema>;\n\
         /** Whether `value` is an `EventlineError`, of this copy of the package or another. */\n\
         export declare function isEventlineError(value: unknown): value is AnyEventlineError;\n\
         export declare const readModels: readonly ReadModelName[];\n\
         export declare const schema: SchemaOf<DemoSchema>;\n\
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
    check_declarations(path, &declarations(), "eventline-demo");
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
    for read_model in App::read_models() {
        assert!(generated.contains(&format!("    {}:", read_model.name())), "{} has no questions", read_model.name());
    }
}
