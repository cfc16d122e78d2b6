// Types of the `eventline` package (the demo's bank and orders), generated from its Rust types
// by demo/tests/typescript.rs (ts-rs): do not edit. The API every package shares is in
// eventline-api.d.ts.

import type {
  AnyEventlineErrorOf,
  ApiErrorCode,
  CommitOf,
  DomainSchema,
  EventlineClassOf,
  EventlineErrorOf,
  EventlineOf,
  Id,
  Personal,
  ProjectionStatus as ProjectionStatusOf,
  Recorded,
  SchemaOf,
  SubjectForgottenEvent,
} from "./eventline-api";
export type * from "./eventline-api";

// Commands

export type Amount = number;

export type Currency = string;

export type HolderDetails = { customer: Id, name: string, email: string, };

export type TransferMode = "atomic" | "saga";

export type DemoCommand = { "type": "OpenAccount", account: Id, 
/**
 * EUR unless given.
 */
currency?: Currency, holder?: HolderDetails, } | { "type": "Deposit", account: Id, amount: Amount, } | { "type": "Withdraw", account: Id, amount: Amount, } | { "type": "CloseAccount", account: Id, } | { "type": "Transfer", from: Id, to: Id, amount: Amount, 
/**
 * Atomic unless given.
 */
mode?: TransferMode, 
/**
 * Defaults to the command id.
 */
transferId?: Id, } | { "type": "CreateOrder", order: Id, customer: Id, shippingAddress?: string, } | { "type": "AddItem", order: Id, sku: Id, quantity: number, unitPrice: Amount, } | { "type": "ConfirmOrder", order: Id, } | { "type": "PayOrder", order: Id, amount: Amount, } | { "type": "ShipOrder", order: Id, } | { "type": "DeliverOrder", order: Id, } | { "type": "CancelOrder", order: Id, reason?: string, } | { "type": "ForgetSubject", subject: Id, };

export type Command = DemoCommand;

// Events

export type Holder = { name: string, email: string, };

export type AccountOpenedV1 = Record<symbol, never>;

export type AccountOpenedV2 = { currency: Currency, };

export type AccountOpened = { currency: Currency, holder: Personal<Holder> | null, };

export type MoneyDeposited = { amount: Amount, };

export type MoneyWithdrawn = { amount: Amount, };

export type AccountClosed = Record<symbol, never>;

export type TransferSent = { transferId: Id, to: Id, amount: Amount, };

export type TransferReceived = { transferId: Id, from: Id, amount: Amount, };

export type TransferDebited = { transferId: Id, to: Id, amount: Amount, currency: Currency, };

export type TransferSettled = { transferId: Id, amount: Amount, };

export type TransferRefunded = { transferId: Id, amount: Amount, };

export type TransferRequested = { from: Id, to: Id, amount: Amount, };

export type TransferCompleted = Record<symbol, never>;

export type TransferFailed = { code: string, reason: string, };

export type TransferCreditRejected = { code: string, reason: string, };

export type TransferCompensated = Record<symbol, never>;

export type OrderCreatedV1 = { customer: Id, };

export type OrderCreated = { customer: Id, shippingAddress: Personal<string> | null, };

export type OrderItemAdded = { sku: Id, quantity: number, unitPrice: Amount, };

export type OrderConfirmed = { total: number, };

export type OrderPaid = { amount: Amount, };

export type OrderShipped = Record<symbol, never>;

export type OrderDelivered = Record<symbol, never>;

export type OrderCancelled = { reason: string, };

/** Events as stored: an event of an older schema version keeps its shape here. */
export type RecordedEvent =
  | Recorded<"AccountOpened", AccountOpened, 3>
  | Recorded<"AccountOpened", AccountOpenedV2, 2>
  | Recorded<"AccountOpened", AccountOpenedV1, 1>
  | Recorded<"MoneyDeposited", MoneyDeposited, 1>
  | Recorded<"MoneyWithdrawn", MoneyWithdrawn, 1>
  | Recorded<"AccountClosed", AccountClosed, 1>
  | Recorded<"TransferSent", TransferSent, 1>
  | Recorded<"TransferReceived", TransferReceived, 1>
  | Recorded<"TransferDebited", TransferDebited, 1>
  | Recorded<"TransferSettled", TransferSettled, 1>
  | Recorded<"TransferRefunded", TransferRefunded, 1>
  | Recorded<"TransferRequested", TransferRequested, 1>
  | Recorded<"TransferCompleted", TransferCompleted, 1>
  | Recorded<"TransferFailed", TransferFailed, 1>
  | Recorded<"TransferCreditRejected", TransferCreditRejected, 1>
  | Recorded<"TransferCompensated", TransferCompensated, 1>
  | Recorded<"OrderCreated", OrderCreated, 2>
  | Recorded<"OrderCreated", OrderCreatedV1, 1>
  | Recorded<"OrderItemAdded", OrderItemAdded, 1>
  | Recorded<"OrderConfirmed", OrderConfirmed, 1>
  | Recorded<"OrderPaid", OrderPaid, 1>
  | Recorded<"OrderShipped", OrderShipped, 1>
  | Recorded<"OrderDelivered", OrderDelivered, 1>
  | Recorded<"OrderCancelled", OrderCancelled, 1>
  | SubjectForgottenEvent;

