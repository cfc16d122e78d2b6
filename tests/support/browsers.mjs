// The browser the JavaScript suites run in, by EVENTLINE_BROWSER (chromium, firefox or webkit;
// chromium when unset). `launch()` returns an object with the part of Playwright's API the suites
// use (browser.newContext / close; context.newPage / close; page.goto, evaluate, close, waitForFunction,
// waitForSelector, on("pageerror"), locator, click, fill, selectOption, check, keyboard.press,
// screenshot, setViewportSize), so one test file runs in any of them:
//
//   chromium  Playwright driving the system's Chromium, exactly as before (chromium.mjs)
//   firefox   puppeteer-core driving Debian's firefox-esr over WebDriver BiDi (Playwright cannot
//             drive a stock Firefox); a context is a BiDi user context, with its own storage
//   webkit    WebDriver (HTTP) driving WebKitGTK's MiniBrowser (webkit.mjs); a context is a
//             session of its own (its own MiniBrowser and storage), a page one of its windows
//
// Locators understand the selectors of selectors.mjs; docs/BROWSERS.md says what differs.
import { checkable, fillElement, queryAll, selectElement } from "./selectors.mjs";
import { sleep, startWebKit } from "./webkit.mjs";

export const ENGINE = process.env.EVENTLINE_BROWSER ?? "chromium";
export const FIREFOX = process.env.FIREFOX ?? "/usr/bin/firefox-esr";
const DEFAULT_VIEWPORT = { width: 1280, height: 720 }; // Playwright's
const TIMEOUT = 30_000; // Playwright's default for waits and actions

/** A test's `skip` option where it cannot run: false in `engine`, elsewhere why (docs/BROWSERS.md). */
export function onlyIn(engine, why) {
  return ENGINE === engine ? false : `${engine} only: ${why} (docs/BROWSERS.md)`;
}

export async function launch(engine = ENGINE) {
  switch (engine) {
    case "chromium":
      return (await import("./chromium.mjs")).launch();
    case "firefox":
      return launchFirefox();
    case "webkit":
      return launchWebKit();
    default:
      throw new Error(`EVENTLINE_BROWSER=${engine}: expected chromium, firefox or webkit`);
  }
}

/** The source of an expression that finds element `index` of `chain` and runs `fn(el, arg)` on it. */
function onElement(chain, index, visibleOnly, fn, arg) {
  return `(async () => {
    const queryAll = ${queryAll};
    const el = queryAll(${JSON.stringify(chain)}, ${visibleOnly})[${index}];
    if (!el) return { missing: true };
    return { value: await (${fn})(el, ${JSON.stringify(arg)}) };
  })()`;
}

/**
 * What Firefox and WebKit pages share: locators and the page-level shortcuts built on them. An
 * engine's page provides `_evaluateSource(expression)` and `_clickElement(chain, index)`.
 */
class Page {
  locator(selector) {
    return new Locator(this, [selector]);
  }
  waitForSelector(selector, { state = "visible", timeout } = {}) {
    return this.locator(selector).waitFor({ state, timeout });
  }
  click(selector) {
    return this.locator(selector).click();
  }
  fill(selector, value) {
    return this.locator(selector).fill(value);
  }
  selectOption(selector, value) {
    return this.locator(selector).selectOption(value);
  }
  check(selector) {
    return this.locator(selector).check();
  }
}

class Locator {
  constructor(page, chain, index = 0) {
    Object.assign(this, { page, chain, index });
  }
  locator(selector) {
    return new Locator(this.page, [...this.chain, selector]);
  }
  first() {
    return new Locator(this.page, this.chain, 0);
  }
  toString() {
    return `locator(${this.chain.join(" >> ")})`;
  }
  /** `fn(el, arg)` on the element once it is there (and visible, if asked), as Playwright waits. */
  async _on(fn, arg, { visible = false, timeout = TIMEOUT } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const result = await this.page._evaluateSource(onElement(this.chain, this.index, visible, fn, arg));
      if (!result.missing) return result.value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${this}${visible ? " to be visible" : ""}`);
      await sleep(50);
    }
  }
  async count() {
    return this.page._evaluateSource(`(${queryAll})(${JSON.stringify(this.chain)}, false).length`);
  }
  async waitFor({ state = "visible", timeout = TIMEOUT } = {}) {
    if (state === "visible" || state === "attached") return void (await this._on("() => true", undefined, { visible: state === "visible", timeout }));
    const deadline = Date.now() + timeout;
    const visibleOnly = state === "hidden";
    while ((await this.page._evaluateSource(`(${queryAll})(${JSON.stringify(this.chain)}, ${visibleOnly}).length`)) > 0) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${this} to be ${state}`);
      await sleep(50);
    }
  }
  textContent() {
    return this._on("(el) => el.textContent");
  }
  getAttribute(name) {
    return this._on("(el, name) => el.getAttribute(name)", name);
  }
  evaluate(fn, arg) {
    return this._on(fn, arg);
  }
  focus() {
    return this._on("(el) => el.focus()");
  }
  async click() {
    await this.waitFor();
    await this.page._clickElement(this.chain, this.index);
  }
  fill(value) {
    return this._on(fillElement, value, { visible: true });
  }
  selectOption(value) {
    return this._on(selectElement, value, { visible: true });
  }
  check() {
    return this._on(`(el) => { const control = (${checkable})(el); if (!control.checked) control.click(); }`, undefined, { visible: true });
  }
}

