// Eventline: event sourcing and CQRS in the browser, on IndexedDB.
//
// This module is the npm package's entry, the same for every domain's package. It loads the
// WebAssembly module once (top-level await: importing is enough), turns every failure into an `EventlineError` with a stable `code`, and
// keeps the package working if Rust ever panics: the panicked instance is dropped, calls in
// flight are rejected with `code: "Panicked"`, and the next call runs on a fresh instance with
// the same database reopened. Types: eventline.d.ts.
//
// The module is built to trap at once on a panic (`-Cpanic=immediate-abort`, 12 KB gzipped
// less than formatting a message first): a panic is a `WebAssembly.RuntimeError`, thrown from
// the call that hit it or, in work the module runs in the background (its projection runner),
// reported to the page as an uncaught error. Both are heard here. A build with a panic hook
// (`installPanicHook`) reports the message too.

const glue = new URL("./wasm/eventline.js", import.meta.url);
const binary = new URL("./wasm/eventline_bg.wasm", import.meta.url);

/**
 * Marks every EventlineError, whichever copy of this module made it: two bundles of the package
 * on one page must still recognise each other's errors, which `instanceof` cannot.
 */
const BRAND = Symbol.for("eventline.EventlineError");

/** An error with a stable `code`, a readable `message` and, for domain errors, `details`. */
export class EventlineError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = "EventlineError";
    this.code = code;
    if (details !== undefined && details !== null) this.details = details;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

export function isEventlineError(value) {
  if (value instanceof EventlineError) return true;
  try {
    return (
      typeof value === "object" && value !== null && value[BRAND] === true && typeof value.code === "string"
    );
  } catch {
    return false; // a hostile Proxy is not one of ours
  }
}

/**
 * Refuses a value holding something JSON cannot carry. `JSON.stringify` writes NaN, Infinity and
 * an invalid Date as `null` and leaves out functions and symbols, and the module reads all of
 * them as "absent": an `expectedVersion: NaN` would silently drop the version check. What the
 * walk cannot read (a throwing getter) is left for the module to refuse with its own reason.
 */
function finite(value, what, code = "InvalidArgument") {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new EventlineError(code, `${what} is ${value}, not a finite number`);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  let bad;
  try {
    JSON.stringify(value, function (key, item) {
      if (bad !== undefined) return item;
      const original = this?.[key];
      if (original instanceof Date && !Number.isFinite(original.getTime())) bad = { key, why: "an invalid Date" };
      else if (typeof item === "number" && !Number.isFinite(item)) bad = { key, why: `${item}, not a finite number` };
      else if (typeof item === "function" || typeof item === "symbol") {
        bad = { key, why: `a ${typeof item}, which JSON cannot carry` };
      }
      return item;
    });
  } catch {
    return;
  }
  if (bad === undefined) return;
  const field = bad.key === "" ? what : `${what}: \`${bad.key}\``;
  throw new EventlineError(code, `${field} is ${bad.why}`);
}

let generation = 0;
let current = null;

/** A WebAssembly instance of the module; a new one after a panic. */
async function instance() {
  if (current && !current.panicked) return current;
  generation += 1;
  // A distinct URL is a distinct module record, hence a fresh instance with fresh memory.
  const module = await import(`${glue.href}?instance=${generation}`);
  await module.default({ module_or_path: binary });
  const loaded = { module, panicked: false, inFlight: new Set() };
  module.installPanicHook();
  module.onPanic((message) => trapped(loaded, message));
  current = loaded;
  return loaded;
}

/** The instance `loaded` panicked: it is dropped, and every call in flight on it rejected. */
function trapped(loaded, message) {
  loaded.panicked = true;
  for (const reject of loaded.inFlight) {
    reject(new EventlineError("Panicked", `Eventline hit an internal error and restarted: ${message}`));
  }
  loaded.inFlight.clear();
}

// A trap in the module's background work reaches no call: it surfaces as the page's uncaught
// error (from a microtask) or unhandled rejection. Only one instance runs at a time.
function onUncaught(error) {
  if (error instanceof WebAssembly.RuntimeError && current && !current.panicked) trapped(current, error.message);
}
globalThis.addEventListener?.("error", (event) => onUncaught(event.error));
globalThis.addEventListener?.("unhandledrejection", (event) => onUncaught(event.reason));

function toError(raw) {
  if (raw instanceof EventlineError) return raw;
  if (raw && typeof raw === "object" && typeof raw.code === "string") {
    return new EventlineError(raw.code, raw.message ?? raw.code, raw.details);
  }
  if (raw instanceof WebAssembly.RuntimeError) {
    return new EventlineError("Panicked", `Eventline hit an internal error and restarted: ${raw.message}`);
  }
  return new EventlineError("InternalError", String(raw?.message ?? raw));
}

