// The API every Eventline package shares, whatever its domain: `Eventline<S>` over a domain's
// schema `S`. Written once; each domain's `eventline.d.ts` is generated from its Rust types and
// names its schema (its commands, recorded events, read models, streams and error details).

/** Ids of streams' aggregates, customers and commands: 1 to 64 letters, digits or `. _ : @ -`. */
export type Id = string;
/** Milliseconds since the Unix epoch. */
export type Millis = number;

/** KurrentDB's expected versions: a stream version, or one of three names. */
export type ExpectedVersion = number | "any" | "noStream" | "streamExists";

/**
 * What every command may carry. A field its type does not take is refused (`InvalidCommand`), so
 * a misspelt `commandId` never passes silently; `null` counts as absent. A value JSON cannot
 * carry (`NaN`, `Infinity`, an invalid `Date`, a function) is refused anywhere in a command.
 */
export interface CommandEnvelope {
  /**
   * Makes the command idempotent: a retry of the same command with the same id returns the first
   * commit (`replayed: true`). A different command under a used id is `DuplicateCommand`.
   */
  commandId?: Id;
  /** Groups the command with what it causes (defaults to the command id). */
  correlationId?: Id;
  /** The version of the command's stream the caller decided on (`0`: it must not exist yet). */
  expectedVersion?: ExpectedVersion;
}

/**
 * A personal value about a data subject: readable, or redacted once the subject was forgotten
 * (or when this copy cannot open it).
 */
export type Personal<T> =
  | { $personal: Id; value: T }
  | { $personal: Id; redacted: "forgotten" | "unavailable" };