// Firefox: puppeteer-core over WebDriver BiDi.

async function launchFirefox() {
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({ browser: "firefox", executablePath: FIREFOX, headless: true });
  return {
    async newContext({ viewport = DEFAULT_VIEWPORT } = {}) {
      const context = await browser.createBrowserContext();
      return {
        async newPage() {
          // A window each, not a tab: a tab behind another is hidden, and Firefox then throttles
          // its timers and stops its animation frames, where Playwright's Chromium pages all stay
          // visible. The suites' second tabs must keep running as a tab in front does.
          const page = await context.newPage({ type: "window" });
          await page.setViewport(viewport);
          return new FirefoxPage(page);
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

class FirefoxPage extends Page {
  constructor(page) {
    super();
    this.page = page;
    this.keyboard = page.keyboard;
  }
  goto(url) {
    return this.page.goto(url);
  }
  evaluate(fn, arg) {
    return this.page.evaluate(fn, arg);
  }
  waitForFunction(fn, arg, { timeout = TIMEOUT } = {}) {
    // Polled on a timer rather than on animation frames, which a hidden page does not get.
    return this.page.waitForFunction(fn, { timeout, polling: 50 }, arg);
  }
  on(event, handler) {
    this.page.on(event, handler);
  }
  screenshot(options) {
    return this.page.screenshot(options);
  }
  setViewportSize(size) {
    return this.page.setViewport(size);
  }
  /** Closes the page as a user closes a tab: its unload runs, its locks are released. */
  close() {
    return this.page.close();
  }
  _evaluateSource(expression) {
    return this.page.evaluate(expression);
  }
  async _clickElement(chain, index) {
    const handle = await this.page.evaluateHandle(`(${queryAll})(${JSON.stringify(chain)}, true)[${index}]`);
    try {
      const element = handle.asElement();
      if (!element) throw new Error(`locator(${chain.join(" >> ")}) went away before the click`);
      await element.click();
    } finally {
      await handle.dispose();
    }
  }
}

// WebKit: WebDriver over HTTP, one session (one MiniBrowser) per context.

/**
 * Results travel as a JSON string: WebKitWebDriver does not keep the order of an object's keys,
 * and JSON has no undefined, NaN, Infinity, -0 or dates, which are tagged in the page.
 */
const TAG = "__eventline_value";
function encodeInPage(value) {
  const TAG = "__eventline_value";
  const encode = (v) => {
    if (v === undefined || typeof v === "function" || typeof v === "symbol") return { [TAG]: "undefined" };
    if (typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0))) return { [TAG]: Object.is(v, -0) ? "-0" : String(v) };
    if (typeof v === "bigint") return { [TAG]: "bigint", value: String(v) };
    if (v instanceof Date) return { [TAG]: "date", value: v.getTime() };
    if (Array.isArray(v)) return v.map(encode);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.keys(v).map((k) => [k, encode(v[k])]));
    return v;
  };
  return encode(value);
}
function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v === null || typeof v !== "object") return v;
  if (TAG in v) {
    const tag = v[TAG];
    if (tag === "undefined") return undefined;
    if (tag === "bigint") return BigInt(v.value);
    if (tag === "date") return new Date(v.value);
    return Number(tag);
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
}

/**
 * Uncaught errors and unhandled rejections, collected in the page from when it is installed. An
 * event the page itself handled (preventDefault) is not one, as in Chromium: it is looked at once
 * every listener has run.
 */
const COLLECT_ERRORS = `if (!window.__eventlineErrors) {
  window.__eventlineErrors = [];
  const collect = (e, message) => queueMicrotask(() => e.defaultPrevented || window.__eventlineErrors.push(message));
  addEventListener("error", (e) => collect(e, e.message));
  addEventListener("unhandledrejection", (e) => collect(e, String(e.reason?.message ?? e.reason)));
}`;

/** WebDriver's key codes for the keys the suites press. */
const KEYS = { ArrowDown: "\uE015", ArrowUp: "\uE013", ArrowLeft: "\uE012", ArrowRight: "\uE014", Enter: "\uE007", Tab: "\uE004", Escape: "\uE00C" };

async function launchWebKit() {
  const contexts = new Set();
  return {
    async newContext({ viewport = DEFAULT_VIEWPORT } = {}) {
      const webkit = await startWebKit();
      let queue = Promise.resolve();
      let current = await webkit.command("GET", "/window");
      let fresh = current; // the session's first window, not yet handed out as a page
      const context = {
        /** Runs `work` alone in this session, with `handle`'s window current. */
        exclusive(handle, work) {
          const run = queue.then(async () => {
            if (handle !== current) await webkit.command("POST", "/window", { handle });
            current = handle;
            return work();
          });
          queue = run.catch(() => {});
          return run;
        },
        command: webkit.command,
        async newPage() {
          let handle = fresh;
          fresh = undefined;
          // A window, not a tab: a tab behind another is hidden and WebKit throttles its timers
          // to seconds, where Playwright's Chromium pages all stay visible.
          if (!handle) handle = (await webkit.command("POST", "/window/new", { type: "window" })).handle;
          const page = new WebKitPage(context, handle);
          await page.setViewportSize(viewport);
          return page;
        },
        async close() {
          contexts.delete(context);
          await queue;
          await webkit.close();
        },
      };
      contexts.add(context);
      return context;
    },
    async close() {
      for (const context of [...contexts]) await context.close();
    },
  };
}

class WebKitPage extends Page {
  constructor(context, handle) {
    super();
    Object.assign(this, { context, handle, errorHandlers: [] });
    this.keyboard = {
      press: (key) =>
        this._command(async (command) => {
          const value = KEYS[key] ?? key;
          await command("POST", "/actions", {
            actions: [{ type: "key", id: "keyboard", actions: [{ type: "keyDown", value }, { type: "keyUp", value }] }],
          });
        }),
    };
  }
  /** One command in this page's window, then the page's errors handed to its listeners. */
  async _command(work) {
    const result = await this.context.exclusive(this.handle, async () => {
      const value = await work(this.context.command);
      const errors = await this.context.command("POST", "/execute/sync", {
        script: "const e = window.__eventlineErrors ?? []; window.__eventlineErrors = e.length ? [] : window.__eventlineErrors; return e;",
        args: [],
      });
      return { value, errors };
    });
    for (const message of result.errors) for (const handler of this.errorHandlers) handler(new Error(message));
    return result.value;
  }
  /**
   * Evaluates `source` (an expression; `arguments[0]` is `arg`) and returns its value. Started
   * with one command and collected by polling rather than with WebDriver's execute/async, which
   * would hold the session, so that the pages of a context run at the same time, as tabs do.
   */
  async _script(source, arg) {
    const id = `${Date.now()}-${Math.random()}`;
    await this._command((command) =>
      command("POST", "/execute/sync", {
        script: `${COLLECT_ERRORS}
          const encode = ${encodeInPage};
          const calls = (window.__eventlineCalls ??= {});
          Promise.resolve().then(() => ${source}).then(
            (value) => (calls[arguments[1]] = { json: JSON.stringify(encode(value)) }),
            (error) => (calls[arguments[1]] = { error: String(error?.stack ?? error) }),
          );`,
        args: [arg ?? null, id],
      }),
    );
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      const result = await this._command((command) =>
        command("POST", "/execute/sync", {
          script: `const calls = window.__eventlineCalls;
            if (!calls) return { error: "the page navigated away during evaluate" };
            const result = calls[arguments[0]];
            delete calls[arguments[0]];
            return result ?? null;`,
          args: [id],
        }),
      );
      if (result?.error) throw new Error(`evaluate: ${result.error}`);
      if (result) return decode(JSON.parse(result.json));
      await sleep(wait);
    }
  }
  /** Closes this page's window, as a user closes a tab. */
  async close() {
    await this.context.exclusive(this.handle, () => this.context.command("DELETE", "/window"));
  }
  async goto(url) {
    await this._command(async (command) => {
      await command("POST", "/url", { url });
      await command("POST", "/execute/sync", { script: COLLECT_ERRORS, args: [] });
    });
  }
  evaluate(fn, arg) {
    return this._script(`(${fn})(arguments[0])`, arg);
  }
  async waitForFunction(fn, arg, { timeout = TIMEOUT } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await this.evaluate(fn, arg);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`waitForFunction timed out after ${timeout} ms: ${fn}`);
      await sleep(50);
    }
  }
  on(event, handler) {
    if (event !== "pageerror") throw new Error(`the WebKit page has no ${event} event`);
    this.errorHandlers.push(handler);
  }
  async screenshot({ path }) {
    const { writeFile } = await import("node:fs/promises");
    const png = await this._command((command) => command("GET", "/screenshot"));
    await writeFile(path, Buffer.from(png, "base64"));
  }
  setViewportSize({ width, height }) {
    return this._command((command) => command("POST", "/window/rect", { width, height }));
  }
  _evaluateSource(expression) {
    return this._script(expression);
  }
  _clickElement(chain, index) {
    return this._command(async (command) => {
      const element = await command("POST", "/execute/sync", {
        script: `return (${queryAll})(arguments[0], true)[arguments[1]];`,
        args: [chain, index],
      });
      await command("POST", `/element/${Object.values(element)[0]}/click`, {});
    });
  }
}
