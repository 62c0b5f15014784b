// @ts-check
/* D8 New conversation ("+"): the agent types a number, the server looks it up and says which of the
 * seeds' rules applies (window open: text; closed or unknown: a template "available for agents"
 * with a filled live preview; a pending campaign or another agent's conversation: refused). The
 * phone's validation, the rules and the rendering are the server's (interactions/lookup/,
 * interactions/start/, templates/{id}/render/); this view only shows their answers. */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { emit, notify, notifyError, state, upsertInteraction } from "../store.js";
import { showTemplatePreview } from "./template_preview.js";

/**
 * @typedef {{id: number, name: string, phone_number: string}} StartAccount
 * @typedef {{phone: string, contact: number|null, contact_name: string, window_open: boolean,
 *   open_interaction: number|null, owner: number|null, campaign_pending: boolean}} Lookup
 * @typedef {{id: number, name: string, language: string, body: string, param_count: number}} AgentTemplate
 */

const view = {
  /** @type {StartAccount[]} */ accounts: [],
  /** @type {Lookup|null} */ lookup: null,
  /** @type {AgentTemplate[]} */ templates: [],
  previewSeq: 0,
};

/** @type {HTMLDialogElement} */
let dialog;

/** @param {string} id */
function el(id) {
  return /** @type {any} */ (dialog.querySelector("#" + id));
}

function reset() {
  view.lookup = null;
  el("nc-result").replaceChildren();
  el("nc-error").textContent = "";
}

async function open() {
  reset();
  el("nc-phone").value = "";
  try {
    const data = await api("GET", "interactions/start/");
    view.accounts = data.accounts || [];
  } catch (/** @type {any} */ err) {
    notifyError(err);
    return;
  }
  el("nc-account").replaceChildren(
    ...view.accounts.map((a) => h("option", { value: a.id, text: `${a.name} (${a.phone_number})` }))
  );
  dialog.showModal();
  el("nc-phone").focus();
}

async function lookup() {
  reset();
  const account = el("nc-account").value;
  const phone = el("nc-phone").value.trim();
  if (!phone) {
    el("nc-error").textContent = "Enter a phone number.";
    return;
  }
  try {
    const query = new URLSearchParams({ account, phone });
    view.lookup = await api("GET", `interactions/lookup/?${query}`);
  } catch (/** @type {any} */ err) {
    el("nc-error").textContent = err.detail;
    return;
  }
  el("nc-phone").value = view.lookup.phone;
  await renderResult();
}

async function renderResult() {
  const found = /** @type {Lookup} */ (view.lookup);
  const box = el("nc-result");
  const who = found.contact_name ? `${found.contact_name} · ${found.phone}` : `${found.phone} · no contact yet`;
  box.appendChild(h("p", { class: "nc-who", id: "nc-who", text: who }));
  if (found.campaign_pending) {
    box.appendChild(h("p", { class: "nc-refused", id: "nc-refused", "data-reason": "campaign_pending",
      text: "A campaign message to this number is still pending: you cannot write now." }));
    return;
  }
  if (found.open_interaction && found.owner !== state.me.id) {
    box.appendChild(h("p", { class: "nc-refused", id: "nc-refused", "data-reason": "open_elsewhere",
      text: "This customer already has an open conversation with another agent." }));
    return;
  }
  if (found.window_open) {
    box.appendChild(h("p", { class: "dk-dialog-sub", text: "The customer's 24-hour window is open: write a normal message." }));
    box.appendChild(h("textarea", { id: "nc-text", class: "nc-text", rows: 3, placeholder: "Type a message",
      maxlength: state.rules.text_max_length || null }));
    box.appendChild(buttons("Send", () => start({ text: el("nc-text").value })));
    return;
  }
  box.appendChild(h("p", { class: "dk-dialog-sub", text: found.contact
    ? "The customer's 24-hour window is closed: pick a template."
    : "Unknown number: pick a template to start the conversation." }));
  try {
    const query = new URLSearchParams({ account: el("nc-account").value, available_for_agents: "true", status: "approved" });
    view.templates = listOf(await api("GET", `templates/?${query}`));
  } catch (/** @type {any} */ err) {
    el("nc-error").textContent = err.detail;
    return;
  }
  if (!view.templates.length) {
    box.appendChild(h("p", { class: "nc-refused", text: "This account has no approved template available for agents." }));
    return;
  }
  const select = h("select", { id: "nc-template", onchange: renderParams },
    view.templates.map((t) => h("option", { value: t.id, text: `${t.name} (${t.language})` })));
  box.appendChild(h("label", { class: "field" }, h("span", { text: "Template" }), select));
  box.appendChild(h("div", { id: "nc-params", class: "nc-params" }));
  box.appendChild(h("div", { id: "nc-preview", class: "nc-preview", "aria-live": "polite" }));
  box.appendChild(buttons("Send template", () => start({ template: Number(el("nc-template").value), params: paramValues() })));
  renderParams();
}

