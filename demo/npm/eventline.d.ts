// Types of the `eventline` package. Commands, events, errors and read models are written out
// field by field; `tests/npm/typed-example.ts` uses every method under `tsc --strict`, and a
// native test checks these names against the Rust code's.

// ---------------------------------------------------------------------------------------------
// Commands

/** Ids of accounts, orders, customers, transfers and commands: 1 to 64 letters, digits or `. _ : @ -`. */
export type Id = string;
/** A positive whole number of minor units (cents), at most 2^53 - 1. */
export type Amount = number;
/** Milliseconds since the Unix epoch. */
export type Millis = number;

/**
 * What every command may carry. A field its type does not take is refused (`InvalidCommand`), so
 * a misspelt `commandId` never passes silently; `null` counts as absent. A value JSON cannot
 * carry (`NaN`, `Infinity`, an invalid `Date`, a function) is refused anywhere in a command, never
 * read as absent.
 */
interface CommandBase {
  /**
   * Makes the command idempotent: a retry of the same command with the same id returns the first
   * commit (`replayed: true`). A different command under a used id is refused with
   * `DuplicateCommand`, whose details name the first commit.
   */
  commandId?: Id;
  /** Groups the command with what it causes (defaults to the command id). */
  correlationId?: Id;
  /**
   * The version of the command's aggregate the caller decided on (`0`: it must not exist yet).
   * If the log moved on, the command fails with `WrongExpectedVersion` and is not retried.
   * Not allowed on an atomic `Transfer`, which changes two accounts.
   */
  expectedVersion?: ExpectedVersion;
}

/** KurrentDB's expected versions: a stream version, or one of three names. */
export type ExpectedVersion = number | "any" | "noStream" | "streamExists";

export interface OpenAccount extends CommandBase {
  type: "OpenAccount";
  account: Id;
  /** Three upper-case letters; `EUR` if left out. */
  currency?: string;
  /** Who holds the account: recorded as personal data about `customer`, sealed at rest. */
  holder?: HolderDetails;
}

/** An account holder as given: the customer (the data subject) and their details. */
export interface HolderDetails {
  /** The customer's id: a pseudonym, kept in the clear, never a name or an email. */
  customer: Id;
  /** 1 to 200 characters. */
  name: string;
  /** An email address. */
  email: string;
}
export interface Deposit extends CommandBase {
  type: "Deposit";
  account: Id;
  amount: Amount;
}
export interface Withdraw extends CommandBase {
  type: "Withdraw";
  account: Id;
  amount: Amount;
}
export interface CloseAccount extends CommandBase {
  type: "CloseAccount";
  account: Id;
}
export interface Transfer extends CommandBase {
  type: "Transfer";
  from: Id;
  to: Id;
  amount: Amount;
  /** `atomic` (default): one commit to both accounts. `saga`: debit, credit, settle, in steps. */
  mode?: TransferMode;
  /** Defaults to the command id. */
  transferId?: Id;
}
export interface CreateOrder extends CommandBase {
  type: "CreateOrder";
  order: Id;
  customer: Id;
  /** Recorded as personal data about the customer, sealed at rest; 1 to 500 characters. */
  shippingAddress?: string;
}
export interface AddItem extends CommandBase {
  type: "AddItem";
  order: Id;
  sku: Id;
  /** 1 to 10,000. */
  quantity: number;
  unitPrice: Amount;
}
export interface ConfirmOrder extends CommandBase {
  type: "ConfirmOrder";
  order: Id;
}
export interface PayOrder extends CommandBase {
  type: "PayOrder";
  order: Id;
  /** Must equal the order's total. */
  amount: Amount;
}
export interface ShipOrder extends CommandBase {
  type: "ShipOrder";
  order: Id;
}
export interface DeliverOrder extends CommandBase {
  type: "DeliverOrder";
  order: Id;
}
export interface CancelOrder extends CommandBase {
  type: "CancelOrder";
  order: Id;
  reason?: string;
}

