// @ts-check
/* Closing a conversation (D5), with an optional disposition, after a confirmation. */

import { api } from "../api.js";
import { $, $$, h } from "../dom.js";
import { customerLabel } from "../format.js";
import { notify, notifyError, removeInteraction, state } from "../store.js";

const button = $("#close-button");
const dialog = /** @type {HTMLDialogElement} */ ($("#close-dialog"));
const disposition = /** @type {HTMLSelectElement} */ ($("#close-disposition"));
const dispose = /** @type {HTMLButtonElement} */ ($("#close-dispose"));

function openDialog() {
  const i = state.active === null ? undefined : state.interactions.get(state.active);
  if (!i) return;
  const queue = state.queues.get(i.queue);
  const dispositions = (queue && queue.dispositions) || [];
  disposition.replaceChildren(h("option", { value: "", text: "No disposition" }), ...dispositions.map((d) => h("option", { value: d.id, text: d.name })));
  $("#close-sub").textContent = `${customerLabel(i)} can write again later: that starts a new conversation.`;
  dispose.disabled = true;
  dialog.dataset.interactionId = String(i.id);
  dialog.showModal();
  disposition.focus();
}

/** @param {boolean} withDisposition */
async function closeInteraction(withDisposition) {
  const id = +(dialog.dataset.interactionId || 0);
  const dispositionId = disposition.value ? +disposition.value : null;
  if (withDisposition && !dispositionId) {
    notify("Pick a disposition first.", { kind: "error" });
    return;
  }
  // Read before the request: its interaction.closed event may remove the conversation first.
  const name = customerLabel(state.interactions.get(id));
  const label = dispositionId ? disposition.selectedOptions[0].textContent : "";
  const buttons = /** @type {HTMLButtonElement[]} */ ($$("button", dialog));
  buttons.forEach((b) => (b.disabled = true));
  try {
    await api("POST", `interactions/${id}/close/`, { disposition: dispositionId });
    dialog.close();
    removeInteraction(id);
    notify(`Conversation with ${name} closed${label ? ` · ${label}` : ""}.`);
  } catch (/** @type {any} */ err) {
    if (err.code === "interaction_closed") {
      dialog.close();
      removeInteraction(id);
    }
    notifyError(err);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    dispose.disabled = !disposition.value;
  }
}

export function initClose() {
  button.addEventListener("click", openDialog);
  disposition.addEventListener("change", () => {
    dispose.disabled = !disposition.value;
  });
  $("#close-cancel").addEventListener("click", () => dialog.close());
  $("#close-confirm").addEventListener("click", () => closeInteraction(false));
  dispose.addEventListener("click", () => closeInteraction(true));
}