// Read models

export type AccountState = "open" | "closed";

export type AccountBalance = { account: string, currency: string, 
/**
 * Available money in minor units.
 */
balance: number, 
/**
 * Money held by saga transfers not yet settled or refunded.
 */
pending: number, state: AccountState, };

export type AllBalances = { accounts: Array<AccountBalance>, total: number, };

export type AccountSummary = { account: string, openedAt: number, totalDeposits: number, totalWithdrawals: number, totalTransferredIn: number, totalTransferredOut: number, 
/**
 * Deposits, withdrawals and transfer legs (a refund counts as one).
 */
transactionCount: number, lastActivity: number, state: AccountState, 
/**
 * The holder on record, if any: personal data, redacted once they are forgotten. Absent
 * rather than null when there is none, like in documents persisted before holders existed.
 */
holder?: Personal<Holder> | null, };

export type RankedAccount = { account: string, currency: string, balance: number, };

export type OrderStatus = "none" | "draft" | "confirmed" | "paid" | "shipped" | "delivered" | "cancelled";

export type OrderCard = { order: string, customer: string, status: OrderStatus, lines: number, units: number, total: number, createdAt: number, updatedAt: number, 
/**
 * Personal data about the customer, redacted once they are forgotten; absent when none.
 */
shippingAddress?: Personal<string> | null, };

export type AllOrders = { counts: Partial<Record<OrderStatus, number>>, orders: Array<OrderCard>, };

export type CustomerOrder = { order: string, status: OrderStatus, total: number, createdAt: number, updatedAt: number, };

export type CustomerHistory = { customer: string, 
/**
 * In order of creation.
 */
orders: Array<CustomerOrder>, };

export type TransferProgress = "requested" | "debited" | "credited" | "settled" | "completed" | "failed" | "creditRejected" | "refunded" | "compensated";

export type TransferStep = { step: TransferProgress, position: number, at: number, };

export type TransferView = { transferId: string, mode: TransferMode, from: string, to: string, amount: number, status: TransferProgress, 
/**
 * Every step the transfer went through, in log order.
 */
steps: Array<TransferStep>, reason: string | null, };

export type AuditEntry = { position: number, recordedAt: number, stream: string, eventType: string, eventId: string, commandId: string, correlationId: string, causationId: string, 
/**
 * Why the event could not be read, if it could not (it is in the dead letters too).
 */
undecodable: string | null, };

export type AuditAnswer = { total: number, entries: Array<AuditEntry>, };

// Aggregates, for `stateAt`

export type AccountStatus = "unopened" | "open" | "closed";

export type Account = { status: AccountStatus, currency: Currency, 
/**
 * Money available, in minor units.
 */
balance: number, 
/**
 * Saga transfers debited and not yet settled or refunded: transfer id -> amount.
 */
pending: Record<Id, number>, };

export type OrderLine = { sku: Id, quantity: number, unitPrice: number, };

export type Order = { status: OrderStatus, customer: Id | null, lines: Array<OrderLine>, total: number, };

export type TransferStatus = "none" | "requested" | "completed" | "failed" | "creditRejected" | "compensated";

export type Transfer = { status: TransferStatus, request: TransferRequested | null, };

// Errors

export type AccountError = { "code": "AccountNotFound", account: Id, } | { "code": "AccountAlreadyExists", account: Id, } | { "code": "AccountClosed", account: Id, } | { "code": "InsufficientFunds", account: Id, balance: number, requested: number, } | { "code": "AccountNotEmpty", account: Id, balance: number, } | { "code": "TransferInProgress", account: Id, count: number, } | { "code": "SameAccount", account: Id, } | { "code": "CurrencyMismatch", account: Id, expected: Currency, found: Currency, } | { "code": "BalanceLimitExceeded", account: Id, } | { "code": "UnknownTransfer", account: Id, transferId: Id, };

export type TransferError = { "code": "TransferAlreadyExists", transferId: Id, } | { "code": "TransferNotFound", transferId: Id, } | { "code": "SameAccount", account: Id, } | { "code": "InvalidTransferState", transferId: Id, status: TransferStatus, action: string, };