/**
 * Forgets a customer: their key is shredded as this is recorded, and every personal value about
 * them reads as redacted from then on, in the log, the past, read models and exports. Idempotent;
 * `UnknownSubject` if nothing personal was ever recorded about them.
 */
export interface ForgetSubject extends CommandBase {
  type: "ForgetSubject";
  subject: Id;
}

/** Personal data about a data subject: readable, or redacted once they were forgotten. */
export type Personal<T> =
  | { $personal: Id; value: T }
  /** `unavailable`: sealed by another database, whose keys are not here. */
  | { $personal: Id; redacted: "forgotten" | "unavailable" };

export interface Holder {
  name: string;
  email: string;
}

export type Command =
  | OpenAccount
  | Deposit
  | Withdraw
  | CloseAccount
  | Transfer
  | CreateOrder
  | AddItem
  | ConfirmOrder
  | PayOrder
  | ShipOrder
  | DeliverOrder
  | CancelOrder
  | ForgetSubject;

export type CommandType = Command["type"];

// ---------------------------------------------------------------------------------------------
// Events

/** What the log knows about every event. */
export interface EventEnvelope {
  /** Global position: 1 for the first event, gapless. */
  position: number;
  /** `account-{id}`, `order-{id}` or `transfer-{id}`. */
  stream: string;
  /** Version of the stream after this event, from 1. */
  version: number;
  /** UUID v7. */
  eventId: string;
  recordedAt: Millis;
  commandId: string;
  correlationId: string;
  causationId: string;
}

type Ev<T extends string, D, V extends number = 1> = EventEnvelope & { type: T; schemaVersion: V; data: D };

/** Events as stored: an event written under an older schema keeps its old shape here. */
export type RecordedEvent =
  | Ev<"AccountOpened", { currency: string; holder: Personal<Holder> | null }, 3>
  | Ev<"AccountOpened", { currency: string }, 2>
  | Ev<"AccountOpened", Record<string, never>, 1>
  | Ev<"MoneyDeposited", { amount: Amount }>
  | Ev<"MoneyWithdrawn", { amount: Amount }>
  | Ev<"AccountClosed", Record<string, never>>
  | Ev<"TransferSent", { transferId: Id; to: Id; amount: Amount }>
  | Ev<"TransferReceived", { transferId: Id; from: Id; amount: Amount }>
  | Ev<"TransferDebited", { transferId: Id; to: Id; amount: Amount; currency: string }>
  | Ev<"TransferSettled", { transferId: Id; amount: Amount }>
  | Ev<"TransferRefunded", { transferId: Id; amount: Amount }>
  | Ev<"TransferRequested", { from: Id; to: Id; amount: Amount }>
  | Ev<"TransferCompleted", Record<string, never>>
  | Ev<"TransferFailed", { code: ErrorCode; reason: string }>
  | Ev<"TransferCreditRejected", { code: ErrorCode; reason: string }>
  | Ev<"TransferCompensated", Record<string, never>>
  | Ev<"OrderCreated", { customer: Id; shippingAddress: Personal<string> | null }, 2>
  | Ev<"OrderCreated", { customer: Id }, 1>
  | Ev<"OrderItemAdded", { sku: Id; quantity: number; unitPrice: Amount }>
  | Ev<"OrderConfirmed", { total: number }>
  | Ev<"OrderPaid", { amount: Amount }>
  | Ev<"OrderShipped", Record<string, never>>
  | Ev<"OrderDelivered", Record<string, never>>
  | Ev<"OrderCancelled", { reason: string }>
  | Ev<"SubjectForgotten", { subject: Id }>;

export type EventType = RecordedEvent["type"];

/** What `execute` committed. */
export interface Commit {
  /** Position of the commit's last event: what `waitFor` waits for. */
  position: number;
  firstPosition: number;
  commandId: string;
  /** True when the command id had committed before: these are the first commit's events. */
  replayed: boolean;
  events: RecordedEvent[];
}

// ---------------------------------------------------------------------------------------------
// Read models

