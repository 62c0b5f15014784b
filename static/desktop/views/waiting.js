// @ts-check
/* X2 the queue panel's waiting list: every interaction waiting in my queues, oldest first, so an
 * agent of the queue can pick one (picking is an accept: the first accept wins, 409 otherwise).
 * It follows ``queue.stats``: each change of a queue's numbers reads the list again. */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { customerLabel, fmtTime } from "../format.js";
import { emit, notifyError, on, state, upsertInteraction } from "../store.js";

/** @type {ReturnType<typeof setTimeout> | null} */
let timer = null;

/** @param {any} i */
function item(i) {
  const queue = state.queues.get(i.queue);
  return h(
    "li",
    { class: "dk-waiting-item", "data-interaction-id": i.id },
    h("span", { class: "dk-waiting-who", text: customerLabel(i) }),
    h("span", { class: "dk-waiting-meta", text: `${queue ? queue.name : i.queue_name || ""} · since ${fmtTime(i.started_at)}` }),
    state.me.is_supervisor
      ? null
      : h("button", { type: "button", class: "btn btn-sm dk-pick", text: "Pick", onclick: () => pick(i) })
  );
}

/** @param {any} i */
async function pick(i) {
  try {
    const interaction = await api("POST", `interactions/${i.id}/accept/`);
    upsertInteraction(interaction);
    emit("activate", interaction.id);
  } catch (err) {
    notifyError(err);
  }
  refresh();
}

async function refresh() {
  const list = document.getElementById("queue-waiting");
  if (!list) return;
  try {
    const rows = listOf(await api("GET", "interactions/?status=waiting&ordering=started_at&page_size=30"));
    list.replaceChildren(...rows.map(item));
    list.hidden = !rows.length;
  } catch (err) {
    // The numbers above still say how many wait; the list comes back with the next change.
  }
}

function soon() {
  if (timer) clearTimeout(timer);
  timer = setTimeout(refresh, 300);
}

export function initWaiting() {
  if (!$("#queue-waiting")) return;
  on("queue", soon);
  on("connection", () => {
    if (state.connection === "open") soon();
  });
  refresh();
}
