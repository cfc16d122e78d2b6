// Contention: K pages of one origin, each with M concurrent writers, against one hot stream and
// across streams. Every stream version is written once, positions have no gaps, losers are told
// WrongExpectedVersion, money is conserved, and every read model equals a fold of the log from 0.
// EVENTLINE_LONG=1 runs ten times the commands.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LONG, harness, browserSuite } from "../support/pages.mjs";

const PAGES = 4;
const WRITERS = 4;
const PER_WRITER = LONG ? 250 : 25;
const ACCOUNTS = 8;
const FUNDS = 1_000_000;

const suite = browserSuite();

/** Runs in each page: M writers, each a loop of commands, outcomes recorded. */
async function write({ page: pageIndex, writers, perWriter, accounts }) {
  const app = window.app;
  const outcome = async (kind, command) => {
    try {
      const commit = await app.execute(command);
      return { kind, id: command.commandId, ok: true, events: commit.events.length };
    } catch (error) {
      return { kind, id: command.commandId, ok: false, code: error.code, details: error.details ?? null };
    }
  };
  const writer = async (w) => {
    const outcomes = [];
    for (let i = 0; i < perWriter; i++) {
      const commandId = `p${pageIndex}-w${w}-${i}`;
      switch ((w + i) % 3) {
        case 0: {
          // Decide on what was read: the command holds only if nobody wrote in between.
          const { version } = await app.stateAt("account-hot");
          outcomes.push(
            await outcome("expecting", { type: "Deposit", account: "hot", amount: 1, expectedVersion: version, commandId }),
          );
          break;
        }
        case 1:
          outcomes.push(await outcome("retrying", { type: "Deposit", account: "hot", amount: 1, commandId }));
          break;
        default: {
          const from = Math.floor(Math.random() * accounts);
          const to = (from + 1 + Math.floor(Math.random() * (accounts - 1))) % accounts;
          outcomes.push(await outcome("transfer", { type: "Transfer", from: `c${from}`, to: `c${to}`, amount: 1, commandId }));
        }
      }
    }
    return outcomes;
  };
  return (await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)))).flat();
}