export type ReadModelName =
  | "balances"
  | "accountSummaries"
  | "topAccounts"
  | "orderBoard"
  | "customerOrders"
  | "transfers"
  | "auditLog";

export type AccountState = "open" | "closed";
export type OrderStatus = "none" | "draft" | "confirmed" | "paid" | "shipped" | "delivered" | "cancelled";
export type TransferMode = "atomic" | "saga";
export type TransferProgress =
  | "requested"
  | "debited"
  | "credited"
  | "settled"
  | "completed"
  | "failed"
  | "creditRejected"
  | "refunded"
  | "compensated";

export interface AccountBalance {
  account: Id;
  currency: string;
  /** Available money. */
  balance: Amount;
  /** Money held by saga transfers not yet settled or refunded. */
  pending: Amount;
  state: AccountState;
}
export interface AccountSummary {
  account: Id;
  openedAt: Millis;
  totalDeposits: number;
  totalWithdrawals: number;
  totalTransferredIn: number;
  totalTransferredOut: number;
  transactionCount: number;
  lastActivity: Millis;
  state: AccountState;
  /** Absent for accounts opened without one. */
  holder?: Personal<Holder>;
}
export interface RankedAccount {
  account: Id;
  currency: string;
  balance: Amount;
}
export interface OrderCard {
  order: Id;
  customer: Id;
  status: OrderStatus;
  lines: number;
  units: number;
  total: number;
  createdAt: Millis;
  updatedAt: Millis;
  shippingAddress?: Personal<string>;
}
export interface CustomerOrder {
  order: Id;
  status: OrderStatus;
  total: number;
  createdAt: Millis;
  updatedAt: Millis;
}
export interface CustomerHistory {
  customer: Id;
  orders: CustomerOrder[];
}
export interface TransferStep {
  step: TransferProgress;
  position: number;
  at: Millis;
}
export interface TransferView {
  transferId: Id;
  mode: TransferMode;
  from: Id;
  to: Id;
  amount: Amount;
  status: TransferProgress;
  steps: TransferStep[];
  reason: string | null;
}
export interface AuditEntry {
  position: number;
  recordedAt: Millis;
  stream: string;
  eventType: string;
  eventId: string;
  commandId: string;
  correlationId: string;
  causationId: string;
  /** Why the event could not be read, if it could not. */
  undecodable: string | null;
}

/** How far a read model is behind the log. */
export interface Lag {
  /** Events in the log it has not seen. */
  events: number;
  /** Age of the oldest of them. */
  ms: number;
}

export interface QueryResult<T> {
  data: T;
  /** The last position the read model has seen. */
  position: number;
  lag: Lag;
}

/**
 * A point in history: after the event at `position`, or after everything recorded by `time`.
 * A point that names neither (`{}`, `{ time: null }`, an invalid `Date`) is an `InvalidArgument`;
 * leave the point out for now.
 */
export type Point = { position: number } | { time: Millis | Date };

// ---------------------------------------------------------------------------------------------
// Aggregates, for `stateAt`

export interface AccountAggregate {
  status: "unopened" | "open" | "closed";
  currency: string;
  balance: Amount;
  /** Saga transfers held: transfer id to amount. */
  pending: Record<Id, Amount>;
}
export interface OrderAggregate {
  status: OrderStatus;
  customer: Id | null;
  lines: { sku: Id; quantity: number; unitPrice: Amount }[];
  total: number;
}
export interface TransferAggregate {
  status: "none" | "requested" | "completed" | "failed" | "creditRejected" | "compensated";
  request: { from: Id; to: Id; amount: Amount } | null;
}
export interface StreamState<S> {
  stream: string;
  /** Events the stream had at that point. */
  version: number;
  state: S;
}

// ---------------------------------------------------------------------------------------------
// Projections, notices, errors