/** @param {string} label @param {() => void} action */
function buttons(label, action) {
  return h("div", { class: "dk-dialog-buttons" },
    h("button", { type: "button", class: "btn btn-light", text: "Cancel", onclick: () => dialog.close() }),
    h("button", { type: "button", class: "btn btn-primary", id: "nc-send", text: label, onclick: action }));
}

function currentTemplate() {
  const id = Number(el("nc-template").value);
  return view.templates.find((t) => t.id === id);
}

function renderParams() {
  const template = currentTemplate();
  const box = el("nc-params");
  box.replaceChildren();
  for (let n = 1; template && n <= template.param_count; n++) {
    box.appendChild(h("label", { class: "field" }, h("span", { text: `{{${n}}}` }),
      h("input", { type: "text", class: "nc-param", "data-param": n, oninput: preview })));
  }
  preview();
}

function paramValues() {
  return Array.from(dialog.querySelectorAll(".nc-param")).map((input) => /** @type {HTMLInputElement} */ (input).value);
}

/** The server renders the preview (it owns the template and the parameter rules). */
async function preview() {
  const template = currentTemplate();
  if (!template) return;
  const seq = ++view.previewSeq;
  const params = paramValues().map((v, i) => v || `{{${i + 1}}}`);
  await showTemplatePreview(el("nc-preview"), template.id, { params }, { idPrefix: "nc", isCurrent: () => seq === view.previewSeq });
}

/** @param {{text?: string, template?: number, params?: string[]}} body */
async function start(body) {
  const send = el("nc-send");
  send.disabled = true;
  el("nc-error").textContent = "";
  try {
    const found = /** @type {Lookup} */ (view.lookup);
    const interaction = await api("POST", "interactions/start/", { account: Number(el("nc-account").value), phone: found.phone, ...body });
    upsertInteraction(interaction);
    emit("activate", interaction.id);
    dialog.close();
    notify(body.template ? "Template sent: the conversation is yours." : "Message sent.");
  } catch (/** @type {any} */ err) {
    el("nc-error").textContent = err.detail;
  } finally {
    send.disabled = false;
  }
}

export function initNewConversation() {
  dialog = /** @type {HTMLDialogElement} */ (h("dialog", { id: "new-conversation-dialog", class: "dk-dialog nc-dialog", "aria-labelledby": "nc-title" },
    h("h2", { id: "nc-title", text: "New conversation" }),
    h("p", { class: "dk-dialog-sub", text: "Write to a customer: enter the number, in international format or national for the account's country." }),
    h("label", { class: "field" }, h("span", { text: "Account" }), h("select", { id: "nc-account", onchange: reset })),
    h("label", { class: "field" }, h("span", { text: "Phone number" }),
      h("input", { id: "nc-phone", type: "tel", autocomplete: "off", placeholder: "+39 347 123 4567",
        onkeydown: (/** @type {KeyboardEvent} */ e) => { if (e.key === "Enter") { e.preventDefault(); lookup(); } } })),
    h("div", { class: "dk-dialog-buttons" }, h("button", { type: "button", class: "btn btn-light", id: "nc-lookup", text: "Look up", onclick: lookup })),
    h("p", { class: "nc-error", id: "nc-error", role: "alert" }),
    h("div", { id: "nc-result" })));
  document.body.appendChild(dialog);
  $("#new-conversation-button").addEventListener("click", open);
}