test(`${PAGES} pages x ${WRITERS} writers: versions once, no gaps, losers told, read models equal a rebuild`, async () => {
  const context = await suite.browser.newContext();
  const pages = [];
  for (let i = 0; i < PAGES; i++) pages.push(await harness(context, suite.base));
  await pages[0].page.evaluate(
    async ({ accounts, funds }) => {
      const app = (window.app = await window.eventline.Eventline.open("contention"));
      await app.execute({ type: "OpenAccount", account: "hot" });
      for (let i = 0; i < accounts; i++) {
        await app.execute({ type: "OpenAccount", account: `c${i}` });
        await app.execute({ type: "Deposit", account: `c${i}`, amount: funds });
      }
    },
    { accounts: ACCOUNTS, funds: FUNDS },
  );
  for (const { page } of pages.slice(1)) {
    await page.evaluate(async () => (window.app = await window.eventline.Eventline.open("contention")));
  }
  const setupHead = 1 + 2 * ACCOUNTS;

  const outcomes = (
    await Promise.all(
      pages.map(({ page }, i) =>
        page.evaluate(write, { page: i, writers: WRITERS, perWriter: PER_WRITER, accounts: ACCOUNTS }),
      ),
    )
  ).flat();
  assert.equal(outcomes.length, PAGES * WRITERS * PER_WRITER);

  const checked = await pages[0].page.evaluate(async () => {
    const app = window.app;
    const head = await app.head();
    const events = [];
    while (events.length < head) events.push(...(await app.events({ from: events.length + 1, limit: 10_000 })));
    await app.waitFor(head, { timeoutMs: 60_000 });
    const names = window.eventline.readModels;
    const live = {};
    for (const name of names) live[name] = await app.query(name);
    const folded = {};
    for (const name of names) folded[name] = (await app.queryAt(name, undefined, { position: live[name].position })).data;
    for (const name of names) await app.rebuild(name);
    // Each rebuild is built beside its read model and swapped in once caught up.
    for (let i = 0; i < 3000 && (await app.projections()).some((p) => p.status === "rebuilding"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await app.waitFor(head, { timeoutMs: 60_000 });
    const rebuilt = {};
    for (const name of names) rebuilt[name] = (await app.query(name)).data;
    const hot = (await app.query("balances", { account: "hot" })).data.balance;
    const accounts = (await app.query("balances")).data.accounts;
    return { head, events, live, folded, rebuilt, hot, accounts };
  });
  // A follower tab answers from what the leader persisted: the same.
  const follower = await pages[PAGES - 1].page.evaluate(async (head) => {
    const app = window.app;
    await app.waitFor(head, { timeoutMs: 60_000 });
    const answers = {};
    for (const name of window.eventline.readModels) answers[name] = (await app.query(name)).data;
    return { answers, leads: app.isLeader };
  }, checked.head);

  // Positions 1..head, each once; every stream's versions 1..n, each once.
  assert.deepEqual(
    checked.events.map((e) => e.position),
    Array.from({ length: checked.head }, (_, i) => i + 1),
  );
  const versions = new Map();
  for (const e of checked.events) {
    const seen = versions.get(e.stream) ?? [];
    seen.push(e.version);
    versions.set(e.stream, seen);
  }
  for (const [stream, seen] of versions) {
    assert.deepEqual(seen, Array.from({ length: seen.length }, (_, i) => i + 1), `${stream} versions`);
  }

  // Winners are in the log with their events, losers are not, and lost only to concurrency.
  const byCommand = new Map();
  for (const e of checked.events) byCommand.set(e.commandId, (byCommand.get(e.commandId) ?? 0) + 1);
  const won = outcomes.filter((o) => o.ok);
  const lost = outcomes.filter((o) => !o.ok);
  for (const o of won) assert.equal(byCommand.get(o.id), o.events, `${o.id} committed whole`);
  for (const o of lost) {
    assert.equal(o.code, "WrongExpectedVersion", `${o.id}: ${o.code}`);
    assert.equal(byCommand.get(o.id), undefined, `${o.id} lost and appended nothing`);
    assert.ok(o.details?.actual > (o.details?.expected?.version ?? 0), JSON.stringify(o.details));
  }
  assert.equal(checked.head, setupHead + won.reduce((n, o) => n + o.events, 0));
  const expecting = outcomes.filter((o) => o.kind === "expecting");
  assert.ok(
    expecting.some((o) => !o.ok),
    "writers that decided on what they read did collide (else this test proves nothing)",
  );

  // Money: every accepted hot deposit counted once; transfers move money, never make it.
  const hotDeposits = won.filter((o) => o.kind !== "transfer").length;
  assert.equal(checked.hot, hotDeposits);
  const held = checked.accounts.filter((a) => a.account.startsWith("c")).reduce((n, a) => n + a.balance, 0);
  assert.equal(held, ACCOUNTS * FUNDS);

  // Read models: live, a fold of the log from 0, a rebuild, and a follower's all agree.
  for (const name of Object.keys(checked.live)) {
    assert.equal(checked.live[name].position, checked.head, `${name} reached the head`);
    assert.deepEqual(checked.live[name].data, checked.folded[name], `${name} equals a fold from 0`);
    assert.deepEqual(checked.rebuilt[name], checked.folded[name], `${name} equals its rebuild`);
    assert.deepEqual(follower.answers[name], checked.folded[name], `${name} as a follower reads it`);
  }
  assert.equal(follower.leads, false);

  const summary = {
    commands: outcomes.length,
    accepted: won.length,
    wrongExpectedVersion: lost.length,
    lostWhileExpecting: expecting.filter((o) => !o.ok).length,
    events: checked.head,
  };
  if (process.env.EVENTLINE_VERBOSE) console.log(JSON.stringify(summary));
  for (const { problems } of pages) assert.deepEqual(problems, []);
  await context.close();
});