export interface ProjectionStatus {
  name: ReadModelName;
  checkpoint: number;
  head: number;
  lag: Lag;
  status: "live" | "catchingUp" | "paused" | "rebuilding" | "failed";
  paused: boolean;
  delayMs: number;
  /**
   * Share of a rebuild done, 0 to 1; null when not rebuilding. While it rebuilds, the read model
   * from before answers queries; its replacement is built beside it and swapped in, documents
   * and checkpoint together, once it caught up (blue/green).
   */
  progress: number | null;
  /** The last rebuild that finished: events folded and milliseconds taken. */
  lastRebuild: { events: number; ms: number } | null;
  error: string | null;
  /** Whether this tab runs the projections (one tab at a time does). */
  runsHere: boolean;
}

export type Notice =
  | { kind: "committed"; position: number; local: boolean }
  | { kind: "projections"; projections: ProjectionStatus[] }
  | { kind: "leadership"; leader: boolean }
  | { kind: "reset" }
  /** Someone was forgotten, in this tab or another: redraw whatever showed their details. */
  | { kind: "forgotten"; subject: Id }
  | { kind: "progress"; task: "import" | "export"; done: number; total: number };

export interface DeadLetter {
  position: number;
  stream: string;
  eventType: string;
  schemaVersion: number;
  code: ErrorCode;
  reason: string;
  /** The event as stored, as a JSON line. */
  event: string;
}

export interface ImportReport {
  /** Events appended by this import. */
  events: number;
  commits: number;
  /**
   * Events at the start of the log that were already there from an earlier import of it: an
   * import that failed part way (`QuotaExceeded`, say, whose details say how far it got) is
   * resumed by importing the same log again, and a log imported twice lands once.
   */
  skipped: number;
  head: number;
}

export interface EventFilter {
  /** First position to consider (default 1). */
  from?: number;
  /** At most this many (default 100, at most 10,000). */
  limit?: number;
  stream?: string;
  type?: EventType;
  correlationId?: string;
}

export type ErrorCode =
  // Bad input
  | "InvalidCommand"
  | "InvalidQuery"
  | "InvalidArgument"
  | "InvalidImport"
  /** The application's registry contradicts itself (a read model listed twice, say). */
  | "InvalidApplication"
  | "UnknownReadModel"
  | "UnknownStream"
  | "UnknownSubject"
  // Concurrency and idempotency
  | "WrongExpectedVersion"
  | "DuplicateCommand"
  // Personal data
  | "SubjectForgotten"
  // The bank
  | "AccountNotFound"
  | "AccountAlreadyExists"
  | "AccountClosed"
  | "InsufficientFunds"
  | "AccountNotEmpty"
  | "TransferInProgress"
  | "SameAccount"
  | "CurrencyMismatch"
  | "BalanceLimitExceeded"
  | "UnknownTransfer"
  | "TransferAlreadyExists"
  | "TransferNotFound"
  | "InvalidTransferState"
  // Orders
  | "OrderNotFound"
  | "OrderAlreadyExists"
  | "InvalidOrderState"
  | "EmptyOrder"
  | "PaymentMismatch"
  | "InvalidQuantity"
  | "OrderTotalTooLarge"
  // Stored events this code cannot read
  | "UnknownEventType"
  | "UnsupportedSchemaVersion"
  | "InvalidEventPayload"
  // Storage and the module
  | "QuotaExceeded"
  | "SchemaTooNew"
  | "CorruptData"
  | "StoreClosed"
  | "StorageError"
  | "WaitTimeout"
  | "Unsupported"
  | "Panicked"
  | "InternalError";

/** `expected` in a `WrongExpectedVersion`'s details. */
export type ExpectedVersionDetail =
  | { kind: "any" }
  | { kind: "noStream" }
  | { kind: "streamExists" }
  | { kind: "exact"; version: number };

export type TransferStatus = "none" | "requested" | "completed" | "failed" | "creditRejected" | "compensated";

/** How far an import got before the store refused a batch: the batches before it stay. */
export interface ImportInterrupted {
  imported: number;
  total: number;
  head: number;
}

