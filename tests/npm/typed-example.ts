// Every method of the package, typed: `tsc -p tests/npm` must pass with --strict. The lines
// marked @ts-expect-error must fail to type-check, which proves the types are precise.
import {
  Eventline,
  EventlineError,
  isEventlineError,
  readModels,
  type Command,
  type Commit,
  type Notice,
  type OrderCard,
  type Personal,
  type ProjectionStatus,
  type RecordedEvent,
} from "eventline";

export async function tour(): Promise<void> {
  const app: Eventline = await Eventline.open("typed-example");
  const name: string = app.database;
  const leads: boolean = app.isLeader;

  const open: Command = { type: "OpenAccount", account: "acc-1", currency: "EUR" };
  await app.execute(open);
  const commit: Commit = await app.execute({ type: "Deposit", account: "acc-1", amount: 1000, commandId: "d-1" });
  for (const event of commit.events) {
    if (event.type === "MoneyDeposited") {
      const amount: number = event.data.amount;
      console.log(amount);
    }
    if (event.type === "AccountOpened" && event.schemaVersion === 2) {
      const currency: string = event.data.currency;
      console.log(currency);
    }
  }
  await app.execute({ type: "Withdraw", account: "acc-1", amount: 1, expectedVersion: commit.events[0].version });
  await app.execute({ type: "OpenAccount", account: "acc-3", expectedVersion: "noStream" });
  await app.execute({
    type: "OpenAccount",
    account: "acc-4",
    holder: { customer: "c-1", name: "Ada Lovelace", email: "ada@example.org" },
  });
  await app.execute({ type: "CreateOrder", order: "o-2", customer: "c-1", shippingAddress: "12 Marylebone Street" });
  const holderSummary = (await app.query("accountSummaries", { account: "acc-4" })).data;
  const holder = holderSummary?.holder;
  if (holder && "value" in holder) console.log(holder.value.name, holder.value.email);
  if (holder && "redacted" in holder) console.log(holder.$personal, holder.redacted);
  const forgotten: Commit = await app.forget("c-1");
  const subject = await app.stateAt("subject-c-1");
  const subjectStatus: "known" | "forgotten" | "unknown" = subject.state.status;
  console.log(forgotten.position, subjectStatus);
  await app.execute({ type: "Transfer", from: "acc-1", to: "acc-2", amount: 5, mode: "saga", transferId: "t-1" });
  await app.execute({ type: "AddItem", order: "o-1", sku: "book", quantity: 2, unitPrice: 1250 });
  const head: number = await app.head();

  const one = await app.query("balances", { account: "acc-1" });
  const balance: number | undefined = one.data?.balance;
  const all = await app.query("balances");
  const total: number = all.data.total + all.lag.events + all.lag.ms + all.position;
  const summaries = await app.query("accountSummaries");
  const summary = await app.query("accountSummaries", { account: "acc-1" });
  const top = await app.query("topAccounts", { limit: 3 });
  const board = await app.query("orderBoard");
  const toShip = await app.query("orderBoard", { pendingFulfilment: true });
  const paid = await app.query("orderBoard", { status: "paid" });
  const card = await app.query("orderBoard", { order: "o-1" });
  const customers = await app.query("customerOrders");
  const history = await app.query("customerOrders", { customer: "alice" });
  const transfer = await app.query("transfers", { transferId: "t-1" });
  const running = await app.query("transfers", { inProgress: true });
  const audit = await app.query("auditLog", { limit: 10 });
  console.log(
    balance, total, summaries.data.length, summary.data?.transactionCount, top.data[0]?.balance,
    board.data.counts.paid, toShip.data.length, paid.data.length, card.data?.status,
    customers.data.length, history.data?.orders.length, transfer.data?.steps.length,
    running.data.length, audit.data.entries[0]?.eventType,
  );

  const past = await app.queryAt("balances", { account: "acc-1" }, { position: head - 1 });
  const byTime = await app.queryAt("auditLog", undefined, { time: new Date() });
  const paidThen: OrderCard[] = (await app.queryAt("orderBoard", { status: "paid" }, { position: head })).data;
  const customersThen: string[] = (await app.queryAt("customerOrders", undefined, { position: head })).data;
  console.log(paidThen.length, customersThen.length);
  const account = await app.stateAt("account-acc-1", { position: 1 });
  const status: "unopened" | "open" | "closed" = account.state.status;
  const order = await app.stateAt("order-o-1", { time: Date.now() });
  const lines: number = order.state.lines.length;
  const saga = await app.stateAt("transfer-t-1");
  console.log(past.data?.balance, byTime.data.total, status, lines, saga.state.request?.amount);

  const events: RecordedEvent[] = await app.events({ from: 1, limit: 50, type: "MoneyDeposited" });
  await app.events({ stream: "account-acc-1", correlationId: "d-1" });
  const reached: { position: number } = await app.waitFor(commit.position, { readModel: "balances", timeoutMs: 5000 });
  await app.waitFor(commit.position, "orderBoard");

  const statuses: ProjectionStatus[] = await app.projections();
  await app.pause("balances");
  await app.resume("balances");
  await app.setDelay("auditLog", 250);
  await app.rebuild("topAccounts");
  const transfers = (await app.query("transfers")).data;
  const t1 = (await app.query("transfers", { transferId: "t-1" })).data;
  const letters = await app.deadLetters();
  const log: string = await app.exportLog({ onProgress: (done, total) => console.log(done / total) });
  const report = await app.importLog(log, { onProgress: (done) => console.log(done) });
  const unsubscribe: () => void = app.subscribe((notice: Notice) => {
    if (notice.kind === "projections") console.log(notice.projections.map((p) => p.lag.events));
    if (notice.kind === "committed") console.log(notice.position, notice.local);
    if (notice.kind === "forgotten") console.log(`redraw what showed ${notice.subject}`);
  });
  unsubscribe();
  await app.startSync({ url: "ws://127.0.0.1:4280", log: "demo", user: "demo", password: "demo-dev" });
  const sync = await app.syncStatus();
  const waiting: number = (await app.pendingCommits()).length + sync.pending;
  const refused = (await app.rejectedCommands()).map((r) => `${r.commandId}: ${r.code}`);
  const unread: number = (await app.syncDeadLetters()).length;
  await app.stopSync();
  console.log(sync.state, sync.confirmed, waiting, refused, unread);
  await app.reset();
  console.log(name, leads, events.length, reached.position, statuses.length, transfers.length, t1?.status, letters.length, report.head, readModels);

  try {
    await app.execute({ type: "Withdraw", account: "acc-1", amount: 1_000_000 });
  } catch (error) {
    if (isEventlineError(error) && error.code === "InsufficientFunds") {
      const missing: number | undefined = error.details && error.details.requested - error.details.balance;
      console.log(missing);
    }
    if (isEventlineError(error) && error.code === "WrongExpectedVersion" && error.details?.expected.kind === "exact") {
      console.log(error.details.stream, error.details.expected.version, error.details.actual);
    }
    if (isEventlineError(error) && error.code === "DuplicateCommand") {
      const first: number | undefined = error.details?.firstPosition;
      console.log(`command ${error.details?.commandId} already committed at ${first}`);
    }
    if (error instanceof EventlineError) console.log(error.message);
  }
  app.close();
}

