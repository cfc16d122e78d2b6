// Pages with the built npm package (pkg/) imported, as a user's page would, for the suites that
// drive it from Node.
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { launch } from "./browsers.mjs";
import { serve } from "./server.mjs";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Serves the repository on localhost; `base` is the origin pages are opened at. */
export async function serveRepository() {
  const server = await serve(ROOT);
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

/**
 * The repository served and the browser launched (EVENTLINE_BROWSER) for the tests of one file: `suite.base` and
 * `suite.browser` are set once its `before` hook ran, and both are closed after the last test.
 */
export function browserSuite() {
  const suite = {};
  before(async () => {
    ({ server: suite.server, base: suite.base } = await serveRepository());
    suite.browser = await launch();
  });
  after(async () => {
    await suite.browser?.close();
    suite.server?.close();
  });
  return suite;
}

/**
 * A new page of `context` on the package harness, `window.eventline` ready: the demo's package,
 * or `pkg` (a directory of the repository, such as "pkg-inventory").
 */
export async function harness(context, base, { beforeLoad, pkg } = {}) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(process.env.EVENTLINE_VERBOSE ? error.stack : error.message));
  if (beforeLoad) await beforeLoad(page);
  await page.goto(`${base}/tests/npm/harness.html${pkg ? `?pkg=${pkg}` : ""}`);
  await page.waitForFunction(() => document.title === "ready");
  return { page, problems };
}

/** Whether the long variants run (`EVENTLINE_LONG=1`). */
export const LONG = process.env.EVENTLINE_LONG === "1";
