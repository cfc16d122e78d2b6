// Eventline: event sourcing and CQRS in the browser, on IndexedDB.
//
// This module is the npm package's entry. It loads the WebAssembly module once (top-level await:
// importing is enough), turns every failure into an `EventlineError` with a stable `code`, and
// keeps the package working if Rust ever panics: the panicked instance is dropped, calls in
// flight are rejected with `code: "Panicked"`, and the next call runs on a fresh instance with
// the same database reopened. Types: eventline.d.ts.

const glue = new URL("./wasm/eventline_web.js", import.meta.url);
const binary = new URL("./wasm/eventline_web_bg.wasm", import.meta.url);

/** An error with a stable `code`, a readable `message` and, for domain errors, `details`. */
export class EventlineError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = "EventlineError";
    this.code = code;
    if (details !== undefined && details !== null) this.details = details;
  }
}

export function isEventlineError(value) {
  return value instanceof EventlineError;
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
  module.onPanic((message) => {
    loaded.panicked = true;
    for (const reject of loaded.inFlight) {
      reject(new EventlineError("Panicked", `Eventline hit an internal error and restarted: ${message}`));
    }
    loaded.inFlight.clear();
  });
  current = loaded;
  return loaded;
}

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
    throw toError(error);
  } finally {
    loaded.inFlight.delete(reject);
  }
}

const READ_MODELS = new Set([
  "balances",
  "accountSummaries",
  "topAccounts",
  "orderBoard",
  "customerOrders",
  "transfers",
  "auditLog",
]);

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
  const time = option(point, "time", "a point in history");
  if (!(time instanceof Date)) return point;
  try {
    return { ...point, time: time.getTime() };
  } catch (error) {
    throw new EventlineError("InvalidArgument", `a point in history cannot be read (${error?.message ?? error})`);
  }
}

export class Eventline {
  #name;
  #loaded;
  #handle;
  #listeners = new Set();
  #subscriptions = [];
  #wasLeader = false;

  constructor(name, loaded, handle) {
    this.#name = name;
    this.#loaded = loaded;
    this.#handle = handle;
    this.#watchLeadership(handle);
  }

  #watchLeadership(handle) {
    handle.subscribe((notice) => {
      if (notice.kind === "leadership") this.#wasLeader = notice.leader;
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
    this.#watchLeadership(handle);
    this.#subscriptions = [];
    for (const listener of this.#listeners) this.#attach(listener);
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
    return this.#run((h) => h.execute(command));
  }

  /** Forgets a customer: see `ForgetSubject` in eventline.d.ts. */
  forget(subject) {
    return this.execute({ type: "ForgetSubject", subject });
  }

  head() {
    return this.#run((h) => h.head());
  }

  query(readModel, args) {
    return this.#run((h) => h.query(readModel, args));
  }

  queryAt(readModel, args, point) {
    return this.#run((h) => h.queryAt(readModel, args, at(point)));
  }

  stateAt(stream, point) {
    return this.#run((h) => h.stateAt(stream, at(point)));
  }

  events(filter) {
    return this.#run((h) => h.events(filter));
  }

  /** `options` is `{ readModel?, timeoutMs? }`, or a read model's name. */
  waitFor(position, options = {}) {
    if (typeof options === "string") options = { readModel: options };
    return this.#run((h) =>
      h.waitFor(position, option(options, "readModel", "waitFor"), option(options, "timeoutMs", "waitFor")),
    );
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
    return this.#run((h) => h.control(readModel, { action: "delay", ms }));
  }

  /** Rebuilds a read model from 0; progress arrives as `projections` notices. */
  rebuild(readModel) {
    return this.#run((h) => h.control(readModel, { action: "rebuild" }));
  }

  /** Transfers with their saga steps: one by id, or all of them. */
  async transfers(transferId) {
    const answer = await this.query("transfers", transferId === undefined ? {} : { transferId });
    return answer.data;
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
   * Calls `listener` for new commits (from any tab), projection changes (with every
   * projection's status), leadership changes, resets and progress. Returns an unsubscribe
   * function.
   */
  subscribe(listener) {
    if (typeof listener !== "function") throw new EventlineError("InvalidArgument", "a listener is a function");
    this.#listeners.add(listener);
    this.#attach(listener);
    return () => {
      this.#listeners.delete(listener);
      const index = this.#subscriptions.findIndex((s) => s.listener === listener);
      if (index >= 0) {
        const [subscription] = this.#subscriptions.splice(index, 1);
        if (!this.#loaded.panicked) this.#handle.unsubscribe(subscription.id);
      }
    };
  }

  #attach(listener) {
    let pending = null;
    const deliver = (notice) => {
      if (notice.kind !== "projections") {
        listener(notice);
        return;
      }
      // Statuses are read once per burst of changes, not once per change.
      if (pending) return;
      pending = this.projections()
        // Unsubscribed (or closed) while the statuses were read: the listener hears nothing more.
        .then((projections) => this.#listeners.has(listener) && listener({ kind: "projections", projections }))
        .catch(() => {})
        .finally(() => {
          pending = null;
        });
    };
    const id = this.#handle.subscribe(deliver);
    this.#subscriptions.push({ id, listener });
  }
}

export const readModels = [...READ_MODELS];

/** Panics inside the module on purpose: for tests of the recovery above. */
export async function __panicForTests() {
  const loaded = await instance();
  try {
    loaded.module.__panicForTests();
  } catch {
    // The trap surfaces here and through onPanic; the next call gets a fresh instance.
  }
}
