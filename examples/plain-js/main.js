// The example of the README: Eventline used from a page as a plain ES module.
import { Eventline, isEventlineError } from "../../pkg/eventline.js";

const app = await Eventline.open("plain-js-example");
const result = document.getElementById("result");

async function showBalances() {
  const { data, position, lag } = await app.query("balances");
  document.getElementById("balances").replaceChildren(
    ...data.accounts.map((a) => {
      const row = document.createElement("tr");
      row.innerHTML = `<td></td><td></td>`;
      row.children[0].textContent = a.account;
      row.children[1].textContent = `${(a.balance / 100).toFixed(2)} ${a.currency}`;
      return row;
    }),
  );
  document.getElementById("position").textContent =
    lag.events === 0 ? `Up to date at #${position}` : `Behind by ${lag.events} events`;
}

document.getElementById("command").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const type = form.get("type");
  const command = { type, account: form.get("account") };
  if (type !== "OpenAccount") command.amount = Number(form.get("amount"));
  result.className = "";
  result.textContent = "Pending…";
  try {
    const commit = await app.execute(command);
    await app.waitFor(commit.position, { readModel: "balances" });
    result.textContent = `Accepted at #${commit.position}: ${commit.events.map((e) => e.type).join(", ")}`;
  } catch (error) {
    result.className = "error";
    result.textContent = isEventlineError(error) ? `${error.code}: ${error.message}` : String(error);
  }
  await showBalances();
});

app.subscribe((notice) => {
  if (notice.kind === "committed" && !notice.local) showBalances();
});
await showBalances();
document.body.dataset.ready = "true";
