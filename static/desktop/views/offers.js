// @ts-check
/* Incoming: offers of new conversations and transfers offered to me, each with a countdown. */

import { api } from "../api.js";
import { $, $$, h } from "../dom.js";
import { customerLabel, initial } from "../format.js";
import { idOf, notifyError, on, removeOffer, removeTransferIn, state, upsertInteraction } from "../store.js";
import { refreshInteraction } from "../sync.js";
import { activate } from "./chat.js";
import { secondsUntil, tick } from "./countdowns.js";

/**
 * @typedef {import("../types.js").Offer} Offer
 * @typedef {import("../types.js").Transfer} Transfer
 */

const incoming = $("#incoming");
const incomingCount = $("#incoming-count");
const list = $("#offers");

/**
 * @param {string} expiresAt
 * @param {number} total
 */
function countdownEl(expiresAt, total) {
  return h("span", { class: "countdown", "data-expires-at": expiresAt, "data-total": total || "" });
}

/** @param {Offer} offer */
function buildOfferCard(offer) {
  const i = offer.interaction;
  const queue = i.queue_name || (state.queues.get(i.queue) || { name: "" }).name || "";
  const total = secondsUntil(offer.expires_at);
  return h(
    "article",
    { class: "offer", "data-interaction-id": i.id, "aria-label": `Offer from ${customerLabel(i)}` },
    h(
      "div",
      { class: "offer-head" },
      h("span", { class: "dk-avatar", "aria-hidden": "true", text: initial(customerLabel(i)) }),
      h(
        "div",
        { class: "offer-who" },
        h("strong", { class: "offer-customer", text: customerLabel(i) }),
        h("span", { class: "offer-phone", text: i.customer_name ? i.customer_phone : "" })
      ),
      countdownEl(offer.expires_at, total)
    ),
    h("div", { class: "offer-meta", text: [queue, i.account_name].filter(Boolean).join(" · ") }),
    h("p", { class: "offer-preview", hidden: !offer.preview, text: offer.preview || "" }),
    h(
      "div",
      { class: "offer-buttons" },
      h("button", { type: "button", class: "btn btn-light offer-reject", text: "Reject", onclick: () => rejectOffer(i.id) }),
      h("button", { type: "button", class: "btn offer-accept", text: "Accept", onclick: () => acceptOffer(i.id) })
    ),
    h("div", { class: "offer-progress", "aria-hidden": "true" }, h("span", { "data-expires-at": offer.expires_at, "data-total": total }))
  );
}

/** @param {Transfer} t */
function buildTransferCard(t) {
  const total = secondsUntil(t.expires_at);
  const interactionId = idOf(t.interaction);
  const interaction = state.interactions.get(interactionId);
  const who = t.customer_name || t.customer_phone ? customerLabel(t) : interaction ? customerLabel(interaction) : `Conversation #${interactionId}`;
  const target = t.to_queue ? `to queue ${t.to_queue_name || ""}` : "to you";
  return h(
    "article",
    { class: "transfer-offer", "data-transfer-id": t.id, "data-interaction-id": interactionId, "aria-label": `Transfer of ${who}` },
    h(
      "div",
      { class: "offer-head" },
      h("span", { class: "dk-avatar dk-avatar-transfer", "aria-hidden": "true", text: "⇄" }),
      h(
        "div",
        { class: "offer-who" },
        h("strong", { class: "offer-customer", text: who }),
        h("span", { class: "offer-phone", text: t.customer_name && t.customer_phone ? t.customer_phone : "" })
      ),
      countdownEl(t.expires_at, total)
    ),
    h("div", { class: "offer-meta" }, "Transfer from ", h("strong", { class: "transfer-from", text: t.from_agent_name || "an agent" }), ` ${target}`),
    h(
      "div",
      { class: "offer-buttons" },
      h("button", { type: "button", class: "btn btn-light transfer-decline", text: "Decline", onclick: () => declineTransfer(t.id) }),
      h("button", { type: "button", class: "btn transfer-accept", text: "Accept", onclick: () => acceptTransfer(t.id) })
    ),
    h("div", { class: "offer-progress", "aria-hidden": "true" }, h("span", { "data-expires-at": t.expires_at, "data-total": total }))
  );
}

function renderIncoming() {
  /** @type {[kind: "offer" | "transfer", id: number, obj: any][]} */
  const wanted = [];
  for (const offer of state.offers.values()) wanted.push(["offer", offer.interaction.id, offer]);
  for (const t of state.transfersIn.values()) wanted.push(["transfer", t.id, t]);
  const keep = new Set(wanted.map(([kind, id]) => `${kind}:${id}`));
  for (const card of $$(".offer, .transfer-offer", list)) {
    if (!keep.has(card.dataset.key || "")) card.remove();
  }
  for (const [kind, id, obj] of wanted) {
    const key = `${kind}:${id}`;
    let card = /** @type {HTMLElement | null} */ (list.querySelector(`[data-key="${key}"]`));
    if (!card) {
      const added = kind === "offer" ? buildOfferCard(obj) : buildTransferCard(obj);
      added.dataset.key = key;
      added.classList.add("enter");
      added.addEventListener("animationend", () => added.classList.remove("enter"), { once: true });
      list.appendChild(added);
    } else if (kind === "offer") {
      const preview = $(".offer-preview", card);
      if (obj.preview && preview.textContent !== obj.preview) {
        preview.textContent = obj.preview;
        preview.hidden = false;
      }
    }
  }
  incoming.hidden = wanted.length === 0;
  incomingCount.textContent = String(wanted.length);
  tick();
}

/** @param {number} interactionId */
async function acceptOffer(interactionId) {
  const card = list.querySelector(`.offer[data-interaction-id="${interactionId}"]`);
  const buttons = card ? $$("button", card) : [];
  buttons.forEach((b) => /** @type {HTMLButtonElement} */ (b).disabled = true);
  try {
    const interaction = await api("POST", `interactions/${interactionId}/accept/`);
    removeOffer(interactionId);
    if (interaction && interaction.id) upsertInteraction(interaction);
    else await refreshInteraction(interactionId);
    activate(interactionId);
  } catch (/** @type {any} */ err) {
    if (err.code === "already_taken" || err.status === 404) removeOffer(interactionId);
    else buttons.forEach((b) => /** @type {HTMLButtonElement} */ (b).disabled = false);
    notifyError(err);
  }
}

/** @param {number} interactionId */
async function rejectOffer(interactionId) {
  removeOffer(interactionId);
  try {
    await api("POST", `interactions/${interactionId}/reject/`);
  } catch (/** @type {any} */ err) {
    if (err.code !== "already_taken" && err.code !== "no_offer") notifyError(err);
  }
}

/** @param {number} transferId */
async function acceptTransfer(transferId) {
  const t = state.transfersIn.get(transferId);
  try {
    await api("POST", `transfers/${transferId}/accept/`);
    removeTransferIn(transferId);
    if (t) {
      const id = idOf(t.interaction);
      await refreshInteraction(id);
      if (state.interactions.has(id)) activate(id);
    }
  } catch (/** @type {any} */ err) {
    if (err.status === 409 || err.status === 404) removeTransferIn(transferId);
    notifyError(err);
  }
}

/** @param {number} transferId */
async function declineTransfer(transferId) {
  removeTransferIn(transferId);
  try {
    await api("POST", `transfers/${transferId}/decline/`);
  } catch (/** @type {any} */ err) {
    if (err.status !== 409) notifyError(err);
  }
}

export function initOffers() {
  on("incoming", renderIncoming);
  renderIncoming();
}
