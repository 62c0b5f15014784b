// @ts-check
/* The 24-hour window (D7): once it closes, free text is off and the recontact template is offered. */

import { api } from "../api.js";
import { $ } from "../dom.js";
import { applyMessage, notify, notifyError, on, setRecontactSent, setWindowClosed, state } from "../store.js";
import { setEnabled } from "./composer.js";

const banner = $("#window-closed");
const bannerText = $("#window-closed-text");
const recontact = /** @type {HTMLButtonElement} */ ($("#recontact-button"));

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

async function sendRecontact() {
  const id = state.active;
  if (id === null) return;
  recontact.disabled = true;
  try {
    const message = await api("POST", `interactions/${id}/recontact/`);
    if (message && message.id) applyMessage(id, message, { fromSelf: true });
    setRecontactSent(id);
    notify("Recontact template sent.");
  } catch (/** @type {any} */ err) {
    if (err.code === "no_recontact_template") setWindowClosed(id, { recontact_available: false });
    notifyError(err);
  } finally {
    recontact.disabled = false;
  }
}

export function initWindow() {
  on("window", renderWindow);
  recontact.addEventListener("click", sendRecontact);
}