/** Calls into a live instance; a panic on the way rejects instead of hanging. */
async function call(loaded, work) {
  let reject;
  const panicked = new Promise((_, r) => {
    reject = r;
  });
  loaded.inFlight.add(reject);
  try {
    return await Promise.race([Promise.resolve().then(work), panicked]);
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError && !loaded.panicked) trapped(loaded, error.message);
    throw toError(error);
  } finally {
    loaded.inFlight.delete(reject);
  }
}

/**
 * Reads `key` of a caller's options object. A value that cannot be read (a throwing getter, a
 * hostile Proxy) is bad input from the caller, not an internal error.
 */
function option(options, key, what) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== "object") {
    throw new EventlineError("InvalidArgument", `${what}: options are an object, not a ${typeof options}`);
  }
  try {
    return options[key];
  } catch (error) {
    throw new EventlineError("InvalidArgument", `${what}: \`${key}\` cannot be read (${error?.message ?? error})`);
  }
}

/** A caller's callback option: absent, or a function. */
function callback(options, key, what) {
  const value = option(options, key, what);
  if (value === undefined || value === null || typeof value === "function") return value;
  throw new EventlineError("InvalidArgument", `${what}: \`${key}\` is a function, not a ${typeof value}`);
}

/** A point in history as the module takes it: a `Date` becomes milliseconds. */
function at(point) {
  if (point === undefined || point === null) return undefined;
  if (typeof point !== "object") return point;
  let time = option(point, "time", "a point in history");
  if (time instanceof Date) {
    time = time.getTime();
    if (!Number.isFinite(time)) throw new EventlineError("InvalidArgument", "a point in history: `time` is an invalid Date");
    try {
      point = { ...point, time };
    } catch (error) {
      throw new EventlineError("InvalidArgument", `a point in history cannot be read (${error?.message ?? error})`);
    }
  }
  finite(point, "a point in history");
  return point;
}

/** Tells a listener, and the page if it throws: a listener's bug must not vanish silently. */
function tell(listener, notice) {
  try {
    listener(notice);
  } catch (error) {
    if (typeof globalThis.reportError === "function") globalThis.reportError(error);
    else console.error("eventline: a subscriber threw", error);
  }
}

export class Eventline {
  #name;
  #loaded;
  #handle;
  #listeners = new Set();
  #wasLeader = false;
  /** Statuses being read for a burst of projection notices, shared by every listener. */
  #pendingStatuses = null;

  constructor(name, loaded, handle) {
    this.#name = name;
    this.#loaded = loaded;
    this.#handle = handle;
    this.#listen(handle);
  }

  /** One subscription to the module per instance, whatever the number of listeners. */
  #listen(handle) {
    handle.subscribe((notice) => {
      if (notice.kind === "leadership") this.#wasLeader = notice.leader;
      if (this.#listeners.size > 0) this.#deliver(notice);
    });
  }