/** What `details` holds, for each code that has details: the domain's fields, code included. */
export interface ErrorDetailsByCode {
  WrongExpectedVersion: { stream: string; expected: ExpectedVersionDetail; actual: number };
  AccountNotFound: { code: "AccountNotFound"; account: Id };
  AccountAlreadyExists: { code: "AccountAlreadyExists"; account: Id };
  AccountClosed: { code: "AccountClosed"; account: Id };
  InsufficientFunds: { code: "InsufficientFunds"; account: Id; balance: Amount; requested: Amount };
  AccountNotEmpty: { code: "AccountNotEmpty"; account: Id; balance: Amount };
  TransferInProgress: { code: "TransferInProgress"; account: Id; count: number };
  SameAccount: { code: "SameAccount"; account: Id };
  CurrencyMismatch: { code: "CurrencyMismatch"; account: Id; expected: string; found: string };
  BalanceLimitExceeded: { code: "BalanceLimitExceeded"; account: Id };
  UnknownTransfer: { code: "UnknownTransfer"; account: Id; transferId: Id };
  TransferAlreadyExists: { code: "TransferAlreadyExists"; transferId: Id };
  TransferNotFound: { code: "TransferNotFound"; transferId: Id };
  InvalidTransferState: { code: "InvalidTransferState"; transferId: Id; status: TransferStatus; action: string };
  OrderNotFound: { code: "OrderNotFound"; order: Id };
  OrderAlreadyExists: { code: "OrderAlreadyExists"; order: Id };
  InvalidOrderState: { code: "InvalidOrderState"; order: Id; status: OrderStatus; action: string };
  EmptyOrder: { code: "EmptyOrder"; order: Id };
  PaymentMismatch: { code: "PaymentMismatch"; order: Id; expected: Amount; offered: Amount };
  InvalidQuantity: { code: "InvalidQuantity"; order: Id; quantity: number };
  OrderTotalTooLarge: { code: "OrderTotalTooLarge"; order: Id };
  /** A command id already committed another command: where its first commit is. */
  DuplicateCommand: { commandId: Id; firstPosition: number; position: number };
  /** Only when another tab wrote the same streams while an import ran; a refused log has none. */
  InvalidImport: ImportInterrupted;
  // A store failure during `importLog`
  QuotaExceeded: ImportInterrupted;
  StorageError: ImportInterrupted;
  StoreClosed: ImportInterrupted;
}

export type ErrorDetails<C extends ErrorCode> = C extends keyof ErrorDetailsByCode ? ErrorDetailsByCode[C] : never;

export class EventlineError<C extends ErrorCode = ErrorCode> extends Error {
  readonly name: "EventlineError";
  readonly code: C;
  /**
   * The domain's fields, e.g. `{ code, account, balance, requested }` for `InsufficientFunds`,
   * or `{ stream, expected, actual }` for `WrongExpectedVersion` (see `ErrorDetailsByCode`).
   * Narrow by `code` on what `isEventlineError` returns to get the precise type.
   */
  readonly details?: ErrorDetails<C>;
  constructor(code: C, message: string, details?: ErrorDetails<C>);
}

/** An `EventlineError` for each code: checking `code` narrows `details`. */
export type AnyEventlineError = { [C in ErrorCode]: EventlineError<C> }[ErrorCode];

/**
 * Whether `value` is an `EventlineError`, made by this copy of the package or another (two
 * bundles on one page): checked by a brand, not by `instanceof`.
 */
export function isEventlineError(value: unknown): value is AnyEventlineError;

/** Names of every read model. */
export const readModels: readonly ReadModelName[];

/** The application's registry, declared once in its Rust crate and read from the module. */
export interface Schema {
  readonly readModels: readonly ReadModelName[];
  readonly commandTypes: readonly CommandType[];
  readonly eventTypes: readonly EventType[];
  readonly errorCodes: readonly ErrorCode[];
}
export const schema: Schema;

// ---------------------------------------------------------------------------------------------
// The API

export interface ProgressOptions {
  onProgress?: (done: number, total: number) => void;
}

export interface WaitOptions {
  /** Wait for this read model only (default: every read model). */
  readModel?: ReadModelName;
  /** Give up with `WaitTimeout` after this long (default 30,000 ms). */
  timeoutMs?: number;
}