/** What the log knows about every event. */
export interface EventEnvelope {
  /** Global position: 1 for the first event, gapless. */
  position: number;
  /** `{category}-{id}`. */
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

/** An event as stored, of type `T` and schema version `V`: an older version keeps its shape. */
export type Recorded<T extends string, D, V extends number = number> = EventEnvelope & {
  type: T;
  schemaVersion: V;
  data: D;
};

/** Every domain's log may hold this: a data subject forgotten. */
export type SubjectForgottenEvent = Recorded<"SubjectForgotten", { subject: Id }, 1>;

/** What a domain declares to the API, generated from its Rust types. */
export interface DomainSchema {
  /** The commands a caller may send, discriminated by `type`. */
  command: { type: string };
  /** The events its log holds, as recorded. */
  event: EventEnvelope & { type: string; schemaVersion: number; data: unknown };
  /**
   * Each read model's questions: a union of entries, each an argument shape and its answer
   * (`undefined` among the shapes: the question asked without arguments).
   */
  readModels: Record<string, QueryEntry>;
  /** Each stream category's aggregate state, for `stateAt`. */
  streams: Record<string, unknown>;
  /** The domain's error details, discriminated by `code`. */
  errorDetails: { code: string };
  /** Every code its errors can carry. */
  errorCode: string;
}

/** One question a read model answers: its arguments' shape and the answer's. */
export type QueryEntry = { args: object | undefined; data: unknown };

/** The answer to arguments `A` among a read model's entries. */
export type AnswerTo<E extends QueryEntry, A> = E extends unknown ? ([A] extends [E["args"]] ? E["data"] : never) : never;

/** What `execute` committed. */
export interface CommitOf<S extends DomainSchema> {
  /** Position of the commit's last event: what `waitFor` waits for. */
  position: number;
  firstPosition: number;
  commandId: string;
  /** True when the command id had committed before: these are the first commit's events. */
  replayed: boolean;
  events: S["event"][];
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

/** A point in history: after the event at `position`, or after everything recorded by `time`. */
export type Point = { position: number } | { time: Millis | Date };

export interface StreamState<T> {
  stream: string;
  /** Events the stream had at that point. */
  version: number;
  state: T;
}

export interface ProjectionStatus<N extends string = string> {
  name: N;
  checkpoint: number;
  head: number;
  lag: Lag;
  status: "live" | "catchingUp" | "paused" | "rebuilding" | "failed";
  paused: boolean;
  delayMs: number;
  /** Share of a rebuild done, 0 to 1; null when not rebuilding. */
  progress: number | null;
  /** The last rebuild that finished: events folded and milliseconds taken. */
  lastRebuild: { events: number; ms: number } | null;
  error: string | null;
  /** Whether this tab runs the projections (one tab at a time does). */
  runsHere: boolean;
}

export type Notice<N extends string = string> =
  | { kind: "committed"; position: number; local: boolean }
  /** A read model moved or its status changed: every projection's status, fetched for you. */
  | { kind: "projections"; projections: ProjectionStatus<N>[] }
  | { kind: "leadership"; leader: boolean }
  | { kind: "reset" }
  /** Someone was forgotten, in this tab or another: redraw whatever showed their details. */
  | { kind: "forgotten"; subject: Id }
  | { kind: "progress"; task: string; done: number; total: number }
  /** Sync put another device's commits before this one's pending ones: read models fold again. */
  | { kind: "rewound"; position: number }
  /** Sync's status changed: read it with `syncStatus()`. */
  | { kind: "sync" }
  /** A command decided again after sync was refused by the domain. */
  | { kind: "rejected"; commandId: string; code: string; message: string };

/** Where and as whom to sync. */
export interface SyncOptions {
  /** The server's WebSocket, `ws://…` or `wss://…`. */
  url: string;
  log: string;
  user: string;
  password: string;
}

export interface SyncStatus {
  state: "off" | "connecting" | "online" | "offline" | "refused" | "standby";
  log: string | null;
  /** The last position of the confirmed prefix. */
  confirmed: number;
  serverSequence: number;
  /** Commits waiting to be confirmed. */
  pending: number;
  redecided: number;
  rejected: number;
  deadLetters: number;
  error: { code: string; message: string } | null;
}

export interface PendingCommit {
  commandId: string;
  position: number;
  streams: string[];
  events: number;
}

export interface RejectedCommand {
  commandId: string;
  /** The command as it was sent, when this device kept it. */
  command: string | null;
  code: string;
  message: string;
  details?: unknown;
}

export interface SyncDeadLetter {
  sequence: number;
  code: string;
  reason: string;
}

export interface DeadLetter {
  position: number;
  stream: string;
  eventType: string;
  schemaVersion: number;
  code: string;
  reason: string;
  /** The event as stored, as a JSON line. */
  event: string;
}

export interface ImportReport {
  /** Events appended by this import. */
  events: number;
  commits: number;
  /** Events at the start of the log an earlier import of it had already appended. */
  skipped: number;
  head: number;
}

export interface EventFilter<S extends DomainSchema> {
  /** First position to consider (default 1). */
  from?: number;
  /** At most this many (default 100, at most 10,000). */
  limit?: number;
  stream?: string;
  type?: S["event"]["type"];
  correlationId?: string;
}

export interface ProgressOptions {
  onProgress?: (done: number, total: number) => void;
}

export interface WaitOptions<N extends string = string> {
  /** Wait for this read model only (default: every read model). */
  readModel?: N;
  /** Give up with `WaitTimeout` after this long (default 30,000 ms). */
  timeoutMs?: number;
}

/** The codes the API itself answers with, whatever the domain. */
export type ApiErrorCode =
  | "InvalidCommand"
  | "InvalidArgument"
  | "InvalidQuery"
  | "InvalidImport"
  | "InvalidApplication"
  | "UnknownReadModel"
  | "WaitTimeout"
  | "WrongExpectedVersion"
  | "DuplicateCommand"
  | "UnknownSubject"
  | "UnknownStream"
  | "QuotaExceeded"
  | "SchemaTooNew"
  | "CorruptData"
  | "StoreClosed"
  | "StorageError"
  | "Unsupported"
  | "Panicked"
  | "InternalError"
  /** Sync: another log than this database syncs with. */
  | "SyncLogMismatch"
  /** Sync: a command decided before sync started in this page, whose text was not kept. */
  | "NotDecidedAgain"
  | "InvalidLog"
  | "InvalidBatch"
  | "CommitTooLarge"
  /** Sync's connection: the server is not there, refuses the credentials or the subject. */
  | "Unreachable"
  | "Unauthorized"
  | "Forbidden"
  | "Timeout"
  | "NoResponders"
  | "Protocol"
  | "ServerRefused";

/** How far an import got before the store refused a batch: the batches before it stay. */
export interface ImportInterrupted {
  imported: number;
  total: number;
  head: number;
}

/** The details the API itself gives, by code. */
export interface ApiErrorDetails {
  WrongExpectedVersion: {
    stream: string;
    expected: { kind: "any" | "noStream" | "streamExists" } | { kind: "exact"; version: number };
    actual: number;
  };
  /** A command id already committed another command: where its first commit is. */
  DuplicateCommand: { commandId: Id; firstPosition: number; position: number };
  InvalidImport: ImportInterrupted;
  QuotaExceeded: ImportInterrupted;
  StorageError: ImportInterrupted;
  StoreClosed: ImportInterrupted;
}

/** Every code a domain's package can answer with. */
export type ErrorCodeOf<S extends DomainSchema> = S["errorCode"] | ApiErrorCode;

/** What `details` holds for code `C`: the domain's fields (code included), or the API's. */
export type ErrorDetailsOf<S extends DomainSchema, C extends string> = C extends keyof ApiErrorDetails
  ? ApiErrorDetails[C]
  : Extract<S["errorDetails"], { code: C }>;

export interface EventlineErrorOf<S extends DomainSchema, C extends ErrorCodeOf<S> = ErrorCodeOf<S>> extends Error {
  readonly name: "EventlineError";
  readonly code: C;
  readonly details?: ErrorDetailsOf<S, C>;
}

/** An error for each code: checking `code` narrows `details`. */
export type AnyEventlineErrorOf<S extends DomainSchema> = { [C in ErrorCodeOf<S>]: EventlineErrorOf<S, C> }[ErrorCodeOf<S>];

/** The application's registry, declared once in its Rust crate and read from the module. */
export interface SchemaOf<S extends DomainSchema> {
  readonly readModels: readonly (keyof S["readModels"] & string)[];
  readonly commandTypes: readonly S["command"]["type"][];
  readonly eventTypes: readonly S["event"]["type"][];
  readonly errorCodes: readonly S["errorCode"][];
}

type ReadModelOf<S extends DomainSchema> = keyof S["readModels"] & string;

/** One database of a domain, opened in this tab. */
export interface EventlineOf<S extends DomainSchema> {
  readonly database: string;
  /** Whether this tab runs the projections and the process managers. */
  readonly isLeader: boolean;
  close(): void;