  #deliver(notice) {
    if (notice.kind !== "projections") {
      for (const listener of [...this.#listeners]) tell(listener, notice);
      return;
    }
    // Statuses are read once per burst of changes, for every listener at once.
    if (this.#pendingStatuses) return;
    this.#pendingStatuses = this.projections()
      .then((projections) => {
        // A listener that unsubscribed while the statuses were read hears nothing more.
        for (const listener of [...this.#listeners]) tell(listener, { kind: "projections", projections });
      })
      .catch(() => {})
      .finally(() => {
        this.#pendingStatuses = null;
      });
  }

  /** Opens (creating or upgrading) the database `name`. */
  static async open(name) {
    const loaded = await instance();
    const handle = await call(loaded, () => loaded.module.EventlineHandle.open(name, false));
    return new Eventline(handle.database, loaded, handle);
  }

  /** The live handle, reopened on a fresh instance if the old one panicked. */
  async #live() {
    if (!this.#loaded.panicked) return this.#handle;
    const loaded = await instance();
    // If the dead instance ran the projections, its Web Lock would never be released.
    const takeOver = this.#wasLeader;
    const handle = await call(loaded, () => loaded.module.EventlineHandle.open(this.#name, takeOver));
    this.#loaded = loaded;
    this.#handle = handle;
    this.#wasLeader = false;
    this.#listen(handle);
    return handle;
  }

  async #run(work) {
    const handle = await this.#live();
    return call(this.#loaded, () => work(handle));
  }

  get database() {
    return this.#name;
  }

  /** Whether this tab runs the projections and the saga (one tab at a time does). */
  get isLeader() {
    return !this.#loaded.panicked && this.#handle.isLeader;
  }

  close() {
    if (!this.#loaded.panicked) this.#handle.close();
    this.#listeners.clear();
  }

  execute(command) {
    return this.#run((h) => {
      finite(command, "the command", "InvalidCommand");
      return h.execute(command);
    });
  }

  /** Forgets a data subject, in any domain: their personal values become unreadable everywhere. */
  forget(subject) {
    return this.#run((h) => h.forget(subject));
  }

  head() {
    return this.#run((h) => h.head());
  }

  query(readModel, args) {
    return this.#run((h) => {
      finite(args, "the query arguments");
      return h.query(readModel, args);
    });
  }

  queryAt(readModel, args, point) {
    return this.#run((h) => {
      finite(args, "the query arguments");
      return h.queryAt(readModel, args, at(point));
    });
  }

  stateAt(stream, point) {
    return this.#run((h) => h.stateAt(stream, at(point)));
  }

  events(filter) {
    return this.#run((h) => {
      finite(filter, "the event filter");
      return h.events(filter);
    });
  }

  /** `options` is `{ readModel?, timeoutMs? }`, or a read model's name. */
  waitFor(position, options = {}) {
    if (typeof options === "string") options = { readModel: options };
    return this.#run((h) => {
      finite(position, "the position");
      const timeoutMs = option(options, "timeoutMs", "waitFor");
      finite(timeoutMs, "waitFor: `timeoutMs`");
      return h.waitFor(position, option(options, "readModel", "waitFor"), timeoutMs);
    });
  }

  projections() {
    return this.#run((h) => h.projections());
  }

  pause(readModel) {
    return this.#run((h) => h.control(readModel, { action: "pause" }));
  }

  resume(readModel) {
    return this.#run((h) => h.control(readModel, { action: "resume" }));
  }

  setDelay(readModel, ms) {
    return this.#run((h) => {
      finite(ms, "the delay");
      return h.control(readModel, { action: "delay", ms });
    });
  }

  /** Rebuilds a read model from 0; progress arrives as `projections` notices. */
  rebuild(readModel) {
    return this.#run((h) => h.control(readModel, { action: "rebuild" }));
  }

  deadLetters() {
    return this.#run((h) => h.deadLetters());
  }

  exportLog(options = {}) {
    return this.#run((h) => h.exportLog({ onProgress: callback(options, "onProgress", "exportLog") }));
  }

  importLog(ndjson, options = {}) {
    return this.#run((h) => h.importLog(ndjson, { onProgress: callback(options, "onProgress", "importLog") }));
  }

  reset() {
    return this.#run((h) => h.reset());
  }

  /**
   * Syncs this database with log `log` on a sync server (`{url, log, user, password}`):
   * commands commit here at once and are pushed when the server is reachable; other devices'
   * commits are pulled. Runs in the tab that runs the projections. `Unsupported` in a build
   * without sync.
   */
  startSync(options) {
    return this.#run((h) => h.sync({ ...options, action: "start" }));
  }

  /** Stops syncing: commands go on committing here, pending. */
  stopSync() {
    return this.#run((h) => h.sync({ action: "stop" }));
  }

  /** Connected or not, confirmed up to where, what waits, what was decided again or rejected. */
  syncStatus() {
    return this.#run((h) => h.sync({ action: "status" }));
  }

  /** The commits waiting for the server, in log order. */
  pendingCommits() {
    return this.#run((h) => h.sync({ action: "pending" }));
  }

  /** Commands decided again after another device's commits came first, and refused then. */
  rejectedCommands() {
    return this.#run((h) => h.sync({ action: "rejected" }));
  }

  /** What the server held that this device refused, with why. */
  syncDeadLetters() {
    return this.#run((h) => h.sync({ action: "deadLetters" }));
  }

  /**
   * Calls `listener` for new commits (from any tab), projection changes (with every
   * projection's status), leadership changes, forgettings, resets and progress. Returns an
   * unsubscribe function. A listener that throws is reported (`reportError`), and the others
   * are still told.
   */
  subscribe(listener) {
    if (typeof listener !== "function") throw new EventlineError("InvalidArgument", "a listener is a function");
    // A wrapper per subscription: the same function subscribed twice is told twice and
    // unsubscribed once per call, as with addEventListener's distinct handlers.
    const entry = (notice) => listener(notice);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }
}

/**
 * The application's registry, declared once in its Rust crate: its read models, command types,
 * event types and error codes. Read from the module as it loads (top-level await).
 */
export const schema = Object.freeze((await instance()).module.schema());
export const readModels = Object.freeze([...schema.readModels]);

/** Panics inside the module on purpose: for tests of the recovery above. */
export async function __panicForTests() {
  const loaded = await instance();
  try {
    loaded.module.__panicForTests();
  } catch (error) {
    // The trap surfaces here; the next call gets a fresh instance.
    if (!loaded.panicked) trapped(loaded, error?.message ?? String(error));
  }
}

/** Panics inside the module's background work on purpose (a task of its own, as the projection
 * runner is): for tests of the recovery above. */
export async function __panicLaterForTests() {
  const loaded = await instance();
  loaded.module.__panicLaterForTests();
}