type BalancesAll = { accounts: AccountBalance[]; total: number };
type OrderBoardAll = { counts: Partial<Record<OrderStatus, number>>; orders: OrderCard[] };
type AuditPage = { total: number; entries: AuditEntry[] };

export class Eventline {
  private constructor();

  /** Opens (creating or upgrading) a database. Rejects with `SchemaTooNew` if a newer version of Eventline wrote it. */
  static open(database: string): Promise<Eventline>;

  readonly database: string;
  /** Whether this tab runs the projections and the saga. */
  readonly isLeader: boolean;
  close(): void;

  /** Decides and appends a command; rejects with the domain's error code otherwise. */
  execute(command: Command): Promise<Commit>;
  /**
   * Forgets a data subject (a customer), in any domain: resolves once `SubjectForgotten` is
   * recorded and this tab's read models have let go of them (other tabs do as they hear of it).
   * Forgetting again resolves with the first forgetting, replayed. The same as the
   * `ForgetSubject` command.
   */
  forget(subject: Id): Promise<Commit>;
  /** Position of the last event. */
  head(): Promise<number>;

  query(readModel: "balances", args: { account: Id }): Promise<QueryResult<AccountBalance | null>>;
  query(readModel: "balances", args?: Record<string, never>): Promise<QueryResult<BalancesAll>>;
  query(readModel: "accountSummaries", args: { account: Id }): Promise<QueryResult<AccountSummary | null>>;
  query(readModel: "accountSummaries", args?: Record<string, never>): Promise<QueryResult<AccountSummary[]>>;
  query(readModel: "topAccounts", args?: { limit?: number }): Promise<QueryResult<RankedAccount[]>>;
  query(readModel: "orderBoard", args: { order: Id }): Promise<QueryResult<OrderCard | null>>;
  query(readModel: "orderBoard", args: { status: OrderStatus }): Promise<QueryResult<OrderCard[]>>;
  query(readModel: "orderBoard", args: { pendingFulfilment: true }): Promise<QueryResult<OrderCard[]>>;
  query(readModel: "orderBoard", args?: Record<string, never>): Promise<QueryResult<OrderBoardAll>>;
  query(readModel: "customerOrders", args: { customer: Id }): Promise<QueryResult<CustomerHistory | null>>;
  query(readModel: "customerOrders", args?: Record<string, never>): Promise<QueryResult<Id[]>>;
  query(readModel: "transfers", args: { transferId: Id }): Promise<QueryResult<TransferView | null>>;
  query(readModel: "transfers", args?: { inProgress?: boolean }): Promise<QueryResult<TransferView[]>>;
  query(readModel: "auditLog", args?: { limit?: number }): Promise<QueryResult<AuditPage>>;

  /** A read model as it was at a point in history, folded from the log. */
  queryAt(readModel: "balances", args: { account: Id }, at: Point): Promise<QueryResult<AccountBalance | null>>;
  queryAt(readModel: "balances", args: Record<string, never> | undefined, at: Point): Promise<QueryResult<BalancesAll>>;
  queryAt(readModel: "accountSummaries", args: { account: Id }, at: Point): Promise<QueryResult<AccountSummary | null>>;
  queryAt(readModel: "accountSummaries", args: Record<string, never> | undefined, at: Point): Promise<QueryResult<AccountSummary[]>>;
  queryAt(readModel: "topAccounts", args: { limit?: number } | undefined, at: Point): Promise<QueryResult<RankedAccount[]>>;
  queryAt(readModel: "orderBoard", args: { order: Id }, at: Point): Promise<QueryResult<OrderCard | null>>;
  queryAt(readModel: "orderBoard", args: { status: OrderStatus }, at: Point): Promise<QueryResult<OrderCard[]>>;
  queryAt(readModel: "orderBoard", args: { pendingFulfilment: true }, at: Point): Promise<QueryResult<OrderCard[]>>;
  queryAt(readModel: "orderBoard", args: Record<string, never> | undefined, at: Point): Promise<QueryResult<OrderBoardAll>>;
  queryAt(readModel: "customerOrders", args: { customer: Id }, at: Point): Promise<QueryResult<CustomerHistory | null>>;
  queryAt(readModel: "customerOrders", args: Record<string, never> | undefined, at: Point): Promise<QueryResult<Id[]>>;
  queryAt(readModel: "transfers", args: { transferId: Id }, at: Point): Promise<QueryResult<TransferView | null>>;
  queryAt(readModel: "transfers", args: { inProgress?: boolean } | undefined, at: Point): Promise<QueryResult<TransferView[]>>;
  queryAt(readModel: "auditLog", args: { limit?: number } | undefined, at: Point): Promise<QueryResult<AuditPage>>;

