// @ts-check
/* Server events: each type changes the store (and, where the event is only a hint, asks REST for
 * the rest). The socket hands every message to ``dispatch`` and knows nothing else. */

import { customerLabel } from "./format.js";
import {
  addTransferIn,
  applyMessage,
  applyMessageStatus,
  applyNote,
  emit,
  idOf,
  notify,
  removeInteraction,
  removeOffer,
  removeTransferIn,
  ring,
  setPresence,
  setBoard,
  setQueueStats,
  setTransferOut,
  setWindowClosed,
  spyEvent,
  state,
  transferReturned,
  upsertInteraction,
} from "./store.js";
import { catchUp, loadTimeline, offerReceived, refreshInteraction } from "./sync.js";

/**
 * @typedef {import("./types.js").Transfer} Transfer
 * @typedef {import("./types.js").TransferData} TransferData
 */

/**
 * My transfer came back to me.
 * @param {Transfer} t
 * @param {"declined" | "expired"} verb
 */
function myTransferReturned(t, verb) {
  const id = idOf(t.interaction);
  const i = state.interactions.get(id);
  transferReturned(t);
  if (i) {
    const target = t.to_agent ? t.to_agent_name || "the agent" : `queue ${t.to_queue_name || ""}`;
    notify(`Transfer ${verb}: ${customerLabel(i)} stays with you (${target}).`, { kind: "warning", title: `Transfer ${verb}` });
  } else {
    notify(`Transfer ${verb}.`, { kind: "warning" });
    refreshInteraction(id);
  }
}

