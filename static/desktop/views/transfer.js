// @ts-check
/* Transfers (D6): the dialog to request one, and the banner of my pending one with its Cancel. */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { allowedTransferTypes, clearTransferOut, notify, notifyError, on, setTransferOut, state } from "../store.js";
import { loadTransfers } from "../sync.js";
import { tick } from "./countdowns.js";

const button = /** @type {HTMLButtonElement} */ ($("#transfer-button"));
const dialog = /** @type {HTMLDialogElement} */ ($("#transfer-dialog"));
const type = /** @type {HTMLSelectElement} */ ($("#transfer-type"));
const agent = /** @type {HTMLSelectElement} */ ($("#transfer-agent"));
const queue = /** @type {HTMLSelectElement} */ ($("#transfer-queue"));
const confirm = /** @type {HTMLButtonElement} */ ($("#transfer-confirm"));
const pending = $("#transfer-pending");
const cancel = $("#transfer-cancel");

function renderTransferPending() {
  const t = state.active === null ? undefined : state.transfersOut.get(state.active);
  pending.hidden = !t;
  button.disabled = !!t;
  if (!t) return;
  $("#transfer-pending-target").textContent = t.to_agent ? t.to_agent_name || "an agent" : `queue ${t.to_queue_name || ""}`;
  const countdown = $("#transfer-pending-countdown");
  countdown.dataset.expiresAt = t.expires_at;
  countdown.classList.add("countdown");
  cancel.dataset.transferId = String(t.id);
  tick();
}

function syncTransferType() {
  $("#transfer-agent-field").hidden = type.value !== "agent";
  $("#transfer-queue-field").hidden = type.value !== "queue";
  confirm.disabled = !(type.value === "agent" ? agent : queue).value;
}

async function openDialog() {
  const i = state.active === null ? undefined : state.interactions.get(state.active);
  if (!i) return;
  const types = allowedTransferTypes();
  if (!types.length) {
    notify("Transfers are disabled by the administrator.", { kind: "error" });
    return;
  }
  for (const option of type.options) option.hidden = option.disabled = !(/** @type {string[]} */ (types).includes(option.value));
  type.value = types[0];
  $("#transfer-type-field").hidden = types.length < 2;
  agent.replaceChildren(h("option", { value: "", text: "Loading…" }));
  queue.replaceChildren(h("option", { value: "", text: "Loading…" }));
  dialog.dataset.interactionId = String(i.id);
  syncTransferType();
  dialog.showModal();
  /** @param {any} e */
  const failed = (e) => (notifyError(e), null);
  const [agents, queues] = await Promise.all([
    types.includes("agent") ? api("GET", "users/?presence=online&role=agent&page_size=200").catch(failed) : null,
    types.includes("queue") ? api("GET", "queues/?page_size=200").catch(failed) : null,
  ]);
  const agentList = listOf(agents).filter((u) => u.id !== state.me.id);
  agent.replaceChildren(
    ...(agentList.length
      ? agentList.map((u) => h("option", { value: u.id, text: u.display_name || [u.first_name, u.last_name].filter(Boolean).join(" ") || u.username }))
      : [h("option", { value: "", text: "No other agent is online" })])
  );
  const queueList = listOf(queues).length ? listOf(queues) : Array.from(state.queues.values());
  queue.replaceChildren(
    ...(queueList.length
      ? queueList.map((q) => h("option", { value: q.id, text: q.name + (q.id === i.queue ? " (current)" : "") }))
      : [h("option", { value: "", text: "No queue" })])
  );
  syncTransferType();
  (type.value === "agent" ? agent : queue).focus();
}

async function requestTransfer() {
  const id = +(dialog.dataset.interactionId || 0);
  const toAgent = type.value === "agent";
  const target = toAgent ? agent.value : queue.value;
  if (!target) return;
  confirm.disabled = true;
  try {
    const transfer = await api("POST", `interactions/${id}/transfer/`, toAgent ? { to_agent: +target } : { to_queue: +target });
    dialog.close();
    if (transfer && transfer.id) setTransferOut(transfer);
    const label = toAgent ? agent.selectedOptions[0].textContent : `queue ${queue.selectedOptions[0].textContent}`;
    notify(`Transfer to ${label} requested.`);
  } catch (/** @type {any} */ err) {
    notifyError(err);
  } finally {
    confirm.disabled = false;
  }
}

async function cancelTransfer() {
  const transferId = cancel.dataset.transferId;
  if (!transferId) return;
  try {
    const t = await api("POST", `transfers/${transferId}/cancel/`);
    if (t && t.id) setTransferOut(t);
    else if (state.active !== null) clearTransferOut(state.active);
    notify("Transfer cancelled.");
  } catch (/** @type {any} */ err) {
    notifyError(err);
    loadTransfers(state.catchUps);
  }
}

export function initTransfer() {
  on("transfer", renderTransferPending);
  type.addEventListener("change", syncTransferType);
  agent.addEventListener("change", syncTransferType);
  queue.addEventListener("change", syncTransferType);
  button.addEventListener("click", openDialog);
  $("#transfer-dismiss").addEventListener("click", () => dialog.close());
  confirm.addEventListener("click", requestTransfer);
  cancel.addEventListener("click", cancelTransfer);
}