  /** An aggregate's state at a point in history (now, without `at`). */
  stateAt(stream: `account-${string}`, at?: Point): Promise<StreamState<AccountAggregate>>;
  stateAt(stream: `order-${string}`, at?: Point): Promise<StreamState<OrderAggregate>>;
  stateAt(stream: `transfer-${string}`, at?: Point): Promise<StreamState<TransferAggregate>>;
  /** Whether a customer's personal data is recorded, forgotten, or was never recorded (now). */
  stateAt(stream: `subject-${string}`): Promise<StreamState<{ status: "known" | "forgotten" | "unknown" }>>;

  /** Events in log order: for timelines. */
  events(filter?: EventFilter): Promise<RecordedEvent[]>;

  /** Resolves once the read model(s) have seen `position`: read your own writes. */
  waitFor(position: number, options?: WaitOptions): Promise<{ position: number }>;
  /** The same, for one read model: `waitFor(position, "balances")`. */
  waitFor(position: number, readModel: ReadModelName): Promise<{ position: number }>;

  projections(): Promise<ProjectionStatus[]>;
  pause(readModel: ReadModelName): Promise<void>;
  resume(readModel: ReadModelName): Promise<void>;
  /** Slows a projection to one event per `ms` (0 to 60,000): eventual consistency, visible. */
  setDelay(readModel: ReadModelName, ms: number): Promise<void>;
  /**
   * Rebuilds a read model from position 0 beside the one that goes on answering, and swaps it in
   * once it has caught up; progress comes as `projections` notices.
   */
  rebuild(readModel: ReadModelName): Promise<void>;

  /** Events no read model could read, with the reason. */
  deadLetters(): Promise<DeadLetter[]>;

  /**
   * The whole log as NDJSON: one event per line (`RecordedEvent`), then an end line
   * `{"eventlineExport":"end","events":n,"sha256":"..."}` counting them and carrying the SHA-256
   * of everything before it.
   */
  exportLog(options?: ProgressOptions): Promise<string>;
  /**
   * Appends an export's events after the head, in batches of whole commits. Nothing is written
   * unless all of it passes (`InvalidImport` says which line failed and why): the end line's count
   * and digest (a log changed after export is refused), and every event as strictly as one a
   * command writes: ids and stream names, fresh event and command ids, a payload exactly as this
   * version writes it, personal values about valid subjects, each event admitted by its
   * aggregate, money moved only as decisions move it. A `SubjectForgotten` enters only as the
   * record of that log's own forgetting (the key is shredded here too). The digest is not a
   * signature: it tells a damaged or edited log from an intact one, not a forger from the author.
   * Resumable: the commits an earlier import of the same log already appended are skipped.
   */
  importLog(ndjson: string, options?: ProgressOptions): Promise<ImportReport>;
  /** Empties the database, in every tab. */
  reset(): Promise<void>;

  /**
   * New commits, projection statuses, leadership, forgettings, resets, progress. Returns
   * `unsubscribe`. A listener that throws is reported (`reportError`); the others are still told.
   */
  subscribe(listener: (notice: Notice) => void): () => void;
}

/** Panics inside the module on purpose, to test that the package recovers. Not for use. */
export function __panicForTests(): Promise<void>;