export async function mistakesTheTypesCatch(app: Eventline): Promise<void> {
  // @ts-expect-error a deposit needs an amount
  await app.execute({ type: "Deposit", account: "acc-1" });
  // @ts-expect-error amounts are numbers, not strings
  await app.execute({ type: "Deposit", account: "acc-1", amount: "100" });
  // @ts-expect-error there is no such command
  await app.execute({ type: "Mint", account: "acc-1", amount: 100 });
  // @ts-expect-error the saga's own steps cannot be sent
  await app.execute({ type: "DebitForTransfer", account: "acc-1", amount: 1 });
  // @ts-expect-error expected versions are numbers or KurrentDB's three names
  await app.execute({ type: "Deposit", account: "acc-1", amount: 1, expectedVersion: "exact" });
  // @ts-expect-error a holder names the customer they are
  await app.execute({ type: "OpenAccount", account: "a", holder: { name: "Ada", email: "ada@example.org" } });
  // @ts-expect-error a redaction is forgotten or unavailable
  const wrong: Personal<string> = { $personal: "c-1", redacted: "erased" };
  console.log(wrong);
  // @ts-expect-error transfer modes are atomic or saga
  await app.execute({ type: "Transfer", from: "a", to: "b", amount: 1, mode: "teleport" });
  // @ts-expect-error no such read model
  await app.query("accountz");
  // @ts-expect-error balances are asked by account
  await app.query("balances", { customer: "alice" });
  // @ts-expect-error streams are account-, order- or transfer-
  await app.stateAt("customer-1");
  // @ts-expect-error a point is a position or a time
  await app.queryAt("balances", undefined, { when: 3 });
  // @ts-expect-error no such read model to wait for
  await app.waitFor(1, "accountz");
  try {
    await app.execute({ type: "Withdraw", account: "acc-1", amount: 1 });
  } catch (error) {
    if (isEventlineError(error) && error.code === "AccountClosed") {
      // @ts-expect-error an AccountClosed says which account, not a balance
      console.log(error.details?.balance);
    }
  }
}