/** @type {Record<string, (data: any) => void>} */
const handlers = {
  /** @param {import("./types.js").InteractionOfferedData} d */
  "interaction.offered": (d) => offerReceived(d),

  /** @param {import("./types.js").InteractionTakenData} d */
  "interaction.taken": (d) => {
    const offer = state.offers.get(d.interaction_id);
    removeOffer(d.interaction_id);
    if (!offer || d.by === state.me.id) return;
    const by = d.by_name || "another agent";
    notify(`${customerLabel(offer.interaction)} was taken by ${by} before you answered.`, { title: `Taken by ${by}` });
  },

  /** @param {import("./types.js").OfferWithdrawnData} d */
  "interaction.offer_withdrawn": (d) => {
    const offer = state.offers.get(d.interaction_id);
    removeOffer(d.interaction_id);
    if (!offer) return;
    if (d.reason === "expired") notify(`The offer for ${customerLabel(offer.interaction)} expired.`);
    else if (d.reason === "closed") notify(`${customerLabel(offer.interaction)}: the conversation was closed.`);
  },

  /** @param {import("./types.js").InteractionData} d */
  "interaction.assigned": (d) => {
    upsertInteraction(d.interaction);
    if (d.interaction && d.interaction.owner === state.me.id && state.active === null) emit("activate", d.interaction.id);
  },

  /** @param {import("./types.js").InteractionData} d */
  "interaction.updated": (d) => {
    const i = d.interaction;
    if (!i) return;
    if (state.offers.has(i.id) && i.status !== "waiting") removeOffer(i.id);
    if (i.owner === state.me.id || state.interactions.has(i.id)) upsertInteraction(i);
  },

  /** @param {import("./types.js").InteractionClosedData} d */
  "interaction.closed": (d) => {
    removeOffer(d.interaction_id);
    const i = state.interactions.get(d.interaction_id);
    if (!i) return;
    removeInteraction(d.interaction_id);
    // Who closed it is the event's own field (the interaction object does not carry it). When it
    // was me, the page I closed it from says so, with the disposition: one toast, not two.
    if (d.closed_by === state.me.id) return;
    const by = d.closed_by_name ? ` by ${d.closed_by_name}` : "";
    notify(`The conversation with ${customerLabel(i)} was closed${by}.`);
  },

  /** @param {import("./types.js").MessageData} d */
  "message.created": (d) => applyMessage(d.interaction_id, d.message),

  /** @param {import("./types.js").MessageData} d */
  "message.updated": (d) => applyMessage(d.interaction_id, d.message),

  /** @param {import("./types.js").MessageStatusData} d */
  "message.status": (d) => {
    if (applyMessageStatus(d)) return;
    // A status for a message this page has not seen yet: fetch the timeline it belongs to.
    if (state.interactions.has(d.interaction_id) && state.loaded.has(d.interaction_id)) loadTimeline(d.interaction_id);
  },

  /** @param {import("./types.js").NoteCreatedData} d */
  "note.created": (d) => applyNote(d.interaction_id, d.note),

  /** @param {import("./types.js").QueueStatsData} d */
  "queue.stats": (d) => setQueueStats(d.queue_id, d),

  /** @param {any} d the board/ object */
  "board.updated": (d) => setBoard(d),

  /** @param {import("./types.js").AgentPresenceData} d */
  "agent.presence": (d) => {
    if (d.user_id === state.me.id && d.presence !== state.me.presence) setPresence(d.presence);
  },

  /** @param {import("./types.js").WindowExpiredData} d */
  "window.expired": (d) => {
    if (state.interactions.has(d.interaction_id)) setWindowClosed(d.interaction_id, { recontact_available: d.recontact_available });
  },

  /** @param {TransferData} d */
  "transfer.offered": (d) => {
    const t = d.transfer;
    if (!t || t.status !== "pending" || t.from_agent === state.me.id) {
      if (t && t.from_agent === state.me.id) setTransferOut(t);
      return;
    }
    if (addTransferIn(t)) ring();
  },

  /** @param {TransferData} d */
  "transfer.accepted": (d) => {
    const t = d.transfer;
    const i = d.interaction;
    const id = idOf(t.interaction);
    removeTransferIn(t.id);
    if (i && i.owner === state.me.id) {
      upsertInteraction(i);
      if (!state.loaded.has(id)) loadTimeline(id);
      if (state.active === null) emit("activate", id);
    } else if (t.from_agent === state.me.id || state.interactions.has(id)) {
      const old = state.interactions.get(id);
      removeInteraction(id);
      const who = t.accepted_by_name || t.to_agent_name || (i && i.owner_name) || "another agent";
      notify(`${old ? customerLabel(old) : "The conversation"} now belongs to ${who}.`, { title: "Transfer accepted" });
    }
  },

  /** @param {TransferData} d */
  "transfer.declined": (d) => {
    const t = d.transfer;
    if (t.from_agent === state.me.id) myTransferReturned(t, "declined");
    else removeTransferIn(t.id);
  },

  /** @param {TransferData} d */
  "transfer.expired": (d) => {
    const t = d.transfer;
    if (t.from_agent === state.me.id) myTransferReturned(t, "expired");
    else if (removeTransferIn(t.id)) notify(`The transfer from ${t.from_agent_name || "an agent"} expired.`);
  },

  /** @param {TransferData} d */
  "transfer.cancelled": (d) => {
    const t = d.transfer;
    if (t.from_agent === state.me.id) setTransferOut(t);
    else if (removeTransferIn(t.id)) notify(`${t.from_agent_name || "The agent"} cancelled the transfer.`);
  },

  /** @param {TransferData} d */
  "transfer.requested": (d) => {
    if (d.transfer && d.transfer.from_agent === state.me.id) setTransferOut(d.transfer);
  },

  /** @param {TransferData} d */
  "transfer.withdrawn": (d) => {
    // A queue transfer I declined: the others may still take it.
    if (d.transfer) removeTransferIn(d.transfer.id);
  },

  /** @param {TransferData} d */
  "transfer.taken": (d) => {
    const t = d.transfer;
    if (!removeTransferIn(t.id)) return;
    const by = d.by_name || t.accepted_by_name || "another agent";
    notify(`The transfer from ${t.from_agent_name || "an agent"} was taken by ${by}.`, { title: `Taken by ${by}` });
  },

  // D9: a contact of a list I may view changed; the contact views refetch what they show.
  /** @param {{contact_id: number, contact: any}} d */
  "contact.created": (d) => emit("contact", d),
  /** @param {{contact_id: number, contact: any}} d */
  "contact.updated": (d) => emit("contact", d),
  /** @param {{contact_id: number, contact: any}} d */
  "contact.deleted": (d) => emit("contact", d),

  // B5: a new masking level for me; everything on screen was drawn at the old one, so refetch it.
  /** @param {{masking: string}} d */
  "settings.masking": (d) => {
    state.masking = d.masking;
    catchUp();
    emit("masking", d.masking);
  },
};

/** @param {import("./types.js").ServerEvent} msg */
export function dispatch(msg) {
  spyEvent(msg);
  const handler = handlers[msg.type];
  if (!handler) return;
  try {
    handler(msg.data || {});
  } catch (/** @type {any} */ err) {
    console.error("desktop: could not handle", msg.type, err);
  }
}
