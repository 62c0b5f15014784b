// @ts-check
/* The header and the dashboard: connection indicator, presence, queue numbers, the page title. */

import { api } from "../api.js";
import { $ } from "../dom.js";
import { notifyError, on, setPresence, state, unreadShown } from "../store.js";

const connection = $("#connection");
const presence = /** @type {HTMLSelectElement} */ ($("#presence"));

function renderConnection() {
  const value = state.connection;
  connection.dataset.state = value;
  const label = { open: "Live", connecting: "Connecting…", closed: "Offline — reconnecting" }[value] || value;
  $(".label", connection).textContent = label;
  connection.title = value === "open" ? "Connected: updates arrive live" : "Not connected: retrying";
}

function renderPresence() {
  const value = state.me.presence;
  presence.value = value;
  document.body.dataset.presence = value;
  $(".dk-presence").dataset.presence = value;
  $("#tabs-empty").textContent =
    value === "online" ? "No open conversations. New offers appear above." : "No open conversations. Go online to receive offers.";
}

/** @param {{queueId: number, stats: {waiting?: number, offered?: number, open?: number}}} change */
function renderQueue({ queueId, stats }) {
  const row = document.querySelector(`.queue-stat[data-queue-id="${queueId}"]`);
  if (!(row instanceof HTMLElement)) return;
  if (stats.waiting !== undefined) {
    $(".waiting", row).textContent = String(stats.waiting);
    row.classList.toggle("has-waiting", stats.waiting > 0);
  }
  const parts = [];
  if (stats.waiting !== undefined) parts.push(`${stats.waiting} waiting`);
  if (stats.offered !== undefined) parts.push(`${stats.offered} offered`);
  if (stats.open !== undefined) parts.push(`${stats.open} open`);
  if (parts.length) row.title = parts.join(" · ");
}

function renderTitle() {
  let unread = 0;
  for (const i of state.interactions.values()) unread += unreadShown(i);
  const total = unread + state.offers.size + state.transfersIn.size;
  document.title = `${total ? `(${total}) ` : ""}Desktop · Instant`;
}

export function initDashboard() {
  on("connection", renderConnection);
  on("presence", renderPresence);
  on("queue", renderQueue);
  on("tabs", renderTitle);
  on("incoming", renderTitle);

  presence.addEventListener("change", async () => {
    const wanted = /** @type {import("../types.js").Me["presence"]} */ (presence.value);
    const previous = state.me.presence;
    presence.disabled = true;
    try {
      const user = await api("POST", "presence/", { presence: wanted });
      setPresence((user && user.presence) || wanted);
    } catch (/** @type {any} */ err) {
      setPresence(previous);
      notifyError(err);
    } finally {
      presence.disabled = false;
    }
  });

  renderPresence();
  for (const q of state.queues.values()) renderQueue({ queueId: q.id, stats: q });
}