export type OrderError = { "code": "OrderNotFound", order: Id, } | { "code": "OrderAlreadyExists", order: Id, } | { "code": "InvalidOrderState", order: Id, status: OrderStatus, action: string, } | { "code": "EmptyOrder", order: Id, } | { "code": "PaymentMismatch", order: Id, expected: number, offered: number, } | { "code": "InvalidQuantity", order: Id, quantity: number, } | { "code": "OrderTotalTooLarge", order: Id, };

/** Every code the demo's errors carry. */
export type DomainErrorCode = "InvalidCommand" | "AccountNotFound" | "AccountAlreadyExists" | "AccountClosed" | "InsufficientFunds" | "AccountNotEmpty" | "TransferInProgress" | "SameAccount" | "CurrencyMismatch" | "BalanceLimitExceeded" | "UnknownTransfer" | "TransferAlreadyExists" | "TransferNotFound" | "InvalidTransferState" | "OrderNotFound" | "OrderAlreadyExists" | "InvalidOrderState" | "EmptyOrder" | "PaymentMismatch" | "InvalidQuantity" | "OrderTotalTooLarge" | "WrongExpectedVersion" | "DuplicateCommand" | "UnknownStream" | "UnknownSubject" | "UnknownEventType" | "UnsupportedSchemaVersion" | "InvalidEventPayload" | "QuotaExceeded" | "SchemaTooNew" | "CorruptData" | "StoreClosed" | "StorageError" | "SubjectForgotten";
/** Every code a caller can see: the demo's and the API's. */
export type ErrorCode = DomainErrorCode | ApiErrorCode;

// The schema

/** The demo, as the API sees it: each read model's questions, arguments to answer. */
export interface DemoSchema extends DomainSchema {
  command: DemoCommand;
  event: RecordedEvent;
  readModels: {
    balances:
      | { args: { account: Id }; data: AccountBalance | null }
      | { args: Record<string, never> | undefined; data: AllBalances };
    accountSummaries:
      | { args: { account: Id }; data: AccountSummary | null }
      | { args: Record<string, never> | undefined; data: AccountSummary[] };
    topAccounts: { args: { limit?: number } | undefined; data: RankedAccount[] };
    orderBoard:
      | { args: { order: Id }; data: OrderCard | null }
      | { args: { status: OrderStatus }; data: OrderCard[] }
      | { args: { pendingFulfilment: true }; data: OrderCard[] }
      | { args: Record<string, never> | undefined; data: AllOrders };
    customerOrders:
      | { args: { customer: Id }; data: CustomerHistory | null }
      | { args: Record<string, never> | undefined; data: Id[] };
    transfers:
      | { args: { transferId: Id }; data: TransferView | null }
      | { args: { inProgress?: boolean; transferId?: undefined } | undefined; data: TransferView[] };
    auditLog: { args: { limit?: number } | undefined; data: AuditAnswer };
  };
  streams: { account: Account; order: Order; transfer: Transfer };
  errorDetails: AccountError | TransferError | OrderError;
  errorCode: DomainErrorCode;
}

export type ReadModelName = "balances" | "accountSummaries" | "topAccounts" | "orderBoard" | "customerOrders" | "transfers" | "auditLog";
export type CommandType = DemoCommand["type"];
export type EventType = RecordedEvent["type"];
export type Commit = CommitOf<DemoSchema>;
export type ProjectionStatus = ProjectionStatusOf<ReadModelName>;

// The package's exports

export type Eventline = EventlineOf<DemoSchema>;
export declare const Eventline: EventlineClassOf<DemoSchema>;
export type EventlineError<C extends ErrorCode = ErrorCode> = EventlineErrorOf<DemoSchema, C>;
export declare const EventlineError: new (code: string, message: string, details?: unknown) => EventlineErrorOf<DemoSchema>;
export type AnyEventlineError = AnyEventlineErrorOf<DemoSchema>;
/** Whether `value` is an `EventlineError`, of this copy of the package or another. */
export declare function isEventlineError(value: unknown): value is AnyEventlineError;
export declare const readModels: readonly ReadModelName[];
export declare const schema: SchemaOf<DemoSchema>;
/** Panics inside the module on purpose, to test that the package recovers. Not for use. */
export declare function __panicForTests(): Promise<void>;
/** Panics in the module's background work on purpose, to test that the package recovers. Not for use. */
export declare function __panicLaterForTests(): Promise<void>;

// Named here so that they are used: `Id` and `Personal` appear in the generated types.
export type { Id, Personal };
