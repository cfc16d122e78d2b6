// Types of the `eventline-inventory` package, generated from its Rust types by
// inventory/tests/typescript.rs (ts-rs): do not edit. The API every package shares is in
// eventline-api.d.ts.

import type {
  AnyEventlineErrorOf,
  CommitOf,
  DomainSchema,
  EventlineClassOf,
  EventlineErrorOf,
  EventlineOf,
  Id,
  Personal,
  Recorded,
  SchemaOf,
  SubjectForgottenEvent,
} from "./eventline-api";
export type * from "./eventline-api";

// Commands

export type InventoryCommand = { "type": "RegisterItem", sku: Id, name: string, } | { "type": "ReceiveStock", sku: Id, quantity: number, location?: Id, } | { "type": "AssembleKit", kit: Id, component: Id, quantity: number, } | { "type": "PlaceReservation", reservation: Id, sku: Id, quantity: number, customer: Id, name: string, email: string, } | { "type": "ShipReservation", reservation: Id, } | { "type": "CancelReservation", reservation: Id, reason?: string, } | { "type": "ForgetCustomer", customer: Id, };

// Events

export type ItemRegistered = { sku: Id, name: string, };

export type StockReceivedV1 = { sku: Id, quantity: number, };

export type StockReceived = { sku: Id, quantity: number, location: Id, };

export type StockReserved = { sku: Id, reservation: Id, quantity: number, };

export type StockReleased = { sku: Id, reservation: Id, quantity: number, };

export type StockShipped = { sku: Id, reservation: Id, quantity: number, };

export type StockConsumed = { sku: Id, kit: Id, quantity: number, };

export type KitAssembled = { sku: Id, component: Id, quantity: number, };

export type Contact = { name: string, email: string, };

export type ReservationPlaced = { reservation: Id, sku: Id, quantity: number, 
/**
 * The customer is the data subject; their contact is theirs.
 */
contact: Personal<Contact>, };

export type ReservationConfirmed = { reservation: Id, };

export type ReservationShipped = { reservation: Id, };

export type ReservationCancelled = { reservation: Id, reason: string, };

/** Events as stored: an event of an older schema version keeps its shape here. */
export type InventoryEvent =
  | Recorded<"ItemRegistered", ItemRegistered, 1>
  | Recorded<"StockReceived", StockReceived, 2>
  | Recorded<"StockReceived", StockReceivedV1, 1>
  | Recorded<"StockReserved", StockReserved, 1>
  | Recorded<"StockReleased", StockReleased, 1>
  | Recorded<"StockShipped", StockShipped, 1>
  | Recorded<"StockConsumed", StockConsumed, 1>
  | Recorded<"KitAssembled", KitAssembled, 1>
  | Recorded<"ReservationPlaced", ReservationPlaced, 1>
  | Recorded<"ReservationConfirmed", ReservationConfirmed, 1>
  | Recorded<"ReservationShipped", ReservationShipped, 1>
  | Recorded<"ReservationCancelled", ReservationCancelled, 1>
  | SubjectForgottenEvent;

// Read models

export type StockLevel = { sku: Id, name: string, onHand: number, reserved: number, available: number, 
/**
 * Units received per location (what arrived where; shipments and kits are not located).
 */
receivedAt: Array<[Id, number]>, };

export type StockQuery = { sku?: Id, };

export type OpenReservation = { reservation: Id, sku: Id, quantity: number, status: Status, contact: Personal<Contact>, };

export type ReservationQuery = { customer?: Id, };

// Aggregates, for `stateAt`

export type Item = { registered: boolean, name: string, onHand: number, 
/**
 * What each reservation holds, in the order they were made.
 */
held: Array<[Id, number]>, };

export type Status = "none" | "placed" | "confirmed" | "shipped" | "cancelled";

export type Reservation = { status: Status, sku: Id | null, quantity: number, };

// Errors

export type ItemError = { "code": "UnknownItem", sku: Id, } | { "code": "ItemAlreadyRegistered", sku: Id, } | { "code": "InsufficientStock", sku: Id, available: number, requested: number, } | { "code": "StockLimitExceeded", sku: Id, } | { "code": "NotReserved", sku: Id, reservation: Id, } | { "code": "SameItem", sku: Id, };

export type ReservationError = { "code": "ReservationAlreadyExists", reservation: Id, } | { "code": "ReservationNotFound", reservation: Id, } | { "code": "InvalidReservationState", reservation: Id, status: string, action: string, } | { "code": "InvalidQuantity", quantity: number, };

export type ErrorCode = "InvalidCommand" | "UnknownItem" | "ItemAlreadyRegistered" | "InsufficientStock" | "StockLimitExceeded" | "NotReserved" | "SameItem" | "ReservationAlreadyExists" | "ReservationNotFound" | "InvalidReservationState" | "InvalidQuantity" | "WrongExpectedVersion" | "DuplicateCommand" | "UnknownStream" | "UnknownSubject" | "UnknownEventType" | "UnsupportedSchemaVersion" | "InvalidEventPayload" | "QuotaExceeded" | "SchemaTooNew" | "CorruptData" | "StoreClosed" | "StorageError" | "SubjectForgotten";

// The schema

/** The inventory, as the API sees it. */
export interface InventorySchema extends DomainSchema {
  command: InventoryCommand;
  event: InventoryEvent;
  readModels: {
    stockLevels:
      | { args: { sku: Id }; data: StockLevel | null }
      | { args: Record<string, never> | undefined; data: StockLevel[] };
    openReservations: { args: ReservationQuery | undefined; data: OpenReservation[] };
  };
  streams: { item: Item; reservation: Reservation };
  errorDetails: ItemError | ReservationError;
  errorCode: ErrorCode;
}

export type ReadModelName = "stockLevels" | "openReservations";
export type CommandType = InventoryCommand["type"];
export type EventType = InventoryEvent["type"];
export type InventoryCommit = CommitOf<InventorySchema>;

// The package's exports

export type Eventline = EventlineOf<InventorySchema>;
export declare const Eventline: EventlineClassOf<InventorySchema>;
export type EventlineError<C extends InventorySchema["errorCode"] = InventorySchema["errorCode"]> = EventlineErrorOf<InventorySchema, C>;
export declare const EventlineError: new (code: string, message: string, details?: unknown) => EventlineErrorOf<InventorySchema>;
/** Whether `value` is an `EventlineError`, of this copy of the package or another. */
export declare function isEventlineError(value: unknown): value is AnyEventlineErrorOf<InventorySchema>;
export declare const readModels: readonly ReadModelName[];
export declare const schema: SchemaOf<InventorySchema>;
/** Panics inside the module on purpose, to test that the package recovers. Not for use. */
export declare function __panicForTests(): Promise<void>;
/** Panics in the module's background work on purpose, to test that the package recovers. Not for use. */
export declare function __panicLaterForTests(): Promise<void>;

// Named here so that they are used: `Id` and `Personal` appear in the generated types.
export type { Id, Personal };
