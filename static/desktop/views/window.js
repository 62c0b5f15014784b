// @ts-check
/* The 24-hour window (D7): once it closes, free text is off and the recontact template is offered.
 * The agent first sees the template as the customer will read it, filled from the contact by the
 * admin's mapping (the server renders it: templates/{id}/render/ with the interaction), then confirms. */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { applyMessage, notify, notifyError, on, setRecontactSent, setWindowClosed, state } from "../store.js";
import { setEnabled } from "./composer.js";
import { showTemplatePreview } from "./template_preview.js";

const banner = $("#window-closed");
const bannerText = $("#window-closed-text");
const recontact = /** @type {HTMLButtonElement} */ ($("#recontact-button"));

/** @type {HTMLDialogElement} */
let dialog;
/** the interaction the open dialog is about (the agent may switch tabs behind it) */
let previewing = /** @type {number | null} */ (null);

/** @param {string} id */
function el(id) {
  return /** @type {any} */ (dialog.querySelector("#" + id));
}

function renderWindow() {
  const closed = state.active === null ? undefined : state.windowClosed.get(state.active);
  banner.hidden = !closed;
  recontact.hidden = !closed || closed.recontact_available === false;
  if (closed && closed.recontact_available === false) {
    bannerText.textContent = "The 24-hour window has closed and this account has no recontact template: wait for the customer to write again.";
  } else if (closed) {
    bannerText.textContent = closed.recontactSent
      ? "Recontact template sent. Free text opens again as soon as the customer replies."
      : "The 24-hour window has closed: free text is no longer allowed. Send the recontact template to invite the customer back.";
  }
  setEnabled(!closed);
}

/** @param {number} id */
function noTemplate(id) {
  setWindowClosed(id, { recontact_available: false });
  dialog.close();
  notify("This account has no approved recontact template.", { kind: "error" });
}

async function openPreview() {
  const id = state.active;
  const interaction = id === null ? undefined : state.interactions.get(id);
  if (id === null || !interaction) return;
  previewing = id;
  const send = el("recontact-send");
  send.disabled = true;
  el("recontact-error").textContent = "";
  el("recontact-preview").textContent = "Preparing the preview…";
  dialog.showModal();
  let template;
  try {
    const query = new URLSearchParams({ account: String(interaction.account), recontact: "true", status: "approved" });
    template = listOf(await api("GET", `templates/?${query}`))[0];
  } catch (/** @type {any} */ err) {
    el("recontact-preview").textContent = err.detail;
    return;
  }
  if (previewing !== id) return;
  if (!template) return noTemplate(id);
  const rendered = await showTemplatePreview(el("recontact-preview"), template.id, { interaction: id },
    { idPrefix: "recontact", isCurrent: () => previewing === id });
  if (!rendered) return;
  if (rendered.missing && rendered.missing.length) {
    el("recontact-error").textContent = "The contact lacks a field this template needs "
      + `(${rendered.missing.map((n) => `{{${n}}}`).join(", ")}): fill in the contact first.`;
    return;
  }
  send.disabled = false;
}

async function sendRecontact() {
  const id = previewing;
  if (id === null) return;
  const send = el("recontact-send");
  send.disabled = true;
  recontact.disabled = true;
  try {
    const message = await api("POST", `interactions/${id}/recontact/`);
    if (message && message.id) applyMessage(id, message, { fromSelf: true });
    setRecontactSent(id);
    dialog.close();
    notify("Recontact template sent.");
  } catch (/** @type {any} */ err) {
    if (err.code === "no_recontact_template") return noTemplate(id);
    el("recontact-error").textContent = err.detail;
    notifyError(err);
    send.disabled = false;
  } finally {
    recontact.disabled = false;
  }
}

export function initWindow() {
  dialog = /** @type {HTMLDialogElement} */ (h("dialog", { id: "recontact-dialog", class: "dk-dialog nc-dialog", "aria-labelledby": "recontact-title" },
    h("h2", { id: "recontact-title", text: "Send the recontact template" }),
    h("p", { class: "dk-dialog-sub", text: "The customer will read this message, filled from the contact's details:" }),
    h("div", { id: "recontact-preview", class: "nc-preview", "aria-live": "polite" }),
    h("p", { class: "nc-error", id: "recontact-error", role: "alert" }),
    h("div", { class: "dk-dialog-buttons" },
      h("button", { type: "button", class: "btn btn-light", id: "recontact-cancel", text: "Cancel", onclick: () => dialog.close() }),
      h("button", { type: "button", class: "btn btn-primary", id: "recontact-send", text: "Send", onclick: sendRecontact }))));
  dialog.addEventListener("close", () => { previewing = null; });
  document.body.appendChild(dialog);
  on("window", renderWindow);
  recontact.addEventListener("click", openPreview);
}
