// The inventory's package, typed from its generated declarations: `tsc -p tests/npm` must pass
// with --strict. The lines marked @ts-expect-error must fail to type-check, which proves the
// generated types are precise.
import {
  Eventline,
  isEventlineError,
  readModels,
  schema,
  type InventoryCommand,
  type InventoryEvent,
  type Notice,
  type OpenReservation,
  type StockLevel,
} from "eventline-inventory";

export async function warehouse(): Promise<void> {
  const app: Eventline = await Eventline.open("typed-inventory");
  await app.execute({ type: "RegisterItem", sku: "bolt", name: "Bolt M6", commandId: "r-1" });
  await app.execute({ type: "ReceiveStock", sku: "bolt", quantity: 10 });
  const placed = await app.execute({
    type: "PlaceReservation",
    reservation: "r-1",
    sku: "bolt",
    quantity: 3,
    customer: "ada",
    name: "Ada",
    email: "ada@example.com",
  });
  const first: InventoryEvent | undefined = placed.events[0];
  if (first?.type === "ReservationPlaced") {
    const quantity: number = first.data.quantity;
    const contact = first.data.contact;
    const name: string = "value" in contact ? contact.value.name : contact.redacted;
    console.log(quantity, name);
  }
  if (first?.type === "StockReceived" && first.schemaVersion === 2) {
    const location: string = first.data.location;
    console.log(location);
  }
  await app.waitFor(placed.position, { readModel: "stockLevels" });
  const levels: StockLevel[] = (await app.query("stockLevels")).data;
  const level: StockLevel | null = (await app.query("stockLevels", { sku: "bolt" })).data;
  const open: OpenReservation[] = (await app.query("openReservations", { customer: "ada" })).data;
  const past = await app.queryAt("stockLevels", { sku: "bolt" }, { position: placed.position });
  const item = await app.stateAt("item-bolt");
  const onHand: number = item.state.onHand;
  const reservation = await app.stateAt("reservation-r-1", { position: 1 });
  const status: "none" | "placed" | "confirmed" | "shipped" | "cancelled" = reservation.state.status;
  const subject = await app.stateAt("subject-ada");
  const forgotten: boolean = subject.state.status === "forgotten";
  try {
    await app.execute({ type: "AssembleKit", kit: "kit", component: "bolt", quantity: 50 });
  } catch (error) {
    if (isEventlineError(error) && error.code === "InsufficientStock") {
      const available: number | undefined = error.details?.available;
      console.log(available);
    }
  }
  const unsubscribe = app.subscribe((notice: Notice) => console.log(notice.kind));
  unsubscribe();
  const command: InventoryCommand = { type: "ShipReservation", reservation: "r-1" };
  await app.execute(command);
  await app.forget("ada");
  console.log(levels, level, open, past.data, onHand, status, forgotten, readModels, schema.commandTypes);

  // @ts-expect-error: the demo's commands are not this domain's
  await app.execute({ type: "Deposit", account: "a", amount: 1 });
  // @ts-expect-error: a field the command does not take
  await app.execute({ type: "RegisterItem", sku: "x", name: "X", colour: "red" });
  // @ts-expect-error: no such read model
  await app.query("balances");
  // @ts-expect-error: a read model's arguments are its own
  await app.query("stockLevels", { customer: "ada" });
  // @ts-expect-error: no aggregate keeps account- streams here
  await app.stateAt("account-a");
}