  /** Decides and appends a command; rejects with the domain's error code otherwise. */
  execute(command: S["command"] & CommandEnvelope): Promise<CommitOf<S>>;
  /**
   * Forgets a data subject: their personal values become unreadable everywhere, now. Forgetting
   * again resolves with the first forgetting, replayed.
   */
  forget(subject: Id): Promise<CommitOf<S>>;
  /** Position of the last event. */
  head(): Promise<number>;

  /** Asks a read model; the answer's type follows from the arguments' shape. */
  query<N extends ReadModelOf<S>, A extends S["readModels"][N]["args"] = undefined>(
    readModel: N,
    args?: A,
  ): Promise<QueryResult<AnswerTo<S["readModels"][N], A>>>;
  /** A read model as it was at a point in history, folded from the log. */
  queryAt<N extends ReadModelOf<S>, A extends S["readModels"][N]["args"] = undefined>(
    readModel: N,
    args: A,
    at: Point,
  ): Promise<QueryResult<AnswerTo<S["readModels"][N], A>>>;
  /** An aggregate's state at a point in history (now, without `at`). */
  stateAt<C extends keyof S["streams"] & string>(stream: `${C}-${string}`, at?: Point): Promise<StreamState<S["streams"][C]>>;
  /** Whether a subject's personal data is recorded, forgotten, or was never recorded (now). */
  stateAt(stream: `subject-${string}`): Promise<StreamState<{ status: "known" | "forgotten" | "unknown" }>>;

  /** Events in log order: for timelines. */
  events(filter?: EventFilter<S>): Promise<S["event"][]>;
  /** Resolves once the read model(s) have seen `position`: read your own writes. */
  waitFor(position: number, options?: WaitOptions<ReadModelOf<S>>): Promise<{ position: number }>;
  waitFor(position: number, readModel: ReadModelOf<S>): Promise<{ position: number }>;

  projections(): Promise<ProjectionStatus<ReadModelOf<S>>[]>;
  pause(readModel: ReadModelOf<S>): Promise<void>;
  resume(readModel: ReadModelOf<S>): Promise<void>;
  /** Slows a projection to one event per `ms` (0 to 60,000): eventual consistency, visible. */
  setDelay(readModel: ReadModelOf<S>, ms: number): Promise<void>;
  /** Rebuilds a read model beside the one that goes on answering, and swaps it in. */
  rebuild(readModel: ReadModelOf<S>): Promise<void>;
  /** Events no read model could read, with the reason. */
  deadLetters(): Promise<DeadLetter[]>;

  /** The whole log as NDJSON, with an end line that counts the events and carries their SHA-256. */
  exportLog(options?: ProgressOptions): Promise<string>;
  /** Appends an export's events after the head, once all of it passed every check. Resumable. */
  importLog(ndjson: string, options?: ProgressOptions): Promise<ImportReport>;
  /** Empties the database, in every tab. */
  reset(): Promise<void>;
  /** New commits, projection statuses, leadership, forgettings, resets, progress, sync. */
  subscribe(listener: (notice: Notice<ReadModelOf<S>>) => void): () => void;
  /** Syncs this database with a log on a sync server (docs/SYNC.md). */
  startSync(options: SyncOptions): Promise<void>;
  stopSync(): Promise<void>;
  syncStatus(): Promise<SyncStatus>;
  pendingCommits(): Promise<PendingCommit[]>;
  rejectedCommands(): Promise<RejectedCommand[]>;
  syncDeadLetters(): Promise<SyncDeadLetter[]>;
}

/** The class: `Eventline.open(database)`. */
export interface EventlineClassOf<S extends DomainSchema> {
  /** Opens (creating or upgrading) a database. */
  open(database: string): Promise<EventlineOf<S>>;
}
